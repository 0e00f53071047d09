//! Splitting long element loops over the threads of [`super::threads`].
//!
//! One core cannot saturate memory bandwidth on large tensors: a 4M-element `relu(a + b)`
//! forward runs about 1.5x faster on two cores than on one. Loops shorter than
//! [`PARALLEL_ELEMS`] stay on the calling thread, where handing out work would cost more
//! than it saves.

use super::simd::{WideBlocks, WideSlice};
use super::threads;
use core::mem::MaybeUninit;
use std::sync::Mutex;

/// Loops over fewer elements than this run on the calling thread (256 KiB of f32).
pub(crate) const PARALLEL_ELEMS: usize = 1 << 16;

/// How many blocks to cut `n` elements into, when loops over fewer than `parallel_elems`
/// stay on the calling thread.
fn blocks_for(n: usize, parallel_elems: usize) -> usize {
    if n < parallel_elems {
        1
    } else {
        threads::threads()
            .min(n / (parallel_elems / 2).max(1))
            .max(1)
    }
}

/// Runs `f(offset, block)` over consecutive blocks of `data` (one per thread for long
/// slices), each inside [`wide`](super::simd::wide).
#[inline]
pub(crate) fn for_blocks<T: Send>(data: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    for_slice_blocks_from(data, PARALLEL_ELEMS, f);
}

/// [`for_blocks`] split over the threads from `parallel_elems` elements on. The block's loop
/// is compiled in `f.run_wide`, a method of `f`'s own type (see [`WideSlice`]).
#[inline]
fn for_slice_blocks_from<T: Send>(
    data: &mut [T],
    parallel_elems: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    match zipped_parts([data], parallel_elems) {
        Parts::One([block]) => f.run_wide(0, block),
        Parts::Many(parts) => threads::run(parts.len(), &|t| {
            if let Some((offset, [block])) = take_part(&parts[t]) {
                f.run_wide(offset, block);
            }
        }),
    }
}

/// A new vector of `n` elements, written by `f(offset, block)` over consecutive blocks
/// (in parallel for long vectors), without zero-filling it first.
///
/// # Safety
///
/// `f` must write every element of the block it is given (or panic). A closure that zips
/// its block with input slices must slice them to exactly `block.len()` (`&x[off..][..len]`,
/// which panics when an input is short) rather than let `zip` stop early: elements left
/// unwritten would be read as uninitialised memory.
#[inline]
pub(crate) unsafe fn collect_blocks<T: Copy + Send>(
    n: usize,
    f: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    // SAFETY: the caller's guarantee, passed on.
    unsafe { collect_blocks_from(n, PARALLEL_ELEMS, f) }
}

/// [`collect_blocks`] split over the threads from `parallel_elems` outputs on: for outputs
/// that each read many inputs (a sum along an axis), `PARALLEL_ELEMS / inputs per output`.
///
/// # Safety
///
/// As [`collect_blocks`].
#[inline]
pub(crate) unsafe fn collect_blocks_from<T: Copy + Send>(
    n: usize,
    parallel_elems: usize,
    f: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(n);
    for_slice_blocks_from(&mut out.spare_capacity_mut()[..n], parallel_elems, f);
    // SAFETY: the caller guarantees that `f` wrote every element of every block (a panic in
    // `f` unwinds before this line), and the blocks cover `0..n`.
    unsafe { out.set_len(n) };
    out
}

/// [`for_blocks`] over `N` slices of the same length at once, cut at the same places:
/// `f(offset, [block of slice 0, block of slice 1, ...])` (an optimizer updating a parameter
/// and its state vectors together).
///
/// Only the two calls of `f` depend on the closure's type; the cutting is in
/// [`zipped_parts`], generic over the element type and `N` alone, so that the dozens of
/// closures of the element-wise ops share one copy of it (issue 15: each copy is compiled
/// again in every crate that calls a generic op).
#[inline]
pub(crate) fn for_zipped_blocks<T: Send, const N: usize>(
    slices: [&mut [T]; N],
    f: impl Fn(usize, [&mut [T]; N]) + Sync,
) {
    for_zipped_blocks_from(slices, PARALLEL_ELEMS, f);
}

