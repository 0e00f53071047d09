//! The extreme along one axis (`max`, `min`, `argmax`, `argmin`, `max_dim` and their
//! kinds), NaN propagating as in PyTorch: rows (the last axis) in blocks over the threads,
//! middle axes plane by plane on one thread.

use crate::backend::parallel::{PARALLEL_ELEMS, collect_blocks_from};
use crate::backend::simd::wide;
use crate::dtype::Float;

/// The extreme value along the axis (NaN propagating, as in PyTorch): the values of
/// [`arg_extreme_axis`], bit for bit, without its indices. An untraced `amax` or `min_dim`
/// needs no index: with them, min over (16, 128, 256) f32 axis 1 took 62 us on one thread,
/// PyTorch's `amin` 35-45. Rows (the last axis) in blocks over the threads, as in
/// [`arg_extreme_axis`].
pub(crate) fn extreme_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    better: impl Fn(E, E) -> bool + Sync,
) -> Vec<E> {
    if inner != 1 || n == 0 {
        return extreme_serial(x, outer, n, inner, better);
    }
    map_rows(
        x,
        outer,
        n,
        #[inline(always)]
        |row| {
            let v = row_extreme(row, &better);
            // Of -0 and 0, the first one's sign, as `arg_extreme_row` gives: the lanes do not
            // keep the row's order.
            if v == E::ZERO {
                row[row.iter().position(|&v| v == E::ZERO).unwrap_or(0)]
            } else {
                v
            }
        },
    )
}

/// `f(row)` for each of the `outer` rows of `n` values of `x`, in blocks of rows over the
/// threads from [`PARALLEL_ELEMS`] inputs on, inside `wide` (pass `f` `#[inline(always)]`).
fn map_rows<E: Float, T: Copy + Send>(
    x: &[E],
    outer: usize,
    n: usize,
    f: impl Fn(&[E]) -> T + Sync,
) -> Vec<T> {
    let x = &x[..outer * n];
    // SAFETY: every slot of a block is written, from a run of rows sliced to exactly the
    // block's count.
    unsafe {
        collect_blocks_from(
            outer,
            (PARALLEL_ELEMS / n.max(1)).max(1),
            #[inline(always)]
            |first, block| {
                let rows = x[first * n..][..block.len() * n].chunks_exact(n);
                for (slot, row) in block.iter_mut().zip(rows) {
                    slot.write(f(row));
                }
            },
        )
    }
}

/// The extreme value along the axis and its first index; `better(a, b)` is true when `a`
/// should replace `b`. NaN propagates, as in PyTorch.
///
/// Along the last axis, blocks of rows over the threads from [`PARALLEL_ELEMS`] inputs on
/// (on one thread before: argmax over the rows of (4096, 1024) took 1.37 ms on one thread
/// and on two; now 0.96 / 0.47, PyTorch 3.8 / 1.9). Along a middle axis, one thread:
/// cutting the columns of a single plane over the threads made argmax over axis 0 of
/// (4096, 1024) 20% slower on one thread and no faster on two (memory-bound).
pub(crate) fn arg_extreme_axis<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    better: impl Fn(E, E) -> bool + Sync,
) -> (Vec<E>, Vec<usize>) {
    if inner != 1 || n == 0 {
        return arg_extreme_serial(x, outer, n, inner, better);
    }
    let pairs = map_rows(
        x,
        outer,
        n,
        #[inline(always)]
        |row| arg_extreme_row(row, &better),
    );
    pairs.into_iter().unzip()
}

/// [`extreme_axis`] on the calling thread: along a middle axis (or an empty one).
fn extreme_serial<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    better: impl Fn(E, E) -> bool,
) -> Vec<E> {
    if n == 0 {
        return arg_extreme_serial(x, outer, n, inner, better).0;
    }
    wide(
        #[inline(always)]
        || {
            let mut vals = Vec::with_capacity(outer * inner);
            if inner == 1 {
                vals.extend(x.chunks_exact(n).take(outer).map(|row| {
                    let best = row_extreme(row, &better);
                    // Of -0 and 0, the first one's sign, as `arg_extreme_row` gives: the
                    // lanes do not keep the row's order.
                    if best == E::ZERO {
                        row[row.iter().position(|&v| v == E::ZERO).unwrap_or(0)]
                    } else {
                        best
                    }
                }));
            } else {
                for plane in x.chunks_exact(n * inner).take(outer) {
                    let start = vals.len();
                    vals.extend_from_slice(&plane[..inner]);
                    let bv = &mut vals[start..];
                    for row in plane.chunks_exact(inner).skip(1) {
                        for (b, &v) in bv.iter_mut().zip(row) {
                            let take = !b.is_nan() & (v.is_nan() | better(v, *b));
                            *b = if take { v } else { *b };
                        }
                    }
                }
            }
            assert_eq!(vals.len(), outer * inner, "a tensor of [outer, n, inner]");
            vals
        },
    )
}

