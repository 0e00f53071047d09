//! Comparisons (as 0/1 values) and elementwise selection with PyTorch broadcasting.

use super::broadcast::{broadcast_strides, for_each_broadcast2};
use super::simd::wide;
use crate::dtype::Float;

fn flag<E: Float>(b: bool) -> E {
    if b { E::ONE } else { E::ZERO }
}

/// `out[i] = 1` where `f(a[ia], b[ib])` holds over the broadcast shape, else `0`.
pub(crate) fn compare<E: Float>(
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
    f: impl Fn(E, E) -> bool + Sync,
) -> Vec<E> {
    wide(
        #[inline(always)]
        || super::broadcast::binary_map(a, a_dims, b, b_dims, out_dims, |x, y| flag(f(x, y))),
    )
}

/// `out[i] = 1` where `f(x[i])` holds, else `0`.
pub(crate) fn compare_scalar<E: Float>(x: &[E], f: impl Fn(E) -> bool) -> Vec<E> {
    wide(
        #[inline(always)]
        || x.iter().map(|&v| flag(f(v))).collect(),
    )
}

/// Whether each element of the broadcast shape takes its value from the first operand:
/// the condition (shaped `cond_dims`) is nonzero there. NaN counts as true, as in PyTorch's
/// conversion to bool.
pub(crate) fn mask<E: Float>(cond: &[E], cond_dims: &[usize], out_dims: &[usize]) -> Vec<bool> {
    let numel: usize = out_dims.iter().product();
    let mut out = Vec::with_capacity(numel);
    let s = broadcast_strides(cond_dims, out_dims);
    for_each_broadcast2(out_dims, &s, &s, |_, ic, _| out.push(cond[ic] != E::ZERO));
    out
}

/// `out[i] = mask[i] ? a[ia] : b[ib]` over the broadcast shape.
pub(crate) fn select<E: Float>(
    mask: &[bool],
    a: &[E],
    a_dims: &[usize],
    b: &[E],
    b_dims: &[usize],
    out_dims: &[usize],
) -> Vec<E> {
    wide(
        #[inline(always)]
        || {
            let mut out = vec![E::ZERO; mask.len()];
            let (sa, sb) = (
                broadcast_strides(a_dims, out_dims),
                broadcast_strides(b_dims, out_dims),
            );
            for_each_broadcast2(out_dims, &sa, &sb, |i, ia, ib| {
                out[i] = if mask[i] { a[ia] } else { b[ib] }
            });
            out
        },
    )
}

/// The backward of [`select`] for one operand: adds `g[i]` into `acc[i_in]` wherever that
/// operand was chosen (`mask[i] == pick`), summed over broadcast dimensions.
pub(crate) fn select_backward<E: Float>(
    acc: &mut [E],
    acc_dims: &[usize],
    g: &[E],
    mask: &[bool],
    pick: bool,
    out_dims: &[usize],
) {
    wide(
        #[inline(always)]
        || {
            let s = broadcast_strides(acc_dims, out_dims);
            for_each_broadcast2(out_dims, &s, &s, |i, ia, _| {
                if mask[i] == pick {
                    acc[ia] += g[i];
                }
            });
        },
    )
}
