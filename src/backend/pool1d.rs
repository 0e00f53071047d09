//! 1-D max pooling (`MaxPool1d`) row by row: one pass for the common window and stride
//! sizes, one pass per window offset for the others; the outputs are written here, so they
//! need no `-inf` fill first.

use super::pooling::PoolGeom;
use super::uninit::assume_init_mut;
use crate::dtype::Float;
use core::mem::MaybeUninit;

/// What a 1-D max pooling loop records per window besides its maximum: the position of
/// the maximum in the plane (`u32`, for the backward pass), or nothing (`()`, zero-sized:
/// an untraced input needs only the maxima, and every position update compiles away).
pub(crate) trait ArgmaxSlot: Copy + Send + Sync {
    /// Whether this records nothing (`()`): loops over the slots are then left out.
    const NONE: bool = core::mem::size_of::<Self>() == 0;
    /// The slot for position `pos`.
    fn at(pos: usize) -> Self;
    /// The slot moved `by` positions on.
    fn shifted(self, by: usize) -> Self;
}

impl ArgmaxSlot for u32 {
    #[inline(always)]
    fn at(pos: usize) -> u32 {
        pos as u32
    }
    #[inline(always)]
    fn shifted(self, by: usize) -> u32 {
        self + by as u32
    }
}

impl ArgmaxSlot for () {
    #[inline(always)]
    fn at(_: usize) {}
    #[inline(always)]
    fn shifted(self, _: usize) {}
}

/// 1-D max pooling (planes of one row, a kernel of one row) for the common window and
/// stride sizes, in one pass: each output compares its window's elements directly with
/// [`super::pooling`]'s rule (the first maximum, or the last NaN), window and stride known to the compiler so that the
/// strided loads vectorise (`MaxPool1d(3, 2, 1)` over `(16, 64, 1024)` on one thread: 1.02
/// ms through the per-offset passes of the general kernel, 0.2 this way; PyTorch 0.32).
/// Other sizes take [`max_pool_line_planes_by_offset`]. Every output is written.
#[inline(always)]
pub(super) fn max_pool_lines<E: Float, P: ArgmaxSlot>(
    x: &[E],
    g: &PoolGeom,
    y: &mut [MaybeUninit<E>],
    idx: &mut [MaybeUninit<P>],
) {
    // Called in each arm, not through a function pointer: a pointer's target is not
    // inlined into the caller's `wide` copy, and ran at the baseline instruction set.
    match (g.kw, g.sw) {
        (2, 2) => max_pool_line_planes::<E, P, 2, 2>(x, g, y, idx),
        (2, 1) => max_pool_line_planes::<E, P, 2, 1>(x, g, y, idx),
        (3, 1) => max_pool_line_planes::<E, P, 3, 1>(x, g, y, idx),
        (3, 2) => max_pool_line_planes::<E, P, 3, 2>(x, g, y, idx),
        (3, 3) => max_pool_line_planes::<E, P, 3, 3>(x, g, y, idx),
        (4, 4) => max_pool_line_planes::<E, P, 4, 4>(x, g, y, idx),
        (5, 1) => max_pool_line_planes::<E, P, 5, 1>(x, g, y, idx),
        (5, 2) => max_pool_line_planes::<E, P, 5, 2>(x, g, y, idx),
        (_, 1) => max_pool_line_planes_by_offset(x, g, y, idx, 1),
        (_, 2) => max_pool_line_planes_by_offset(x, g, y, idx, 2),
        (_, s) => max_pool_line_planes_by_offset(x, g, y, idx, s),
    }
}

/// [`max_pool_lines`] for a window of `K` with stride `S` over every plane of `x`.
#[inline(always)]
fn max_pool_line_planes<E: Float, P: ArgmaxSlot, const K: usize, const S: usize>(
    x: &[E],
    g: &PoolGeom,
    y: &mut [MaybeUninit<E>],
    idx: &mut [MaybeUninit<P>],
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
            at[o].write(P::at(lo + pos));
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
            at.write(P::at(inner_start + base + pos));
        }
    }
}

