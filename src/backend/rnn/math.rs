//! The row additions of the cell kernels. Their scalar `exp`, `tanh` and sigmoid are
//! [`crate::backend::vector_math::scalar`]'s, shared with the other kernels that need them
//! where the vector loops do not run.

use crate::dtype::Float;
use core::mem::MaybeUninit;

pub(super) use crate::backend::vector_math::scalar::{sigmoid_free, tanh};

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
