//! The activation functions of `torch.nn` beyond ReLU, sigmoid, tanh, GELU, SiLU, leaky
//! ReLU and softplus (those sit in [`unary`](super::unary)): the ELU family, the hard
//! (piecewise-linear) ones, Mish, softsign, log-sigmoid and the shrinks. Each is a
//! [`UnaryKernel`] whose value, derivative, edge rules (which side a kink's gradient takes)
//! and NaN handling follow PyTorch's CPU kernels; PReLU, with its learned slope, is the
//! binary [`PreluKernel`](super::binary::PreluKernel); GLU, which halves an axis, has a
//! kernel of its own (`backend::glu`).
//!
//! Every branch is written as two values and a select, so that the loops vectorise (as the
//! other kernels' comments in `unary.rs` measure).

use super::binary::{MulKernel, binary_op};
use super::shape_ops::moving_op;
use super::unary::{ClampKernel, LeakyReluKernel, UnaryKernel, sigmoid, unary_op};
use crate::autograd::Tape;
use crate::backend::glu::{glu_backward, glu_forward};
use crate::backend::reduce::split_axis;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{ChunkDim, HasAxis, ReplaceAxis, Shape};
use crate::tensor::Tensor;
use rand::Rng;
use rand::distr::{Distribution, StandardUniform};

/// SELU's `alpha` (Klambauer et al., as PyTorch).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's `scale`.
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// `e^x - 1`, accurate near 0 (where `exp(x) - 1` loses every digit: ELU at `x = -1e-8`
/// would be 0, not `-1e-8`): the Taylor series on `|x| < 1/2`, to the element type's
/// precision (9 terms for `f32`, 15 for `f64`), `exp(x) - 1` elsewhere (at most 2.6 ulp
/// there), selected without a branch.
#[inline(always)]
pub(crate) fn exp_m1<E: Float>(x: E) -> E {
    // 1/k! for k = 2..=15.
    const INVERSE_FACTORIALS: [f64; 14] = {
        let mut c = [0.0; 14];
        let mut fact = 1.0;
        let mut k = 2;
        while k <= 15 {
            fact *= k as f64;
            c[k - 2] = 1.0 / fact;
            k += 1;
        }
        c
    };
    let terms = if core::mem::size_of::<E>() == 4 {
        8
    } else {
        14
    };
    let mut series = E::ZERO;
    for &c in INVERSE_FACTORIALS[..terms].iter().rev() {
        series = (series + E::from_f64(c)) * x;
    }
    let small = x + x * series;
    let large = x.exp() - E::ONE;
    if x.abs() < E::from_f64(0.5) {
        small
    } else {
        large
    }
}

/// PyTorch's ELU family: `scale * x` for `x > 0`, else `alpha * scale * (e^(x * input_scale)
/// - 1)` (ELU: `scale = input_scale = 1`; SELU: fixed `alpha` and `scale`; CELU:
/// `input_scale = 1 / alpha`). At 0 the derivative is the negative side's, as in PyTorch.
#[derive(Clone, Copy, Debug)]
pub struct EluKernel<E> {
    /// The negative side's saturation value (before `scale`).
    pub alpha: E,
    /// The factor on both sides (SELU's `scale`).
    pub scale: E,
    /// The factor inside the exponential (CELU's `1 / alpha`).
    pub input_scale: E,
}
impl<E: Float> UnaryKernel<E> for EluKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        let (negative_coef, scale, input_scale) =
            (self.alpha * self.scale, self.scale, self.input_scale);
        let negative = negative_coef * exp_m1(x * input_scale);
        if x <= E::ZERO { negative } else { x * scale }
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let (negative_coef, scale, input_scale) =
            (self.alpha * self.scale, self.scale, self.input_scale);
        let negative = input_scale * negative_coef * (x * input_scale).exp();
        if x <= E::ZERO { negative } else { scale }
    }
}

/// `min(max(x, min), max)` (PyTorch's `hardtanh`, `relu6` with bounds 0 and 6). Unlike
/// [`clamp`](Tensor::clamp), the gradient is 0 at the bounds themselves, as PyTorch's
/// `hardtanh_backward` (`x <= min || x >= max`); NaN stays NaN and passes its gradient.
#[derive(Clone, Copy, Debug)]
pub struct HardtanhKernel<E> {
    /// Lower bound.
    pub min: E,
    /// Upper bound.
    pub max: E,
}
impl<E: Float> UnaryKernel<E> for HardtanhKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        let (min, max) = (self.min, self.max);
        ClampKernel { min, max }.f(x)
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let (min, max) = (self.min, self.max);
        if (x <= min) | (x >= max) {
            E::ZERO
        } else {
            E::ONE
        }
    }
}

