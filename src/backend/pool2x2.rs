//! `MaxPool2d(2)` forward on `f32` with AVX-512 or AVX2: the 2x2, stride-2 unpadded window.
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

/// The number of planes of a 2x2 pooling call, after the checks that both kernels' unchecked
/// loads rely on (see [`max_pool_2x2_f32`]'s panics).
fn checked_planes(
    x: &[f32],
    (h, w, oh, ow): (usize, usize, usize, usize),
    y: &[f32],
    idx: &[u32],
) -> usize {
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
    planes
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
    let planes = checked_planes(x, (h, w, oh, ow), y, idx);
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

/// [`max_pool_2x2_f32`] with AVX2 (CPUs without AVX-512): rows of up to 8 outputs, the even
/// and odd columns of two 8-value loads separated by in-lane shuffles and a cross-lane
/// permutation. Same results, same panics.
///
/// # Safety
/// The CPU has AVX2.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn max_pool_2x2_f32_avx2(
    x: &[f32],
    (h, w, oh, ow): (usize, usize, usize, usize),
    y: &mut [f32],
    idx: &mut [u32],
) {
    let (hw, ohw) = (h * w, oh * ow);
    let planes = checked_planes(x, (h, w, oh, ow), y, idx);
    // Lanes `lanes(n)` set for the first `n` of 8 (`n` may exceed 8).
    let lanes = |n: usize| {
        _mm256_cmpgt_epi32(
            _mm256_set1_epi32(n.min(8) as i32),
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
        )
    };
    // Columns 0, 2, .., 14 (or 1, 3, .., 15) of the 16 values in `lo`, `hi`: the shuffle
    // takes them per 128-bit lane as (lo, lo, hi, hi) pairs; the permutation puts the
    // 64-bit pairs back in column order.
    let even = |lo: __m256, hi: __m256| {
        let s = _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi);
        _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(s)))
    };
    let odd = |lo: __m256, hi: __m256| {
        let s = _mm256_shuffle_ps::<0b11_01_11_01>(lo, hi);
        _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(s)))
    };
    let twice_lane = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    let offsets = [1, w as i32, w as i32 + 1].map(|o| _mm256_castsi256_ps(_mm256_set1_epi32(o)));
    for p in 0..planes {
        let plane = &x[p * hw..][..hw];
        for oy in 0..oh {
            let top = &plane[2 * oy * w..][..2 * ow];
            let bottom = &plane[(2 * oy + 1) * w..][..2 * ow];
            let out = &mut y[p * ohw + oy * ow..][..ow];
            let at = &mut idx[p * ohw + oy * ow..][..ow];
            let mut ox = 0;
            while ox < ow {
                // A row of at least 8 outputs ends with a whole vector moved back to end at
                // `ow` (its first outputs computed twice, with the same values): only rows
                // shorter than a vector take the masked path.
                if ox + 8 > ow && ow >= 8 {
                    ox = ow - 8;
                }
                let count = (ow - ox).min(8);
                // SAFETY: `2 * count` values from `2 * ox` lie inside `top` and `bottom`;
                // masked-off lanes are not read (`wrapping_add` keeps the address defined
                // when the second half is empty).
                let (t_lo, t_hi, b_lo, b_hi) = unsafe {
                    let (t, b) = (top.as_ptr().add(2 * ox), bottom.as_ptr().add(2 * ox));
                    if count == 8 {
                        (
                            _mm256_loadu_ps(t),
                            _mm256_loadu_ps(t.add(8)),
                            _mm256_loadu_ps(b),
                            _mm256_loadu_ps(b.add(8)),
                        )
                    } else {
                        let (lo, hi) = (lanes(2 * count), lanes((2 * count).saturating_sub(8)));
                        (
                            _mm256_maskload_ps(t, lo),
                            _mm256_maskload_ps(t.wrapping_add(8), hi),
                            _mm256_maskload_ps(b, lo),
                            _mm256_maskload_ps(b.wrapping_add(8), hi),
                        )
                    }
                };
                let candidates = [odd(t_lo, t_hi), even(b_lo, b_hi), odd(b_lo, b_hi)];
                let mut best = even(t_lo, t_hi);
                let mut pos = _mm256_setzero_ps();
                for (v, offset) in candidates.into_iter().zip(offsets) {
                    let take = _mm256_or_ps(
                        _mm256_cmp_ps::<_CMP_GT_OQ>(v, best),
                        _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
                    );
                    best = _mm256_blendv_ps(best, v, take);
                    pos = _mm256_blendv_ps(pos, offset, take);
                }
                let base = _mm256_set1_epi32((2 * oy * w + 2 * ox) as i32);
                let flat =
                    _mm256_add_epi32(_mm256_add_epi32(base, twice_lane), _mm256_castps_si256(pos));
                if count == 8 {
                    // SAFETY: 8 values from `ox` lie inside `out` and `at`.
                    unsafe {
                        _mm256_storeu_ps(out.as_mut_ptr().add(ox), best);
                        _mm256_storeu_si256(at.as_mut_ptr().add(ox).cast(), flat);
                    }
                } else {
                    // Masked stores are slow on AMD: the ragged end goes through the stack.
                    let (mut vals, mut flats) = ([0.0f32; 8], [0u32; 8]);
                    // SAFETY: both arrays hold 8 values.
                    unsafe {
                        _mm256_storeu_ps(vals.as_mut_ptr(), best);
                        _mm256_storeu_si256(flats.as_mut_ptr().cast(), flat);
                    }
                    copy_short(&mut out[ox..ox + count], &vals);
                    copy_short(&mut at[ox..ox + count], &flats);
                }
                ox += 8;
            }
        }
    }
}

/// `dst.copy_from_slice(&src[..dst.len()])` for `dst.len() < 8`, in fixed-size moves of 4, 2
/// and 1 values: a variable-length `copy_from_slice` is a call into the C library's `memcpy`,
/// which cost more than the pooling of such a row (1% of a CNN training step).
#[inline(always)]
fn copy_short<T: Copy>(dst: &mut [T], src: &[T; 8]) {
    let n = dst.len();
    let mut at = 0;
    for step in [4, 2, 1] {
        if n & step != 0 {
            dst[at..at + step].copy_from_slice(&src[at..at + step]);
            at += step;
        }
    }
}
