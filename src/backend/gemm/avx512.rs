//! The AVX-512 micro-kernel: an `MR x NR` block of `C` kept in 2 * MR zmm registers.

use super::{MR, NR};
use core::arch::x86_64::*;

/// `C[..mr, ..nr] = alpha * A_panel B_panel + beta * C[..mr, ..nr]` (`beta == 0` never
/// reads `C`, so it may hold garbage such as NaN, as BLAS allows).
///
/// * `a`: a packed panel, `MR` values per step of `k` (rows past `mr` are zero);
/// * `b`: row `p` of the panel starts at `b + p * b_stride` and holds `NR` values, of which
///   only the first `nr` are read;
/// * `c`: row `i` starts at `c + i * rsc`, columns are contiguous.
///
/// # Safety
/// Requires AVX-512F, and every pointer above valid for the ranges described.
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn kernel(
    k: usize,
    a: *const f32,
    b: *const f32,
    b_stride: usize,
    c: *mut f32,
    rsc: usize,
    mr: usize,
    nr: usize,
    alpha: f32,
    beta: f32,
) {
    let lo: __mmask16 = if nr >= 16 { 0xFFFF } else { (1u16 << nr) - 1 };
    let hi: __mmask16 = if nr >= NR {
        0xFFFF
    } else if nr <= 16 {
        0
    } else {
        (1u16 << (nr - 16)) - 1
    };
    let mut acc = [[_mm512_setzero_ps(); 2]; MR];
    let (mut a, mut b) = (a, b);
    // SAFETY (whole body): the caller guarantees the pointer ranges described above.
    unsafe {
        // The C block is read only after the k loop; fetching it now hides that miss.
        for i in 0..mr {
            let ci = c.add(i * rsc) as *const i8;
            _mm_prefetch::<_MM_HINT_T0>(ci);
            _mm_prefetch::<_MM_HINT_T0>(ci.wrapping_add(64));
        }
        for _ in 0..k {
            let b0 = _mm512_maskz_loadu_ps(lo, b);
            let b1 = _mm512_maskz_loadu_ps(hi, b.add(16));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = _mm512_set1_ps(*a.add(i));
                row[0] = _mm512_fmadd_ps(ai, b0, row[0]);
                row[1] = _mm512_fmadd_ps(ai, b1, row[1]);
            }
            a = a.add(MR);
            b = b.add(b_stride);
        }
        let alpha_v = _mm512_set1_ps(alpha);
        let beta_v = _mm512_set1_ps(beta);
        for (i, row) in acc.iter().enumerate().take(mr) {
            let ci = c.add(i * rsc);
            let (mut v0, mut v1) = (
                _mm512_mul_ps(alpha_v, row[0]),
                _mm512_mul_ps(alpha_v, row[1]),
            );
            if beta != 0.0 {
                v0 = _mm512_fmadd_ps(beta_v, _mm512_maskz_loadu_ps(lo, ci), v0);
                v1 = _mm512_fmadd_ps(beta_v, _mm512_maskz_loadu_ps(hi, ci.add(16)), v1);
            }
            _mm512_mask_storeu_ps(ci, lo, v0);
            _mm512_mask_storeu_ps(ci.add(16), hi, v1);
        }
    }
}

/// Rows of `A` (and of `B^T`) per dot-product micro-kernel call.
pub(super) const DOT: usize = 4;

/// The sums of four vectors, as the four lanes of one 128-bit register.
#[target_feature(enable = "avx512f")]
#[inline]
fn sum4(v: [__m512; DOT]) -> __m128 {
    // 512 -> 256 bits, then two rounds of pairwise adds leave, in each 128-bit half, the
    // partial sums of v0..v3 over that half; adding the halves finishes them.
    let half = |x: __m512| {
        _mm256_add_ps(
            _mm512_castps512_ps256(x),
            _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x))),
        )
    };
    let (a, b, c, d) = (half(v[0]), half(v[1]), half(v[2]), half(v[3]));
    let abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
    _mm_add_ps(
        _mm256_castps256_ps128(abcd),
        _mm256_extractf128_ps::<1>(abcd),
    )
}

/// `C[i, j] = alpha * dot(A_i, B_j) + beta * C[i, j]` for `i < mr`, `j < nr` (both at most
/// [`DOT`]): row `i` of `A` starts at `a + i * lda` and row `j` of `B^T` at `b + j * ldb`,
/// each with `k` contiguous values; `C` rows start at `c + i * rsc`, columns contiguous.
///
/// This is the product `x W^T` of a linear layer read in place: both operands are
/// contiguous along the summed dimension, so nothing is packed; the sums are vectorised
/// along `k` and reduced once at the end.
///
/// # Safety
/// Requires AVX-512F and VL, `mr, nr >= 1`, and the pointer ranges above valid.
#[target_feature(enable = "avx512f,avx512vl")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn dot_kernel(
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    rsc: usize,
    mr: usize,
    nr: usize,
    alpha: f32,
    beta: f32,
) {
    // Rows past mr / nr repeat the last real row: their sums are computed and dropped.
    let ar: [*const f32; DOT] = core::array::from_fn(|i| a.wrapping_add(i.min(mr - 1) * lda));
    let br: [*const f32; DOT] = core::array::from_fn(|j| b.wrapping_add(j.min(nr - 1) * ldb));
    let mut acc = [[_mm512_setzero_ps(); DOT]; DOT];
    let full = k / 16 * 16;
    // SAFETY (whole body): the caller guarantees the row ranges; the tail is masked.
    unsafe {
        let mut p = 0;
        while p < full {
            let bv: [__m512; DOT] = core::array::from_fn(|j| _mm512_loadu_ps(br[j].add(p)));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm512_loadu_ps(ar[i].add(p));
                for (j, s) in row.iter_mut().enumerate() {
                    *s = _mm512_fmadd_ps(av, bv[j], *s);
                }
            }
            p += 16;
        }
        if p < k {
            let m: __mmask16 = (1u16 << (k - p)) - 1;
            let bv: [__m512; DOT] =
                core::array::from_fn(|j| _mm512_maskz_loadu_ps(m, br[j].add(p)));
            for (i, row) in acc.iter_mut().enumerate() {
                let av = _mm512_maskz_loadu_ps(m, ar[i].add(p));
                for (j, s) in row.iter_mut().enumerate() {
                    *s = _mm512_fmadd_ps(av, bv[j], *s);
                }
            }
        }
        let cols: __mmask8 = (1u8 << nr) - 1;
        let (alpha_v, beta_v) = (_mm_set1_ps(alpha), _mm_set1_ps(beta));
        for (i, row) in acc.iter().enumerate().take(mr) {
            let ci = c.add(i * rsc);
            let mut v = _mm_mul_ps(alpha_v, sum4(*row));
            if beta != 0.0 {
                v = _mm_fmadd_ps(beta_v, _mm_maskz_loadu_ps(cols, ci), v);
            }
            _mm_mask_storeu_ps(ci, cols, v);
        }
    }
}
