//! The AVX-512 micro-kernels: an `MR x NR` block of `C` kept in `2 * MR` zmm registers
//! (`NR` = two vectors: 32 `f32` or 16 `f64`); `x W^T` with at most 64 rows goes to the
//! in-place dot products of [`super::dot`].

use super::blocked::{APanel, Kernel};
use super::dot::{Avx512F32, Avx512F64, dot_methods};
use super::{Operand, SendPtr};
use core::arch::x86_64::*;

/// Rows of `B` ahead that the packing kernel ([`Kernel::tile_pack_b`]) fetches: it reads
/// `B` in place, a row every step, each row a page or more from the last, where the hardware
/// prefetchers (which stop at page boundaries) do not follow. 1024^3 f32 on one thread, five
/// alternating runs against the `gemm` crate: 0.96 -> 0.99 of its speed (f64 0.97 -> 0.99).
const PACK_B_PREFETCH_ROWS: usize = 16;
/// Steps ahead that the other kernels fetch the rows of `B` they stream (a packed panel of
/// `KC x 32` `f32` is 48 KiB, past L1 with the `A` panel beside it, so each step's two lines
/// come from L2). 1024^3 `f32`, alternating runs: one thread 218-220 -> 222-223 GFLOP/s, two
/// 415-418 -> 426-433, 256^3 on two 350 -> 370 (4, 8 and 32 steps within the noise of 16).
const STREAM_B_PREFETCH_ROWS: usize = 16;

/// How a kernel instance reads `A` (see [`APanel`]): its `MODE` parameter.
const PACKED: u8 = 0;
const ROWS: u8 = 1;
const COLS: u8 = 2;

/// `f32` on AVX-512F: 12 x 32 (24 accumulators of the 32 zmm registers).
#[derive(Clone, Copy)]
pub(super) struct F32;
/// `f64` on AVX-512F: 12 x 16.
#[derive(Clone, Copy)]
pub(super) struct F64;

