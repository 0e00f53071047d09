//! The Poisson and Gaussian negative log-likelihood losses on the GPU, as [`GpuLoss`] (the
//! loss structs of [`crate::nn::loss`] moved with `to_device`) and as `F`-style functions,
//! composed from the GPU ops as the CPU composes them.

// The signatures spell out reduced shapes and merged tapes, as the CPU losses do.
#![allow(clippy::type_complexity)]

use super::activations::GpuActivations;
use super::compare::GpuCompare;
use super::loss::{GpuLossTape, check_same};
use super::loss_margin::keep_where;
use super::loss_modules::GpuLoss;
use super::loss_reduce::GpuReduce;
use super::ops::{GpuOps, binary_op};
use super::tensor::{GpuTensor, ToCpu, ToDevice, split, with_tape};
use crate::autograd::{Merge, Tape};
use crate::device::Wgpu;
use crate::device::kernels::BinaryOp;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::loss::{GaussianNLLLoss, PoissonNLLLoss, check_variance_shape};
use crate::shape::Shape;

macro_rules! settings_to_device {
    ($($name:ident),*) => {$(
        /// The loss on the GPU ([`GpuLoss`]); it holds no tensor, so nothing is uploaded.
        impl<R: Clone> ToDevice for $name<R> {
            type Output = GpuLoss<$name<R>>;
            fn to_device(&self, _: &Wgpu) -> Result<GpuLoss<$name<R>>> {
                Ok(GpuLoss::settings(self.clone()))
            }
        }
    )*};
}
settings_to_device!(PoissonNLLLoss, GaussianNLLLoss);

/// `a` and `b` both on their merged tape (the CPU's `on_merged_tape`): `b`'s is the
/// merged tape's clone for `b`, so that both can join one expression.
fn on_merged_tape<SA: Shape, SB: Shape, E: Float, T, TR>(
    a: GpuTensor<SA, T, E>,
    b: GpuTensor<SB, TR, E>,
) -> (
    GpuTensor<SA, GpuLossTape<T, TR, E>, E>,
    GpuTensor<SB, GpuLossTape<T, TR, E>, E>,
)
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let (a, ta) = split(a);
    let (b, tb) = split(b);
    let tape = ta.merge(tb);
    let b_tape = tape.for_clone(b.id);
    (with_tape(a, tape), with_tape(b, b_tape))
}

/// `ln t!` by Stirling, `t ln t - t + 0.5 ln(2 pi t)` where `t > 1`, else 0 (value and
/// gradient), computed on `max(t, 1)` so that no `0 ln 0` reaches the gradient.
fn stirling<S: Shape, E: Float, T: Tape<E>>(t: GpuTensor<S, T, E>) -> Result<GpuTensor<S, T, E>> {
    let above = t.gt_scalar(E::ONE);
    let t = t.clamp(E::ONE, E::INFINITY);
    let shape = t.shape;
    let t_ln_t = binary_op(t.clone(), t.clone().ln(), shape, BinaryOp::Mul)?;
    let half_log = (t.clone() * E::from_f64(2.0 * std::f64::consts::PI)).ln() * E::from_f64(0.5);
    let terms = binary_op(t_ln_t, t, shape, BinaryOp::Sub)?;
    let terms = binary_op(terms, half_log, shape, BinaryOp::Add)?;
    keep_where(terms, &above)
}

