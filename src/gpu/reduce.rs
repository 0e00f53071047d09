//! Per-axis ops on GPU tensors: softmax, sum, mean, max and min along one axis (with and
//! without `keepdim`, and with their indices) and the index of the maximum or minimum, under
//! the CPU methods' names.

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::kernels::{self, UnaryOp};
use crate::device::{GpuStorage, seq_kernels};
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{HasAxis, Shape};
use crate::tensor::Indices;

/// The values along axis `I` and the indices they come from (`torch.max(x, dim)`).
type WithIndices<S, T, E, const I: usize> = (
    GpuTensor<<S as HasAxis<I>>::Reduced, T, E>,
    Indices<<S as HasAxis<I>>::Reduced>,
);

/// `(outer, n, inner)` around `axis` of `dims`.
pub(super) fn around(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// The ops along one axis that GPU tensors have, under the CPU tensor's method names (see
/// those for the maths); in `use shaped::gpu::prelude::*`. `E` is the element type, f32 or
/// f64 (on adapters with `SHADER_F64`).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 9.0, 3.0], [7.0, 5.0, 6.0]]).to_device(&gpu)?;
/// assert_eq!(x.argmax::<1>().to_vec(), vec![1, 0]);
/// let _ones = x.clone().softmax::<1>().sum_dim::<1>(); // each row of probabilities sums to 1
/// let m: GpuTensor<Rank2<2, 1>> = x.max_dim_keepdim::<1>();
/// assert_eq!(m.to_cpu()?.to_vec(), vec![9.0, 7.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuAxisOps<S: Shape, T: Tape<E>, E: Float = f32>: Sized {
    /// Softmax along axis `I` (`torch.softmax(x, dim=I)`).
    fn softmax<const I: usize>(self) -> GpuTensor<S, T, E>
    where
        S: HasAxis<I>;
    /// Sum along axis `I` (`x.sum(dim=I)`).
    fn sum_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>;
    /// [`sum_dim`](Self::sum_dim) keeping the axis with size 1 (`keepdim=True`).
    fn sum_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>;
    /// Mean along axis `I` (NaN over an empty axis, as PyTorch).
    fn mean_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>;
    /// [`mean_dim`](Self::mean_dim) keeping the axis with size 1.
    fn mean_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>;
    /// Maximum along axis `I`; the gradient goes to the first maximum (a NaN wins), as
    /// PyTorch's `max(dim)`. Panics on an empty axis, as the CPU method.
    fn max_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>;
    /// [`max_dim`](Self::max_dim) keeping the axis with size 1.
    fn max_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>;
    /// Minimum along axis `I` (see [`max_dim`](Self::max_dim)).
    fn min_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>;
    /// [`min_dim`](Self::min_dim) keeping the axis with size 1.
    fn min_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>;
    /// Maximum along axis `I` with the index of the first maximum (`torch.max(x, dim)`), the
    /// indices read back to main memory as the CPU's
    /// [`max_dim_with_indices`](crate::tensor::Tensor::max_dim_with_indices) returns them.
    /// Panics on an empty axis or a failed read-back
    /// ([`try_max_dim_with_indices`](Self::try_max_dim_with_indices) returns the `Err`).
    #[track_caller]
    fn max_dim_with_indices<const I: usize>(self) -> WithIndices<S, T, E, I>
    where
        S: HasAxis<I>,
    {
        self.try_max_dim_with_indices::<I>().or_panic()
    }
    /// [`max_dim_with_indices`](Self::max_dim_with_indices) with an `Err` for an empty axis
    /// or a failed read-back.
    fn try_max_dim_with_indices<const I: usize>(self) -> Result<WithIndices<S, T, E, I>>
    where
        S: HasAxis<I>;
    /// Minimum along axis `I` with the index of the first minimum (see
    /// [`max_dim_with_indices`](Self::max_dim_with_indices)).
    #[track_caller]
    fn min_dim_with_indices<const I: usize>(self) -> WithIndices<S, T, E, I>
    where
        S: HasAxis<I>,
    {
        self.try_min_dim_with_indices::<I>().or_panic()
    }
    /// [`min_dim_with_indices`](Self::min_dim_with_indices) with an `Err` for an empty axis
    /// or a failed read-back.
    fn try_min_dim_with_indices<const I: usize>(self) -> Result<WithIndices<S, T, E, I>>
    where
        S: HasAxis<I>;
    /// Index of the first maximum along axis `I` (no gradient), read back to main memory
    /// as the CPU's [`argmax`](crate::tensor::Tensor::argmax) returns it. Panics if the
    /// read-back fails ([`try_argmax`](Self::try_argmax) returns the `Err`).
    #[track_caller]
    fn argmax<const I: usize>(&self) -> Indices<<S as HasAxis<I>>::Reduced>
    where
        S: HasAxis<I>,
    {
        self.try_argmax::<I>().or_panic()
    }
    /// [`argmax`](Self::argmax) with an `Err` for an empty axis or a failed read-back.
    fn try_argmax<const I: usize>(&self) -> Result<Indices<<S as HasAxis<I>>::Reduced>>
    where
        S: HasAxis<I>;
    /// Index of the first minimum along axis `I` (see [`argmax`](Self::argmax)).
    #[track_caller]
    fn argmin<const I: usize>(&self) -> Indices<<S as HasAxis<I>>::Reduced>
    where
        S: HasAxis<I>,
    {
        self.try_argmin::<I>().or_panic()
    }
    /// [`argmin`](Self::argmin) with an `Err` for an empty axis or a failed read-back.
    fn try_argmin<const I: usize>(&self) -> Result<Indices<<S as HasAxis<I>>::Reduced>>
    where
        S: HasAxis<I>;
}

