//! `exp` and `tanh` for the cell kernels without a library call, so that the gate loops
//! vectorise in double precision too (libm's `exp` and `tanh` are opaque calls, and were a
//! quarter of an f64 `LSTMCell` step). Single precision already has such functions
//! ([`crate::dtype`]); these add the f64 ones.

use crate::dtype::Float;
use core::mem::MaybeUninit;

/// e^x: the f64 polynomial below, or `E::exp` (itself call-free) for f32.
#[inline(always)]
pub(super) fn exp<E: Float>(x: E) -> E {
    if core::mem::size_of::<E>() == 8 {
        E::from_f64(exp_f64(x.to_f64()))
    } else {
        x.exp()
    }
}

/// tanh(x), as [`exp`].
#[inline(always)]
pub(super) fn tanh<E: Float>(x: E) -> E {
    if core::mem::size_of::<E>() == 8 {
        E::from_f64(tanh_f64(x.to_f64()))
    } else {
        x.tanh()
    }
}

/// `dst = a + b`, element by element (slices of one length).
#[inline(always)]
pub(super) fn add_into<E: Float>(dst: &mut [E], a: &[E], b: &[E]) {
    let n = dst.len();
    let (a, b) = (&a[..n], &b[..n]);
    for j in 0..n {
        dst[j] = a[j] + b[j];
    }
}

/// [`add_into`] into a buffer that may be uninitialised: writes every element of `dst`.
#[inline(always)]
pub(super) fn sum_into<E: Float>(dst: &mut [MaybeUninit<E>], a: &[E], b: &[E]) {
    let n = dst.len();
    let (a, b) = (&a[..n], &b[..n]);
    for j in 0..n {
        dst[j].write(a[j] + b[j]);
    }
}

/// `dst += a`, element by element.
#[inline(always)]
pub(super) fn add_assign<E: Float>(dst: &mut [E], a: &[E]) {
    let n = dst.len();
    let a = &a[..n];
    for j in 0..n {
        dst[j] += a[j];
    }
}

/// `1 / (1 + e^-x)` without a branch: e^-x overflowing to infinity gives exactly 0, so the
/// single formula is safe over the whole range and vectorises.
#[inline(always)]
pub(super) fn sigmoid_free<E: Float>(x: E) -> E {
    E::ONE / (E::ONE + exp(-x))
}

