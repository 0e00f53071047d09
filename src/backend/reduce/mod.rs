//! Reductions along one axis, seen as a `[outer, n, inner]` block.

use super::parallel::{PARALLEL_ELEMS, collect_blocks_from};
use super::simd::wide;
use super::threads;
use super::uninit::assume_init_mut;
use crate::backend::precompiled::precompiled;
use crate::dtype::Float;
use std::sync::Mutex;

mod extreme;
pub(crate) use extreme::{arg_extreme_axis, extreme_axis};

/// Long sums are cut into blocks of this many elements, summed in parallel and then added
/// in order: the blocks do not depend on the thread count, so neither does the result.
const SUM_BLOCK: usize = 1 << 16;

/// Splits `dims` around `axis` into (outer, n, inner) element counts.
pub(crate) fn split_axis(dims: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = dims[..axis].iter().product();
    let inner = dims[axis + 1..].iter().product();
    (outer, dims[axis], inner)
}

/// How many runs of rows [`sum_slab_in_parts`] cuts an `[n, inner]` slab into: one per
/// `2 * PARALLEL_ELEMS` elements, at most 4. From the shape alone, so that the result does
/// not depend on the thread count.
fn slab_parts(n: usize, inner: usize) -> usize {
    (n * inner / (2 * PARALLEL_ELEMS)).clamp(1, 4).min(n)
}

/// The sum over the first axis of one `[n, inner]` slab in runs of `per` rows: each run summed
/// in order into its own partial (the runs over the threads), then the partials added in
/// order. Serial, one slab of (2048, 2048) `f32` took 0.55 ms on two threads against
/// PyTorch's 0.30.
fn sum_slab_in_parts<E: Float>(x: &[E], n: usize, inner: usize, per: usize) -> Vec<E> {
    let mut partials = vec![E::ZERO; n.div_ceil(per) * inner];
    let pieces: Vec<(usize, &mut [E])> = partials.chunks_mut(inner).enumerate().collect();
    threads::run_pieces(pieces, &|(p, acc)| {
        let rows = &x[p * per * inner..(((p + 1) * per).min(n)) * inner];
        add_rows(acc, rows);
    });
    let (total, rest) = partials.split_at_mut(inner);
    for part in rest.chunks_exact(inner) {
        for (t, &v) in total.iter_mut().zip(part) {
            *t += v;
        }
    }
    partials.truncate(inner);
    partials
}

