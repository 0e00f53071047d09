//! `x^p` over `f32` slices for a constant exponent `p`, written with AVX-512 intrinsics.
//!
//! The plain loop calls the C library's `powf` per element (4.3 ns an element on one Zen 4
//! core; PyTorch's vectorised Sleef 2.3). Here each half of a 16-lane vector is widened to
//! `f64` and `x^p = 2^(p log2 |x|)` computed there, so that the product `p log2 |x|` (up to
//! 150 wherever the result is neither 0 nor infinity in `f32`) keeps the `2^-30` absolute
//! precision the final rounding needs, without the double-`f32` arithmetic Sleef uses:
//!
//! - `|x| = 2^e m` with `m` in `[0.75, 1.5)` (`vgetexppd`, `vgetmantpd`), `m = c (1 + r)` with
//!   `c` the middle of one of 16 equal parts of that range (exactly 1 for the part holding
//!   1, so that near `x = 1` the logarithm is the polynomial alone), `1/c` and `log2 c` looked
//!   up in registers (`vpermi2pd`, two 8-lane halves of each table), `|r| <= 1/32`, and
//!   `log2(1 + r)` by its Taylor series to degree 7 (relative error below `4e-12`);
//! - `2^t = 2^n 2^f` with `n` the nearest integer, `|f| <= 1/2`, `2^f` by its Taylor series
//!   to degree 9 (below `7e-12`), and `vscalefpd` for `2^n` (overflow to infinity, underflow to
//!   0 in `f64`);
//! - one rounding to `f32`, then the sign and the special cases of C99's `pow` on the `f32`
//!   lanes.
//!
//! The result is within `1e-10` relative of the exact power before that rounding, so within
//! 0.501 ulp of it (unit test, against `f64`'s `powf`). AVX2 has no `vgetmantpd`,
//! `vpermi2pd` or `vscalefpd`: its version ([`avx2`]) takes the exponent from the bits, looks
//! up 8-part tables by `vpermps` and builds `2^n` from bits, with 4 `f64` lanes a vector
//! (4M values on one Zen 4 thread: 15.3 ms against the C library's 18.9; the AVX-512
//! version 6.9). A plain-Rust version of the same steps ran slower than the C library on AVX2
//! (the table lookups became gathers). Other CPUs and `f64` tensors keep the plain loop, as
//! do a zero, infinite or NaN exponent.

use crate::dtype::Float;
use crate::dtype::private::Slice;
use core::mem::MaybeUninit;

/// `x^p` for every element as a new vector (split over the threads for long slices), or
/// `None` where the loop here does not run (not `f32`, neither AVX-512 nor AVX2, `p` zero
/// or not finite).
pub(crate) fn vector_powf<E: Float>(x: &[E], p: E) -> Option<Vec<E>> {
    let p = exponent::<E>(p)?;
    let write = |off: usize, block: &mut [MaybeUninit<E>]| {
        let src = &x[off..][..block.len()];
        // SAFETY: `E` is `f32` (`exponent` said so), so the casts change no layout; `src` and
        // `block` are separate and of the same length; the CPU has AVX-512.
        unsafe { run(src.as_ptr().cast(), block.as_mut_ptr().cast(), src.len(), p) }
    };
    // SAFETY: `write` writes each block whole.
    Some(unsafe { super::super::parallel::collect_blocks(x.len(), write) })
}

/// `x[i] = x[i]^p` in place (split over the threads for long slices); false, leaving `x`
/// alone, where [`vector_powf`] gives `None`.
pub(crate) fn vector_powf_in_place<E: Float>(x: &mut [E], p: E) -> bool {
    let Some(p) = exponent::<E>(p) else {
        return false;
    };
    super::super::parallel::for_blocks(x, |_, block| {
        let ptr = block.as_mut_ptr().cast();
        // SAFETY: as in `vector_powf`, the block read and written in place.
        unsafe { run(ptr, ptr, block.len(), p) }
    });
    true
}