/// Defines one micro-kernel. `lanes` per vector; the block is `MR` rows by two vectors.
macro_rules! avx512_kernel {
    ($ty:ident, $e:ty, $v:ty, $mask:ty, $lanes:literal, $mr:literal, $kc:literal, $mc:literal,
     $nc:literal, $setzero:ident, $set1:ident, $fmadd:ident, $mul:ident, $loadu:ident, $maskz_loadu:ident,
     $mask_storeu:ident, $storeu:ident, $dot:ident, $dot_rows:expr) => {
        impl Kernel for $ty {
            type E = $e;
            const MR: usize = $mr;
            const NR: usize = 2 * $lanes;
            const KC: usize = $kc;
            const MC: usize = $mc;
            const NC: usize = $nc;
            const DIRECT_A: bool = true;

            /// # Safety
            /// AVX-512F must be available, plus the contract of [`Kernel::tile`].
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
                // The block's rows and width pick the smallest variant that covers them:
                // a ragged last panel (16 rows = 12 + 4, 51 columns = 3 x 16 + 3) then
                // costs its own size, not a whole 12 x 2-vector block.
                macro_rules! go {
                    ($r:literal, $w:literal) => {
                        match panel {
                            APanel::Packed => tile::<$r, $w, PACKED, false>(k, a, 0, b, b_stride, core::ptr::null_mut(), c, rsc, mr, nr, alpha, beta),
                            APanel::Rows(lda) => tile::<$r, $w, ROWS, false>(k, a, lda, b, b_stride, core::ptr::null_mut(), c, rsc, mr, nr, alpha, beta),
                            APanel::Cols(lda) => tile::<$r, $w, COLS, false>(k, a, lda, b, b_stride, core::ptr::null_mut(), c, rsc, mr, nr, alpha, beta),
                        }
                    };
                }
                // SAFETY: forwarded; `Kernel` for this type is only used once AVX-512F was
                // detected (`super::Isa::Avx512`).
                unsafe {
                    match (mr, nr <= $lanes) {
                        (0..=4, true) => go!(4, 1),
                        (0..=4, false) => go!(4, 2),
                        (5..=8, true) => go!(8, 1),
                        (5..=8, false) => go!(8, 2),
                        (_, true) => go!($mr, 1),
                        (_, false) => go!($mr, 2),
                    }
                }
            }
            const FUSED_B: bool = true;

            /// # Safety
            /// AVX-512F must be available, plus the contract of [`Kernel::tile_pack_b`].
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
                // SAFETY: forwarded, as in `tile`.
                unsafe {
                    match (mr, nr <= $lanes) {
                        (0..=4, true) => tile::<4, 1, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                        (0..=4, false) => tile::<4, 2, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                        (5..=8, true) => tile::<8, 1, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                        (5..=8, false) => tile::<8, 2, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                        (_, true) => tile::<$mr, 1, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                        (_, false) => tile::<$mr, 2, PACKED, true>(k, a, 0, b, b_stride, b_out, c, rsc, mr, nr, alpha, beta),
                    }
                }
            }
            dot_methods!($e, $dot, $dot_rows);
        }

        /// See [`Kernel::tile`], for blocks of at most `R` rows and `W` vectors of columns;
        /// loads of `B` past column `nr` are masked off. `MODE` is how `A` is read:
        /// [`PACKED`], or in place by [`ROWS`] (row `i` at `a + i * lda`, contiguous steps) or
        /// [`COLS`] (step `p` of row `i` at `a + i + p * lda`). With `PACK`, every row of `B`
        /// read is also stored to `b_out` as a packed panel ([`Kernel::tile_pack_b`]).
        ///
        /// # Safety
        /// AVX-512F, and the pointer ranges of [`Kernel::tile`] (and of
        /// [`Kernel::tile_pack_b`] with `PACK`); `mr <= R`, `nr <= W * L`.
        #[target_feature(enable = "avx512f")]
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
            const MR: usize = $mr;
            let lo: $mask = if nr >= L { !0 } else { ((1u32 << nr) - 1) as $mask };
            let hi: $mask = if nr >= 2 * L {
                !0
            } else if nr <= L {
                0
            } else {
                ((1u32 << (nr - L)) - 1) as $mask
            };
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
                    if W == 2 {
                        _mm_prefetch::<_MM_HINT_T0>(ci.wrapping_add(64));
                    }
                }
                macro_rules! step {
                    ($p:expr, $bp:expr, $masked:expr) => {{
                        let (p, bp) = ($p, $bp);
                        let b0 = if $masked { $maskz_loadu(lo, bp) } else { $loadu(bp) };
                        let b1 = if W == 1 {
                            b0
                        } else if $masked {
                            $maskz_loadu(hi, bp.add(L))
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
                        if PACK {
                            // The two rows of this pair's steps, that many rows ahead (a
                            // prefetch past the end of `B` does not fault), each through its
                            // last byte: a row off the 64-byte lines spans three of them
                            // (`Conv2d<256, 64, 1>` on (8, 256, 28, 28), whose unfolding is
                            // the input itself, read here: one thread 1.34-1.36 -> 1.25-1.28
                            // ms, two 0.71-0.72 -> 0.66).
                            for row in [PACK_B_PREFETCH_ROWS, PACK_B_PREFETCH_ROWS + 1] {
                                let ahead = b.wrapping_add(row * b_stride) as *const i8;
                                _mm_prefetch::<_MM_HINT_T0>(ahead);
                                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64));
                                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(127));
                            }
                        } else if W == 2 {
                            for row in [STREAM_B_PREFETCH_ROWS, STREAM_B_PREFETCH_ROWS + 1] {
                                let ahead = b.wrapping_add(row * b_stride) as *const i8;
                                _mm_prefetch::<_MM_HINT_T0>(ahead);
                                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64));
                            }
                        }
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
                for (i, row) in acc.iter().enumerate().take(mr) {
                    let ci = c.add(i * rsc);
                    let mut v0 = $mul(alpha_v, row[0]);
                    if beta != 0.0 {
                        v0 = $fmadd(beta_v, $maskz_loadu(lo, ci), v0);
                    }
                    $mask_storeu(ci, lo, v0);
                    if W == 2 {
                        let mut v1 = $mul(alpha_v, row[1]);
                        if beta != 0.0 {
                            v1 = $fmadd(beta_v, $maskz_loadu(hi, ci.add(L)), v1);
                        }
                        $mask_storeu(ci.add(L), hi, v1);
                    }
                }
            }
        }
    };
}

mod f32_kernel {
    use super::*;
    avx512_kernel!(
        F32,
        f32,
        __m512,
        __mmask16,
        16,
        12,
        384,
        144,
        256,
        _mm512_setzero_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_mul_ps,
        _mm512_loadu_ps,
        _mm512_maskz_loadu_ps,
        _mm512_mask_storeu_ps,
        _mm512_storeu_ps,
        Avx512F32,
        64
    );
}

mod f64_kernel {
    use super::*;
    avx512_kernel!(
        F64,
        f64,
        __m512d,
        __mmask8,
        8,
        12,
        384,
        144,
        256,
        _mm512_setzero_pd,
        _mm512_set1_pd,
        _mm512_fmadd_pd,
        _mm512_mul_pd,
        _mm512_loadu_pd,
        _mm512_maskz_loadu_pd,
        _mm512_mask_storeu_pd,
        _mm512_storeu_pd,
        Avx512F64,
        // `f64` only for a batch of up to four rows (a batch of one: 5327 -> ~1000 us for
        // 1024 -> 4096 on one thread): from the LSTM cells' blocks of 16 rows on, `f64`
        // products keep one summation order whatever the number of rows, so that their
        // numbers do not depend on how the rows were split over threads.
        4
    );
}
