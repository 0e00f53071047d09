//! Scalar `exp`, `tanh` and the branch-free sigmoid in either precision: the element
//! functions of the loops that run where the hand-vectorised `f32` loops of this module do
//! not (f64, or no AVX), e.g. the recurrent cells and GLU. For f64 they are the fused
//! build of [`crate::dtype`]'s polynomials: libm's `exp` and `tanh` were opaque calls and a
//! quarter of an f64 `LSTMCell` step.

use crate::dtype::{Float, exp_f64, tanh_f64};

/// e^x: for f64 [`exp_f64`] with fused multiply-adds (the gate loops run inside
/// [`crate::backend::simd::wide`]'s FMA copies, where they are one instruction each; `E::exp`
/// uses plain ones), or `E::exp` for f32.
#[inline(always)]
pub(crate) fn exp<E: Float>(x: E) -> E {
    if core::mem::size_of::<E>() == 8 {
        E::from_f64(exp_f64::<true>(x.to_f64()))
    } else {
        x.exp()
    }
}

/// tanh(x), as [`exp`].
#[inline(always)]
pub(crate) fn tanh<E: Float>(x: E) -> E {
    if core::mem::size_of::<E>() == 8 {
        E::from_f64(tanh_f64::<true>(x.to_f64()))
    } else {
        x.tanh()
    }
}

/// `1 / (1 + e^-x)` without a branch: e^-x overflowing to infinity gives exactly 0, so the
/// single formula is safe over the whole range and vectorises.
#[inline(always)]
pub(crate) fn sigmoid_free<E: Float>(x: E) -> E {
    E::ONE / (E::ONE + exp(-x))
}