/// `p` as an `f32` where the loop here runs for `E` and `p` in this process.
fn exponent<E: Float>(p: E) -> Option<f32> {
    if !matches!(E::concrete(&[]), Slice::F32(_)) || p == E::ZERO || !p.is_finite() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::super::simd::{Level, level};
        (level() != Level::Baseline).then(|| p.to_f64() as f32)
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// Whether `p` is an integer, and whether an odd one: every f32 from 2^24 up is an even
/// integer; below, `p` is an integer when its truncation converts back to it.
fn integer_and_odd(p: f32) -> (bool, bool) {
    let big = p.abs() >= 16_777_216.0;
    let truncated = p as i32;
    let whole = big || truncated as f32 == p;
    (whole, !big && whole && truncated & 1 != 0)
}

/// `dst[i] = src[i]^p` for `i < n`.
///
/// # Safety
/// The CPU has AVX-512F and DQ, or AVX2 and FMA ([`exponent`] checked, by the level in
/// use); `src` is readable and `dst` writable for `n` `f32`s, the same pointer or apart.
unsafe fn run(src: *const f32, dst: *mut f32, n: usize, p: f32) {
    // SAFETY: the caller's guarantee, passed on.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        use super::super::simd::{Level, level};
        match level() {
            Level::Avx512 => avx512::powf(src, dst, n, p),
            _ => avx2::powf(src, dst, n, p),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (src, dst, n, p);
        unreachable!("no vector powf off x86-64")
    }
}

/// `(-1)^(k+1) / (k ln 2)`, `k = 1..9`: `log2(1 + r) = r (B[0] + B[1] r + ...)` (the
/// AVX-512 version's smaller `r` needs the first 7).
#[cfg(target_arch = "x86_64")]
const LOG2_1P: [f64; 9] = [
    core::f64::consts::LOG2_E,
    -0.721_347_520_444_481_7,
    0.480_898_346_962_987_8,
    -0.360_673_760_222_240_85,
    0.288_539_008_177_792_7,
    -0.240_449_173_481_493_9,
    0.206_099_291_555_566_2,
    -0.180_336_880_111_120_42,
    0.160_299_448_987_662_6,
];

/// `(ln 2)^k / k!`, `k = 1..9`: `2^f = 1 + f (C[0] + C[1] f + ...)`.
#[cfg(target_arch = "x86_64")]
const EXP2: [f64; 9] = [
    core::f64::consts::LN_2,
    0.240_226_506_959_100_7,
    0.055_504_108_664_821_576,
    0.009_618_129_107_628_477,
    0.001_333_355_814_642_844_1,
    0.000_154_035_303_933_816_06,
    1.525_273_380_405_983_8e-5,
    1.321_548_679_014_430_5e-6,
    1.017_808_600_923_969_6e-7,
];

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use core::arch::x86_64::*;

    /// `1 / c` for the 16 parts `[0.75 + j w, 0.75 + (j + 1) w)`, `w = 3/64`, of the
    /// mantissa range, `c` the middle of the part (1 for the part holding 1).
    const INV_C: [f64; 16] = [
        1.292929292929293,
        1.2190476190476192,
        1.1531531531531531,
        1.0940170940170941,
        1.0406504065040652,
        1.0,
        0.9481481481481482,
        0.9078014184397163,
        0.8707482993197279,
        0.8366013071895425,
        0.8050314465408805,
        0.7757575757575758,
        0.7485380116959064,
        0.7231638418079096,
        0.6994535519125683,
        0.6772486772486772,
    ];

    /// `-log2` of each [`INV_C`] entry (the `log2 c` that matches it to the last bit).
    const LOG2_C: [f64; 16] = [
        -0.3706433799203905,
        -0.2857544823338775,
        -0.20558413364989403,
        -0.1296352804165956,
        -0.05748549466076028,
        0.0,
        0.07681559705083084,
        0.1395513523987936,
        0.19967234483636445,
        0.25738784269265175,
        0.3128829552843553,
        0.3663222142458158,
        0.4178525148858979,
        0.4676055500829974,
        0.5156998382840424,
        0.5622424242210727,
    ];

    /// The two halves of a 16-entry table, for `vpermi2pd`.
    #[inline(always)]
    fn halves(t: &[f64; 16]) -> (__m512d, __m512d) {
        // SAFETY: each half is 8 readable `f64`s (unaligned loads).
        unsafe {
            (
                _mm512_loadu_pd(t.as_ptr()),
                _mm512_loadu_pd(t.as_ptr().add(8)),
            )
        }
    }

    /// The constants of the loop, loaded once.
    #[derive(Clone, Copy)]
    struct Consts {
        p: __m512d,
        inv_c: (__m512d, __m512d),
        log2_c: (__m512d, __m512d),
    }

    /// `p log2 |x|` for 8 lanes of `|x|` widened to `f64` (`-inf` at 0, `+inf` at infinity,
    /// NaN at NaN).
    #[inline(always)]
    fn exponent_of(c: &Consts, a: __m512d) -> __m512d {
        // SAFETY: AVX-512F and DQ are enabled in the calling function.
        unsafe {
            let m = _mm512_getmant_pd::<_MM_MANT_NORM_P75_1P5, _MM_MANT_SIGN_ZERO>(a);
            // `getexp` is floor(log2 a); a mantissa below 1 came from [1.5, 2): one more.
            let e = _mm512_getexp_pd(a);
            let below_one = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(m, _mm512_set1_pd(1.0));
            let e = _mm512_mask_add_pd(e, below_one, e, _mm512_set1_pd(1.0));
            // The part `floor((m - 0.75) / w)`, truncated from `m 64/3 - 16` (not negative),
            // in the low bits of each lane, which `vpermi2pd` reads.
            let index = _mm512_cvttpd_epi64(_mm512_fmadd_pd(
                m,
                _mm512_set1_pd(64.0 / 3.0),
                _mm512_set1_pd(-16.0),
            ));
            let inv_c = _mm512_permutex2var_pd(c.inv_c.0, index, c.inv_c.1);
            let log2_c = _mm512_permutex2var_pd(c.log2_c.0, index, c.log2_c.1);
            let r = _mm512_fmsub_pd(m, inv_c, _mm512_set1_pd(1.0));
            let mut poly = _mm512_set1_pd(super::LOG2_1P[6]);
            for &b in super::LOG2_1P[..6].iter().rev() {
                poly = _mm512_fmadd_pd(poly, r, _mm512_set1_pd(b));
            }
            let log2 = _mm512_fmadd_pd(poly, r, _mm512_add_pd(e, log2_c));
            // Infinity's mantissa is not 1 (`vgetmantpd` gives NaN): its logarithm is set.
            let infinite = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(a, _mm512_set1_pd(f64::INFINITY));
            let log2 = _mm512_mask_mov_pd(log2, infinite, a);
            _mm512_mul_pd(c.p, log2)
        }
    }

    /// `2^t` for 8 lanes, rounded to `f32` (infinity above `f32`'s range, 0 below, NaN for
    /// NaN).
    #[inline(always)]
    fn exp2_to_f32(t: __m512d) -> __m256 {
        // SAFETY: AVX-512F is enabled in the calling function.
        unsafe {
            // Far past f32's range either way (NaN stays: `max`/`min` return their second
            // operand when one is NaN), so that `f` below is finite for infinite `t`.
            let t = _mm512_max_pd(_mm512_set1_pd(-1100.0), t);
            let t = _mm512_min_pd(_mm512_set1_pd(1100.0), t);
            let n = _mm512_roundscale_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(t);
            let f = _mm512_sub_pd(t, n);
            let mut poly = _mm512_set1_pd(super::EXP2[8]);
            for &k in super::EXP2[..8].iter().rev() {
                poly = _mm512_fmadd_pd(poly, f, _mm512_set1_pd(k));
            }
            let two_f = _mm512_fmadd_pd(poly, f, _mm512_set1_pd(1.0));
            _mm512_cvtpd_ps(_mm512_scalef_pd(two_f, n))
        }
    }

    /// `|x|^p` for 16 lanes of `x`, then the signs and special cases (see the module docs).
    #[inline(always)]
    fn powf16(c: &Consts, x: __m512, integer: bool, odd: bool) -> __m512 {
        // SAFETY: AVX-512F and DQ are enabled in the calling function.
        unsafe {
            let a = _mm512_abs_ps(x);
            let low = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
            let high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                _mm512_castps_pd(a),
            )));
            let y_low = exp2_to_f32(exponent_of(c, low));
            let y_high = exp2_to_f32(exponent_of(c, high));
            let y = _mm512_insertf32x8::<1>(_mm512_castps256_ps512(y_low), y_high);
            let y = if odd {
                // A negative base (-0 and -inf included) keeps its sign.
                let sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(i32::MIN));
                _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(y), sign))
            } else {
                y
            };
            if integer {
                return y;
            }
            // A negative finite base with a non-integer exponent has no real power.
            let negative = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_setzero_ps());
            let finite = _mm512_cmp_ps_mask::<_CMP_NEQ_UQ>(x, _mm512_set1_ps(f32::NEG_INFINITY));
            _mm512_mask_mov_ps(y, negative & finite, _mm512_set1_ps(f32::NAN))
        }
    }

    /// `dst[i] = src[i]^p` for `i < n`, `p` finite and not 0.
    ///
    /// # Safety
    /// The CPU has AVX-512F and DQ; `src` is readable and `dst` writable for `n` `f32`s, the
    /// same pointer or apart.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) unsafe fn powf(src: *const f32, dst: *mut f32, n: usize, p: f32) {
        let (whole, odd) = super::integer_and_odd(p);
        let c = Consts {
            p: _mm512_set1_pd(f64::from(p)),
            inv_c: halves(&INV_C),
            log2_c: halves(&LOG2_C),
        };
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: `i + 16 <= n`: inside both buffers (the caller's guarantee).
            unsafe {
                let x = _mm512_loadu_ps(src.add(i));
                _mm512_storeu_ps(dst.add(i), powf16(&c, x, whole, odd));
            }
            i += 16;
        }
        if i < n {
            let mask: __mmask16 = (1u32 << (n - i)).wrapping_sub(1) as __mmask16;
            // SAFETY: the masked lanes are the `n - i` left, inside both buffers; the others
            // are neither read nor written.
            unsafe {
                let x = _mm512_maskz_loadu_ps(mask, src.add(i));
                _mm512_mask_storeu_ps(dst.add(i), mask, powf16(&c, x, whole, odd));
            }
        }
    }
}

