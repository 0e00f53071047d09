//! The elementwise kernels of the losses that need a fused formula to stay finite or exact
//! (see [`crate::nn::loss`]): Smooth L1 and Huber of a difference, BCE on probabilities with
//! PyTorch's clamped logarithms, the stable BCE on logits (with and without `pos_weight`),
//! the Kullback-Leibler term and the Poisson NLL's Stirling term. Each holds its value and its
//! derivative, as the kernels in [`super::unary`] and [`super::binary`] do; two ops with a
//! constant third input (loss weights, `pos_weight`) record their own backward step, and so
//! do the multi-class and multi-label margin losses, whose per-sample index logic (a label
//! per row, a `-1`-ended list of labels per row) is one fused loop for the value and one for
//! the gradient.

use crate::autograd::{Gradients, Merge, Tape, UniqueId};
pub(crate) use crate::backend::ctc::CtcProblem;
use crate::backend::loss::{
    MultiMargin, derivative_product3, map3, masked_mul, multilabel_margin, multilabel_margin_grad,
};
use crate::dtype::Float;
use crate::ops::binary::BinaryKernel;
use crate::ops::unary::{UnaryKernel, sign};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// `sum(k(pred - target))` over every element of two tensors of one shape, without the
/// terms in memory: the same value, bit for bit, as the sum of the [`OfDifference`] of `k`
/// tensor (the untraced regression losses).
pub(crate) fn sum_of_differences<S: Shape, E: Float, T, TR, K: UnaryKernel<E>>(
    pred: &Tensor<S, E, T>,
    target: &Tensor<S, E, TR>,
    k: K,
) -> E {
    crate::backend::reduce::sum_of_mapped_differences(
        &pred.data,
        &target.data,
        #[inline(always)]
        move |d| k.f(d),
    )
}

/// A unary kernel of the difference `a - b`: a regression loss's elementwise term (squared,
/// absolute, Smooth L1, Huber error) in one pass over prediction and target, with the
/// chain rule applied here once (`d/da = k'(a - b)`, `d/db = -k'(a - b)`). The difference
/// first and the kernel over it made two passes and a buffer between them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OfDifference<K>(pub(crate) K);
impl<E: Float, K: UnaryKernel<E>> BinaryKernel<E> for OfDifference<K> {
    #[inline(always)]
    fn f(&self, a: E, b: E) -> E {
        self.0.f(a - b)
    }
    #[inline(always)]
    fn dfa(&self, a: E, b: E) -> E {
        let d = a - b;
        self.0.df(d, self.0.f(d))
    }
    #[inline(always)]
    fn dfb(&self, a: E, b: E) -> E {
        -self.dfa(a, b)
    }
    const STAGED_DERIVATIVES: bool = true;
}

/// Smooth L1 of a difference `d`: `0.5 d^2 / beta` where `|d| < beta`, else
/// `|d| - 0.5 beta` (`beta = 0` is the absolute value).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SmoothL1Kernel<E>(pub(crate) E);
impl<E: Float> UnaryKernel<E> for SmoothL1Kernel<E> {
    #[inline(always)]
    fn f(&self, d: E) -> E {
        let beta = self.0;
        if d.abs() < beta {
            E::from_f64(0.5) * d * d / beta
        } else {
            d.abs() - E::from_f64(0.5) * beta
        }
    }
    #[inline(always)]
    fn df(&self, d: E, _: E) -> E {
        if d.abs() < self.0 {
            d / self.0
        } else {
            sign(d)
        }
    }
}

/// Huber of a difference `d`: `0.5 d^2` where `|d| < delta`, else `delta (|d| - 0.5 delta)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HuberKernel<E>(pub(crate) E);
impl<E: Float> UnaryKernel<E> for HuberKernel<E> {
    #[inline(always)]
    fn f(&self, d: E) -> E {
        let delta = self.0;
        if d.abs() < delta {
            E::from_f64(0.5) * d * d
        } else {
            delta * (d.abs() - E::from_f64(0.5) * delta)
        }
    }
    #[inline(always)]
    fn df(&self, d: E, _: E) -> E {
        if d.abs() < self.0 {
            d
        } else {
            self.0 * sign(d)
        }
    }
}