/// Adds every row of `rows` (rows of `acc.len()`) into `acc`, in order.
#[inline(never)]
fn add_rows<E: Float>(acc: &mut [E], rows: &[E]) {
    wide(
        #[inline(always)]
        || {
            for row in rows.chunks_exact(acc.len()) {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
        },
    )
}

precompiled! {
    /// Sum along the middle of `[outer, n, inner]`.
    pub(crate) fn sum_axis<E>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> = sum_axis_generic;
}

/// The kernel of [`sum_axis`]. Outputs are cut into blocks over the threads once the input
/// is long; each output is summed in the same order whatever the cut, so the result does not
/// depend on the thread count. (Serial before: on two threads a (2048, 2048) `f32` sum over
/// the last axis took 0.24 ms against PyTorch's 0.09.)
fn sum_axis_generic<E: Float>(x: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    if outer == 1 && inner == 1 && n >= 2 * SUM_BLOCK {
        return vec![sum_long(x)];
    }
    let len = outer * inner;
    if n == 0 {
        return vec![E::ZERO; len];
    }
    let x = &x[..outer * n * inner];
    if outer == 1 && inner > 1 {
        let per = n.div_ceil(slab_parts(n, inner));
        if per < n {
            return sum_slab_in_parts(x, n, inner, per);
        }
    }
    // One short slab (`outer == 1`, a sum over the first axis) stays on one thread: cut
    // between columns, each thread read half of every row, a new page every few KiB, where
    // the hardware prefetchers start over (a (4096, 1024) `f32` mean over axis 0: 0.35 ms on
    // one thread, 0.56 on two); long ones are cut between rows instead.
    let parallel_from = if inner > 1 && outer == 1 {
        usize::MAX
    } else {
        (PARALLEL_ELEMS / n).max(1)
    };
    // SAFETY: both branches write every slot of the block: one sum per slot, or the first
    // row of each run of the block and then additions into it.
    unsafe {
        collect_blocks_from(
            len,
            parallel_from,
            #[inline(always)]
            |offset, block| {
                if inner == 1 {
                    // Reducing the last axis: one contiguous row per output, summed in lanes
                    // so the loop vectorises (a single running sum is a serial dependency).
                    // Short rows inline (global average pooling's 7 x 7 planes: a call per
                    // row was most of the time), long ones through the precompiled loop.
                    for (i, slot) in block.iter_mut().enumerate() {
                        let row = &x[(offset + i) * n..][..n];
                        slot.write(if n < SUM_LANES {
                            sum_lanes(row)
                        } else {
                            sum_contiguous(row)
                        });
                    }
                    return;
                }
                let (mut at, mut rest) = (offset, block);
                while !rest.is_empty() {
                    let (o, i0) = (at / inner, at % inner);
                    let width = (inner - i0).min(rest.len());
                    let (run, tail) = rest.split_at_mut(width);
                    let base = o * n * inner + i0;
                    for (slot, &v) in run.iter_mut().zip(&x[base..][..width]) {
                        slot.write(v);
                    }
                    // SAFETY: every slot of `run` was written just above.
                    let run = assume_init_mut(run);
                    for k in 1..n {
                        let src = &x[base + k * inner..][..width];
                        for (d, &s) in run.iter_mut().zip(src) {
                            *d += s;
                        }
                    }
                    (at, rest) = (at + width, tail);
                }
            },
        )
    }
}

precompiled! {
    /// Adds the column sums of `x` (rows of `acc.len()`) to `acc`, row after row: a bias
    /// gradient from the output gradient of every sample.
    pub(crate) fn add_column_sums<E>(acc: &mut [E], x: &[E]) = add_column_sums_generic;
}

/// The kernel of [`add_column_sums`].
fn add_column_sums_generic<E: Float>(acc: &mut [E], x: &[E]) {
    let n = acc.len();
    if n == 0 {
        return;
    }
    // Column blocks over the threads for long inputs (an LSTM's 512 x 512 gate gradients):
    // every thread reads all rows, but only its columns, and sums them in the same order.
    let parts = if x.len() >= PARALLEL_ELEMS && n >= 64 {
        threads::threads().min(n / 32)
    } else {
        1
    };
    let width = n.div_ceil(parts).next_multiple_of(16);
    let pieces: Vec<(usize, &mut [E])> = acc
        .chunks_mut(width)
        .enumerate()
        .map(|(i, block)| (i * width, block))
        .collect();
    let sum_block = |(off, block): (usize, &mut [E])| {
        wide(
            #[inline(always)]
            || {
                for row in x.chunks_exact(n) {
                    let row = &row[off..][..block.len()];
                    block.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
                }
            },
        )
    };
    if pieces.len() == 1 {
        pieces.into_iter().for_each(sum_block);
    } else {
        threads::run_pieces(pieces, &sum_block);
    }
}

/// `g` (shaped `[outer, inner]`) repeated along a new middle axis of `n`: the `[outer, n,
/// inner]` gradient of a sum along that axis when the input has none yet ([`spread_axis`]
/// adds into an existing one), written once. Blocks over the threads.
pub(crate) fn spread_axis_new<E: Float>(g: &[E], outer: usize, n: usize, inner: usize) -> Vec<E> {
    let len = outer * n * inner;
    let g = &g[..outer * inner];
    // SAFETY: the runs below cover the block: each starts where the last one ended and is
    // as long as what it writes.
    unsafe {
        super::parallel::collect_blocks(
            len,
            #[inline(always)]
            |offset, block| {
                let (mut at, mut rest) = (offset, block);
                while !rest.is_empty() {
                    let width;
                    if inner == 1 {
                        // Rows of `n` copies of one value.
                        width = (n - at % n).min(rest.len());
                        let v = g[at / n];
                        for slot in &mut rest[..width] {
                            slot.write(v);
                        }
                    } else {
                        let (row, j) = (at / inner, at % inner);
                        width = (inner - j).min(rest.len());
                        let src = &g[(row / n) * inner + j..][..width];
                        for (slot, &v) in rest[..width].iter_mut().zip(src) {
                            slot.write(v);
                        }
                    }
                    (at, rest) = (at + width, &mut rest[width..]);
                }
            },
        )
    }
}

precompiled! {
    /// Adds `g` (shaped `[outer, inner]`) to every `k` of `acc` (shaped `[outer, n, inner]`) times `scale`.
    pub(crate) fn spread_axis<E>(acc: &mut [E], g: &[E], outer: usize, n: usize, inner: usize, scale: E) = spread_axis_generic;
}

/// The kernel of [`spread_axis`].
fn spread_axis_generic<E: Float>(
    acc: &mut [E],
    g: &[E],
    outer: usize,
    n: usize,
    inner: usize,
    scale: E,
) {
    wide(
        #[inline(always)]
        || {
            if inner == 1 && n > 0 {
                for (row, &gv) in acc.chunks_exact_mut(n).zip(g) {
                    let v = gv * scale;
                    row.iter_mut().for_each(|a| *a += v);
                }
                return;
            }
            for o in 0..outer {
                let src = &g[o * inner..(o + 1) * inner];
                for k in 0..n {
                    let dst = &mut acc[(o * n + k) * inner..(o * n + k + 1) * inner];
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d += s * scale;
                    }
                }
            }
        },
    )
}