/// `min(max(x + 3, 0), 6) / 6`; gradient `1/6` strictly inside `(-3, 3)`, as PyTorch.
#[derive(Clone, Copy, Debug, Default)]
pub struct HardsigmoidKernel;
impl<E: Float> UnaryKernel<E> for HardsigmoidKernel {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        relu6(x + E::from_f64(3.0)) / E::from_f64(6.0)
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let three = E::from_f64(3.0);
        if (x > -three) & (x < three) {
            E::from_f64(1.0 / 6.0)
        } else {
            E::ZERO
        }
    }
}

/// `x * min(max(x + 3, 0), 6) / 6`; gradient 0 below -3, `x / 3 + 1/2` on `[-3, 3]`, 1
/// above (PyTorch's `hardswish_backward`, bounds included in the middle piece).
#[derive(Clone, Copy, Debug, Default)]
pub struct HardswishKernel;
impl<E: Float> UnaryKernel<E> for HardswishKernel {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        x * relu6(x + E::from_f64(3.0)) / E::from_f64(6.0)
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let three = E::from_f64(3.0);
        let middle = x / three + E::from_f64(0.5);
        let upper = if x <= three { middle } else { E::ONE };
        if x < -three { E::ZERO } else { upper }
    }
}

/// `min(max(x, 0), 6)` with NaN kept (`f32::max` would drop it).
#[inline(always)]
fn relu6<E: Float>(x: E) -> E {
    let six = E::from_f64(6.0);
    let low = if x < E::ZERO { E::ZERO } else { x };
    if low > six { six } else { low }
}

/// `ln(1 + e^x)` without overflow.
#[inline(always)]
fn softplus<E: Float>(x: E) -> E {
    x.max(E::ZERO) + (-x.abs()).exp().ln_1p()
}

/// `x * tanh(ln(1 + e^x))` (Misra).
#[derive(Clone, Copy, Debug, Default)]
pub struct MishKernel;
impl<E: Float> UnaryKernel<E> for MishKernel {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        x * softplus(x).tanh()
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let t = softplus(x).tanh();
        t + x * sigmoid(x) * (E::ONE - t * t)
    }
}

/// `x / (1 + |x|)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftsignKernel;
impl<E: Float> UnaryKernel<E> for SoftsignKernel {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        x / (E::ONE + x.abs())
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let d = E::ONE + x.abs();
        E::ONE / (d * d)
    }
}

/// `ln(sigmoid(x)) = min(x, 0) - ln(1 + e^-|x|)`, finite for every finite `x`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogSigmoidKernel;
impl<E: Float> UnaryKernel<E> for LogSigmoidKernel {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        x.min(E::ZERO) - (-x.abs()).exp().ln_1p()
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        sigmoid(-x)
    }
}

/// `x - tanh(x)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TanhshrinkKernel;
impl<E: Float> UnaryKernel<E> for TanhshrinkKernel {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        x - x.tanh()
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let t = x.tanh();
        t * t
    }
}

/// 0 on `[-lambda, lambda]`, 1 elsewhere and for NaN (PyTorch's `x >= -lambda &&
/// x <= lambda` test): the shrinks' derivative.
#[inline(always)]
fn outside_band<E: Float>(x: E, lambda: E) -> E {
    if (x >= -lambda) & (x <= lambda) {
        E::ZERO
    } else {
        E::ONE
    }
}

/// 0 on `[-lambda, lambda]`, else `x`; the gradient is 0 on the closed interval (PyTorch).
#[derive(Clone, Copy, Debug)]
pub struct HardshrinkKernel<E>(pub E);
impl<E: Float> UnaryKernel<E> for HardshrinkKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        let lambda = self.0;
        if (x >= -lambda) & (x <= lambda) {
            E::ZERO
        } else {
            x
        }
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        outside_band(x, self.0)
    }
}