/// Sum along `axis` times `scale` into `out`; the backward spreads the gradient back.
pub(super) fn sum_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    out: SO,
    mean: bool,
) -> GpuTensor<SO, T, E> {
    let (x, mut tape) = split(x);
    let dims = x.shape.dims().to_vec();
    let (outer, n, inner) = around(&dims, axis);
    // An empty axis's mean is NaN, as in PyTorch.
    let scale = match (mean, n) {
        (false, _) => E::ONE,
        (true, 0) => E::from_f64(f64::NAN),
        (true, n) => E::ONE / E::from_usize(n),
    };
    let y = kernels::reduce_axis(&x.data, outer, n, inner, false, scale);
    let result = gpu_tensor(out, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, result.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let spread =
                    kernels::strided_copy(&gy, &[inner, 0, 1], &[outer, n, inner]).expect("rank 3");
                let spread = if scale == E::ONE {
                    spread
                } else {
                    kernels::unary(UnaryOp::Scale, &spread, scale)
                };
                add_grad(g, x_id, spread);
            }),
        );
    }
    with_tape(result, tape)
}

fn empty_axis(op: &'static str, dims: &[usize], axis: usize) -> Error {
    Error::shape(
        op,
        format!("axis {axis} of shape {dims:?} is empty: there is no extreme value to take"),
    )
}

/// Max (or min) along `axis` into `out`, the gradient to the first extreme element.
pub(super) fn extreme_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    out: SO,
    min: bool,
) -> Result<(GpuTensor<SO, T, E>, GpuStorage<u32>)> {
    let (x, mut tape) = split(x);
    let dims = x.shape.dims().to_vec();
    let (outer, n, inner) = around(&dims, axis);
    let op = if min { "min_dim" } else { "max_dim" };
    if n == 0 && outer * inner > 0 {
        return Err(empty_axis(op, &dims, axis));
    }
    let (y, idx) = seq_kernels::arg_extreme(&x.data, outer, n, inner, min);
    let result = gpu_tensor(out, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id, idx) = (x.id, result.id, idx.clone());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                add_grad(
                    g,
                    x_id,
                    seq_kernels::arg_extreme_backward(&idx, &gy, outer, n, inner),
                );
            }),
        );
    }
    Ok((with_tape(result, tape), idx))
}

