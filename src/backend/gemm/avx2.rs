//! The AVX2 + FMA micro-kernels, for x86-64 CPUs without AVX-512 (Zen 1-3, Intel client
//! chips, and virtual machines that hide AVX-512): an `MR x NR` block of `C` in `2 * MR` of
//! the 16 ymm registers (`NR` = two vectors: 16 `f32` or 8 `f64`).
//!
//! The same design as the AVX-512 kernels ([`super::avx512`]), with half the registers:
//! smaller blocks for ragged panels, `A` read in place for narrow products, `B` packed by
//! the first row panel that reads it. Without these (one 6 x 16 block, everything packed)
//! the small products of a training step ran at half the speed of `gemm`/`matrixmultiply`
//! (97 x 204 x 51 f32: 29 against 47-50 GFLOP/s on one Zen 4 core).
//!
//! The in-place dot products of `x W^T` ([`super::dot`]) only for batches of up to four
//! rows: with 16 registers their blocks are at most 2 x 4, and for larger batches packing
//! `W^T` for this kernel was faster (3 x 4 blocks: an MLP training step (W2) 1.47 -> 1.02
//! ms, a CNN step (W3, conv weight gradients) 3.75 -> 3.35 ms on one Zen 4 core,
//! alternating runs); a batch of one or two packed all of `W` for a product that reads it
//! once (1 x 1024 -> 4096 `f32` on one thread: 2026 us packed, ~330 in place).

use super::blocked::{APanel, Kernel};
use super::dot::{Avx2F32, Avx2F64, dot_methods};
use super::{Operand, SendPtr};
use core::arch::x86_64::*;

/// How a kernel instance reads `A` (see [`APanel`]): its `MODE` parameter.
const PACKED: u8 = 0;
const ROWS: u8 = 1;
const COLS: u8 = 2;

/// `f32` on AVX2 + FMA: 6 x 16 (12 accumulators, 2 for `B`, 1 for the broadcast `A`).
#[derive(Clone, Copy)]
pub(super) struct F32;
/// `f64` on AVX2 + FMA: 6 x 8.
#[derive(Clone, Copy)]
pub(super) struct F64;

/// Lane masks for the first `n` lanes (`n` may exceed the lane count) of each type.
#[target_feature(enable = "avx2")]
#[inline]
pub(super) fn mask_ps(n: usize) -> __m256i {
    let n = n.min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}
#[target_feature(enable = "avx2")]
#[inline]
pub(super) fn mask_pd(n: usize) -> __m256i {
    let n = n.min(4) as i64;
    _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3))
}