/// `x - lambda` above `lambda`, `x + lambda` below `-lambda`, 0 between; the gradient is 0
/// on the closed interval (PyTorch). NaN stays NaN.
#[derive(Clone, Copy, Debug)]
pub struct SoftshrinkKernel<E>(pub E);
impl<E: Float> UnaryKernel<E> for SoftshrinkKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        let lambda = self.0;
        let lower = if x < -lambda { x + lambda } else { x * E::ZERO };
        if x > lambda { x - lambda } else { lower }
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        outside_band(x, self.0)
    }
}

/// `x` above `threshold`, else `value` (PyTorch's `nn.Threshold`); the gradient is 0 where
/// `x <= threshold`. NaN stays NaN.
#[derive(Clone, Copy, Debug)]
pub struct ThresholdKernel<E> {
    /// Values at or below it are replaced.
    pub threshold: E,
    /// What replaces them.
    pub value: E,
}
impl<E: Float> UnaryKernel<E> for ThresholdKernel<E> {
    #[inline(always)]
    fn f(&self, x: E) -> E {
        let (threshold, value) = (self.threshold, self.value);
        if x <= threshold { value } else { x }
    }
    #[inline(always)]
    fn df(&self, x: E, _: E) -> E {
        let threshold = self.threshold;
        if x <= threshold { E::ZERO } else { E::ONE }
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// ELU: `x` for `x > 0`, else `alpha * (e^x - 1)` (PyTorch's default `alpha` is 1).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<2>, f64>::from_array([2.0, -1.0]).elu(1.0).to_vec();
    /// assert_eq!(y[0], 2.0);
    /// assert!((y[1] - (-1.0f64).exp_m1()).abs() < 1e-15);
    /// ```
    pub fn elu(self, alpha: E) -> Self {
        unary_op(
            self,
            EluKernel {
                alpha,
                scale: E::ONE,
                input_scale: E::ONE,
            },
        )
    }
    /// SELU: `scale * elu(x, alpha)` with PyTorch's fixed [`SELU_ALPHA`] and [`SELU_SCALE`].
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::ops::activation::SELU_SCALE;
    /// let y = Tensor::<Rank1<1>, f64>::from_array([2.0]).selu().to_vec();
    /// assert_eq!(y, vec![2.0 * SELU_SCALE]);
    /// ```
    pub fn selu(self) -> Self {
        unary_op(
            self,
            EluKernel {
                alpha: E::from_f64(SELU_ALPHA),
                scale: E::from_f64(SELU_SCALE),
                input_scale: E::ONE,
            },
        )
    }
    /// CELU: `x` for `x > 0`, else `alpha * (e^(x / alpha) - 1)` (default `alpha` 1).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<1>, f64>::from_array([-2.0]).celu(2.0).to_vec();
    /// assert!((y[0] - 2.0 * (-1.0f64).exp_m1()).abs() < 1e-15);
    /// ```
    pub fn celu(self, alpha: E) -> Self {
        unary_op(
            self,
            EluKernel {
                alpha,
                scale: E::ONE,
                input_scale: E::ONE / alpha,
            },
        )
    }
    /// Hardtanh: clamps to `[min, max]` (PyTorch's defaults -1 and 1), with no gradient at
    /// the bounds themselves (unlike [`clamp`](Self::clamp), as in PyTorch).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<3>>::from_array([-3.0, 0.5, 3.0]).hardtanh(-1.0, 1.0).to_vec();
    /// assert_eq!(y, vec![-1.0, 0.5, 1.0]);
    /// ```
    pub fn hardtanh(self, min: E, max: E) -> Self {
        unary_op(self, HardtanhKernel { min, max })
    }
    /// ReLU6: `min(max(x, 0), 6)`, [`hardtanh`](Self::hardtanh) with bounds 0 and 6.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<3>>::from_array([-1.0, 2.0, 9.0]).relu6().to_vec();
    /// assert_eq!(y, vec![0.0, 2.0, 6.0]);
    /// ```
    pub fn relu6(self) -> Self {
        unary_op(
            self,
            HardtanhKernel {
                min: E::ZERO,
                max: E::from_f64(6.0),
            },
        )
    }
    /// Hardsigmoid: `min(max(x + 3, 0), 6) / 6`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<3>>::from_array([-4.0, 0.0, 4.0]).hardsigmoid().to_vec();
    /// assert_eq!(y, vec![0.0, 0.5, 1.0]);
    /// ```
    pub fn hardsigmoid(self) -> Self {
        unary_op(self, HardsigmoidKernel)
    }
    /// Hardswish: `x * hardsigmoid(x)` (MobileNetV3).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<3>>::from_array([-4.0, 1.0, 4.0]).hardswish().to_vec();
    /// assert_eq!(y, vec![0.0, 4.0 / 6.0, 4.0]);
    /// ```
    pub fn hardswish(self) -> Self {
        unary_op(self, HardswishKernel)
    }
    /// Mish: `x * tanh(softplus(x))`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<2>, f64>::from_array([0.0, 30.0]).mish().to_vec();
    /// assert_eq!(y, vec![0.0, 30.0]);
    /// ```
    pub fn mish(self) -> Self {
        unary_op(self, MishKernel)
    }
    /// Softsign: `x / (1 + |x|)`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<2>>::from_array([1.0, -3.0]).softsign().to_vec();
    /// assert_eq!(y, vec![0.5, -0.75]);
    /// ```
    pub fn softsign(self) -> Self {
        unary_op(self, SoftsignKernel)
    }
    /// `ln(sigmoid(x))`, finite for every finite `x` (`nn.LogSigmoid`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<2>, f64>::from_array([0.0, -200.0]).logsigmoid().to_vec();
    /// assert!((y[0] + 2.0f64.ln()).abs() < 1e-15 && y[1] == -200.0);
    /// ```
    pub fn logsigmoid(self) -> Self {
        unary_op(self, LogSigmoidKernel)
    }
    /// Tanhshrink: `x - tanh(x)`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<1>, f64>::from_array([1.0]).tanhshrink().to_vec();
    /// assert!((y[0] - (1.0 - 1.0f64.tanh())).abs() < 1e-15);
    /// ```
    pub fn tanhshrink(self) -> Self {
        unary_op(self, TanhshrinkKernel)
    }
    /// Hardshrink: 0 on `[-lambda, lambda]`, else `x` (PyTorch's default `lambda` 0.5).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<3>>::from_array([-1.0, 0.25, 0.75]).hardshrink(0.5).to_vec();
    /// assert_eq!(y, vec![-1.0, 0.0, 0.75]);
    /// ```
    pub fn hardshrink(self, lambda: E) -> Self {
        unary_op(self, HardshrinkKernel(lambda))
    }
    /// Softshrink: `x` moved toward 0 by `lambda`, 0 on `[-lambda, lambda]` (default 0.5).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<3>>::from_array([-1.0, 0.25, 0.75]).softshrink(0.5).to_vec();
    /// assert_eq!(y, vec![-0.5, 0.0, 0.25]);
    /// ```
    pub fn softshrink(self, lambda: E) -> Self {
        unary_op(self, SoftshrinkKernel(lambda))
    }
    /// `x` where `x > threshold`, else `value` (`F.threshold`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<3>>::from_array([-1.0, 0.1, 2.0]).threshold(0.1, 20.0).to_vec();
    /// assert_eq!(y, vec![20.0, 20.0, 2.0]);
    /// ```
    pub fn threshold(self, threshold: E, value: E) -> Self {
        unary_op(self, ThresholdKernel { threshold, value })
    }

    /// The gated linear unit along axis `I` (`F.glu(x, dim=I)`): the axis is cut into halves
    /// `a` and `b`, and the result is `a * sigmoid(b)`, half as long along `I`. An odd static
    /// axis does not compile; an odd run-time one panics (see [`try_glu`](Self::try_glu)).
    /// PyTorch's default `dim=-1` is the last axis: `I = rank - 1`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<1, 4>>::from_array([[1.0, 2.0, 0.0, 100.0]]);
    /// let y: Tensor<Rank2<1, 2>> = x.glu::<1>().realize();
    /// assert_eq!(y.to_vec(), vec![0.5, 2.0]); // 1 * sigmoid(0), 2 * sigmoid(100)
    /// ```
    #[track_caller]
    pub fn glu<const I: usize>(
        self,
    ) -> Tensor<<S as ReplaceAxis<I>>::Output<<<S as HasAxis<I>>::Dim as ChunkDim<2>>::Output>, E, T>
    where
        S: ReplaceAxis<I>,
        <S as HasAxis<I>>::Dim: ChunkDim<2>,
    {
        const {
            check_glu_axis(
                <<S as HasAxis<I>>::Dim as crate::shape::Dim>::STATIC_SIZE,
                I,
            )
        }
        self.try_glu::<I>().or_panic()
    }

    /// [`glu`](Self::glu), with an error naming the axis and its size when a run-time axis
    /// is odd (PyTorch: "Halving dimension must be even").
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 5));
    /// assert!(x.try_glu::<1>().is_err());
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn try_glu<const I: usize>(
        self,
    ) -> Result<
        Tensor<
            <S as ReplaceAxis<I>>::Output<<<S as HasAxis<I>>::Dim as ChunkDim<2>>::Output>,
            E,
            T,
        >,
    >
    where
        S: ReplaceAxis<I>,
        <S as HasAxis<I>>::Dim: ChunkDim<2>,
    {
        let dims = self.shape.dims();
        let (outer, n, inner) = split_axis(&dims, I);
        if n % 2 != 0 {
            return Err(Error::shape(
                "glu",
                format!("axis {I} of shape {dims:?} has odd size {n}: GLU cuts it in halves"),
            ));
        }
        let out = self.shape.replace_axis(self.shape.axis_dim().chunk());
        let half = n / 2 * inner;
        let x = self.data.clone();
        Ok(moving_op(
            self,
            out,
            |x| glu_forward(x, outer, half),
            move |g, x_id, gy| g.add(x_id, glu_backward(&x, &gy, outer, half)),
        ))
    }
}