/// `-(t ln p + (1 - t) ln(1 - p))` with both logarithms clamped at -100, as PyTorch does,
/// so that `p = 0` or `1` gives a finite loss. The derivative in `p` is PyTorch's
/// `(p - t) / max(p (1 - p), 1e-12)`, finite at the ends too.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BceKernel;
// `#[inline(always)]` throughout: with `ln` and `ln_1p` inlined (no libm calls) these grew
// past LLVM's inlining threshold and were called out of the `wide` copies (.ci/wide_inlining.sh).
impl<E: Float> BinaryKernel<E> for BceKernel {
    #[inline(always)]
    fn f(&self, p: E, t: E) -> E {
        let (lp, lq) = clamped_logs(p);
        -(t * lp + (E::ONE - t) * lq)
    }
    #[inline(always)]
    fn dfa(&self, p: E, t: E) -> E {
        (p - t) / (p * (E::ONE - p)).max(E::from_f64(1e-12))
    }
    #[inline(always)]
    fn dfb(&self, p: E, _: E) -> E {
        let (lp, lq) = clamped_logs(p);
        lq - lp
    }
}

/// `(max(ln p, -100), max(ln(1 - p), -100))`.
#[inline(always)]
fn clamped_logs<E: Float>(p: E) -> (E, E) {
    let floor = E::from_f64(-100.0);
    (p.ln().max(floor), (-p).ln_1p().max(floor))
}

/// `log(sigmoid(x))` as PyTorch's CPU kernel computes it: `min(x, 0) - ln(1 + e^-|x|)`.
#[inline(always)]
fn log_sigmoid<E: Float>(x: E) -> E {
    let min = if x < E::ZERO { x } else { E::ZERO };
    min - (-x.abs()).exp().ln_1p()
}

/// `sigmoid(x)` as PyTorch computes it, `1 / (1 + e^-x)`: 0 at `-inf`, 1 at `+inf`.
#[inline(always)]
fn sigmoid<E: Float>(x: E) -> E {
    E::ONE / (E::ONE + (-x).exp())
}

/// BCE on a logit `x` with target `t`, PyTorch's formula term for term:
/// `(1 - t) x - log_sigmoid(x)`, which never overflows for finite logits. Keeping PyTorch's
/// order of operations keeps its answers at infinite and NaN inputs too (issue 14): `+inf`
/// with target 0 is `inf`, `-inf` with target 0 is NaN (`-inf + inf`), as in PyTorch. The
/// derivatives are PyTorch's: `sigmoid(x) - t` in `x`, `-x` in `t`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BceWithLogitsKernel;
impl<E: Float> BinaryKernel<E> for BceWithLogitsKernel {
    #[inline(always)]
    fn f(&self, x: E, t: E) -> E {
        (E::ONE - t) * x - log_sigmoid(x)
    }
    #[inline(always)]
    fn dfa(&self, x: E, t: E) -> E {
        sigmoid(x) - t
    }
    #[inline(always)]
    fn dfb(&self, x: E, _: E) -> E {
        -x
    }
}

/// BCE on a logit `x` with target `t` and positive-class weight `p` (PyTorch's
/// `pos_weight`), its formula term for term: `(1 - t) x - ((p - 1) t + 1) log_sigmoid(x)`.
pub(crate) fn bce_pos_weight<E: Float>(x: E, t: E, p: E) -> E {
    (E::ONE - t) * x - ((p - E::ONE) * t + E::ONE) * log_sigmoid(x)
}

/// d/dx of [`bce_pos_weight`], PyTorch's `(p t + 1 - t) sigmoid(x) - p t`.
pub(crate) fn bce_pos_weight_dx<E: Float>(x: E, t: E, p: E) -> E {
    let pt = p * t;
    (pt + E::ONE - t) * sigmoid(x) - pt
}

/// d/dt of [`bce_pos_weight`], PyTorch's `log_sigmoid(-x) - p log_sigmoid(x)`.
pub(crate) fn bce_pos_weight_dt<E: Float>(x: E, _: E, p: E) -> E {
    log_sigmoid(-x) - p * log_sigmoid(x)
}