/// [`max_pool_lines`] for a window and stride known only at run time (`stride` a constant
/// after inlining for the calls with 1 and 2). The windows inside the row go, by size:
/// small windows with strides 1-2 one window offset at a time ([`offset_passes`], each pass
/// comparing one element of every window, vectorised across outputs); wider windows that
/// touch or overlap by doubling ([`doubling_passes`]); windows with gaps between them
/// through gathered offset columns. Every way keeps [`window_max`]'s rule. (`MaxPool1d(8)`
/// over `(16, 64, 1024)` on one thread: 1.47 ms through the general kernel's plane passes
/// with its `-inf` fill, 0.70 by offset columns, 0.37 by doubling untraced; PyTorch 0.23.)
#[inline(always)]
fn max_pool_line_planes_by_offset<E: Float, P: ArgmaxSlot>(
    x: &[E],
    g: &PoolGeom,
    y: &mut [MaybeUninit<E>],
    idx: &mut [MaybeUninit<P>],
    stride: usize,
) {
    let (w, ow, pad, k) = (g.w, g.ow, g.pw, g.kw);
    let first = pad.div_ceil(stride).min(ow);
    let end = ((w + pad).saturating_sub(k) / stride + 1).clamp(first, ow);
    let inner = end - first;
    let mut columns = Vec::new();
    let mut scratch: Doubling<E, P> = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for ((row, out), at) in x
        .chunks_exact(w)
        .zip(y.chunks_exact_mut(ow))
        .zip(idx.chunks_exact_mut(ow))
    {
        for o in (0..first).chain(end..ow) {
            let start = (o * stride) as isize - pad as isize;
            let lo = start.max(0) as usize;
            let hi = ((start + k as isize).max(0) as usize)
                .min(w)
                .max(lo + 1)
                .min(w);
            let (best, pos) = window_max(&row[lo..hi]);
            out[o].write(best);
            at[o].write(P::at(lo + pos));
        }
        if inner == 0 {
            continue;
        }
        let inner_start = (first * stride).saturating_sub(pad);
        let (out, at) = (&mut out[first..end], &mut at[first..end]);
        if stride <= 2 && k <= DIRECT_WINDOW {
            offset_passes(row, inner_start, (k, stride), out, at);
            continue;
        }
        if stride <= k {
            doubling_passes(row, inner_start, (k, stride), out, at, &mut scratch);
            continue;
        }
        // Windows far apart: the window offsets are gathered into columns first (`columns`
        // row `j` holds offset `j` of every window), then compared a column at a time.
        columns.resize(k * inner, E::ZERO);
        let reach = (inner - 1) * stride + 1;
        for (j, column) in columns.chunks_exact_mut(inner).enumerate() {
            let lane = &row[inner_start + j..][..reach];
            for (i, c) in column.iter_mut().enumerate() {
                *c = lane[i * stride];
            }
        }
        for (o, &v) in out.iter_mut().zip(&columns[..inner]) {
            o.write(v);
        }
        for a in at.iter_mut() {
            a.write(P::at(0));
        }
        // SAFETY: every element of `out` and `at` was written just above.
        let (best, pos) = unsafe { (assume_init_mut(out), assume_init_mut(at)) };
        for (j, column) in columns.chunks_exact(inner).enumerate().skip(1) {
            merge_offset(best, pos, column, P::at(j));
        }
        for (i, p) in pos.iter_mut().enumerate() {
            *p = p.shifted(inner_start + i * stride);
        }
    }
}

/// Windows up to this size take one pass per window offset ([`offset_passes`]); wider ones
/// (with windows that touch or overlap) take [`doubling_passes`].
const DIRECT_WINDOW: usize = 4;

/// The buffers of [`doubling_passes`], reused from row to row: two levels of window maxima
/// and their positions. Plain arrays of `Vec`s: a struct's drop glue would be a call out
/// of the `wide` copy (`.ci/wide_inlining.sh`).
type Doubling<E, P> = ([Vec<E>; 2], [Vec<P>; 2]);