/// [`for_zipped_blocks`] for loops that spend more per element than a memory-bound one (a
/// square root and a division per element in an optimizer's update): split over the
/// threads from `parallel_elems` elements on.
#[inline]
pub(crate) fn for_zipped_blocks_from<T: Send, const N: usize>(
    slices: [&mut [T]; N],
    parallel_elems: usize,
    f: impl Fn(usize, [&mut [T]; N]) + Sync,
) {
    // Both paths call `f.run_wide`, the one place (`#[inline(never)]`) where `f`'s loop is
    // compiled, once per instruction set: a `wide` at each path would compile every kernel
    // six times in the user's crate (issue 15). A call per block costs nothing next to a
    // block's loop.
    match zipped_parts(slices, parallel_elems) {
        Parts::One(slices) => f.run_wide(0, slices),
        Parts::Many(parts) => threads::run(parts.len(), &|t| {
            if let Some((offset, slices)) = take_part(&parts[t]) {
                f.run_wide(offset, slices);
            }
        }),
    }
}

/// Runs `f(first_row, block)` over blocks of whole rows of `row_len` elements of `data` (one
/// block per thread when `data` is long; rows stay whole, as a softmax row or a pooling
/// plane must), each inside [`wide`](super::simd::wide).
pub(crate) fn for_row_blocks<T: Send>(
    data: &mut [T],
    row_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    for_row_blocks_from(data, row_len, PARALLEL_ELEMS, f)
}

/// [`for_row_blocks`] without [`wide`](super::simd::wide): for loops that gain nothing from wide registers
/// (sorts, index-driven copies, scalar scans), compiled once instead of once per instruction
/// set (issue 15, build time: every `wide` copy of a sort is another pdqsort).
pub(crate) fn for_row_blocks_plain<T: Send>(
    data: &mut [T],
    row_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    for_row_blocks_plain_from(data, row_len, PARALLEL_ELEMS, f)
}

/// [`for_row_blocks_plain`], split from `parallel_elems` elements of `data` on (for loops
/// whose work is not in proportion to the output they write).
pub(crate) fn for_row_blocks_plain_from<T: Send>(
    data: &mut [T],
    row_len: usize,
    parallel_elems: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let Some(per) = rows_per_block(data.len(), row_len, parallel_elems) else {
        f(0, data);
        return;
    };
    let pieces: Vec<(usize, &mut [T])> = data
        .chunks_mut(per * row_len)
        .enumerate()
        .map(|(i, b)| (i * per, b))
        .collect();
    threads::run_pieces(pieces, &|(first, block)| f(first, block));
}

/// Loops that compute an `exp` per element (softmax rows and their gradients) are split from
/// this many elements on: at about 1.5 ns per element they pay for a hand-off (about 1 us)
/// well below [`PARALLEL_ELEMS`], which is sized for memory-bound loops. W4's
/// cross-entropy over 512 x 64 logits ran on the calling thread alone, 2% of its step on
/// two threads.
pub(crate) const EXP_PARALLEL_ELEMS: usize = 1 << 14;

/// [`for_row_blocks`], split from `parallel_elems` elements on.
pub(crate) fn for_row_blocks_from<T: Send>(
    data: &mut [T],
    row_len: usize,
    parallel_elems: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    // Both paths call `f.run_wide`, as in `for_zipped_blocks`: a `wide` at each compiled
    // every softmax and pooling kernel six times (issue 15).
    let Some(per) = rows_per_block(data.len(), row_len, parallel_elems) else {
        f.run_wide(0, data);
        return;
    };
    let blocks: Vec<Mutex<Option<(usize, &mut [T])>>> = data
        .chunks_mut(per * row_len)
        .enumerate()
        .map(|(i, b)| Mutex::new(Some((i * per, b))))
        .collect();
    threads::run(blocks.len(), &|t| {
        let part = blocks[t].lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((first, block)) = part {
            f.run_wide(first, block);
        }
    });
}

/// Rows per block when `len` elements in rows of `row_len` are cut over the threads (from
/// `parallel_elems` elements on), or `None` when they stay in one block.
fn rows_per_block(len: usize, row_len: usize, parallel_elems: usize) -> Option<usize> {
    let rows = len.checked_div(row_len).unwrap_or(0);
    let parts = row_parts_from(len, rows, parallel_elems);
    (parts > 1).then(|| rows.div_ceil(parts))
}

/// How many blocks of whole rows [`for_row_blocks`] cuts `len` elements (`rows` rows) into:
/// one per thread from [`PARALLEL_ELEMS`] elements on, else one.
pub(crate) fn row_parts(len: usize, rows: usize) -> usize {
    row_parts_from(len, rows, PARALLEL_ELEMS)
}

/// [`row_parts`] from `parallel_elems` elements on.
fn row_parts_from(len: usize, rows: usize, parallel_elems: usize) -> usize {
    if len >= parallel_elems {
        threads::threads().min(rows).max(1)
    } else {
        1
    }
}

