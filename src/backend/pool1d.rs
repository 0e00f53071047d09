//! 1-D max pooling (`MaxPool1d`) in one pass over each row, for the common window and
//! stride sizes; the outputs are written here, so they need no `-inf` fill first.

use super::pooling::PoolGeom;
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// 1-D max pooling (planes of one row, a kernel of one row) for the common window and
/// stride sizes, in one pass: each output compares its window's elements directly with
/// [`super::pooling`]'s rule (the first maximum, or the last NaN), window and stride known to the compiler so that the
/// strided loads vectorise (`MaxPool1d(3, 2, 1)` over `(16, 64, 1024)` on one thread: 1.02
/// ms through the per-offset passes of the general kernel, 0.2 this way; PyTorch 0.32).
/// False, having written nothing, for other sizes.
#[inline(always)]
pub(super) fn max_pool_lines<E: Float>(
    x: &[E],
    g: &PoolGeom,
    y: &mut [MaybeUninit<E>],
    idx: &mut [MaybeUninit<u32>],
) -> bool {
    // Called in each arm, not through a function pointer: a pointer's target is not
    // inlined into the caller's `wide` copy, and ran at the baseline instruction set.
    match (g.kw, g.sw) {
        (2, 2) => max_pool_line_planes::<E, 2, 2>(x, g, y, idx),
        (2, 1) => max_pool_line_planes::<E, 2, 1>(x, g, y, idx),
        (3, 1) => max_pool_line_planes::<E, 3, 1>(x, g, y, idx),
        (3, 2) => max_pool_line_planes::<E, 3, 2>(x, g, y, idx),
        (3, 3) => max_pool_line_planes::<E, 3, 3>(x, g, y, idx),
        (4, 4) => max_pool_line_planes::<E, 4, 4>(x, g, y, idx),
        (5, 1) => max_pool_line_planes::<E, 5, 1>(x, g, y, idx),
        (5, 2) => max_pool_line_planes::<E, 5, 2>(x, g, y, idx),
        _ => return false,
    }
    true
}

/// [`max_pool_lines`] for a window of `K` with stride `S` over every plane of `x`.
#[inline(always)]
fn max_pool_line_planes<E: Float, const K: usize, const S: usize>(
    x: &[E],
    g: &PoolGeom,
    y: &mut [MaybeUninit<E>],
    idx: &mut [MaybeUninit<u32>],
) {
    let (w, ow, pad) = (g.w, g.ow, g.pw);
    // Outputs whose whole window lies inside the row.
    let first = pad.div_ceil(S).min(ow);
    let end = ((w + pad).saturating_sub(K) / S + 1).clamp(first, ow);
    for ((row, out), at) in x
        .chunks_exact(w)
        .zip(y.chunks_exact_mut(ow))
        .zip(idx.chunks_exact_mut(ow))
    {
        // Windows cut by the padding: their real elements only (at least one each, as
        // the padding is at most half the window).
        for o in (0..first).chain(end..ow) {
            let start = (o * S) as isize - pad as isize;
            let lo = start.max(0) as usize;
            let hi = ((start + K as isize).max(0) as usize)
                .min(w)
                .max(lo + 1)
                .min(w);
            let (best, pos) = window_max(&row[lo..hi]);
            out[o].write(best);
            at[o].write((lo + pos) as u32);
        }
        let inner_start = (first * S).saturating_sub(pad);
        let row_in = &row[inner_start..];
        for (k, (out, at)) in out[first..end]
            .iter_mut()
            .zip(&mut at[first..end])
            .enumerate()
        {
            let base = k * S;
            let (best, pos) = window_max(&row_in[base..base + K]);
            out.write(best);
            at.write((inner_start + base + pos) as u32);
        }
    }
}

/// The maximum of a window and its position: the first maximum, or the last NaN, as
/// the general kernel picks them (selects, not branches).
#[inline(always)]
fn window_max<E: Float>(window: &[E]) -> (E, usize) {
    let (mut best, mut pos) = (window[0], 0);
    for (j, &v) in window.iter().enumerate().skip(1) {
        let take = (v > best) | v.is_nan();
        best = if take { v } else { best };
        pos = if take { j } else { pos };
    }
    (best, pos)
}