/// The Kullback-Leibler term of a log-probability `x` and a probability `t`:
/// `xlogy(t, t) - t x` (0 where `t = 0`), PyTorch's formula. The derivative in `t` is
/// PyTorch's too, NaN at `t = 0` (its `xlogy` backward divides `t` by `t`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct KlDivKernel;
impl<E: Float> BinaryKernel<E> for KlDivKernel {
    #[inline(always)]
    fn f(&self, x: E, t: E) -> E {
        let xlogy = if t == E::ZERO { E::ZERO } else { t * t.ln() };
        xlogy - t * x
    }
    #[inline(always)]
    fn dfa(&self, _: E, t: E) -> E {
        -t
    }
    // `t / t` on purpose: PyTorch's xlogy backward, NaN at t = 0, inf or NaN.
    #[allow(clippy::eq_op)]
    #[inline(always)]
    fn dfb(&self, x: E, t: E) -> E {
        let log = if t == E::ZERO { E::ZERO } else { t.ln() };
        log + t / t - x
    }
}

/// The Kullback-Leibler term of a log-probability `x` and a log-probability target `t`:
/// `e^t (t - x)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KlDivLogTargetKernel;
impl<E: Float> BinaryKernel<E> for KlDivLogTargetKernel {
    #[inline(always)]
    fn f(&self, x: E, t: E) -> E {
        t.exp() * (t - x)
    }
    #[inline(always)]
    fn dfa(&self, _: E, t: E) -> E {
        -t.exp()
    }
    #[inline(always)]
    fn dfb(&self, x: E, t: E) -> E {
        let e = t.exp();
        e * (t - x) + e
    }
}

/// `x * w` elementwise for a constant `w` with `x`'s number of elements (loss weights),
/// and exactly 0 with no gradient where `keep` is false (ignored targets: PyTorch skips them,
/// so an infinite or NaN value there must not leak into the loss). The gradient reaches `x`
/// only.
pub(crate) fn mul_constant<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    w: Vec<E>,
    keep: Option<Vec<bool>>,
) -> Tensor<S, E, T> {
    let (x, mut tape) = x.split_tape();
    let y = masked_mul(&x.data, &w, keep.as_deref());
    if !(T::TRACING && tape.tracks(x.id)) {
        return crate::tensor::new_tensor(x.shape, y, tape);
    }
    let (x_id, out_id) = (x.id, UniqueId::new());
    tape.record(
        out_id,
        Box::new(move |g: &mut Gradients<E>| {
            let Some(gy) = g.take(out_id) else { return };
            g.add(x_id, masked_mul(&gy, &w, keep.as_deref()));
        }),
    );
    Tensor {
        shape: x.shape,
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}

/// BCE on logits with a positive-class weight for every element ([`bce_pos_weight`]);
/// gradients reach the logits and the target.
pub(crate) fn bce_with_logits_pos_weight<S: Shape, E: Float, T, TR>(
    x: Tensor<S, E, T>,
    t: Tensor<S, E, TR>,
    p: Vec<E>,
) -> Tensor<S, E, <T as Merge<E, TR>>::Output>
where
    T: Merge<E, TR>,
    TR: Tape<E>,
{
    let (x, tx) = x.split_tape();
    let (t, tt) = t.split_tape();
    let mut tape = tx.merge(tt);
    let tracing = <T as Merge<E, TR>>::Output::TRACING;
    let (track_x, track_t) = (tracing && tape.tracks(x.id), tracing && tape.tracks(t.id));
    let y = map3(&x.data, &t.data, &p, bce_pos_weight);
    if !track_x && !track_t {
        return crate::tensor::new_tensor(x.shape, y, tape);
    }
    let out_id = UniqueId::new();
    let (xd, td, x_id, t_id) = (x.data, t.data, x.id, t.id);
    tape.record(
        out_id,
        Box::new(move |g: &mut Gradients<E>| {
            let Some(gy) = g.take(out_id) else { return };
            if track_x {
                g.add(
                    x_id,
                    derivative_product3(&gy, &xd, &td, &p, bce_pos_weight_dx),
                );
            }
            if track_t {
                g.add(
                    t_id,
                    derivative_product3(&gy, &xd, &td, &p, bce_pos_weight_dt),
                );
            }
        }),
    );
    Tensor {
        shape: x.shape,
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}

/// The Stirling term of the Poisson negative log-likelihood (`full=True`), PyTorch's
/// `t ln t - t + 0.5 ln(2 pi t)` where `t > 1` and 0 elsewhere: written as one kernel so
/// that the masked values (`ln 0`, `ln` of a negative target) never enter the loss or its
/// gradient. The derivative is `ln t + 0.5 / t` where `t > 1`, 0 elsewhere.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StirlingKernel;
impl<E: Float> UnaryKernel<E> for StirlingKernel {
    #[inline(always)]
    fn f(&self, t: E) -> E {
        if t > E::ONE {
            let half_log_2pi_t =
                E::from_f64(0.5) * (E::from_f64(2.0 * std::f64::consts::PI) * t).ln();
            t * t.ln() - t + half_log_2pi_t
        } else {
            E::ZERO
        }
    }
    #[inline(always)]
    fn df(&self, t: E, _: E) -> E {
        if t > E::ONE {
            t.ln() + E::from_f64(0.5) / t
        } else {
            E::ZERO
        }
    }
}

/// The losses `y` of the samples of `x` (one fused loop) as a tensor shaped `out`, whose
/// gradient `backward(gy, x)` reaches `x` (the targets are constants).
fn per_sample_loss<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: SO,
    y: Vec<E>,
    backward: impl FnOnce(&[E], &[E]) -> Vec<E> + Send + 'static,
) -> Tensor<SO, E, T> {
    debug_assert_eq!(y.len(), out.numel());
    let (x, mut tape) = x.split_tape();
    if !(T::TRACING && tape.tracks(x.id)) {
        return crate::tensor::new_tensor(out, y, tape);
    }
    let (x_id, xd, out_id) = (x.id, x.data, UniqueId::new());
    tape.record(
        out_id,
        Box::new(move |g: &mut Gradients<E>| {
            let Some(gy) = g.take(out_id) else { return };
            g.add(x_id, backward(&gy, &xd));
        }),
    );
    Tensor {
        shape: out,
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}

/// The checked arguments of [`multi_margin_op`]: a label below `classes` per row, `p = 2`
/// (`squared`) or 1, the margin, and `classes` class weights or none.
pub(crate) struct MultiMarginArgs<E> {
    pub(crate) classes: usize,
    pub(crate) labels: Vec<usize>,
    pub(crate) squared: bool,
    pub(crate) margin: E,
    pub(crate) weight: Option<Vec<E>>,
}

impl<E: Float> MultiMarginArgs<E> {
    fn kernel(&self) -> MultiMargin<'_, E> {
        MultiMargin {
            classes: self.classes,
            labels: &self.labels,
            squared: self.squared,
            margin: self.margin,
            weight: self.weight.as_deref(),
        }
    }
}

/// The multi-class margin loss of every row of `x` (rows of `args.classes` scores) into
/// `out`: `sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / C`, with its gradient.
pub(crate) fn multi_margin_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: SO,
    args: MultiMarginArgs<E>,
) -> Tensor<SO, E, T> {
    let y = args.kernel().forward(&x.data);
    per_sample_loss(x, out, y, move |gy, x| args.kernel().backward(gy, x))
}