/// Sum of a long slice: [`SUM_BLOCK`] blocks summed over the threads in 32 lanes each (one
/// lane chain per 8 elements would be bound by the add latency, not by memory), then added
/// in order.
fn sum_long<E: Float>(x: &[E]) -> E {
    sum_in_blocks(
        x.len(),
        || (),
        #[inline(always)]
        |_, block| sum_lanes_long(&x[block]),
    )
}

/// The blocking of every long sum: `n` values in [`SUM_BLOCK`] blocks over the threads, the
/// sum of each block from `block_sum(state, block)` (each thread with its own `state()`),
/// run inside [`wide`], the partials added in order; so a long sum's order of additions does
/// not depend on how its values are made, or on the thread count.
fn sum_in_blocks<E: Float, S>(
    n: usize,
    state: impl Fn() -> S + Sync,
    block_sum: impl Fn(&mut S, core::ops::Range<usize>) -> E + Sync,
) -> E {
    let blocks = n.div_ceil(SUM_BLOCK);
    let mut partials = vec![E::ZERO; blocks];
    let per = blocks.div_ceil(threads::threads().clamp(1, blocks));
    let parts: Vec<Mutex<Option<&mut [E]>>> = partials
        .chunks_mut(per)
        .map(|c| Mutex::new(Some(c)))
        .collect();
    threads::run(parts.len(), &|t| {
        let Some(slots) = parts[t].lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return;
        };
        let mut state = state();
        wide(
            #[inline(always)]
            || {
                for (j, slot) in slots.iter_mut().enumerate() {
                    let start = (t * per + j) * SUM_BLOCK;
                    *slot = block_sum(&mut state, start..(start + SUM_BLOCK).min(n));
                }
            },
        );
    });
    drop(parts);
    partials.iter().fold(E::ZERO, |s, &v| s + v)
}

/// `sum(f(a - b))` as [`sum_axis`] sums the materialised `f(a - b)`, bit for bit, without
/// them in memory: each block of `SUM_BLOCK` (from `2 * SUM_BLOCK` elements; the whole
/// slice below) is mapped and summed in one pass by [`sum_lanes_of_differences`], the same
/// additions in the same order as [`sum_lanes`] over the mapped terms, the partials added in
/// order as [`sum_long`] does. An untraced regression loss (squared, absolute, Smooth L1,
/// Huber error) over 4M `f32` reads 32 MB (the temporary cost 16 MB written and read again:
/// mean squared error 2.93 ms, PyTorch 2.09; a scratch block per 64K terms, written and
/// summed, after that). `f` runs inside [`wide`]: pass it `#[inline(always)]`.
pub(crate) fn sum_of_mapped_differences<E: Float>(
    a: &[E],
    b: &[E],
    f: impl Fn(E) -> E + Copy + Sync,
) -> E {
    let n = a.len();
    assert_eq!(n, b.len(), "sum_of_mapped_differences lengths");
    if n < 2 * SUM_BLOCK {
        return wide(
            #[inline(always)]
            || sum_lanes_of_differences(a, b, f),
        );
    }
    sum_in_blocks(
        n,
        || (),
        #[inline(always)]
        |_, block| sum_lanes_of_differences(&a[block.clone()], &b[block], f),
    )
}

precompiled! {
    /// Sum of a contiguous slice in 32 lanes.
    pub(crate) fn sum_contiguous<E>(x: &[E]) -> E = sum_contiguous_generic;
}