/// RReLU's bounds: finite, with `lower <= upper` (PyTorch checks `lower <= upper` only).
pub(crate) fn check_rrelu_bounds(lower: f64, upper: f64) -> Result<()> {
    if lower.is_finite() && upper.is_finite() && lower <= upper {
        Ok(())
    } else {
        Err(Error::value(
            "rrelu bounds",
            format!(
                "lower = {lower}, upper = {upper}: the bounds must be finite with lower <= upper"
            ),
        ))
    }
}

/// The slope of each element in RReLU's training mode: 1 where `x > 0`, else drawn
/// uniformly from `[lower, upper)` (PyTorch's `rrelu_with_noise`, which draws for `x <= 0`).
pub(crate) fn rrelu_slopes<E: Float, R: Rng + ?Sized>(
    x: &[E],
    lower: f64,
    upper: f64,
    rng: &mut R,
) -> Vec<E> {
    x.iter()
        .map(|&v| {
            if v > E::ZERO {
                E::ONE
            } else {
                let u: f64 = StandardUniform.sample(rng);
                E::from_f64(lower + (upper - lower) * u)
            }
        })
        .collect()
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Randomized leaky ReLU in evaluation mode (`F.rrelu(x, lower, upper, training=False)`):
    /// `x` where positive, else `x` times the fixed slope `(lower + upper) / 2`. Panics for
    /// bounds that are not finite with `lower <= upper` (see [`try_rrelu`](Self::try_rrelu)).
    /// PyTorch's defaults are `lower = 1/8`, `upper = 1/3`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let y = Tensor::<Rank1<2>>::from_array([-2.0, 3.0]).rrelu(0.1, 0.3);
    /// assert_eq!(y.to_vec(), vec![-0.4, 3.0]);
    /// ```
    #[track_caller]
    pub fn rrelu(self, lower: f64, upper: f64) -> Self {
        self.try_rrelu(lower, upper).or_panic()
    }

    /// [`rrelu`](Self::rrelu), with an error for bounds that are not finite with
    /// `lower <= upper`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert!(Tensor::<Rank1<2>>::zeros().try_rrelu(0.3, 0.1).is_err());
    /// ```
    pub fn try_rrelu(self, lower: f64, upper: f64) -> Result<Self> {
        check_rrelu_bounds(lower, upper)?;
        Ok(unary_op(
            self,
            LeakyReluKernel(E::from_f64((lower + upper) / 2.0)),
        ))
    }

    /// Randomized leaky ReLU in training mode (`F.rrelu(x, lower, upper, training=True)`):
    /// each element `x <= 0` is multiplied by its own slope drawn uniformly from
    /// `[lower, upper)` with `rng`, positive elements pass unchanged; the gradient is the
    /// slope each element used. Panics for bounds that are not finite with `lower <= upper`
    /// (see [`try_rrelu_train`](Self::try_rrelu_train)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let y = Tensor::<Rank1<3>>::from_array([-1.0, -1.0, 2.0]).rrelu_train(0.1, 0.3, &mut rng);
    /// let y = y.to_vec();
    /// assert!(y[..2].iter().all(|&v| (-0.3..=-0.1).contains(&v)));
    /// assert_eq!(y[2], 2.0);
    /// ```
    #[track_caller]
    pub fn rrelu_train<R: Rng + ?Sized>(self, lower: f64, upper: f64, rng: &mut R) -> Self {
        self.try_rrelu_train(lower, upper, rng).or_panic()
    }

    /// [`rrelu_train`](Self::rrelu_train), with an error for bounds that are not finite with
    /// `lower <= upper`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(Tensor::<Rank1<2>>::zeros().try_rrelu_train(0.5, f64::NAN, &mut rng).is_err());
    /// ```
    pub fn try_rrelu_train<R: Rng + ?Sized>(
        self,
        lower: f64,
        upper: f64,
        rng: &mut R,
    ) -> Result<Self> {
        check_rrelu_bounds(lower, upper)?;
        let slopes = rrelu_slopes(&self.data, lower, upper, rng);
        let shape = self.shape;
        Ok(binary_op(
            self,
            Tensor::from_parts(shape, slopes),
            shape,
            MulKernel,
        ))
    }
}