macro_rules! avx2_kernel {
    ($ty:ident, $e:ty, $v:ty, $lanes:literal, $kc:literal, $mc:literal, $nc:literal,
     $mask:ident, $setzero:ident, $set1:ident, $fmadd:ident, $mul:ident, $loadu:ident,
     $maskload:ident, $maskstore:ident, $storeu:ident, $dot:ident) => {
        impl Kernel for $ty {
            type E = $e;
            const MR: usize = 6;
            const NR: usize = 2 * $lanes;
            const KC: usize = $kc;
            const MC: usize = $mc;
            const NC: usize = $nc;
            const DIRECT_A: bool = true;
            const SHORT_TAIL: usize = 2;

            #[inline]
            unsafe fn tile(
                k: usize,
                a: *const $e,
                panel: APanel,
                b: *const $e,
                b_stride: usize,
                c: *mut $e,
                rsc: usize,
                mr: usize,
                nr: usize,
                alpha: $e,
                beta: $e,
            ) {
                // The smallest block that covers the rows and width: a ragged last panel
                // (16 rows = 6 + 6 + 4, 51 columns = 3 x 16 + 3) costs its own size.
                macro_rules! go {
                    ($r:literal, $w:literal) => {
                        match panel {
                            APanel::Packed => tile::<$r, $w, PACKED, false>(k, a, 0, b, b_stride, core::ptr::null_mut(), c, rsc, mr, nr, alpha, beta),
                            APanel::Rows(lda) => tile::<$r, $w, ROWS, false>(k, a, lda, b, b_stride, core::ptr::null_mut(), c, rsc, mr, nr, alpha, beta),
                            APanel::Cols(lda) => tile::<$r, $w, COLS, false>(k, a, lda, b, b_stride, core::ptr::null_mut(), c, rsc, mr, nr, alpha, beta),
                        }
                    };
                }
                // SAFETY: forwarded; `Kernel` for this type is only used once AVX2 and FMA
                // were detected (`super::Isa::Avx2`).
                unsafe {
                    match (mr, nr <= $lanes) {
                        (0..=2, true) => go!(2, 1),
                        (0..=2, false) => go!(2, 2),
                        (3..=4, true) => go!(4, 1),
                        (3..=4, false) => go!(4, 2),
                        (_, true) => go!(6, 1),
                        (_, false) => go!(6, 2),
                    }
                }
            }
            const FUSED_B: bool = true;

            #[inline]
            unsafe fn tile_pack_b(
                k: usize,
                a: *const $e,
                b: *const $e,
                b_stride: usize,
                b_out: *mut $e,
                c: *mut $e,
                rsc: usize,
                mr: usize,
                nr: usize,
                alpha: $e,
                beta: $e,
            ) {
                // SAFETY: forwarded, as in `tile`. Whole panels: the packed copy is
                // written two vectors a row whatever the block's width.
                unsafe {
                    match mr {
                        0..=2 => tile::<2, 2, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                        3..=4 => tile::<4, 2, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                        _ => tile::<6, 2, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                    }
                }
            }
            dot_methods!($e, $dot, 4);
        }

        /// See [`Kernel::tile`], for blocks of at most `R` rows and `W` vectors of columns;
        /// loads of `B` past column `nr` are masked off. `MODE` is how `A` is read:
        /// [`PACKED`], or in place by [`ROWS`] (row `i` at `a + i * lda`, contiguous steps) or
        /// [`COLS`] (step `p` of row `i` at `a + i + p * lda`). With `PACK`, every row of `B`
        /// read is also stored to `b_out` as a packed panel ([`Kernel::tile_pack_b`]).
        ///
        /// # Safety
        /// AVX2 and FMA, and the pointer ranges of [`Kernel::tile`] (and of
        /// [`Kernel::tile_pack_b`] with `PACK`); `mr <= R`, `nr <= W * L`.
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn tile<const R: usize, const W: usize, const MODE: u8, const PACK: bool>(
            k: usize,
            a: *const $e,
            lda: usize,
            b: *const $e,
            b_stride: usize,
            b_out: *mut $e,
            c: *mut $e,
            rsc: usize,
            mr: usize,
            nr: usize,
            alpha: $e,
            beta: $e,
        ) {
            const L: usize = $lanes;
            const MR: usize = 6;
            let lo = $mask(nr);
            let hi = $mask(nr.saturating_sub(L));
            let mut acc = [[$setzero(); 2]; R];
            // In place, rows past `mr` repeat the last real one (their sums are dropped);
            // packed panels are zero there.
            let mut rows = [a; R];
            if MODE != PACKED {
                let row_stride = if MODE == ROWS { lda } else { 1 };
                for (i, r) in rows.iter_mut().enumerate() {
                    *r = a.wrapping_add(i.min(mr - 1) * row_stride);
                }
            }
            let mut b = b;
            // SAFETY (whole body): the caller guarantees the pointer ranges; loads past
            // column `nr` and stores past row `mr` / column `nr` are masked or skipped.
            unsafe {
                // The C block is read only after the k loop; fetching it now hides the miss.
                for i in 0..mr {
                    let ci = c.add(i * rsc) as *const i8;
                    _mm_prefetch::<_MM_HINT_T0>(ci);
                    _mm_prefetch::<_MM_HINT_T0>(ci.wrapping_add(W * L * size_of::<$e>() - 1));
                }
                macro_rules! step {
                    ($p:expr, $bp:expr, $masked:expr) => {{
                        let (p, bp) = ($p, $bp);
                        let b0 = if $masked { $maskload(bp, lo) } else { $loadu(bp) };
                        let b1 = if W == 1 {
                            b0
                        } else if $masked {
                            $maskload(bp.add(L), hi)
                        } else {
                            $loadu(bp.add(L))
                        };
                        if PACK {
                            // The packed panel: `2 * L` values a row, zero past `nr` (the
                            // masked loads gave zeros there).
                            let out = b_out.add(p * 2 * L);
                            $storeu(out, b0);
                            $storeu(out.add(L), if W == 1 { $setzero() } else { b1 });
                        }
                        for (i, row) in acc.iter_mut().enumerate() {
                            let ai = match MODE {
                                ROWS => $set1(*rows[i].add(p)),
                                COLS => $set1(*rows[i].add(p * lda)),
                                _ => $set1(*a.add(p * MR + i)),
                            };
                            row[0] = $fmadd(ai, b0, row[0]);
                            if W == 2 {
                                row[1] = $fmadd(ai, b1, row[1]);
                            }
                        }
                    }};
                }
                if nr == W * L {
                    let mut p = 0;
                    while p + 2 <= k {
                        step!(p, b, false);
                        step!(p + 1, b.add(b_stride), false);
                        b = b.add(2 * b_stride);
                        p += 2;
                    }
                    if p < k {
                        step!(p, b, false);
                    }
                } else {
                    for p in 0..k {
                        step!(p, b, true);
                        b = b.add(b_stride);
                    }
                }
                let alpha_v = $set1(alpha);
                let beta_v = $set1(beta);
                let full = nr == W * L;
                for (i, row) in acc.iter().enumerate().take(mr) {
                    let ci = c.add(i * rsc);
                    for (w, &sum) in row.iter().enumerate().take(W) {
                        let (cw, mask) = (ci.add(w * L), if w == 0 { lo } else { hi });
                        let mut v = $mul(alpha_v, sum);
                        // Masked stores are slow on AMD: full rows use plain ones.
                        if full {
                            if beta != 0.0 {
                                v = $fmadd(beta_v, $loadu(cw), v);
                            }
                            $storeu(cw, v);
                        } else {
                            if beta != 0.0 {
                                v = $fmadd(beta_v, $maskload(cw, mask), v);
                            }
                            $maskstore(cw, mask, v);
                        }
                    }
                }
            }
        }
    };
}

mod f32_kernel {
    use super::*;
    // KC = 512: a tile call's fixed cost (C prefetch, load, store, ~100 cycles) over twice
    // the steps; the 6 x 512 panel of A (12 KiB) stays in L1. 1024^3 on Zen 4 (AVX2),
    // three alternations: one thread 24.5-25.2 -> 24.0-24.9 ms, two 13.0-14.2 -> 12.9-13.2
    // ms; the training steps (W2, W3, W4, W8) within noise.
    avx2_kernel!(
        F32,
        f32,
        __m256,
        8,
        512,
        96,
        256,
        mask_ps,
        _mm256_setzero_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_mul_ps,
        _mm256_loadu_ps,
        _mm256_maskload_ps,
        _mm256_maskstore_ps,
        _mm256_storeu_ps,
        Avx2F32
    );
}

mod f64_kernel {
    use super::*;
    avx2_kernel!(
        F64,
        f64,
        __m256d,
        4,
        256,
        96,
        256,
        mask_pd,
        _mm256_setzero_pd,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        _mm256_mul_pd,
        _mm256_loadu_pd,
        _mm256_maskload_pd,
        _mm256_maskstore_pd,
        _mm256_storeu_pd,
        Avx2F64
    );
}
