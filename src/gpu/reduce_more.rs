//! The other reductions of GPU tensors, under the CPU methods' names: variance and standard
//! deviation (Bessel's correction as on the CPU), `logsumexp` (whole tensor and per axis),
//! the whole tensor's `max` and `min`, and the running sum `cumsum`. Variance and `logsumexp` are compositions of the GPU ops (so
//! their gradients are those ops' rules); `cumsum` is one scan kernel each way.

use super::ops::{GpuOps, binary_op};
use super::reduce::{around, sum_axis};
use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::GpuStorage;
use crate::device::kernels::{self, BinaryOp};
use crate::device::loss_kernels::{self, Term};
use crate::device::seq_kernels;
use crate::dtype::Float;
use crate::error::{Error, OrPanic};
use crate::shape::{DynShape, HasAxis, Shape};
use crate::tensor::Tensor;

/// Variance, standard deviation, `logsumexp`, `max`/`min` of everything and `cumsum` of GPU
/// tensors of f32 or f64 (`E`), under the CPU tensor's method names and with its maths (see
/// [`Tensor::var_dim`] and the others); in `use shaped::gpu::prelude::*`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 6.0, 8.0]]).to_device(&gpu)?;
/// assert_eq!(x.clone().var_dim::<1>().to_cpu()?.to_vec(), vec![1.0, 4.0]);
/// assert_eq!(x.clone().cumsum::<1>().to_cpu()?.to_vec(), vec![1.0, 3.0, 6.0, 4.0, 10.0, 18.0]);
/// let lse = x.logsumexp().to_cpu()?.to_vec()[0];
/// assert!((lse - 8.1517).abs() < 1e-3);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuReductions<S: Shape, T: Tape<E>, E: Float = f32>: Sized {
    /// Unbiased variance of every element (`correction=1`, PyTorch's default).
    fn var(self) -> GpuTensor<(), T, E>;
    /// Unbiased standard deviation of every element.
    fn std(self) -> GpuTensor<(), T, E>;
    /// `log(sum(exp(x)))` over every element, stable for large magnitudes.
    fn logsumexp(self) -> GpuTensor<(), T, E>;
    /// Largest element, as a scalar; as PyTorch's `max()` (and the CPU's), the gradient is
    /// shared evenly by every element equal to the result (every NaN when the result is NaN).
    /// Panics on an empty tensor.
    fn max(self) -> GpuTensor<(), T, E>;
    /// Smallest element, as a scalar; the gradient is shared like [`max`](Self::max)'s.
    fn min(self) -> GpuTensor<(), T, E>;
    /// Unbiased variance along axis `I`.
    fn var_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>;
    /// [`var_dim`](Self::var_dim) keeping the axis with size 1 (`keepdim=True`).
    fn var_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>;
    /// Variance along axis `I` with an explicit Bessel correction (0 = biased).
    fn var_dim_correction<const I: usize>(
        self,
        correction: usize,
    ) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>;
    /// Unbiased standard deviation along axis `I`.
    fn std_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>;
    /// [`std_dim`](Self::std_dim) keeping the axis with size 1.
    fn std_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>;
    /// `log(sum(exp(x)))` along axis `I`, shifted by the maximum so that no exp overflows.
    fn logsumexp_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>;
    /// [`logsumexp_dim`](Self::logsumexp_dim) keeping the axis with size 1.
    fn logsumexp_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>;
    /// The inclusive running sum along axis `I` (`torch.cumsum(x, dim=I)`); the shape is
    /// kept.
    fn cumsum<const I: usize>(self) -> GpuTensor<S, T, E>
    where
        S: HasAxis<I>;
}

/// The same buffer as a rank-1 tensor (same id: gradients are flat buffers).
fn flat<S: Shape, E: Float, T>(x: GpuTensor<S, T, E>) -> GpuTensor<(usize,), T, E> {
    let n = x.shape.numel();
    Tensor {
        shape: (n,),
        data: x.data,
        id: x.id,
        tape: x.tape,
    }
}

/// Variance along `axis` with Bessel's `correction`: the CPU's composition, mean, centre,
/// square, sum, scale.
fn var_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    correction: usize,
    out: SO,
) -> GpuTensor<SO, T, E> {
    let dims = x.shape.dims();
    let n = dims[axis];
    let mean = sum_axis(x.clone(), axis, DynShape(dims.with(axis, 1)), true);
    let centered = binary_op(x, mean, DynShape(dims), BinaryOp::Sub).expect("rank of a shape");
    let denom = E::from_usize(n.saturating_sub(correction));
    sum_axis(centered.square(), axis, out, false) * (E::ONE / denom)
}