/// [`extreme_axis`] with its indices read back (`max_dim_with_indices`).
fn extreme_axis_with_indices<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    out: SO,
    min: bool,
) -> Result<(GpuTensor<SO, T, E>, Indices<SO>)> {
    let (y, idx) = extreme_axis(x, axis, out, min)?;
    let idx = seq_kernels::download_u32(&idx)?;
    let idx = Indices::from_parts(out, idx.into_iter().map(|i| i as usize).collect());
    Ok((y, idx))
}

fn arg_extreme_indices<SO: Shape, E: Float>(
    data: &GpuStorage<E>,
    dims: &[usize],
    axis: usize,
    out: SO,
    min: bool,
) -> Result<Indices<SO>> {
    let (outer, n, inner) = around(dims, axis);
    let op = if min { "argmin" } else { "argmax" };
    if n == 0 && outer * inner > 0 {
        return Err(empty_axis(op, dims, axis));
    }
    let (_, idx) = seq_kernels::arg_extreme(data, outer, n, inner, min);
    let idx = seq_kernels::download_u32(&idx)?;
    Ok(Indices::from_parts(
        out,
        idx.into_iter().map(|i| i as usize).collect(),
    ))
}

impl<S: Shape, E: Float, T: Tape<E>> GpuAxisOps<S, T, E> for GpuTensor<S, T, E> {
    fn softmax<const I: usize>(self) -> GpuTensor<S, T, E>
    where
        S: HasAxis<I>,
    {
        let (x, mut tape) = split(self);
        let (outer, n, inner) = around(&x.shape.dims(), I);
        let y = seq_kernels::softmax(&x.data, outer, n, inner);
        let out = gpu_tensor(x.shape, y.clone(), NoTape);
        if wants(&tape, x.id) {
            let (x_id, out_id) = (x.id, out.id);
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = take_grad(g, out_id) else {
                        return;
                    };
                    add_grad(
                        g,
                        x_id,
                        seq_kernels::softmax_backward(&y, &gy, outer, n, inner),
                    );
                }),
            );
        }
        with_tape(out, tape)
    }
    fn sum_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        sum_axis(self, I, out, false)
    }
    fn sum_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.keepdim();
        sum_axis(self, I, out, false)
    }
    fn mean_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        sum_axis(self, I, out, true)
    }
    fn mean_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.keepdim();
        sum_axis(self, I, out, true)
    }
    #[track_caller]
    fn max_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        extreme_axis(self, I, out, false).or_panic().0
    }
    #[track_caller]
    fn max_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.keepdim();
        extreme_axis(self, I, out, false).or_panic().0
    }
    #[track_caller]
    fn min_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        extreme_axis(self, I, out, true).or_panic().0
    }
    #[track_caller]
    fn min_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.keepdim();
        extreme_axis(self, I, out, true).or_panic().0
    }
    fn try_max_dim_with_indices<const I: usize>(self) -> Result<WithIndices<S, T, E, I>>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        extreme_axis_with_indices(self, I, out, false)
    }
    fn try_min_dim_with_indices<const I: usize>(self) -> Result<WithIndices<S, T, E, I>>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        extreme_axis_with_indices(self, I, out, true)
    }
    fn try_argmax<const I: usize>(&self) -> Result<Indices<<S as HasAxis<I>>::Reduced>>
    where
        S: HasAxis<I>,
    {
        let dims = self.shape.dims();
        arg_extreme_indices(&self.data, &dims, I, self.shape.reduced(), false)
    }
    fn try_argmin<const I: usize>(&self) -> Result<Indices<<S as HasAxis<I>>::Reduced>>
    where
        S: HasAxis<I>,
    {
        let dims = self.shape.dims();
        arg_extreme_indices(&self.data, &dims, I, self.shape.reduced(), true)
    }
}
