//! The element loops of the cell kernels: `exp` and `tanh` without a library call in either
//! precision (for f64 the fused build of [`crate::dtype`]'s polynomial: libm's `exp` and
//! `tanh` were opaque calls and a quarter of an f64 `LSTMCell` step), the branch-free sigmoid,
//! and the row additions.

use crate::dtype::{Float, exp_f64, tanh_f64};
use core::mem::MaybeUninit;

/// e^x: for f64 [`exp_f64`] with fused multiply-adds (the gate loops run inside
/// [`crate::backend::simd::wide`]'s FMA copies, where they are one instruction each; `E::exp`
/// uses plain ones), or `E::exp` for f32.
#[inline(always)]
pub(super) fn exp<E: Float>(x: E) -> E {
    if core::mem::size_of::<E>() == 8 {
        E::from_f64(exp_f64::<true>(x.to_f64()))
    } else {
        x.exp()
    }
}

/// tanh(x), as [`exp`].
#[inline(always)]
pub(super) fn tanh<E: Float>(x: E) -> E {
    if core::mem::size_of::<E>() == 8 {
        E::from_f64(tanh_f64::<true>(x.to_f64()))
    } else {
        x.tanh()
    }
}

/// `dst = a + b`, element by element (slices of one length).
#[inline(always)]
pub(super) fn add_into<E: Float>(dst: &mut [E], a: &[E], b: &[E]) {
    let n = dst.len();
    let (a, b) = (&a[..n], &b[..n]);
    for j in 0..n {
        dst[j] = a[j] + b[j];
    }
}

/// [`add_into`] into a buffer that may be uninitialised: writes every element of `dst`.
#[inline(always)]
pub(super) fn sum_into<E: Float>(dst: &mut [MaybeUninit<E>], a: &[E], b: &[E]) {
    let n = dst.len();
    let (a, b) = (&a[..n], &b[..n]);
    for j in 0..n {
        dst[j].write(a[j] + b[j]);
    }
}

/// `dst += a`, element by element.
#[inline(always)]
pub(super) fn add_assign<E: Float>(dst: &mut [E], a: &[E]) {
    let n = dst.len();
    let a = &a[..n];
    for j in 0..n {
        dst[j] += a[j];
    }
}

/// `1 / (1 + e^-x)` without a branch: e^-x overflowing to infinity gives exactly 0, so the
/// single formula is safe over the whole range and vectorises.
#[inline(always)]
pub(crate) fn sigmoid_free<E: Float>(x: E) -> E {
    E::ONE / (E::ONE + exp(-x))
}
