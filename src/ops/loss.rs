//! The elementwise kernels of the losses that need a fused formula to stay finite or exact
//! (see [`crate::nn::loss`]): Smooth L1 and Huber of a difference, BCE on probabilities with
//! PyTorch's clamped logarithms, and the stable BCE on logits. Each holds its value and its
//! derivative, as the kernels in [`super::unary`] and [`super::binary`] do.

use crate::dtype::Float;
use crate::ops::binary::BinaryKernel;
use crate::ops::unary::UnaryKernel;

/// Smooth L1 of a difference `d`: `0.5 d^2 / beta` where `|d| < beta`, else
/// `|d| - 0.5 beta` (`beta = 0` is the absolute value).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SmoothL1Kernel<E>(pub(crate) E);
impl<E: Float> UnaryKernel<E> for SmoothL1Kernel<E> {
    fn f(&self, d: E) -> E {
        let beta = self.0;
        if d.abs() < beta {
            E::from_f64(0.5) * d * d / beta
        } else {
            d.abs() - E::from_f64(0.5) * beta
        }
    }
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
    fn f(&self, d: E) -> E {
        let delta = self.0;
        if d.abs() < delta {
            E::from_f64(0.5) * d * d
        } else {
            delta * (d.abs() - E::from_f64(0.5) * delta)
        }
    }
    fn df(&self, d: E, _: E) -> E {
        if d.abs() < self.0 {
            d
        } else {
            self.0 * sign(d)
        }
    }
}

fn sign<E: Float>(d: E) -> E {
    if d > E::ZERO {
        E::ONE
    } else if d < E::ZERO {
        -E::ONE
    } else {
        E::ZERO
    }
}

/// `-(t ln p + (1 - t) ln(1 - p))` with both logarithms clamped at -100, as PyTorch does,
/// so that `p = 0` or `1` gives a finite loss. The derivative in `p` is PyTorch's
/// `(p - t) / max(p (1 - p), 1e-12)`, finite at the ends too.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BceKernel;
impl<E: Float> BinaryKernel<E> for BceKernel {
    fn f(&self, p: E, t: E) -> E {
        let (lp, lq) = clamped_logs(p);
        -(t * lp + (E::ONE - t) * lq)
    }
    fn dfa(&self, p: E, t: E) -> E {
        (p - t) / (p * (E::ONE - p)).max(E::from_f64(1e-12))
    }
    fn dfb(&self, p: E, _: E) -> E {
        let (lp, lq) = clamped_logs(p);
        lq - lp
    }
}

/// `(max(ln p, -100), max(ln(1 - p), -100))`.
fn clamped_logs<E: Float>(p: E) -> (E, E) {
    let floor = E::from_f64(-100.0);
    (p.ln().max(floor), (-p).ln_1p().max(floor))
}

/// BCE on a logit `x`: `max(x, 0) - x t + ln(1 + e^-|x|)`, which never overflows; its
/// derivative is exactly `sigmoid(x) - t`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BceWithLogitsKernel;
impl<E: Float> BinaryKernel<E> for BceWithLogitsKernel {
    fn f(&self, x: E, t: E) -> E {
        x.max(E::ZERO) - x * t + (-x.abs()).exp().ln_1p()
    }
    fn dfa(&self, x: E, t: E) -> E {
        let s = if x >= E::ZERO {
            E::ONE / (E::ONE + (-x).exp())
        } else {
            let e = x.exp();
            e / (E::ONE + e)
        };
        s - t
    }
    fn dfb(&self, x: E, _: E) -> E {
        -x
    }
}