/// A block of each of `N` slices, and its offset, for the thread that takes it.
type Part<'a, T, const N: usize> = Mutex<Option<(usize, [&'a mut [T]; N])>>;

/// The `N` slices whole, when one thread does them, or cut into per-thread parts.
enum Parts<'a, T, const N: usize> {
    One([&'a mut [T]; N]),
    Many(Vec<Part<'a, T, N>>),
}

/// Checks that the slices have one length and cuts them into [`blocks_for`] parts.
#[inline(never)]
fn zipped_parts<T: Send, const N: usize>(
    slices: [&mut [T]; N],
    parallel_elems: usize,
) -> Parts<'_, T, N> {
    let n = slices.first().map_or(0, |s| s.len());
    assert!(
        slices.iter().all(|s| s.len() == n),
        "zipped blocks need equal lengths"
    );
    let blocks = blocks_for(n, parallel_elems);
    if blocks <= 1 {
        return Parts::One(slices);
    }
    let size = n.div_ceil(blocks);
    let mut chunks = slices.map(|s| s.chunks_mut(size));
    Parts::Many(
        (0..n.div_ceil(size))
            .map(|i| {
                let block = core::array::from_fn(|k| chunks[k].next().unwrap_or_default());
                Mutex::new(Some((i * size, block)))
            })
            .collect(),
    )
}

/// The part a thread was given (each is taken once).
fn take_part<'a, T, const N: usize>(part: &Part<'a, T, N>) -> Option<(usize, [&'a mut [T]; N])> {
    part.lock().unwrap_or_else(|e| e.into_inner()).take()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_every_element_once() {
        for n in [
            0,
            1,
            100,
            PARALLEL_ELEMS - 1,
            PARALLEL_ELEMS,
            3 * PARALLEL_ELEMS + 7,
        ] {
            // SAFETY: the closure writes every slot of its block.
            let v = unsafe {
                collect_blocks(n, |off, block| {
                    for (i, slot) in block.iter_mut().enumerate() {
                        slot.write((off + i) as u64);
                    }
                })
            };
            assert_eq!(v, (0..n as u64).collect::<Vec<_>>());
            let mut w = v.clone();
            for_blocks(&mut w, |off, block| {
                block
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, x)| *x += (off + i) as u64)
            });
            assert!(w.iter().enumerate().all(|(i, &x)| x == 2 * i as u64));
            let mut u = vec![1u64; n];
            for_zipped_blocks([&mut w, &mut u], |off, [a, b]| {
                for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
                    *x -= (off + i) as u64;
                    *y += *x;
                }
            });
            assert!(u.iter().enumerate().all(|(i, &y)| y == 1 + i as u64));
            // A lower threshold (the optimizers'): the same cover, split earlier.
            for threshold in [1, 2, 1000] {
                let mut a = vec![0u64; n];
                let mut b = vec![0u64; n];
                for_zipped_blocks_from([&mut a, &mut b], threshold, |off, [a, b]| {
                    assert_eq!(a.len(), b.len());
                    for (i, (x, y)) in a.iter_mut().zip(b.iter_mut()).enumerate() {
                        *x += (off + i) as u64;
                        *y += 1;
                    }
                });
                assert!(a.iter().enumerate().all(|(i, &x)| x == i as u64));
                assert!(b.iter().all(|&y| y == 1));
            }
        }
    }

    /// Blocks of whole rows, each row seen once with its index, on every path (one block,
    /// several, a ragged last block, an empty slice and a zero row length).
    #[test]
    fn row_blocks_keep_rows_whole() {
        for (rows, row_len) in [
            (0, 5),
            (3, 0),
            (1, 7),
            (10, 3),
            (PARALLEL_ELEMS / 64, 64),
            (PARALLEL_ELEMS / 100 + 3, 100),
            (3, PARALLEL_ELEMS),
        ] {
            let n = rows * row_len;
            let mut v = vec![0usize; n];
            for_row_blocks(&mut v, row_len, |first, block| {
                assert_eq!(block.len() % row_len.max(1), 0, "a block cut a row");
                for (r, row) in block.chunks_mut(row_len.max(1)).enumerate() {
                    row.iter_mut()
                        .enumerate()
                        .for_each(|(k, x)| *x += (first + r) * row_len + k + 1);
                }
            });
            assert!(v.iter().enumerate().all(|(i, &x)| x == i + 1));
        }
    }
}