/// The multi-label margin loss of every row of `x` (rows of `classes` scores) against
/// `target` (rows of `classes` class indices, checked to lie in `-1..classes`, each list
/// ended by its first `-1`) into `out`, with its gradient.
pub(crate) fn multilabel_margin_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: SO,
    target: Vec<i64>,
    classes: usize,
) -> Tensor<SO, E, T> {
    let y = multilabel_margin(&x.data, &target, classes);
    per_sample_loss(x, out, y, move |gy, x| {
        multilabel_margin_grad(gy, x, &target, classes)
    })
}

/// The CTC loss of every sample of `log_probs` (laid out `(T, N, C)`, checked against
/// `problem`) into `out`: `nll / divisor` per sample (the divisor is the clamped target
/// length for PyTorch's mean, 1 otherwise), 0 instead of an infinite `nll` when
/// `zero_infinity`, with PyTorch's gradient (see [`CtcProblem::grad`]).
pub(crate) fn ctc_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    log_probs: Tensor<S, E, T>,
    out: SO,
    problem: CtcProblem,
    divisors: Vec<E>,
    zero_infinity: bool,
) -> Tensor<SO, E, T> {
    let nll = problem.nll(&log_probs.data);
    let y = nll
        .iter()
        .zip(&divisors)
        .map(|(&l, &d)| {
            if zero_infinity && l == E::INFINITY {
                E::ZERO
            } else {
                l / d
            }
        })
        .collect();
    per_sample_loss(log_probs, out, y, move |gy, lp| {
        let gy: Vec<E> = gy.iter().zip(&divisors).map(|(&g, &d)| g / d).collect();
        problem.grad(lp, &nll, &gy, zero_infinity)
    })
}
