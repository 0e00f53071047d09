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
