//! Data-parallel training: PyTorch's `DistributedDataParallel`, over MPI or threads.
//!
//! N processes run the same training program, each on its own shard of the data
//! ([`DataLoader::shard`](crate::data::DataLoader::shard)); after every backward pass the
//! gradients are averaged across them ([`average_gradients`]), so every process takes the
//! same optimizer step and the parameters stay equal, as if one process had trained on the
//! combined batch. [`broadcast_parameters`] makes every process start from rank 0's weights.
//!
//! The collectives sit behind the [`Collective`] trait:
//! * `MpiGroup` (cargo feature `mpi`): one process per rank, started by `mpirun`, on one
//!   machine or many (Open MPI through the `mpi` crate);
//! * [`ThreadGroup`]: ranks as threads of one process, for tests and for data parallelism on
//!   one machine without MPI.
//!
//! Gradients travel in a few large buckets (flattened, one all-reduce per bucket, not one per
//! tensor; [`BUCKET_ELEMENTS`]), and a tensor shared by two layers (tied weights) is reduced
//! once.
//!
//! ```
//! use shaped::distributed::{average_gradients, broadcast_parameters, Collective, ThreadGroup};
//! use shaped::nn::{Linear, Params};
//! use shaped::prelude::*;
//! use rand::SeedableRng;
//!
//! // Two ranks as threads: each starts from its own random weights and its own batch.
//! let results = ThreadGroup::run(2, |group| {
//!     let mut rng = rand::rngs::StdRng::seed_from_u64(group.rank() as u64);
//!     let mut model = Linear::<3, 1>::new(&mut rng);
//!     broadcast_parameters(group, &mut model); // now rank 1 holds rank 0's weights
//!     let x = Tensor::<Rank2<4, 3>>::full(group.rank() as f32 + 1.0);
//!     let mut grads = model.forward_train(x.trace_constant()).sum().backward();
//!     average_gradients(group, &model, &mut grads);
//!     grads.get_slice(&model.weight).unwrap().to_vec()
//! });
//! assert_eq!(results[0], results[1]); // both ranks see the mean gradient
//! assert_eq!(results[0], vec![6.0; 3]); // mean over ranks of 4 rows of 1.0 and of 2.0
//! # use shaped::nn::Module;
//! ```

#[cfg(feature = "mpi")]
mod mpi_group;
mod threads;

#[cfg(feature = "mpi")]
pub use mpi_group::MpiGroup;
pub use threads::ThreadGroup;

use crate::autograd::{Gradients, UniqueId};
use crate::dtype::Float;
use crate::dtype::private::SliceMut;
use crate::nn::{Params, TensorKind};
use crate::ops::sync_norm::ReplicaSum;
use std::collections::HashSet;

/// A buffer of either element type, as the collectives see it.
#[derive(Debug)]
pub enum Buffer<'a> {
    /// f32 values.
    F32(&'a mut [f32]),
    /// f64 values.
    F64(&'a mut [f64]),
}

impl Buffer<'_> {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Buffer::F32(b) => b.len(),
            Buffer::F64(b) => b.len(),
        }
    }
    /// True when the buffer has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A group of ranks that can sum and broadcast buffers: the communication a data-parallel
