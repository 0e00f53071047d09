//! Sorting GPU tensors along a type-level axis: the GPU's `sort` and `topk`
//! ([`Tensor::sort`](crate::tensor::Tensor::sort)). Values stay on the GPU and are
//! differentiable (each gradient goes back to the element it came from); the positions come
//! back as CPU [`Indices`], so these ops wait for the GPU (as `argmax` does).

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::{seq_kernels, sort_kernels};
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{Const, Dim, HasAxis, ReplaceAxis, Shape};
use crate::tensor::Indices;

/// `(values, positions)` of a sort or top-k with output shape `SO`.
type Sorted<SO, T, E> = (GpuTensor<SO, T, E>, Indices<SO>);

/// The first `k` elements of each line along `axis` in sorted order, shaped `out`.
fn sorted_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    k: usize,
    descending: bool,
    out: SO,
) -> Result<Sorted<SO, T, E>> {
    let dims = x.shape.dims();
    let outer: usize = dims[..axis].iter().product();
    let (n, inner) = (dims[axis], dims[axis + 1..].iter().product::<usize>());
    if outer * n * inner > u32::MAX as usize {
        return Err(Error::shape(
            "sort",
            format!("{dims:?} has more elements than one GPU index reaches (u32)"),
        ));
    }
    let (x, mut tape) = split(x);
    let lines = (outer, n, inner);
    let (vals, idx) = sort_kernels::sort_lines(&x.data, lines, k, descending);
    let positions = seq_kernels::download_u32(&idx)?;
    let indices = Indices::from_parts(out, positions.into_iter().map(|i| i as usize).collect());
    let result = gpu_tensor(out, vals, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, result.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                add_grad(g, x_id, sort_kernels::sort_backward(&idx, &gy, lines, k));
            }),
        );
    }
    Ok((with_tape(result, tape), indices))
}

fn k_error(k: usize, dims: &[usize], axis: usize) -> Error {
    Error::shape(
        "topk",
        format!(
            "k = {k} is larger than axis {axis} of size {} (shape {dims:?})",
            dims[axis]
        ),
    )
}

/// `sort` and `topk` of GPU tensors, as the CPU tensor's methods of the same names (stable;
/// NaN above every number, as in PyTorch). Each call reads the positions back (a wait);
/// a line is sorted by one thread per element in O(n) each, for lines of up to a few
/// thousand elements.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank2<2, 4>>::from_array([[1.0, 9.0, 3.0, 7.0], [4.0, 2.0, 8.0, 6.0]])
///     .to_device(&gpu)?;
/// let (y, idx) = x.clone().topk::<1, 2>(true);
/// assert_eq!(y.to_cpu()?.to_vec(), vec![9.0, 7.0, 8.0, 6.0]);
/// assert_eq!(idx.to_vec(), vec![1, 3, 2, 3]);
/// let (s, _) = x.sort::<1>(false);
/// assert_eq!(s.to_cpu()?.to_vec(), vec![1.0, 3.0, 7.0, 9.0, 2.0, 4.0, 6.0, 8.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuSort<S: Shape, T, E: Float = f32>: Sized {
    /// Sorts every line along axis `I` (see [`Tensor::sort`](crate::tensor::Tensor::sort)).
    fn sort<const I: usize>(self, descending: bool) -> Sorted<S, T, E>
    where
        S: HasAxis<I>;
    /// The `K` largest (or smallest) of every line along axis `I`, sorted (see
    /// [`Tensor::topk`](crate::tensor::Tensor::topk)); `K` above a static axis fails to build.
    #[track_caller]
    fn topk<const I: usize, const K: usize>(
        self,
        largest: bool,
    ) -> Sorted<<S as ReplaceAxis<I>>::Output<Const<K>>, T, E>
    where
        S: ReplaceAxis<I>,
    {
        const {
            if let Some(n) = <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE
                && K > n
            {
                crate::shape::const_msg::ConstMsg::new()
                    .s("topk: k = ")
                    .n(K)
                    .s(" is larger than axis ")
                    .n(I)
                    .s(" of size ")
                    .n(n)
                    .fail();
            }
        }
        self.try_topk::<I, K>(largest).or_panic()
    }
    /// [`topk`](Self::topk) with an `Err` naming `K` when a run-time axis is shorter.
    fn try_topk<const I: usize, const K: usize>(
        self,
        largest: bool,
    ) -> Result<Sorted<<S as ReplaceAxis<I>>::Output<Const<K>>, T, E>>
    where
        S: ReplaceAxis<I>;
    /// [`topk`](Self::topk) with `k` chosen at run time (axis `I` becomes a `usize`).
    #[track_caller]
    fn topk_n<const I: usize>(
        self,
        k: usize,
        largest: bool,
    ) -> Sorted<<S as ReplaceAxis<I>>::Output<usize>, T, E>
    where
        S: ReplaceAxis<I>,
    {
        self.try_topk_n::<I>(k, largest).or_panic()
    }
    /// [`topk_n`](Self::topk_n) with an `Err` naming `k` when the axis is shorter.
    fn try_topk_n<const I: usize>(
        self,
        k: usize,
        largest: bool,
    ) -> Result<Sorted<<S as ReplaceAxis<I>>::Output<usize>, T, E>>
    where
        S: ReplaceAxis<I>;
}

impl<S: Shape, E: Float, T: Tape<E>> GpuSort<S, T, E> for GpuTensor<S, T, E> {
    fn sort<const I: usize>(self, descending: bool) -> Sorted<S, T, E>
    where
        S: HasAxis<I>,
    {
        let (n, out) = (self.shape.dims()[I], self.shape);
        sorted_op(self, I, n, descending, out).or_panic()
    }
    fn try_topk<const I: usize, const K: usize>(
        self,
        largest: bool,
    ) -> Result<Sorted<<S as ReplaceAxis<I>>::Output<Const<K>>, T, E>>
    where
        S: ReplaceAxis<I>,
    {
        let dims = self.shape.dims();
        if K > dims[I] {
            return Err(k_error(K, &dims, I));
        }
        let out = self.shape.replace_axis(Const::<K>);
        sorted_op(self, I, K, largest, out)
    }
    fn try_topk_n<const I: usize>(
        self,
        k: usize,
        largest: bool,
    ) -> Result<Sorted<<S as ReplaceAxis<I>>::Output<usize>, T, E>>
    where
        S: ReplaceAxis<I>,
    {
        let dims = self.shape.dims();
        if k > dims[I] {
            return Err(k_error(k, &dims, I));
        }
        let out = self.shape.replace_axis(k);
        sorted_op(self, I, k, largest, out)
    }
}