/// [`arg_extreme_axis`] on the calling thread: along a middle axis (or an empty one).
fn arg_extreme_serial<E: Float>(
    x: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    better: impl Fn(E, E) -> bool,
) -> (Vec<E>, Vec<usize>) {
    wide(
        #[inline(always)]
        || {
            let mut vals = Vec::with_capacity(outer * inner);
            let mut idxs = Vec::with_capacity(outer * inner);
            if inner > 1 && n > 0 && u32::try_from(n).is_ok() {
                // Along a middle axis, plane by plane: step `k` is a contiguous run of `inner`
                // values compared with the running extremes of every column at once (column
                // by column, each step strode `inner` elements: 7x slower). The running
                // indices are `u32` and the update a select, not a branch: with `usize`
                // indices and a branch, min over (16, 128, 256) f32 axis 1 took 86 us on one
                // thread (PyTorch 45).
                let mut steps = vec![0u32; inner];
                for plane in x.chunks_exact(n * inner).take(outer) {
                    let start = vals.len();
                    vals.extend_from_slice(&plane[..inner]);
                    steps.fill(0);
                    let bv = &mut vals[start..];
                    for (k, row) in (0u32..).zip(plane.chunks_exact(inner)).skip(1) {
                        for ((b, i), &v) in bv.iter_mut().zip(steps.iter_mut()).zip(row) {
                            let take = !b.is_nan() & (v.is_nan() | better(v, *b));
                            *b = if take { v } else { *b };
                            *i = if take { k } else { *i };
                        }
                    }
                    idxs.extend(steps.iter().map(|&k| k as usize));
                }
                assert_eq!(vals.len(), outer * inner, "a tensor of [outer, n, inner]");
                return (vals, idxs);
            }
            if inner == 1 && n > 0 {
                for row in x.chunks_exact(n).take(outer) {
                    let (best, at) = arg_extreme_row(row, &better);
                    vals.push(best);
                    idxs.push(at);
                }
                assert_eq!(vals.len(), outer, "a tensor of [outer, n]");
                return (vals, idxs);
            }
            for o in 0..outer {
                for i in 0..inner {
                    let base = o * n * inner + i;
                    let mut best = x[base];
                    let mut bi = 0;
                    for k in 1..n {
                        let v = x[base + k * inner];
                        if !best.is_nan() && (v.is_nan() || better(v, best)) {
                            best = v;
                            bi = k;
                        }
                    }
                    vals.push(best);
                    idxs.push(bi);
                }
            }
            (vals, idxs)
        },
    )
}

/// The extreme of a non-empty row (NaN winning) and the index of its first occurrence, in
/// two branch-free passes: the extreme in 16 lanes, then the first element equal to it,
/// tested 16 at a time. Comparing element by element with a branch on each took 6.3 ns per
/// f32 element on sine-like data (mispredicted), argmax over (2048, 256): 3311 us on one
/// thread, PyTorch's 456.
#[inline(always)]
fn arg_extreme_row<E: Float>(row: &[E], better: &impl Fn(E, E) -> bool) -> (E, usize) {
    let best = row_extreme(row, better);
    let nan = best.is_nan();
    let hit = |v: E| if nan { v.is_nan() } else { v == best };
    for (block, c) in row.chunks(16).enumerate() {
        if c.iter().fold(false, |any, &v| any | hit(v)) {
            let at = block * 16 + c.iter().position(|&v| hit(v)).unwrap_or(0);
            // The element itself: of -0 and 0, the first one's sign.
            return (row[at], at);
        }
    }
    (best, 0)
}

/// The extreme of a non-empty row, NaN winning, in 16 lanes (of zeros of both signs, either).
#[inline(always)]
fn row_extreme<E: Float>(row: &[E], better: &impl Fn(E, E) -> bool) -> E {
    let mut lanes = [row[0]; 16];
    let chunks = row.chunks_exact(16);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            let take = v.is_nan() | better(v, *l);
            *l = if take { v } else { *l };
        }
    }
    let mut best = row[0];
    for &v in lanes.iter().chain(rest) {
        if !best.is_nan() && (v.is_nan() || better(v, best)) {
            best = v;
        }
    }
    best
}