/// training step needs. Every rank must make the same calls in the same order with buffers of
/// the same length (as with MPI itself).
///
/// ```
/// use shaped::distributed::{Buffer, Collective, ThreadGroup};
/// let sums = ThreadGroup::run(3, |group| {
///     let mut v = vec![group.rank() as f64; 2];
///     group.all_reduce_sum(Buffer::F64(&mut v));
///     v
/// });
/// assert_eq!(sums, vec![vec![3.0, 3.0]; 3]); // 0 + 1 + 2 on every rank
/// ```
pub trait Collective {
    /// This process's rank, from 0.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn world_size(&self) -> usize;
    /// Replaces `buf` on every rank by the elementwise sum over all ranks.
    fn all_reduce_sum(&self, buf: Buffer<'_>);
    /// Replaces `buf` on every rank by rank `root`'s values.
    fn broadcast(&self, buf: Buffer<'_>, root: usize);
    /// True on rank 0, the rank that prints, plots and saves.
    fn is_main(&self) -> bool {
        self.rank() == 0
    }
    /// Waits until every rank gets here.
    fn barrier(&self) {
        self.all_reduce_sum(Buffer::F32(&mut []));
    }
}

/// Any collective that can be shared across threads sums a synchronised BatchNorm's
/// statistics ([`SyncBatchNorm`](crate::nn::SyncBatchNorm)).
impl<G: Collective + Send + Sync + ?Sized> ReplicaSum for G {
    fn sum_over_replicas(&self, values: &mut [f64]) {
        self.all_reduce_sum(Buffer::F64(values));
    }
}

/// Elements per gradient bucket: 6.5M f32 values (25 MiB), PyTorch DDP's `bucket_cap_mb`
/// default. A bucket is one all-reduce call; see the README ("Training on several machines")
/// for how the size was measured.
pub const BUCKET_ELEMENTS: usize = 25 * 1024 * 1024 / 4;

fn as_buffer<E: Float>(v: &mut [E]) -> Buffer<'_> {
    match E::concrete_mut(v) {
        SliceMut::F32(b) => Buffer::F32(b),
        SliceMut::F64(b) => Buffer::F64(b),
    }
}

/// Sums `data` over all ranks, in place.
///
/// ```
/// use shaped::distributed::{all_reduce_sum, ThreadGroup};
/// let v = ThreadGroup::run(2, |g| { let mut v = vec![1.5f32]; all_reduce_sum(g, &mut v); v });
/// assert_eq!(v, vec![vec![3.0], vec![3.0]]);
/// ```
pub fn all_reduce_sum<E: Float>(group: &dyn Collective, data: &mut [E]) {
    group.all_reduce_sum(as_buffer(data));
}

/// Replaces `data` on every rank by rank `root`'s values.
///
/// ```
/// use shaped::distributed::{broadcast, Collective, ThreadGroup};
/// let v = ThreadGroup::run(2, |g| { let mut v = vec![g.rank() as f32 + 7.0]; broadcast(g, &mut v, 1); v });
/// assert_eq!(v, vec![vec![8.0], vec![8.0]]);
/// ```
pub fn broadcast<E: Float>(group: &dyn Collective, data: &mut [E], root: usize) {
    group.broadcast(as_buffer(data), root);
}

/// Copies rank 0's parameters and buffers (BatchNorm running statistics) into every rank's
/// model, so that all ranks start equal (what DDP does when it wraps a model). Tensors are
/// sent in buckets of [`BUCKET_ELEMENTS`].
///
/// ```
/// use shaped::distributed::{broadcast_parameters, Collective, ThreadGroup};
/// use shaped::nn::{Linear, Params};
/// use rand::SeedableRng;
/// let weights = ThreadGroup::run(2, |g| {
///     let mut rng = rand::rngs::StdRng::seed_from_u64(g.rank() as u64);
///     let mut layer = Linear::<2, 2>::new(&mut rng);
///     broadcast_parameters(g, &mut layer);
///     layer.weight.to_vec()
/// });
/// assert_eq!(weights[0], weights[1]);
/// ```
pub fn broadcast_parameters<E: Float, M: Params<E> + ?Sized>(
    group: &dyn Collective,
    model: &mut M,
) {
    if group.world_size() == 1 {
        return;
    }
    let mut sizes = Vec::new();
    model.visit("", &mut |p| sizes.push(p.data.len()));
    for range in buckets(&sizes, BUCKET_ELEMENTS) {
        let mut bucket = Vec::with_capacity(range.clone().map(|i| sizes[i]).sum());
        let mut index = 0;
        model.visit("", &mut |p| {
            if range.contains(&index) {
                bucket.extend_from_slice(p.data);
            }
            index += 1;
        });
        broadcast(group, &mut bucket, 0);
        let mut index = 0;
        let mut offset = 0;
        model.visit_mut("", &mut |p| {
            if range.contains(&index) {
                let n = p.data.len();
                p.data.copy_from_slice(&bucket[offset..offset + n]);
                offset += n;
            }
            index += 1;
        });
    }
}

/// Averages the gradients of `model`'s parameters over all ranks, in place: after it, every
/// rank holds the mean of the ranks' gradients, which is the gradient of the combined batch
/// when each rank's loss is a mean over an equal share of it (DDP's rule).
///
/// Parameters are flattened into buckets of at most [`BUCKET_ELEMENTS`] values, one
/// all-reduce each. A tensor visited under two names (tied weights) is reduced once. A
/// parameter that got no gradient on this rank counts as a zero gradient, so ranks whose
/// batches reached different parameters still agree.
///
/// ```
/// use shaped::distributed::{average_gradients, Collective, ThreadGroup};
/// use shaped::nn::{Linear, Module};
/// use shaped::prelude::*;
/// use rand::SeedableRng;
/// let g = ThreadGroup::run(2, |group| {
///     let mut rng = rand::rngs::StdRng::seed_from_u64(0); // same weights on both ranks
///     let mut layer = Linear::<1, 1>::new(&mut rng);
///     let x = Tensor::<Rank2<1, 1>>::full(if group.rank() == 0 { 1.0 } else { 3.0 });
///     let mut grads = layer.forward_train(x.trace_constant()).sum().backward();
///     average_gradients(group, &layer, &mut grads);
///     grads.get_slice(&layer.weight).unwrap()[0]
/// });
/// assert_eq!(g, vec![2.0, 2.0]);
/// ```
pub fn average_gradients<E: Float, M: Params<E> + ?Sized>(
    group: &dyn Collective,
    model: &M,
    grads: &mut Gradients<E>,
) {
    average_gradients_in_buckets(group, model, grads, BUCKET_ELEMENTS);
}

/// [`average_gradients`] with a chosen bucket size (in elements, at least 1).
///
/// ```
/// use shaped::distributed::{average_gradients_in_buckets, Collective, ThreadGroup};
/// use shaped::nn::{Linear, Module, Params};
/// use shaped::prelude::*;
/// use rand::SeedableRng;
/// let same = ThreadGroup::run(2, |group| {
///     let mut rng = rand::rngs::StdRng::seed_from_u64(0);
///     let mut layer = Linear::<4, 3>::new(&mut rng);
///     let x = Tensor::<Rank2<2, 4>>::full(group.rank() as f32);
///     let grads = layer.forward_train(x.trace_constant()).sum().backward();
///     let (mut one_bucket, mut tiny_buckets) = (grads.clone(), grads);
///     average_gradients_in_buckets(group, &layer, &mut one_bucket, 1 << 20);
///     average_gradients_in_buckets(group, &layer, &mut tiny_buckets, 5);
///     one_bucket.get_slice(&layer.weight) == tiny_buckets.get_slice(&layer.weight)
/// });
/// assert_eq!(same, vec![true, true]);
/// ```
pub fn average_gradients_in_buckets<E: Float, M: Params<E> + ?Sized>(
    group: &dyn Collective,
    model: &M,
    grads: &mut Gradients<E>,
    bucket_elements: usize,
) {
    let world = group.world_size();
    if world == 1 {
        return;
    }
    let params = unique_parameters(model);
    for (id, len) in &params {
        if grads.get_id(*id).is_none() {
            grads.insert_zeros(*id, *len);
        }
    }
    let sizes: Vec<usize> = params.iter().map(|&(_, n)| n).collect();
    let scale = E::ONE / E::from_usize(world);
    for range in buckets(&sizes, bucket_elements.max(1)) {
        let mut bucket = Vec::with_capacity(range.clone().map(|i| sizes[i]).sum());
        for (id, _) in &params[range.clone()] {
            bucket.extend_from_slice(grads.get_id(*id).expect("inserted above"));
        }
        all_reduce_sum(group, &mut bucket);
        let mut offset = 0;
        for (id, n) in &params[range] {
            let g = grads.get_id_mut(*id).expect("inserted above");
            for (dst, &src) in g.iter_mut().zip(&bucket[offset..offset + n]) {
                *dst = src * scale;
            }
            offset += n;
        }
    }
}

/// The model's trainable tensors in visiting order, each once (tied weights share an id).
fn unique_parameters<E: Float, M: Params<E> + ?Sized>(model: &M) -> Vec<(UniqueId, usize)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    model.visit("", &mut |p| {
        if p.kind == TensorKind::Parameter && seen.insert(p.id) {
            out.push((p.id, p.data.len()));
        }
    });
    out
}