impl<R: GpuReduce> GpuLoss<PoissonNLLLoss<R>> {
    /// The Poisson negative log-likelihood of `input` (the log-rate, or the rate where
    /// `log_input` is false) against counts `target`, as the CPU struct's `forward`:
    /// `exp(x) - t x`, or `x - t ln(x + eps)`, plus Stirling's `ln t!` where `full`.
    /// Gradients reach the input and a traced target. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::{PoissonNLLLoss, Reduction};
    /// let gpu = Wgpu::new()?;
    /// let loss = PoissonNLLLoss::new().reduction(Reduction::None).to_device(&gpu)?;
    /// let x = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?;
    /// let t = Tensor::<Rank1<2>>::from_array([0.0, 2.0]).to_device(&gpu)?;
    /// assert_eq!(loss.forward(x, t).to_cpu()?.to_vec(), vec![1.0, 1.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<S: Shape, E: Float, T, TR>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
    ) -> GpuTensor<R::Output<S>, GpuLossTape<T, TR, E>, E>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        self.try_forward(input, target).or_panic()
    }

    /// [`forward`](Self::forward) with an `Err` when run-time sizes differ.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::PoissonNLLLoss;
    /// let gpu = Wgpu::new()?;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
    /// let t = Tensor::<(usize,)>::ones_with_shape((2,)).to_device(&gpu)?;
    /// assert!(PoissonNLLLoss::new().to_device(&gpu)?.try_forward(x, t).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_forward<S: Shape, E: Float, T, TR>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
    ) -> Result<GpuTensor<R::Output<S>, GpuLossTape<T, TR, E>, E>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        check_same("poisson_nll_loss", &input.shape, &target.shape)?;
        let shape = input.shape;
        let (x, t) = on_merged_tape(input, target);
        let loss = if self.loss.log_input {
            let tx = binary_op(t.clone(), x.clone(), shape, BinaryOp::Mul)?;
            binary_op(x.exp(), tx, shape, BinaryOp::Sub)?
        } else {
            let log_rate = (x.clone() + E::from_f64(self.loss.eps)).ln();
            let t_log = binary_op(t.clone(), log_rate, shape, BinaryOp::Mul)?;
            binary_op(x, t_log, shape, BinaryOp::Sub)?
        };
        let loss = if self.loss.full {
            binary_op(loss, stirling(t)?, shape, BinaryOp::Add)?
        } else {
            loss
        };
        Ok(self.loss.reduction.reduce_gpu(loss))
    }
}

impl<R: GpuReduce> GpuLoss<GaussianNLLLoss<R>> {
    /// The Gaussian negative log-likelihood of `input` (the mean) against `target` with
    /// variance `var`, as the CPU struct's `forward`: `0.5 (ln max(var, eps) + (x - t)^2 /
    /// max(var, eps))` (plus `0.5 ln 2 pi` where `full`); `var` has the input's shape or one
    /// dimension of size 1 (homoscedastic), the clamp passes the gradient through, as in
    /// PyTorch. Panics where [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::{GaussianNLLLoss, Reduction};
    /// let gpu = Wgpu::new()?;
    /// let loss = GaussianNLLLoss::new().reduction(Reduction::Sum).to_device(&gpu)?;
    /// let x = Tensor::<Rank2<2, 2>>::zeros().to_device(&gpu)?;
    /// let t = Tensor::<Rank2<2, 2>>::ones().to_device(&gpu)?;
    /// let var = Tensor::<Rank2<2, 1>>::ones().to_device(&gpu)?;
    /// assert_eq!(loss.forward(x, t, var).to_cpu()?.to_vec(), vec![2.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<S: Shape, SV: Shape, E: Float, T, TR, TV>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
        var: GpuTensor<SV, TV, E>,
    ) -> GpuTensor<R::Output<S>, GpuLossTape<GpuLossTape<T, TR, E>, TV, E>, E>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        GpuLossTape<T, TR, E>: Merge<E, TV>,
        TV: Tape<E>,
    {
        self.try_forward(input, target, var).or_panic()
    }

    /// [`forward`](Self::forward) with an `Err` when run-time sizes differ, `var` does not
    /// fit the input, or `var` has a negative entry (which reads `var` back from the GPU, as
    /// PyTorch's check does).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::GaussianNLLLoss;
    /// let gpu = Wgpu::new()?;
    /// let x = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?;
    /// let var = Tensor::<Rank1<2>>::from_array([1.0, -1.0]).to_device(&gpu)?;
    /// let loss = GaussianNLLLoss::new().to_device(&gpu)?;
    /// assert!(loss.try_forward(x.clone(), x, var).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_forward<S: Shape, SV: Shape, E: Float, T, TR, TV>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
        var: GpuTensor<SV, TV, E>,
    ) -> Result<GpuTensor<R::Output<S>, GpuLossTape<GpuLossTape<T, TR, E>, TV, E>, E>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        GpuLossTape<T, TR, E>: Merge<E, TV>,
        TV: Tape<E>,
    {
        const OP: &str = "gaussian_nll_loss";
        check_same(OP, &input.shape, &target.shape)?;
        check_variance_shape(input.shape.dims().as_slice(), var.shape.dims().as_slice())?;
        let (v, tv) = split(var);
        let values = v.to_cpu()?;
        if let Some(p) = values.as_slice().iter().position(|&x| x < E::ZERO) {
            return Err(Error::value(
                "gaussian_nll_loss var",
                format!(
                    "var has a negative entry, {} at position {p}",
                    values.as_slice()[p]
                ),
            ));
        }
        let shape = input.shape;
        let diff = binary_op(input, target, shape, BinaryOp::Sub)?;
        let squared = diff.square();
        // max(var, eps) in value, the identity in gradient: var + (max(var, eps) - var).
        let vshape = v.shape;
        let clamped = v.clone().clamp(E::from_f64(self.loss.eps), E::INFINITY);
        let lift = binary_op(clamped, v.clone(), vshape, BinaryOp::Sub)?;
        let var = binary_op(with_tape(v, tv), lift, vshape, BinaryOp::Add)?;
        let (squared, var) = on_merged_tape(squared, var);
        let scaled = binary_op(squared, var.clone(), shape, BinaryOp::Div)?;
        let loss = binary_op(var.ln(), scaled, shape, BinaryOp::Add)? * E::from_f64(0.5);
        let loss = if self.loss.full {
            loss + E::from_f64(0.5 * (2.0 * std::f64::consts::PI).ln())
        } else {
            loss
        };
        Ok(self.loss.reduction.reduce_gpu(loss))
    }
}

