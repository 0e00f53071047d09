//! `pixel_shuffle` and `pixel_unshuffle` as row interleaves: each output row of the shuffle
//! is `R` input rows of `W` interleaved, each output row of the unshuffle one of `R`
//! strided picks of an input row. Through the general permute (a 5-axis view whose
//! innermost output axis is `R` elements read `H * W` apart) PixelShuffle(2) of
//! (16, 256, 32, 32) took 7.6 ms on one thread (PyTorch 10.3).

use super::parallel::for_row_blocks_plain;
use super::uninit::written;
use core::mem::MaybeUninit;

/// `(planes, R, R, H, W)` to `(planes, H, R, W, R)`: output row `(p, h, i)` holds, at
/// `w * R + j`, input element `(p, i, j, h, w)`.
pub(crate) fn pixel_shuffle<E: Copy + Send + Sync, const R: usize>(
    x: &[E],
    planes: usize,
    (h, w): (usize, usize),
) -> Vec<E> {
    let r = R;
    assert_eq!(x.len(), planes * r * r * h * w, "pixel_shuffle input");
    let row = w * r;
    // SAFETY: every row of every block is written whole (`r` picks of `w` each).
    unsafe {
        written(x.len(), |out| {
            if row == 0 {
                return;
            }
            for_row_blocks_plain(out, row, |first, block| {
                for (k, dst) in block.chunks_exact_mut(row).enumerate() {
                    let at = first + k; // (p * h + hh) * r + i
                    let (i, ph) = (at % r, at / r);
                    let (p, hh) = (ph / h, ph % h);
                    // The `R` source rows side by side; `R` is a constant, so the inner loop
                    // unrolls into `R` loads and one contiguous run of stores.
                    let srcs: [&[E]; R] =
                        core::array::from_fn(|j| &x[(((p * r + i) * r + j) * h + hh) * w..][..w]);
                    for (k, out) in dst.chunks_exact_mut(R).enumerate() {
                        for (slot, src) in out.iter_mut().zip(&srcs) {
                            slot.write(src[k]);
                        }
                    }
                }
            })
        })
    }
}

/// The inverse of [`pixel_shuffle`]: `(planes, H, R, W, R)` to `(planes, R, R, H, W)`.
pub(crate) fn pixel_unshuffle<E: Copy + Send + Sync, const R: usize>(
    x: &[E],
    planes: usize,
    (h, w): (usize, usize),
) -> Vec<E> {
    let r = R;
    assert_eq!(x.len(), planes * r * r * h * w, "pixel_unshuffle input");
    // SAFETY: every row of every block is written whole (`w` picks each).
    unsafe {
        written(x.len(), |out: &mut [MaybeUninit<E>]| {
            if w == 0 {
                return;
            }
            for_row_blocks_plain(out, w, |first, block| {
                for (k, dst) in block.chunks_exact_mut(w).enumerate() {
                    let at = first + k; // ((p * r + i) * r + j) * h + hh
                    let (hh, pij) = (at % h, at / h);
                    let (j, pi) = (pij % r, pij / r);
                    let (i, p) = (pi % r, pi / r);
                    let src = &x[((p * h + hh) * r + i) * w * r..][..w * r];
                    // Groups of the constant `R`: a deinterleaving load, not a strided walk.
                    for (slot, group) in dst.iter_mut().zip(src.chunks_exact(R)) {
                        slot.write(group[j]);
                    }
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffles_match_the_index_formula_and_invert() {
        fn check<const R: usize>(planes: usize, h: usize, w: usize) {
            let r = R;
            let x: Vec<u32> = (0..(planes * r * r * h * w) as u32).collect();
            let y = pixel_shuffle::<_, R>(&x, planes, (h, w));
            for p in 0..planes {
                for i in 0..r {
                    for j in 0..r {
                        for hh in 0..h {
                            for ww in 0..w {
                                let from = (((p * r + i) * r + j) * h + hh) * w + ww;
                                let to = (((p * h + hh) * r + i) * w + ww) * r + j;
                                assert_eq!(y[to], x[from]);
                            }
                        }
                    }
                }
            }
            assert_eq!(pixel_unshuffle::<_, R>(&y, planes, (h, w)), x);
        }
        check::<1>(1, 1, 1);
        check::<2>(2, 3, 5);
        check::<3>(3, 2, 4);
        check::<2>(4, 64, 300);
    }
}
