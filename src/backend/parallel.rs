//! Splitting long element loops over the threads of [`super::threads`].
//!
//! One core cannot saturate memory bandwidth on large tensors: a 4M-element `relu(a + b)`
//! forward runs about 1.5x faster on two cores than on one. Loops shorter than
//! [`PARALLEL_ELEMS`] stay on the calling thread, where handing out work would cost more
//! than it saves.

use super::simd::wide;
use super::threads;
use core::mem::MaybeUninit;
use std::sync::Mutex;

/// Loops over fewer elements than this run on the calling thread (256 KiB of f32).
pub(crate) const PARALLEL_ELEMS: usize = 1 << 16;

/// How many blocks to cut `n` elements into.
fn blocks_for(n: usize) -> usize {
    if n < PARALLEL_ELEMS {
        1
    } else {
        threads::threads().min(n / (PARALLEL_ELEMS / 2)).max(1)
    }
}

/// Runs `f(offset, block)` over consecutive blocks of `data` (one per thread for long
/// slices), each inside [`wide`].
#[inline]
pub(crate) fn for_blocks<T: Send>(data: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    for_zipped_blocks([data], |offset, [block]| f(offset, block));
}

/// A new vector of `n` elements, written by `f(offset, block)` over consecutive blocks
/// (in parallel for long vectors). `f` must write every element of its block.
#[inline]
pub(crate) fn collect_blocks<T: Copy + Send>(
    n: usize,
    f: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync,
) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(n);
    for_blocks(&mut out.spare_capacity_mut()[..n], f);
    // SAFETY: `f` initialised every element of every block, and the blocks cover `0..n`.
    unsafe { out.set_len(n) };
    out
}

/// [`for_blocks`] over `N` slices of the same length at once, cut at the same places:
/// `f(offset, [block of slice 0, block of slice 1, ...])` (an optimizer updating a parameter
/// and its state vectors together).
#[inline]
pub(crate) fn for_zipped_blocks<T: Send, const N: usize>(
    slices: [&mut [T]; N],
    f: impl Fn(usize, [&mut [T]; N]) + Sync,
) {
    let n = slices.first().map_or(0, |s| s.len());
    assert!(
        slices.iter().all(|s| s.len() == n),
        "zipped blocks need equal lengths"
    );
    let blocks = blocks_for(n);
    if blocks <= 1 {
        wide(
            #[inline(always)]
            || f(0, slices),
        );
        return;
    }
    let size = n.div_ceil(blocks);
    let mut chunks = slices.map(|s| s.chunks_mut(size));
    let parts: Vec<Mutex<Option<(usize, [&mut [T]; N])>>> = (0..n.div_ceil(size))
        .map(|i| {
            let block = core::array::from_fn(|k| chunks[k].next().unwrap_or_default());
            Mutex::new(Some((i * size, block)))
        })
        .collect();
    threads::run(parts.len(), &|t| {
        let part = parts[t].lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((offset, block)) = part {
            wide(
                #[inline(always)]
                || f(offset, block),
            );
        }
    });
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
            let v = collect_blocks(n, |off, block| {
                for (i, slot) in block.iter_mut().enumerate() {
                    slot.write((off + i) as u64);
                }
            });
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
        }
    }
}