/// Poisson negative log-likelihood on the GPU with PyTorch's defaults (`log_input=True`,
/// `full=False`, the mean): the GPU's
/// [`poisson_nll_loss`](crate::nn::loss::poisson_nll_loss). Panics if run-time sizes differ
/// (see [`try_poisson_nll_loss`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?;
/// let t = Tensor::<Rank1<2>>::from_array([0.0, 2.0]).to_device(&gpu)?;
/// assert_eq!(shaped::gpu::poisson_nll_loss(x, t).to_cpu()?.to_vec(), vec![1.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn poisson_nll_loss<S: Shape, E: Float, T, TR>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
) -> GpuTensor<(), GpuLossTape<T, TR, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    try_poisson_nll_loss(input, target).or_panic()
}

/// [`poisson_nll_loss`] with an `Err` when run-time sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
/// let t = Tensor::<(usize,)>::ones_with_shape((2,)).to_device(&gpu)?;
/// assert!(shaped::gpu::try_poisson_nll_loss(x, t).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_poisson_nll_loss<S: Shape, E: Float, T, TR>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
) -> Result<GpuTensor<(), GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    GpuLoss::settings(PoissonNLLLoss::new()).try_forward(input, target)
}

/// Gaussian negative log-likelihood on the GPU with PyTorch's defaults (`full=False`,
/// `eps=1e-6`, the mean): the GPU's
/// [`gaussian_nll_loss`](crate::nn::loss::gaussian_nll_loss). Panics where
/// [`try_gaussian_nll_loss`] returns an error.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?;
/// let t = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let var = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// assert_eq!(shaped::gpu::gaussian_nll_loss(x, t, var).to_cpu()?.to_vec(), vec![0.5]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn gaussian_nll_loss<S: Shape, SV: Shape, E: Float, T, TR, TV>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    var: GpuTensor<SV, TV, E>,
) -> GpuTensor<(), GpuLossTape<GpuLossTape<T, TR, E>, TV, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
    GpuLossTape<T, TR, E>: Merge<E, TV>,
    TV: Tape<E>,
{
    try_gaussian_nll_loss(input, target, var).or_panic()
}

/// [`gaussian_nll_loss`] with an `Err` when sizes do not fit or `var` has a negative entry.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
/// let var = Tensor::<(usize,)>::ones_with_shape((2,)).to_device(&gpu)?;
/// assert!(shaped::gpu::try_gaussian_nll_loss(x.clone(), x, var).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_gaussian_nll_loss<S: Shape, SV: Shape, E: Float, T, TR, TV>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    var: GpuTensor<SV, TV, E>,
) -> Result<GpuTensor<(), GpuLossTape<GpuLossTape<T, TR, E>, TV, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
    GpuLossTape<T, TR, E>: Merge<E, TV>,
    TV: Tape<E>,
{
    GpuLoss::settings(GaussianNLLLoss::new()).try_forward(input, target, var)
}