/// Lanes of [`sum_lanes`]: as many independent sums (four vectors of f32 at AVX-512), so that
/// the adds do not wait on each other. With 32 (and with 16), LLVM unrolled the lane loop
/// whole and vectorised it two lanes at a time: a (2048, 256) f32 sum over the last axis
/// took 45 us on one thread (PyTorch's 26), global average pooling of 4 MiB 85 us (52); a
/// loop of 64 is vectorised as a loop, at full width.
const SUM_LANES: usize = 64;

/// The sum of `x` in [`SUM_LANES`] lanes, added pairwise, then what is left in eight lanes,
/// then the last few in order.
#[inline(always)]
pub(crate) fn sum_lanes<E: Float>(x: &[E]) -> E {
    sum_lanes_zipped::<E, false>(x, x, |v, _| v)
}

/// [`sum_lanes`] of a block of [`SUM_BLOCK`] values (the same additions).
#[inline(always)]
fn sum_lanes_long<E: Float>(x: &[E]) -> E {
    sum_lanes_zipped::<E, true>(x, x, |v, _| v)
}

/// `lanes` with their pairwise total (halves, then quarters, ...) in `lanes[0]`, the fold
/// of [`sum_lanes_zipped`] after a long block.
#[inline(never)]
fn fold_halves<E: Float>(mut lanes: [E; SUM_LANES]) -> [E; SUM_LANES] {
    add_halves(&mut lanes);
    lanes
}

/// Adds the upper half of `lanes` onto the lower, then the upper quarter onto the lowest,
/// and so on: the pairwise total of all `N` (a power of two) ends in `lanes[0]`.
#[inline(always)]
pub(crate) fn add_halves<T: Copy + core::ops::AddAssign, const N: usize>(lanes: &mut [T; N]) {
    let mut width = N / 2;
    while width > 0 {
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
        width /= 2;
    }
}

/// [`sum_lanes`] of `f(a[i] - b[i])`, each term mapped as it is added: the same additions in
/// the same order as summing the mapped terms, bit for bit.
#[inline(always)]
pub(crate) fn sum_lanes_of_differences<E: Float>(a: &[E], b: &[E], f: impl Fn(E) -> E) -> E {
    sum_lanes_zipped::<E, false>(
        a,
        b,
        #[inline(always)]
        |x, y| f(x - y),
    )
}

/// The lane sum of [`sum_lanes`] over the terms `term(a[i], b[i])` (`b` as long as `a`).
///
/// `LONG` for blocks of [`SUM_BLOCK`]: the lanes are folded by a call ([`fold_halves`]).
/// Folded in place after a long block, the fold's variable indices kept the accumulators in
/// memory, loaded and stored at every step (a 4M-element `f32` sum: 0.65 ms on one thread,
/// PyTorch 0.22; with the call 0.25); after a short row the call costs more than it saves
/// (LayerNorm over (8192, 256) 0.61 -> 0.93 ms), and the loop there kept its registers.
#[inline(always)]
fn sum_lanes_zipped<E: Float, const LONG: bool>(a: &[E], b: &[E], term: impl Fn(E, E) -> E) -> E {
    let b = &b[..a.len()];
    if a.len() < 8 {
        // The same additions as below (every lane zero, the tail in order), without the
        // lanes: most of the time of a short row's sum (7 x 7 pooling planes).
        return a
            .iter()
            .zip(b)
            .fold(E::ZERO, |total, (&x, &y)| total + term(x, y));
    }
    let (chunks, chunks_b) = (a.chunks_exact(SUM_LANES), b.chunks_exact(SUM_LANES));
    let (rest, rest_b) = (chunks.remainder(), chunks_b.remainder());
    let mut lanes = [E::ZERO; SUM_LANES];
    // Shorter than one round of lanes, they stay zero: skip them (they would add 63 zeros
    // per call).
    if a.len() >= SUM_LANES {
        for (c, d) in chunks.zip(chunks_b) {
            for k in 0..SUM_LANES {
                lanes[k] += term(c[k], d[k]);
            }
        }
        if LONG {
            lanes = fold_halves(lanes);
        } else {
            add_halves(&mut lanes);
        }
    }
    let (eights, eights_b) = (rest.chunks_exact(8), rest_b.chunks_exact(8));
    let (tail, tail_b) = (eights.remainder(), eights_b.remainder());
    let mut short = [E::ZERO; 8];
    for (c, d) in eights.zip(eights_b) {
        for k in 0..8 {
            short[k] += term(c[k], d[k]);
        }
    }
    let short = short.iter().fold(E::ZERO, |s, &v| s + v);
    tail.iter()
        .zip(tail_b)
        .fold(lanes[0] + short, |total, (&x, &y)| total + term(x, y))
}

