//! The AVX2 + FMA micro-kernels, for x86-64 CPUs without AVX-512 (Zen 1-3, Intel client
//! chips): an `MR x NR` block of `C` in `2 * MR` of the 16 ymm registers (`NR` = two
//! vectors: 16 `f32` or 8 `f64`).

use super::blocked::{APanel, Kernel};
use core::arch::x86_64::*;

/// `f32` on AVX2 + FMA: 6 x 16 (12 accumulators, 2 for `B`, 1 for the broadcast `A`).
#[derive(Clone, Copy)]
pub(super) struct F32;
/// `f64` on AVX2 + FMA: 6 x 8.
#[derive(Clone, Copy)]
pub(super) struct F64;

/// Lane masks for the first `n` lanes (`n` may exceed the lane count) of each type.
#[target_feature(enable = "avx2")]
fn mask_ps(n: usize) -> __m256i {
    let n = n.min(8) as i32;
    _mm256_cmpgt_epi32(
        _mm256_set1_epi32(n),
        _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
    )
}
#[target_feature(enable = "avx2")]
fn mask_pd(n: usize) -> __m256i {
    let n = n.min(4) as i64;
    _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3))
}

macro_rules! avx2_kernel {
    ($ty:ident, $e:ty, $v:ty, $lanes:literal, $mr:literal, $kc:literal, $mc:literal,
     $nc:literal, $mask:ident, $setzero:ident, $set1:ident, $fmadd:ident, $mul:ident, $loadu:ident,
     $maskload:ident, $maskstore:ident, $storeu:ident) => {
        impl Kernel for $ty {
            type E = $e;
            const MR: usize = $mr;
            const NR: usize = 2 * $lanes;
            const KC: usize = $kc;
            const MC: usize = $mc;
            const NC: usize = $nc;

            #[inline]
            unsafe fn tile(
                k: usize,
                a: *const $e,
                _panel: APanel,
                b: *const $e,
                b_stride: usize,
                c: *mut $e,
                rsc: usize,
                mr: usize,
                nr: usize,
                alpha: $e,
                beta: $e,
            ) {
                debug_assert_eq!(_panel, APanel::Packed, "the AVX2 kernels read packed panels only");
                // SAFETY: forwarded; `Kernel` for this type is only used once AVX2 and FMA
                // were detected (`super::Isa::Avx2`).
                unsafe { tile(k, a, b, b_stride, c, rsc, mr, nr, alpha, beta) }
            }
        }

        /// See [`Kernel::tile`]; loads of `B` past column `nr` are masked off.
        ///
        /// # Safety
        /// AVX2 and FMA, and the pointer ranges of [`Kernel::tile`].
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn tile(
            k: usize,
            a: *const $e,
            b: *const $e,
            b_stride: usize,
            c: *mut $e,
            rsc: usize,
            mr: usize,
            nr: usize,
            alpha: $e,
            beta: $e,
        ) {
            const L: usize = $lanes;
            const MR: usize = $mr;
            let lo = $mask(nr);
            let hi = $mask(nr.saturating_sub(L));
            let mut acc = [[$setzero(); 2]; MR];
            let (mut a, mut b) = (a, b);
            // SAFETY (whole body): the caller guarantees the pointer ranges; loads past
            // column `nr` and stores past row `mr` / column `nr` are masked or skipped.
            unsafe {
                macro_rules! step {
                    ($u:expr, $b0:expr, $b1:expr) => {{
                        let (b0, b1) = ($b0, $b1);
                        for (i, row) in acc.iter_mut().enumerate() {
                            let ai = $set1(*a.add($u * MR + i));
                            row[0] = $fmadd(ai, b0, row[0]);
                            row[1] = $fmadd(ai, b1, row[1]);
                        }
                    }};
                }
                if nr == 2 * L {
                    let mut p = 0;
                    while p + 2 <= k {
                        step!(0, $loadu(b), $loadu(b.add(L)));
                        let b2 = b.add(b_stride);
                        step!(1, $loadu(b2), $loadu(b2.add(L)));
                        a = a.add(2 * MR);
                        b = b.add(2 * b_stride);
                        p += 2;
                    }
                    if p < k {
                        step!(0, $loadu(b), $loadu(b.add(L)));
                    }
                } else {
                    for _ in 0..k {
                        step!(0, $maskload(b, lo), $maskload(b.add(L), hi));
                        a = a.add(MR);
                        b = b.add(b_stride);
                    }
                }
                let alpha_v = $set1(alpha);
                let beta_v = $set1(beta);
                let full = nr == 2 * L;
                for (i, row) in acc.iter().enumerate().take(mr) {
                    let ci = c.add(i * rsc);
                    let (mut v0, mut v1) = ($mul(alpha_v, row[0]), $mul(alpha_v, row[1]));
                    // Masked stores are slow on AMD: full rows use plain ones.
                    if full {
                        if beta != 0.0 {
                            v0 = $fmadd(beta_v, $loadu(ci), v0);
                            v1 = $fmadd(beta_v, $loadu(ci.add(L)), v1);
                        }
                        $storeu(ci, v0);
                        $storeu(ci.add(L), v1);
                    } else {
                        if beta != 0.0 {
                            v0 = $fmadd(beta_v, $maskload(ci, lo), v0);
                            v1 = $fmadd(beta_v, $maskload(ci.add(L), hi), v1);
                        }
                        $maskstore(ci, lo, v0);
                        $maskstore(ci.add(L), hi, v1);
                    }
                }
            }
        }
    };
}

mod f32_kernel {
    use super::*;
    avx2_kernel!(
        F32,
        f32,
        __m256,
        8,
        6,
        256,
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
        _mm256_storeu_ps
    );
}

mod f64_kernel {
    use super::*;
    avx2_kernel!(
        F64,
        f64,
        __m256d,
        4,
        6,
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
        _mm256_storeu_pd
    );
}