/// `ln(sum(exp(x)))` along `axis`, shifted by the detached maximum (0 where it is not
/// finite, which would turn `x - max` into NaN), as the CPU computes it.
fn logsumexp_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    out: SO,
) -> GpuTensor<SO, T, E> {
    let dims = x.shape.dims();
    let (outer, n, inner) = around(&dims, axis);
    let (max, _) = seq_kernels::arg_extreme(&x.data, outer, n, inner, false);
    let shift = loss_kernels::term(Term::FiniteOrZero, &max, &max, &max);
    let keep = gpu_tensor(DynShape(dims.with(axis, 1)), shift.clone(), NoTape);
    let shifted = binary_op(x, keep, DynShape(dims), BinaryOp::Sub).expect("rank of a shape");
    let sum = sum_axis(shifted.exp(), axis, out, false);
    let shift = gpu_tensor(out, shift, NoTape);
    binary_op(sum.ln(), shift, out, BinaryOp::Add).expect("rank of a shape")
}

/// The max (or min) of every element in two passes (lines of `line` elements, then their
/// results with the tail that does not fill a line), a NaN winning; the gradient shared
/// evenly by the elements equal to it.
#[track_caller]
fn extreme_all<S: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    min: bool,
) -> GpuTensor<(), T, E> {
    let (x, mut tape) = split(x);
    let n = x.shape.numel();
    if n == 0 {
        let op = if min { "min" } else { "max" };
        Err::<(), _>(Error::shape(
            op,
            "the tensor is empty: there is no extreme value to take",
        ))
        .or_panic();
    }
    let line = 1024.max((n as f64).sqrt().ceil() as usize);
    let (rows, tail) = (n / line, n % line);
    let partial = x.data.device.alloc_as::<E>(rows + tail);
    if rows > 0 {
        let (firsts, _) = seq_kernels::arg_extreme(&x.data, rows, line, 1, min);
        seq_kernels::copy_into(&firsts, 0, &partial, 0, rows);
    }
    seq_kernels::copy_into(&x.data, rows * line, &partial, rows, tail);
    let (y, _) = seq_kernels::arg_extreme(&partial, 1, rows + tail, 1, min);
    let out = gpu_tensor((), y.clone(), NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id, xd) = (x.id, out.id, x.data);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let ties = loss_kernels::term(Term::Ties, &xd, &y, &xd);
                let count = kernels::reduce_axis(&ties, 1, n, 1, false, E::ONE);
                let bin = |op, a: &GpuStorage<E>, ad: &[usize], b: &GpuStorage<E>| {
                    kernels::binary(op, a, ad, b, &[1], &[n]).expect("rank 1")
                };
                let share = bin(BinaryOp::Mul, &ties, &[n], &gy);
                add_grad(g, x_id, bin(BinaryOp::Div, &share, &[n], &count));
            }),
        );
    }
    with_tape(out, tape)
}

fn cumsum_axis<S: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
) -> GpuTensor<S, T, E> {
    let (x, mut tape) = split(x);
    let lines = around(&x.shape.dims(), axis);
    let y = loss_kernels::scan(&x.data, lines, false);
    let out = gpu_tensor(x.shape, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, out.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                add_grad(g, x_id, loss_kernels::scan(&gy, lines, true));
            }),
        );
    }
    with_tape(out, tape)
}

impl<S: Shape, E: Float, T: Tape<E>> GpuReductions<S, T, E> for GpuTensor<S, T, E> {
    fn var(self) -> GpuTensor<(), T, E> {
        var_axis(flat(self), 0, 1, ())
    }
    fn std(self) -> GpuTensor<(), T, E> {
        use super::activations::GpuActivations;
        var_axis(flat(self), 0, 1, ()).sqrt()
    }
    fn logsumexp(self) -> GpuTensor<(), T, E> {
        logsumexp_axis(flat(self), 0, ())
    }
    #[track_caller]
    fn max(self) -> GpuTensor<(), T, E> {
        extreme_all(self, false)
    }
    #[track_caller]
    fn min(self) -> GpuTensor<(), T, E> {
        extreme_all(self, true)
    }
    fn var_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        var_axis(self, I, 1, out)
    }
    fn var_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.keepdim();
        var_axis(self, I, 1, out)
    }
    fn var_dim_correction<const I: usize>(
        self,
        correction: usize,
    ) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        var_axis(self, I, correction, out)
    }
    fn std_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        use super::activations::GpuActivations;
        self.var_dim::<I>().sqrt()
    }
    fn std_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>,
    {
        use super::activations::GpuActivations;
        self.var_dim_keepdim::<I>().sqrt()
    }
    fn logsumexp_dim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::Reduced, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.reduced();
        logsumexp_axis(self, I, out)
    }
    fn logsumexp_dim_keepdim<const I: usize>(self) -> GpuTensor<<S as HasAxis<I>>::KeepDim, T, E>
    where
        S: HasAxis<I>,
    {
        let out = self.shape.keepdim();
        logsumexp_axis(self, I, out)
    }
    fn cumsum<const I: usize>(self) -> GpuTensor<S, T, E>
    where
        S: HasAxis<I>,
    {
        cumsum_axis(self, I)
    }
}
