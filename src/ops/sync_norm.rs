//! BatchNorm whose batch statistics are taken over every replica of a data-parallel run
//! (PyTorch's `SyncBatchNorm`): the same closed-form kernels as `batch_norm_op`
//! (src/ops/norm.rs), with the per-channel sums added over replicas before they are used,
//! forward and backward.

use super::norm::BatchStats;
use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::norm as kernels;
use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// Adds per-channel values over the replicas of a data-parallel run, in place: every replica
/// calls it with a buffer of the same length and gets the elementwise total. Implemented by
/// every `Send + Sync` [`Collective`](crate::distributed::Collective), such as
/// [`ThreadGroup`](crate::distributed::ThreadGroup) and `MpiGroup`.
pub trait ReplicaSum: Send + Sync {
    /// Replaces `values` by their sum over all replicas.
    fn sum_over_replicas(&self, values: &mut [f64]);
}

/// Training-mode BatchNorm over axis 1 of `x` (`[N, C, ..]`) with statistics over all
/// replicas: the mean and biased variance of the union of every replica's batch (two
/// passes, as the local kernels), and in backward the totals of `sum(gy)` and
/// `sum(gy xhat)`, so the input gradient is that of one BatchNorm over the union. The
/// weight and bias gradients stay local sums (data parallelism averages them afterwards).
/// Returns the statistics and the number of values per channel over all replicas.
pub(crate) fn sync_batch_norm_op<S: Shape, SC: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    weight: Tensor<SC, E, T>,
    bias: Tensor<SC, E, T>,
    eps: f64,
    replicas: Arc<dyn ReplicaSum>,
) -> (Tensor<S, E, T>, BatchStats<E>, usize) {
    let dims = x.shape.dims();
    let (outer, c) = (dims[0], dims[1]);
    let inner: usize = dims[2..].iter().product();
    let layout = (outer, c, inner);
    let (x, mut tape) = x.split_tape();
    let (w, tw) = weight.split_tape();
    let (b, tb) = bias.split_tape();
    tape = tape.merge(tw).merge(tb);

    // Pass 1: totals of x and of the count; pass 2: centred squares about the global mean.
    let mut first = kernels::channel_sums(&x.data, layout, None);
    first.push((outer * inner) as f64);
    replicas.sum_over_replicas(&mut first);
    let count = first.pop().expect("count pushed above");
    let mean64: Vec<f64> = first.iter().map(|s| s / count).collect();
    let mut squares = kernels::channel_sums(&x.data, layout, Some(&mean64));
    replicas.sum_over_replicas(&mut squares);
    let mean: Vec<E> = mean64.iter().map(|&m| E::from_f64(m)).collect();
    let var: Vec<E> = squares.iter().map(|&q| E::from_f64(q / count)).collect();
    let total = count as usize;

    let rstd = kernels::rstd(&var, eps);
    let y = kernels::channel_norm(
        &x.data,
        outer,
        c,
        inner,
        &mean,
        &rstd,
        Some(&w.data),
        Some(&b.data),
    );
    let out_id = UniqueId::new();
    let (track_x, track_w, track_b) = (
        T::TRACING && tape.tracks(x.id),
        T::TRACING && tape.tracks(w.id),
        T::TRACING && tape.tracks(b.id),
    );
    let stats = BatchStats {
        mean: mean.clone(),
        var,
    };
    if track_x || track_w || track_b {
        let (xd, x_id, wd, w_id, b_id) = (x.data, x.id, w.data, w.id, b.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                // Every replica runs this step (their graphs are the same), so the sums below
                // meet; one without a gradient for the output still adds zeros.
                let gy = g.take(out_id).unwrap_or_else(|| vec![E::ZERO; xd.len()]);
                let (sum_gy, sum_gy_xhat) =
                    kernels::channel_norm_sums(&gy, &xd, outer, c, inner, &mean, &rstd);
                let mut totals: Vec<f64> = sum_gy
                    .iter()
                    .chain(&sum_gy_xhat)
                    .map(|v| v.to_f64())
                    .collect();
                replicas.sum_over_replicas(&mut totals);
                let (all_gy, all_gy_xhat) = totals.split_at(c);
                let all_gy: Vec<E> = all_gy.iter().map(|&v| E::from_f64(v)).collect();
                let all_gy_xhat: Vec<E> = all_gy_xhat.iter().map(|&v| E::from_f64(v)).collect();
                if track_x {
                    let gx = g.entry(x_id, xd.len());
                    kernels::channel_norm_backward_x(
                        gx,
                        Some(&gy),
                        &xd,
                        layout,
                        &mean,
                        &rstd,
                        Some(&wd),
                        Some((&all_gy, &all_gy_xhat, total)),
                    );
                }
                if track_w {
                    g.add(w_id, sum_gy_xhat);
                }
                if track_b {
                    g.add(b_id, sum_gy);
                }
            }),
        );
    }
    (
        Tensor {
            shape: x.shape,
            data: Arc::new(y),
            id: out_id,
            tape,
        },
        stats,
        total,
    )
}
