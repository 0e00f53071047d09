//! `MaxPool2d(2)` forward on `f32` with AVX-512: the 2x2, stride-2 unpadded window.
//!
//! Why a kernel of its own: a CNN's pooled planes are narrow (13 or 5 outputs per row in
//! the issue-15 CNN), shorter than one vector, so the compiler's vectorisation of the
//! generic loop (over the outputs of one row, with deinterleaving loads) never runs its
//! vector body and the whole pooling went scalar (~8% of that training step). Here one row
//! of up to 16 outputs is four masked loads, four lane permutations (even and odd columns
//! of the two input rows) and three compare-and-selects.

use core::arch::x86_64::*;

/// The lowest `n` bits set (`n <= 16`).
#[inline(always)]
fn low_bits(n: usize) -> __mmask16 {
    ((1u32 << n) - 1) as __mmask16
}

/// 2x2 stride-2 max pooling of the `planes = y.len() / (oh * ow)` planes of `h x w` in
/// `x`, with the same result as `max_pool_2x2_planes` in [`super::pooling`]: the maximum
/// of each window and its flat index in the plane, ties keeping the first element in
/// row-major window order, a NaN replacing anything before it.
///
/// Panics unless `2 * oh <= h`, `2 * ow <= w`, and `x`, `y`, `idx` hold exactly that many
/// whole planes.
///
/// # Safety
/// The CPU has AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn max_pool_2x2_f32(
    x: &[f32],
    (h, w, oh, ow): (usize, usize, usize, usize),
    y: &mut [f32],
    idx: &mut [u32],
) {
    let (hw, ohw) = (h * w, oh * ow);
    assert!(
        2 * oh <= h && 2 * ow <= w && ohw > 0,
        "2x2 pooling geometry"
    );
    let planes = y.len() / ohw;
    assert!(
        y.len() == planes * ohw && idx.len() == y.len() && x.len() == planes * hw,
        "2x2 pooling buffers"
    );
    assert!(
        hw <= i32::MAX as usize,
        "plane too large for 32-bit indices"
    );
    let even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    let twice_lane = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let offsets = [1, w as i32, w as i32 + 1].map(|o| _mm512_set1_epi32(o));
    for p in 0..planes {
        let plane = &x[p * hw..][..hw];
        for oy in 0..oh {
            // The two input rows of this output row, `2 * ow` values each.
            let top = &plane[2 * oy * w..][..2 * ow];
            let bottom = &plane[(2 * oy + 1) * w..][..2 * ow];
            let out = &mut y[p * ohw + oy * ow..][..ow];
            let at = &mut idx[p * ohw + oy * ow..][..ow];
            let mut ox = 0;
            while ox < ow {
                let count = (ow - ox).min(16);
                let (lo, hi) = (
                    low_bits((2 * count).min(16)),
                    low_bits((2 * count).saturating_sub(16)),
                );
                // SAFETY: the masks cover `2 * count` values from `2 * ox`, inside `top` and
                // `bottom` (`2 * (ox + count) <= 2 * ow`); masked-off lanes are not read,
                // and `wrapping_add` keeps the pointer arithmetic defined when `hi` is
                // empty and the address lies past the row.
                let (t_lo, t_hi, b_lo, b_hi) = unsafe {
                    let (t, b) = (top.as_ptr().add(2 * ox), bottom.as_ptr().add(2 * ox));
                    (
                        _mm512_maskz_loadu_ps(lo, t),
                        _mm512_maskz_loadu_ps(hi, t.wrapping_add(16)),
                        _mm512_maskz_loadu_ps(lo, b),
                        _mm512_maskz_loadu_ps(hi, b.wrapping_add(16)),
                    )
                };
                let candidates = [
                    _mm512_permutex2var_ps(t_lo, odd, t_hi),
                    _mm512_permutex2var_ps(b_lo, even, b_hi),
                    _mm512_permutex2var_ps(b_lo, odd, b_hi),
                ];
                let mut best = _mm512_permutex2var_ps(t_lo, even, t_hi);
                let mut pos = _mm512_setzero_si512();
                for (v, offset) in candidates.into_iter().zip(offsets) {
                    let take = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best)
                        | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                    best = _mm512_mask_blend_ps(take, best, v);
                    pos = _mm512_mask_blend_epi32(take, pos, offset);
                }
                let base = _mm512_set1_epi32((2 * oy * w + 2 * ox) as i32);
                let flat = _mm512_add_epi32(_mm512_add_epi32(base, twice_lane), pos);
                let m = low_bits(count);
                // SAFETY: `count` values from `ox` lie inside `out` and `at`.
                unsafe {
                    _mm512_mask_storeu_ps(out.as_mut_ptr().add(ox), m, best);
                    _mm512_mask_storeu_epi32(at.as_mut_ptr().add(ox).cast(), m, flat);
                }
                ox += 16;
            }
        }
    }
}