/// The maxima and positions of the windows of `k` elements starting at `start` and every
/// `stride` elements after it in `row` (`stride <= k`), one for each of `out`, by doubling:
/// the windows of width `2m` at every element are pairs of windows of width `m`, `m` apart,
/// and width `k` is a pair of windows of the largest such `m` (at least `k / 2`), `k - m`
/// apart, overlapping. A pair is combined with [`window_max`]'s rule (the right one when it
/// is greater or NaN), which gives what one scan of the joint window gives, overlap or not:
/// an equal maximum keeps the left (earlier) position, and a NaN in the right half is the
/// last NaN. So `log2(k) + 1` contiguous, vectorised passes over the row replace `k` passes
/// or a gather. (Untraced `(16, 64, 1024)` f32, one thread, ms, before -> after:
/// `MaxPool1d(5)` 0.64 -> 0.35, `(8)` 0.66 -> 0.37, `(7, 1, 3)` 0.62 -> 0.35, `(6, 4, 2)`
/// 1.02 -> 0.40; traced `(6, 4, 2)` 1.16 -> 0.69, `(8)` 0.70 -> 0.75: the positions double
/// the traffic.)
#[inline(always)]
fn doubling_passes<E: Float, P: ArgmaxSlot>(
    row: &[E],
    start: usize,
    (k, stride): (usize, usize),
    out: &mut [MaybeUninit<E>],
    at: &mut [MaybeUninit<P>],
    scratch: &mut Doubling<E, P>,
) {
    let n = (out.len() - 1) * stride + k;
    let ([va, vb], [pa, pb]) = scratch;
    for (v, p) in [(&mut *va, &mut *pa), (&mut *vb, &mut *pb)] {
        v.resize(n, E::ZERO);
        p.resize(n, P::at(0));
    }
    va.copy_from_slice(&row[start..start + n]);
    if !P::NONE {
        for (i, p) in pa.iter_mut().enumerate() {
            *p = P::at(start + i);
        }
    }
    let (mut m, mut len) = (1, n);
    let (mut cur, mut next) = ((va, pa), (vb, pb));
    while 2 * m <= k {
        let (v, p) = (&cur.0[..len], &cur.1[..len]);
        len -= m;
        let (nv, np) = (&mut next.0[..len], &mut next.1[..len]);
        if P::NONE {
            for ((o, &l), &r) in nv.iter_mut().zip(v).zip(&v[m..]) {
                *o = if (r > l) | r.is_nan() { r } else { l };
            }
        } else {
            let pairs = v.iter().zip(&v[m..]).zip(p.iter().zip(&p[m..]));
            for ((o, op), ((&l, &r), (&lp, &rp))) in nv.iter_mut().zip(np.iter_mut()).zip(pairs) {
                let take = (r > l) | r.is_nan();
                *o = if take { r } else { l };
                *op = if take { rp } else { lp };
            }
        }
        core::mem::swap(&mut cur, &mut next);
        m *= 2;
    }
    let (v, p, shift) = (&cur.0[..len], &cur.1[..len], k - m);
    if P::NONE && stride == 1 {
        for ((o, &l), &r) in out.iter_mut().zip(v).zip(&v[shift..]) {
            o.write(if (r > l) | r.is_nan() { r } else { l });
        }
        for a in at.iter_mut() {
            a.write(P::at(0));
        }
        return;
    }
    for (i, (o, a)) in out.iter_mut().zip(at.iter_mut()).enumerate() {
        let (l, r) = (i * stride, i * stride + shift);
        let take = (v[r] > v[l]) | v[r].is_nan();
        o.write(if take { v[r] } else { v[l] });
        a.write(if take { p[r] } else { p[l] });
    }
}

/// Merges offset `j` of each window (`lane`, one element per window) into the running
/// maxima and their offsets, with [`window_max`]'s rule.
#[inline(always)]
fn merge_offset<E: Float, P: ArgmaxSlot>(best: &mut [E], pos: &mut [P], lane: &[E], j: P) {
    if P::NONE {
        // Without the zip over the zero-sized slots, which kept the loop from vectorising.
        for (b, &v) in best.iter_mut().zip(lane) {
            let take = (v > *b) | v.is_nan();
            *b = if take { v } else { *b };
        }
        return;
    }
    for ((b, p), &v) in best.iter_mut().zip(pos.iter_mut()).zip(lane) {
        let take = (v > *b) | v.is_nan();
        *b = if take { v } else { *b };
        *p = if take { j } else { *p };
    }
}

/// The maxima and positions of the windows of `k` elements starting at `start` and every
/// `stride` elements after it in `row`, one for each of `out` (all ending inside `row`),
/// one window offset at a time over all of them: with a small constant stride the loads
/// are contiguous or two-way interleaved and each pass vectorises.
#[inline(always)]
fn offset_passes<E: Float, P: ArgmaxSlot>(
    row: &[E],
    start: usize,
    (k, stride): (usize, usize),
    out: &mut [MaybeUninit<E>],
    at: &mut [MaybeUninit<P>],
) {
    let row = &row[start..];
    let span = (out.len() - 1) * stride + 1;
    // `chunks`, not `step_by`: a zip with `StepBy` is not random-access and ran several
    // times slower.
    for (o, v) in out.iter_mut().zip(row[..span].chunks(stride)) {
        o.write(v[0]);
    }
    for a in at.iter_mut() {
        a.write(P::at(0));
    }
    // SAFETY: every element of `out` and `at` was written just above.
    let (best, pos) = unsafe { (assume_init_mut(out), assume_init_mut(at)) };
    for j in 1..k {
        if stride == 1 {
            merge_offset(best, pos, &row[j..][..span], P::at(j));
            continue;
        }
        let lane = row[j..][..span].chunks(stride);
        if P::NONE {
            for (b, v) in best.iter_mut().zip(lane) {
                let v = v[0];
                let take = (v > *b) | v.is_nan();
                *b = if take { v } else { *b };
            }
            continue;
        }
        for ((b, p), v) in best.iter_mut().zip(pos.iter_mut()).zip(lane) {
            let v = v[0];
            let take = (v > *b) | v.is_nan();
            *b = if take { v } else { *b };
            *p = if take { P::at(j) } else { *p };
        }
    }
    for (i, p) in pos.iter_mut().enumerate() {
        *p = p.shifted(start + i * stride);
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
