//! Packing row-major `A` for the micro-kernels is a transpose (the kernels read `MR` values
//! of one column per step); done one element at a time it cost about a tenth of a
//! transformer training step. Here four rows at a time go through registers.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

/// Writes columns `..cols` (a multiple of 8) of `4 * groups` `f32` rows, row `i` starting at
/// `src + i * src_rs`, as runs of `4 * groups`: column `p` to `dst + p * dst_stride ..`.
/// All the rows advance together (every group for 8 columns, then the next 8), so that
/// each line of a packed panel is written whole at once and the rows' cache misses overlap.
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
    groups: usize,
) {
    debug_assert_eq!(cols % 8, 0);
    // SAFETY (whole body): the caller guarantees the source and destination ranges.
    unsafe {
        for p in (0..cols).step_by(8) {
            for g in 0..groups {
                let (src, dst) = (src.add(4 * g * src_rs), dst.add(4 * g));
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
}

/// [`rows4_f32`] for `f64`: columns `..cols` (a multiple of 4) of `4 * groups` rows.
///
/// # Safety
/// As [`rows4_f32`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(super) unsafe fn rows4_f64(
    dst: *mut f64,
    dst_stride: usize,
    src: *const f64,
    src_rs: usize,
    cols: usize,
    groups: usize,
) {
    debug_assert_eq!(cols % 4, 0);
    // SAFETY (whole body): the caller guarantees the source and destination ranges.
    unsafe {
        for p in (0..cols).step_by(4) {
            for g in 0..groups {
                let (src, dst) = (src.add(4 * g * src_rs), dst.add(4 * g));
                let r0 = _mm256_loadu_pd(src.add(p));
                let r1 = _mm256_loadu_pd(src.add(src_rs + p));
                let r2 = _mm256_loadu_pd(src.add(2 * src_rs + p));
                let r3 = _mm256_loadu_pd(src.add(3 * src_rs + p));
                // Rows (0 1) and (2 3) interleaved: columns 0 | 2 and 1 | 3 in the two halves.
                let t0 = _mm256_unpacklo_pd(r0, r1);
                let t1 = _mm256_unpackhi_pd(r0, r1);
                let t2 = _mm256_unpacklo_pd(r2, r3);
                let t3 = _mm256_unpackhi_pd(r2, r3);
                let out = |q: usize| dst.add((p + q) * dst_stride);
                _mm256_storeu_pd(out(0), _mm256_permute2f128_pd::<0x20>(t0, t2));
                _mm256_storeu_pd(out(1), _mm256_permute2f128_pd::<0x20>(t1, t3));
                _mm256_storeu_pd(out(2), _mm256_permute2f128_pd::<0x31>(t0, t2));
                _mm256_storeu_pd(out(3), _mm256_permute2f128_pd::<0x31>(t1, t3));
            }
        }
    }
}

/// Writes columns `..cols` (a multiple of 8) of two `f32` rows, row `i` starting at
/// `src + i * src_rs`, as pairs: column `p` to `dst + p * dst_stride ..` (the last two rows
/// of the AVX2 kernel's 6-row panels, after [`rows4_f32`] wrote the first four).
///
/// # Safety
/// As [`rows4_f32`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(super) unsafe fn rows2_f32(
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
            // (r0, r1) pairs of columns 0, 1 | 4, 5 and 2, 3 | 6, 7.
            let lo = _mm256_unpacklo_ps(r0, r1);
            let hi = _mm256_unpackhi_ps(r0, r1);
            // A pair of `f32` moves as one `f64`-sized lane.
            let out = |q: usize| dst.add((p + q) * dst_stride).cast::<f64>();
            let halves = [
                (_mm256_castps256_ps128(lo), 0),
                (_mm256_castps256_ps128(hi), 2),
                (_mm256_extractf128_ps::<1>(lo), 4),
                (_mm256_extractf128_ps::<1>(hi), 6),
            ];
            for (pair, q) in halves {
                _mm_storel_pd(out(q), _mm_castps_pd(pair));
                _mm_storeh_pd(out(q + 1), _mm_castps_pd(pair));
            }
        }
    }
}

/// [`rows2_f32`] for `f64`: columns `..cols` (a multiple of 4) of two rows.
///
/// # Safety
/// As [`rows4_f32`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
pub(super) unsafe fn rows2_f64(
    dst: *mut f64,
    dst_stride: usize,
    src: *const f64,
    src_rs: usize,
    cols: usize,
) {
    debug_assert_eq!(cols % 4, 0);
    // SAFETY (whole body): the caller guarantees the source and destination ranges.
    unsafe {
        for p in (0..cols).step_by(4) {
            let r0 = _mm256_loadu_pd(src.add(p));
            let r1 = _mm256_loadu_pd(src.add(src_rs + p));
            // (r0, r1) pairs of columns 0 | 2 and 1 | 3.
            let lo = _mm256_unpacklo_pd(r0, r1);
            let hi = _mm256_unpackhi_pd(r0, r1);
            let out = |q: usize| dst.add((p + q) * dst_stride);
            _mm_storeu_pd(out(0), _mm256_castpd256_pd128(lo));
            _mm_storeu_pd(out(1), _mm256_castpd256_pd128(hi));
            _mm_storeu_pd(out(2), _mm256_extractf128_pd::<1>(lo));
            _mm_storeu_pd(out(3), _mm256_extractf128_pd::<1>(hi));
        }
    }
}

/// Columns of `rows` rows (an even number) through registers for either element type:
/// groups of four ([`rows4_f32`], [`rows4_f64`]), then a last pair ([`rows2_f32`],
/// [`rows2_f64`]). Returns how many columns it wrote (`cols` rounded down to a multiple of 8
/// or 4); the caller copies the rest.
///
/// # Safety
/// As [`rows4_f32`]; `E` is `f32` or `f64` (the two 4- and 8-byte `Float`s); `rows` is even.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn rows_in_registers<E>(
    dst: *mut E,
    dst_stride: usize,
    src: *const E,
    src_rs: usize,
    cols: usize,
    rows: usize,
) -> usize {
    debug_assert_eq!(rows % 2, 0);
    let (groups, pair) = (rows / 4, rows % 4 == 2);
    // SAFETY: forwarded; the size picks the element type; the pair's rows start after the
    // groups' in both `src` and each run of `dst`.
    unsafe {
        match size_of::<E>() {
            4 => {
                let full = cols / 8 * 8;
                let (dst, src) = (dst.cast::<f32>(), src.cast::<f32>());
                rows4_f32(dst, dst_stride, src, src_rs, full, groups);
                if pair {
                    let done = 4 * groups;
                    rows2_f32(
                        dst.add(done),
                        dst_stride,
                        src.add(done * src_rs),
                        src_rs,
                        full,
                    );
                }
                full
            }
            8 => {
                let full = cols / 4 * 4;
                let (dst, src) = (dst.cast::<f64>(), src.cast::<f64>());
                rows4_f64(dst, dst_stride, src, src_rs, full, groups);
                if pair {
                    let done = 4 * groups;
                    rows2_f64(
                        dst.add(done),
                        dst_stride,
                        src.add(done * src_rs),
                        src_rs,
                        full,
                    );
                }
                full
            }
            _ => 0,
        }
    }
}