/// The build-time check of `glu`: a static axis must have even size.
pub(crate) const fn check_glu_axis(size: Option<usize>, axis: usize) {
    if let Some(n) = size
        && n % 2 != 0
    {
        crate::shape::const_msg::ConstMsg::new()
            .s("glu: axis ")
            .n(axis)
            .s(" has odd size ")
            .n(n)
            .s("; GLU cuts it in halves")
            .fail();
    }
}

#[cfg(test)]
mod tests {
    use super::{
        EluKernel, HardswishKernel, HardtanhKernel, SoftshrinkKernel, ThresholdKernel, exp_m1,
    };
    use crate::ops::unary::UnaryKernel;

    /// The series and `exp(x) - 1` against the standard library's `exp_m1`: within 3 ulp
    /// (the series within 1) for `f32` and `f64`, down to the smallest values.
    #[test]
    fn exp_m1_matches_the_standard_library() {
        let mut x = -40.0f64;
        while x < 10.0 {
            for v in [x, x * 1e-9, x * 1e-30] {
                let want = v.exp_m1();
                let got = exp_m1(v);
                assert!(
                    (got - want).abs() <= 3.0 * f64::EPSILON * want.abs(),
                    "{v}: {got} vs {want}"
                );
                let v32 = v as f32;
                let want32 = f64::from(v32).exp_m1();
                let got32 = f64::from(exp_m1(v32));
                assert!(
                    (got32 - want32).abs() <= 3.0 * f64::from(f32::EPSILON) * want32.abs(),
                    "{v32}: {got32} vs {want32}"
                );
            }
            x += 0.0137;
        }
        assert!(exp_m1(f32::NAN).is_nan());
        assert_eq!(exp_m1(f32::NEG_INFINITY), -1.0);
        assert_eq!(exp_m1(f64::INFINITY), f64::INFINITY);
    }