/// The total of 32 lanes of partial sums, added pairwise (halves, then quarters, ...).
#[inline(always)]
pub(crate) fn fold_lanes<E: Float>(mut lanes: [E; 32]) -> E {
    add_halves(&mut lanes);
    lanes[0]
}

/// The kernel of [`sum_contiguous`].
fn sum_contiguous_generic<E: Float>(x: &[E]) -> E {
    wide(
        #[inline(always)]
        || sum_lanes(x),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums in 64 lanes, then eights, then the tail: exact on small integers for every
    /// length up to three times the lane count (lanes, pairwise steps, eights and tail all
    /// counted once), and along the last axis.
    #[test]
    fn lane_sums_count_every_element_once() {
        for n in (0..200).chain([1000, 1031]) {
            let x: Vec<f32> = (0..n).map(|i| ((i * 13) % 7) as f32 - 3.0).collect();
            let want: f32 = x.iter().sum();
            assert_eq!(sum_contiguous(&x), want, "length {n}");
            if n > 0 {
                let rows = sum_axis(&x, 1, n, 1);
                assert_eq!(rows, [want], "length {n} as one row");
            }
        }
    }

    /// The written spread (a sum's first gradient) equals the spread added into zeros:
    /// last axis (runs of one value), middle and first axes, blocks over the threads cutting
    /// runs, empty axes.
    #[test]
    fn spreads_written_equal_spreads_added() {
        let shapes = [
            (3, 5, 1),
            (2, 3, 4),
            (1, 7, 9),
            (4, 1, 6),
            (3, 70001, 1),
            (1000, 130, 1),
            (2, 5, 40003),
            (130, 3, 257),
            (2, 0, 3),
            (0, 3, 2),
        ];
        for (outer, n, inner) in shapes {
            let g: Vec<f64> = (0..outer * inner).map(|i| i as f64 * 0.5 - 7.0).collect();
            let mut added = vec![0.0; outer * n * inner];
            spread_axis(&mut added, &g, outer, n, inner, 1.0);
            let written = spread_axis_new(&g, outer, n, inner);
            assert_eq!(written, added, "{outer} x {n} x {inner}");
        }
    }

    /// The extreme along a middle or the last axis and its first index, against a
    /// column-by-column walk: ties keep the first index, a NaN wins and stays, and of -0 and
    /// 0 the first is returned (rows shorter than, equal to and longer than the 16 lanes).
    #[test]
    fn extremes_along_an_axis() {
        let shapes = [
            (1, 1, 3),
            (2, 5, 7),
            (3, 40, 33),
            (4, 1, 1),
            (5, 5, 1),
            (2, 16, 1),
            (3, 40, 1),
            (2, 37, 1),
        ];
        for (outer, n, inner) in shapes {
            let len = outer * n * inner;
            let mut x: Vec<f32> = (0..len).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
            if len > 50 {
                x[40] = f32::NAN;
                x[inner + 3] = f32::NAN;
            }
            if n == 37 {
                // Second row: zeros of both signs as its maximum, the -0 in the first lane
                // and the first 0 (a +0) in another.
                x[37..74].fill(0.0);
                x[37] = -5.0;
                x[37 + 16] = -0.0;
                x[37 + 20] = -0.0;
            }
            let pick = [|a: f32, b: f32| a > b, |a: f32, b: f32| a < b];
            for (which, better) in pick.into_iter().enumerate() {
                let (vals, idxs) = arg_extreme_axis(&x, outer, n, inner, better);
                let only = extreme_axis(&x, outer, n, inner, better);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&only),
                    bits(&vals),
                    "{outer}x{n}x{inner} ({which}) values"
                );
                for o in 0..outer {
                    for i in 0..inner {
                        let col: Vec<f32> = (0..n).map(|k| x[(o * n + k) * inner + i]).collect();
                        let mut k = 0;
                        for (j, &v) in col.iter().enumerate() {
                            if !col[k].is_nan() && (v.is_nan() || better(v, col[k])) {
                                k = j;
                            }
                        }
                        let (v, j) = (vals[o * inner + i], idxs[o * inner + i]);
                        let at = format!("{outer}x{n}x{inner} ({which}) column {o}, {i}");
                        assert_eq!(j, k, "{at}");
                        assert!(v.to_bits() == col[k].to_bits(), "{at}: value {v}");
                    }
                }
            }
        }
        // Zeros of both signs tied along a middle axis: the first of each column.
        let x = [-1.0f32, 0.0, -0.0, -0.0, 0.0, -1.0];
        let only = extreme_axis(&x, 1, 3, 2, |a, b| a > b);
        let (vals, _) = arg_extreme_axis(&x, 1, 3, 2, |a: f32, b: f32| a > b);
        let first = vec![(-0.0f32).to_bits(), 0.0f32.to_bits()];
        assert_eq!(only.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), first);
        assert_eq!(vals.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), first);
    }

    /// Row after row into what the accumulator held, in both element types and at widths
    /// with a vector tail (exact here: small integers).
    #[test]
    fn column_sums_add_every_row() {
        for width in [1, 7, 16, 37] {
            let x: Vec<f64> = (0..5 * width).map(|i| (i % 11) as f64 - 5.0).collect();
            let mut acc: Vec<f64> = (0..width).map(|j| j as f64).collect();
            let expected: Vec<f64> = (0..width)
                .map(|j| j as f64 + (0..5).map(|r| x[r * width + j]).sum::<f64>())
                .collect();
            add_column_sums(&mut acc, &x);
            assert_eq!(acc, expected);
            let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
            let mut acc32: Vec<f32> = (0..width).map(|j| j as f32).collect();
            add_column_sums(&mut acc32, &x32);
            assert_eq!(
                acc32,
                expected.iter().map(|&v| v as f32).collect::<Vec<_>>()
            );
        }
        add_column_sums::<f32>(&mut [], &[]);
        // Long enough to be split over the threads (when the pool has more than one): the
        // same sums, in the same order, as one block.
        let (rows, width) = (300, 520);
        let x: Vec<f32> = (0..rows * width)
            .map(|i| ((i * 7919) % 1000) as f32 / 7.0)
            .collect();
        let mut split = vec![0.5f32; width];
        add_column_sums(&mut split, &x);
        let serial: Vec<f32> = (0..width)
            .map(|j| (0..rows).fold(0.5f32, |a, r| a + x[r * width + j]))
            .collect();
        assert_eq!(split, serial);
    }

    /// Sums along an axis, long enough to be cut over the threads inside a run of `inner`
    /// and between rows, against a naive sum (exact on small integers).
    #[test]
    fn axis_sums_match_naive_when_split_over_threads() {
        for (outer, n, inner) in [
            (2048, 64, 1),
            (1, 300, 700),
            (7, 33, 401),
            (3, 5, 1),
            (4, 0, 3),
            (70_000, 1, 1),
            (1, 1, 70_000),
            // One slab cut into runs of rows: four, three of one row each, two uneven.
            (1, 1000, 600),
            (1, 3, 200_000),
            (1, 7, 40_000),
        ] {
            let x: Vec<f64> = (0..outer * n * inner)
                .map(|i| (i % 17) as f64 - 8.0)
                .collect();
            let mut want = vec![0.0; outer * inner];
            for o in 0..outer {
                for k in 0..n {
                    for i in 0..inner {
                        want[o * inner + i] += x[(o * n + k) * inner + i];
                    }
                }
            }
            assert_eq!(
                sum_axis(&x, outer, n, inner),
                want,
                "[{outer}, {n}, {inner}]"
            );
        }
    }

    #[test]
    fn long_sums_match_the_exact_sum() {
        for n in [2 * SUM_BLOCK, 5 * SUM_BLOCK + 123] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919 % 1000) as f32 - 499.5) / 250.0)
                .collect();
            let exact: f64 = x.iter().map(|&v| v as f64).sum();
            let got = sum_axis(&x, 1, n, 1);
            assert_eq!(got.len(), 1);
            assert!(
                (got[0] as f64 - exact).abs() <= 1e-6 * n as f64,
                "{} vs {exact}",
                got[0]
            );
            let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
            let got64 = sum_axis(&x64, 1, n, 1)[0];
            assert!((got64 - exact).abs() <= 1e-9 * n as f64);
        }
    }
}