/// e^x in double precision: `x = n ln2 + r` with `|r| <= ln2 / 2` (ln 2 split in two parts
/// so that `n ln2` is exact), e^r by its Taylor series to degree 13 (the next term is below
/// 5e-18), and 2^n applied in two halves so that subnormal results stay exact. Within 2 ulp
/// of libm over the whole range; NaN and infinities behave as `f64::exp`.
///
/// The series is `(1 + r) + r^2 P(r)` with `P` (degree 11) evaluated by Estrin's scheme in
/// fused multiply-adds: five dependent steps instead of Horner's twelve multiplies and
/// twelve adds, which the cell loops, latency-bound on this chain, ran at half the speed.
#[inline(always)]
#[allow(clippy::excessive_precision)] // fdlibm's split of ln 2, kept as published
pub(crate) fn exp_f64(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    // Rounds to nearest by adding and removing 1.5 * 2^52 (`round()` does not vectorise).
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    let xc = x.clamp(-746.0, 710.0);
    let shifted = xc * core::f64::consts::LOG2_E + SHIFTER;
    let n = shifted - SHIFTER;
    let r = xc - n * LN2_HI - n * LN2_LO;
    // 1/k! for k = 2 to 13.
    const C: [f64; 12] = [
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let pair = |i: usize| C[i + 1].mul_add(r, C[i]);
    let s0 = pair(2).mul_add(r2, pair(0));
    let s1 = pair(6).mul_add(r2, pair(4));
    let s2 = pair(10).mul_add(r2, pair(8));
    let p = s2.mul_add(r8, s1.mul_add(r4, s0));
    let e = r2.mul_add(p, 1.0 + r);
    let n = shifted.to_bits() as i64 - SHIFTER.to_bits() as i64;
    let n1 = n >> 1;
    let n2 = n - n1;
    let s1 = f64::from_bits(((n1 + 1023) as u64) << 52);
    let s2 = f64::from_bits(((n2 + 1023) as u64) << 52);
    let y = e * s1 * s2;
    if x.is_nan() {
        x
    } else if x > 709.782_712_893_384 {
        f64::INFINITY
    } else if x < -745.2 {
        0.0
    } else {
        y
    }
}

/// tanh(x) in double precision: Cephes' rational function for `|x| < 0.625` and
/// `1 - 2 / (e^(2|x|) + 1)` elsewhere, within a few ulp of libm.
///
/// Both branches are `base + num / den` (`x + x z P(z) / Q(z)`, or `±1 ∓ 2 / (e + 1)`), so
/// the vectorised loop, which computes both, selects the operands first and divides once:
/// division is the slowest step of the cell loops (one per sigmoid, two per tanh before).
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, kept as published
pub(crate) fn tanh_f64(x: f64) -> f64 {
    let a = x.abs();
    let z = x * x;
    let p = (-9.643_991_794_250_522_386_28e-1 * z - 9.928_772_310_019_185_865_64e1) * z
        - 1.614_687_684_417_084_479_52e3;
    let q = ((z + 1.128_116_784_916_329_314_02e2) * z + 2.235_488_390_601_004_485_83e3) * z
        + 4.844_063_053_251_254_860_48e3;
    let e = exp_f64(2.0 * a.min(20.0));
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    // NaN takes the rational function, which keeps it NaN.
    let (base, num, den) = if a < 0.625 || a.is_nan() {
        (x, x * z * p, q)
    } else {
        (sign, -2.0 * sign, e + 1.0)
    };
    base + num / den
}

#[cfg(test)]
mod tests {
    use super::{exp_f64, tanh_f64};

    /// |a - b| in units of b's last place.
    fn ulps(a: f64, b: f64) -> f64 {
        if a == b {
            return 0.0;
        }
        let spacing = b.abs().max(f64::MIN_POSITIVE) * f64::EPSILON;
        ((a - b) / spacing).abs()
    }

    #[test]
    fn exp_and_tanh_f64_match_libm() {
        let (mut worst_exp, mut worst_tanh) = (0f64, 0f64);
        let mut x = -750.0;
        while x < 712.0 {
            worst_exp = worst_exp.max(ulps(exp_f64(x), x.exp()));
            x += 0.0137;
        }
        let mut x = -25.0;
        while x < 25.0 {
            worst_tanh = worst_tanh.max(ulps(tanh_f64(x), x.tanh()));
            x += 0.000_731;
        }
        for x in [
            0.0,
            -0.0,
            1e-300,
            -1e-300,
            0.624_999_999,
            0.625,
            -0.625,
            19.0,
            1e-8,
        ] {
            worst_tanh = worst_tanh.max(ulps(tanh_f64(x), x.tanh()));
            worst_exp = worst_exp.max(ulps(exp_f64(x), x.exp()));
        }
        assert!(worst_exp <= 2.0, "exp: {worst_exp} ulp");
        assert!(worst_tanh <= 4.0, "tanh: {worst_tanh} ulp");
        assert!(exp_f64(f64::NAN).is_nan() && tanh_f64(f64::NAN).is_nan());
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp_f64(710.0), f64::INFINITY);
        assert_eq!(tanh_f64(f64::INFINITY), 1.0);
        assert_eq!(tanh_f64(f64::NEG_INFINITY), -1.0);
        // Subnormal results are exact powers of two where libm's are.
        assert_eq!(
            exp_f64(-1074.0 * core::f64::consts::LN_2),
            (-1074.0f64 * core::f64::consts::LN_2).exp()
        );
    }
}