/// The same steps for AVX2 + FMA, four `f64` lanes at a time. No `vgetmantpd`: the exponent
/// and mantissa come from the bits; no `vpermi2pd`: the tables have 8 parts of the mantissa
/// range (`|r| <= 1/16`, so `log2(1 + r)` to degree 9, below `2e-12`), each held in two
/// registers and looked up by `vpermps` and a blend; no `vscalefpd`: `t` is clamped to
/// `f32`'s range, where `2^n` is built from its bits.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::*;

    /// `1 / c` for the 8 parts `[0.75 + j w, 0.75 + (j + 1) w)`, `w = 3/32`, `c` the middle
    /// of the part (1 for the part holding 1).
    const INV_C: [f64; 8] = [
        1.2549019607843137,
        1.1228070175438596,
        1.0,
        0.927536231884058,
        0.8533333333333334,
        0.7901234567901234,
        0.735632183908046,
        0.6881720430107527,
    ];

    /// `-log2` of each [`INV_C`] entry.
    const LOG2_C: [f64; 8] = [
        -0.3275746580285044,
        -0.16710998583525824,
        0.0,
        0.10852445677816903,
        0.22881869049588077,
        0.3398500028846248,
        0.44294349584872833,
        0.5391588111080313,
    ];

    /// A table of 8 `f64` as two registers of 4 (each 8 `f32` halves for `vpermps`).
    #[derive(Clone, Copy)]
    struct Table(__m256, __m256);

    impl Table {
        #[inline(always)]
        fn new(t: &[f64; 8]) -> Self {
            // SAFETY: each half is 4 readable `f64`s (unaligned loads).
            unsafe {
                Table(
                    _mm256_castpd_ps(_mm256_loadu_pd(t.as_ptr())),
                    _mm256_castpd_ps(_mm256_loadu_pd(t.as_ptr().add(4))),
                )
            }
        }

        /// `t[j]` per lane, `halves` the `f32` lane pair `(2j, 2j + 1)` of each `f64` lane
        /// (mod 8) and `high` the lanes with `j >= 4` (sign bit set).
        #[inline(always)]
        fn lookup(self, halves: __m256i, high: __m256d) -> __m256d {
            // SAFETY: AVX2 is enabled in the calling function.
            unsafe {
                let low = _mm256_castps_pd(_mm256_permutevar8x32_ps(self.0, halves));
                let upper = _mm256_castps_pd(_mm256_permutevar8x32_ps(self.1, halves));
                _mm256_blendv_pd(low, upper, high)
            }
        }
    }

    /// The constants of the loop, loaded once.
    #[derive(Clone, Copy)]
    struct Consts {
        p: __m256d,
        inv_c: Table,
        log2_c: Table,
    }

    /// `p log2 a` for 4 lanes of `a = |x|` widened to `f64` (`-inf` at 0, `+inf` at
    /// infinity, NaN at NaN).
    #[inline(always)]
    fn exponent_of(c: &Consts, a: __m256d) -> __m256d {
        // SAFETY: AVX2 and FMA are enabled in the calling function.
        unsafe {
            let bits = _mm256_castpd_si256(a);
            let fraction = _mm256_and_si256(bits, _mm256_set1_epi64x(0x000f_ffff_ffff_ffff));
            // The biased exponent as a float: 2^52 + e, less 2^52 + 1023. `a` is not negative.
            let e = _mm256_sub_pd(
                _mm256_castsi256_pd(_mm256_or_si256(
                    _mm256_srli_epi64::<52>(bits),
                    _mm256_set1_epi64x(0x4330_0000_0000_0000),
                )),
                _mm256_set1_pd(4_503_599_627_371_519.0),
            );
            // A mantissa of 1.5 or more is halved into [0.75, 1): one more in the exponent.
            let upper = _mm256_castsi256_pd(_mm256_cmpgt_epi64(
                fraction,
                _mm256_set1_epi64x(0x0007_ffff_ffff_ffff),
            ));
            let m = _mm256_castsi256_pd(_mm256_or_si256(
                fraction,
                _mm256_set1_epi64x(0x3ff0_0000_0000_0000),
            ));
            let m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), upper);
            let e = _mm256_add_pd(e, _mm256_and_pd(upper, _mm256_set1_pd(1.0)));
            // The part `floor((m - 0.75) / w)`, truncated from `m 32/3 - 8` (not negative).
            let part = _mm256_cvttpd_epi32(_mm256_fmadd_pd(
                m,
                _mm256_set1_pd(32.0 / 3.0),
                _mm256_set1_pd(-8.0),
            ));
            let part = _mm256_cvtepu32_epi64(part);
            let twice = _mm256_slli_epi64::<1>(part);
            let halves = _mm256_or_si256(
                twice,
                _mm256_slli_epi64::<32>(_mm256_add_epi64(twice, _mm256_set1_epi64x(1))),
            );
            let high = _mm256_castsi256_pd(_mm256_slli_epi64::<61>(part));
            let inv_c = c.inv_c.lookup(halves, high);
            let log2_c = c.log2_c.lookup(halves, high);
            let r = _mm256_fmsub_pd(m, inv_c, _mm256_set1_pd(1.0));
            let mut poly = _mm256_set1_pd(super::LOG2_1P[8]);
            for &b in super::LOG2_1P[..8].iter().rev() {
                poly = _mm256_fmadd_pd(poly, r, _mm256_set1_pd(b));
            }
            let log2 = _mm256_fmadd_pd(poly, r, _mm256_add_pd(e, log2_c));
            // 0, infinity and NaN: -inf, themselves.
            let special = _mm256_blendv_pd(
                a,
                _mm256_set1_pd(f64::NEG_INFINITY),
                _mm256_cmp_pd::<_CMP_EQ_OQ>(a, _mm256_setzero_pd()),
            );
            let ordinary = _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GT_OQ>(a, _mm256_setzero_pd()),
                _mm256_cmp_pd::<_CMP_LT_OQ>(a, _mm256_set1_pd(f64::INFINITY)),
            );
            _mm256_mul_pd(c.p, _mm256_blendv_pd(special, log2, ordinary))
        }
    }

    /// `2^t` for 4 lanes, rounded to `f32`.
    #[inline(always)]
    fn exp2_to_f32(t: __m256d) -> __m128 {
        // SAFETY: AVX2 and FMA are enabled in the calling function.
        unsafe {
            // Past f32's range either way (NaN stays: `max`/`min` return their second
            // operand when one is NaN), where 2^n is a normal f64.
            let t = _mm256_max_pd(_mm256_set1_pd(-160.0), t);
            let t = _mm256_min_pd(_mm256_set1_pd(160.0), t);
            let n = _mm256_round_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(t);
            let f = _mm256_sub_pd(t, n);
            let mut poly = _mm256_set1_pd(super::EXP2[8]);
            for &k in super::EXP2[..8].iter().rev() {
                poly = _mm256_fmadd_pd(poly, f, _mm256_set1_pd(k));
            }
            let two_f = _mm256_fmadd_pd(poly, f, _mm256_set1_pd(1.0));
            // 2^n from the bits: n + 1023 in the low bits of 1.5 * 2^52 + n + 1023, moved
            // into the exponent field.
            let biased = _mm256_add_pd(n, _mm256_set1_pd(6_755_399_441_055_744.0 + 1023.0));
            let two_n = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_castpd_si256(biased)));
            _mm256_cvtpd_ps(_mm256_mul_pd(two_f, two_n))
        }
    }

    /// `|x|^p` for 8 lanes of `x`, then the signs and special cases.
    #[inline(always)]
    fn powf8(c: &Consts, x: __m256, integer: bool, odd: bool) -> __m256 {
        // SAFETY: AVX2 and FMA are enabled in the calling function.
        unsafe {
            let a = _mm256_andnot_ps(_mm256_set1_ps(-0.0), x);
            let low = _mm256_cvtps_pd(_mm256_castps256_ps128(a));
            let high = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(a));
            let y = _mm256_set_m128(
                exp2_to_f32(exponent_of(c, high)),
                exp2_to_f32(exponent_of(c, low)),
            );
            let y = if odd {
                _mm256_or_ps(y, _mm256_and_ps(x, _mm256_set1_ps(-0.0)))
            } else {
                y
            };
            if integer {
                return y;
            }
            let negative_finite = _mm256_and_ps(
                _mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_setzero_ps()),
                _mm256_cmp_ps::<_CMP_NEQ_UQ>(x, _mm256_set1_ps(f32::NEG_INFINITY)),
            );
            _mm256_blendv_ps(y, _mm256_set1_ps(f32::NAN), negative_finite)
        }
    }

    /// `dst[i] = src[i]^p` for `i < n`, `p` finite and not 0.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; `src` is readable and `dst` writable for `n` `f32`s, the
    /// same pointer or apart.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn powf(src: *const f32, dst: *mut f32, n: usize, p: f32) {
        let (whole, odd) = super::integer_and_odd(p);
        let c = Consts {
            p: _mm256_set1_pd(f64::from(p)),
            inv_c: Table::new(&INV_C),
            log2_c: Table::new(&LOG2_C),
        };
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: `i + 8 <= n`: inside both buffers (the caller's guarantee).
            unsafe {
                let x = _mm256_loadu_ps(src.add(i));
                _mm256_storeu_ps(dst.add(i), powf8(&c, x, whole, odd));
            }
            i += 8;
        }
        if i < n {
            let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
            let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((n - i) as i32), lanes);
            // SAFETY: the masked lanes are the `n - i` left, inside both buffers; the others
            // are neither read nor written.
            unsafe {
                let x = _mm256_maskload_ps(src.add(i), mask);
                _mm256_maskstore_ps(dst.add(i), mask, powf8(&c, x, whole, odd));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ulps;
    use super::*;

    /// Over every 997th positive `f32` and its negative, values near 1 (where large
    /// exponents magnify any error of the logarithm) and the special values, for exponents
    /// of every kind: within 0.501 ulp of `f64`'s power (so nearly always the correctly
    /// rounded `f32`), special cases bit for bit as `f32::powf`, in a new vector and in
    /// place alike.
    #[test]
    fn powers_are_correctly_rounded_and_special_cases_match_libm() {
        let mut x: Vec<f32> = (0..0x7f80_0000u32)
            .step_by(997)
            .map(f32::from_bits)
            .flat_map(|v| [v, -v])
            .collect();
        x.extend((0..20_000).map(|i| 1.0 + (i as f32 - 10_000.0) * 1e-6));
        // Every f32 within 2000 spacings of 1: the only finite powers of the largest exponents.
        x.extend((-2000..2000).map(|k| f32::from_bits((1.0f32.to_bits() as i32 + k) as u32)));
        let specials = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            2.0,
            -2.0,
            3.0,
            -3.0,
            2.5,
            -2.5,
            1e-45,
            -1e-45,
            3e38,
            -3e38,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        x.extend(specials);
        // Not a multiple of 16: the masked tail runs.
        x.truncate(x.len() / 16 * 16 + 5);
        let exponents = [
            2.5f32, -2.5, 0.3, -0.7, 1.7, 7.0, -3.0, 4.0, 0.1, 13.25, -0.013, 33.5, 91.0, 1e4,
            -3e4, 777.7, 1e6, 3e7, -1.5, 1.0, 5.0, 0.5,
        ];
        for p in exponents {
            let Some(y) = vector_powf(&x, p) else {
                return; // no AVX-512 here: the plain loop runs, tested elsewhere
            };
            let mut in_place = x.clone();
            assert!(vector_powf_in_place(&mut in_place, p));
            assert_eq!(
                y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                in_place.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "^{p}: in place differs"
            );
            let mut compared = 0;
            for (&xv, &yv) in x.iter().zip(&y) {
                let libm = xv.powf(p);
                if !xv.is_finite() || xv == 0.0 || !libm.is_finite() || libm == 0.0 {
                    assert!(
                        (yv == libm && yv.is_sign_negative() == libm.is_sign_negative())
                            || (yv.is_nan() && libm.is_nan()),
                        "{xv:e}^{p}: {yv:e}, libm {libm:e}"
                    );
                    continue;
                }
                let err = ulps(yv, f64::from(xv).powf(f64::from(p)));
                assert!(err <= 0.501, "{xv:e}^{p}: {yv:e} is {err} ulp off");
                compared += 1;
            }
            assert!(compared > 50, "^{p}: compared {compared}");
        }
    }

    /// The exponents the loop leaves to the plain one, and `f64`.
    #[test]
    fn zero_and_non_finite_exponents_are_declined() {
        let x = [1.0f32, 2.0, -3.0];
        for p in [0.0f32, f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
            assert!(vector_powf(&x, p).is_none(), "{p}");
        }
        assert!(vector_powf(&[1.0f64, 2.0], 2.5).is_none());
    }
}