/// Consecutive runs of tensors whose sizes add up to at most `cap` elements (a tensor larger
/// than `cap` gets a bucket of its own).
fn buckets(sizes: &[usize], cap: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut filled) = (0, 0);
    for (i, &n) in sizes.iter().enumerate() {
        if i > start && filled + n > cap {
            out.push(start..i);
            (start, filled) = (i, 0);
        }
        filled += n;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

/// Averages a metric over ranks weighted by their sample counts: `(sum, count)` pairs are
/// summed over ranks and the mean returned, the same on every rank (validation loss and
/// accuracy over the whole validation set).
///
/// ```
/// use shaped::distributed::{mean_over_ranks, Collective, ThreadGroup};
/// let m = ThreadGroup::run(2, |g| mean_over_ranks(g, if g.rank() == 0 { 3.0 } else { 1.0 }, 2 + g.rank()));
/// assert_eq!(m, vec![0.8, 0.8]); // (3 + 1) / (2 + 3)
/// ```
pub fn mean_over_ranks(group: &dyn Collective, sum: f64, count: usize) -> f64 {
    let mut v = vec![sum, count as f64];
    all_reduce_sum(group, &mut v);
    v[0] / v[1]
}

#[cfg(test)]
mod tests {
    use super::buckets;

    #[test]
    fn buckets_cover_every_tensor_once_within_the_cap() {
        assert_eq!(buckets(&[3, 3, 3], 6), vec![0..2, 2..3]);
        assert_eq!(buckets(&[10, 1, 1], 4), vec![0..1, 1..3]);
        assert_eq!(buckets(&[1, 10, 1], 4), vec![0..1, 1..2, 2..3]);
        assert_eq!(buckets(&[], 4), Vec::<std::ops::Range<usize>>::new());
    }
}