    /// The kinks' sides and NaN as PyTorch's CPU kernels.
    #[test]
    fn edges_and_nan_follow_pytorch() {
        let elu = EluKernel {
            alpha: 2.0f64,
            scale: 1.0,
            input_scale: 1.0,
        };
        assert_eq!(elu.df(0.0, 0.0), 2.0);
        assert!(elu.f(f64::NAN).is_nan());
        let hardtanh = HardtanhKernel {
            min: -1.0f32,
            max: 1.0,
        };
        assert_eq!(
            [-1.0, 1.0, 0.0].map(|x| hardtanh.df(x, 0.0)),
            [0.0, 0.0, 1.0]
        );
        assert!(hardtanh.f(f32::NAN).is_nan());
        assert_eq!(hardtanh.df(f32::NAN, 0.0), 1.0);
        assert_eq!(
            [-3.0, 3.0, -3.5, 3.5].map(|x| HardswishKernel.df(x, 0.0)),
            [-0.5f32, 1.5, 0.0, 1.0]
        );
        let soft = SoftshrinkKernel(0.5f32);
        assert_eq!([-0.5, 0.5].map(|x| soft.df(x, 0.0)), [0.0, 0.0]);
        assert!(soft.f(f32::NAN).is_nan());
        let threshold = ThresholdKernel {
            threshold: 1.0f32,
            value: -7.0,
        };
        assert_eq!([1.0, 1.5].map(|x| threshold.f(x)), [-7.0, 1.5]);
        assert!(threshold.f(f32::NAN).is_nan());
    }
}
