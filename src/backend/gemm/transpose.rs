//! Packing row-major `A` for the micro-kernels is a transpose (the kernels read `MR` values
//! of one column per step); done one element at a time it cost about a tenth of a
//! transformer training step. Here four rows at a time go through registers.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

/// Writes columns `..cols` (a multiple of 8) of four `f32` rows, row `i` starting at
/// `src + i * src_rs`, as groups of four: column `p` to `dst + p * dst_stride .. + 4`.
///
/// # Safety
/// The CPU has AVX (every CPU the blocked kernels run on does); the source rows hold
/// `cols` values each and `dst` is valid for the writes above.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(super) unsafe fn rows4_f32(
    dst: *mut f32,
    dst_stride: usize,
    src: *const f32,
    src_rs: usize,
    cols: usize,
) {
    debug_assert_eq!(cols % 8, 0);
    // SAFETY (whole body): the caller guarantees the source and destination ranges.
    unsafe {
        for p in (0..cols).step_by(8) {
            let r0 = _mm256_loadu_ps(src.add(p));
            let r1 = _mm256_loadu_ps(src.add(src_rs + p));
            let r2 = _mm256_loadu_ps(src.add(2 * src_rs + p));
            let r3 = _mm256_loadu_ps(src.add(3 * src_rs + p));
            // Within each 128-bit half: (r0 r1) pairs of columns 0,1 | 4,5 and 2,3 | 6,7.
            let t0 = _mm256_unpacklo_ps(r0, r1);
            let t1 = _mm256_unpackhi_ps(r0, r1);
            let t2 = _mm256_unpacklo_ps(r2, r3);
            let t3 = _mm256_unpackhi_ps(r2, r3);
            // Columns (0 | 4), (1 | 5), (2 | 6), (3 | 7), four rows each.
            let c04 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let c15 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let c26 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let c37 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let out = |q: usize| dst.add((p + q) * dst_stride);
            _mm_storeu_ps(out(0), _mm256_castps256_ps128(c04));
            _mm_storeu_ps(out(1), _mm256_castps256_ps128(c15));
            _mm_storeu_ps(out(2), _mm256_castps256_ps128(c26));
            _mm_storeu_ps(out(3), _mm256_castps256_ps128(c37));
            _mm_storeu_ps(out(4), _mm256_extractf128_ps::<1>(c04));
            _mm_storeu_ps(out(5), _mm256_extractf128_ps::<1>(c15));
            _mm_storeu_ps(out(6), _mm256_extractf128_ps::<1>(c26));
            _mm_storeu_ps(out(7), _mm256_extractf128_ps::<1>(c37));
        }
    }
}
