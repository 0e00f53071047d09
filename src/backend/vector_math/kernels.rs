//! The functions and their loops, written once over [`Lanes`] and compiled for AVX-512 and
//! for AVX2 + FMA (one `#[target_feature]` entry point per instruction set, into which all
//! of it is inlined).

use super::VectorFn;
use super::lanes::{Avx2, Avx512, Lanes};
use crate::dtype::{ERFC_POLY_F32, EXP_POLY_F32, LN2_HI_F32, LN2_LO_F32};

/// The instruction set the loops run with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Isa {
    Avx512,
    Avx2,
}

/// Defines `pub(super) unsafe fn $name(isa, args..)`, running the generic `$body::<L>` in a
/// function compiled for `isa`.
macro_rules! for_each_isa {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $body:ident;) => {
        $(#[$doc])*
        ///
        /// # Safety
        /// The CPU has `isa`'s features, and the pointer arguments are valid as `$body`
        /// says.
        pub(super) unsafe fn $name(isa: Isa, $($arg: $ty),*) $(-> $ret)? {
            #[target_feature(enable = "avx512f")]
            unsafe fn on_avx512($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller's guarantee, passed on.
                unsafe { $body(Avx512::new(), $($arg),*) }
            }
            #[target_feature(enable = "avx2,fma")]
            unsafe fn on_avx2($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller's guarantee, passed on.
                unsafe { $body(Avx2::new(), $($arg),*) }
            }
            // SAFETY: the caller's guarantee, passed on.
            unsafe {
                match isa {
                    Isa::Avx512 => on_avx512($($arg),*),
                    Isa::Avx2 => on_avx2($($arg),*),
                }
            }
        }
    };
}

for_each_isa! {
    /// Writes `f(src[i])` to `dst[i]` for `i < n`.
    fn apply(f: VectorFn, src: *const f32, dst: *mut f32, n: usize) = apply_lanes;
}
for_each_isa! {
    /// `dst[i] = s[i] * f'(x[i])` for `i < n`, where `s` is `g` (null: `c` everywhere).
    fn apply_grad(f: VectorFn, x: *const f32, g: *const f32, c: f32, dst: *mut f32, n: usize) = apply_grad_lanes;
}
for_each_isa! {
    /// The sum of `e^(x[i] - shift)` for `i < n`, each term also written to `dst[i]` unless
    /// `dst` is null.
    fn exp_shifted_sum(x: *const f32, n: usize, shift: f32, dst: *mut f32) -> f32 = exp_shifted_sum_lanes;
}
for_each_isa! {
    /// `g[i] += gy[i] - e^y[i] * total` for `i < n`.
    fn add_log_softmax_grad(g: *mut f32, gy: *const f32, y: *const f32, total: f32, n: usize) = add_log_softmax_grad_lanes;
}

/// # Safety
/// `src` is readable and `dst` writable for `n` elements, the same pointer or apart.
#[inline(always)]
unsafe fn apply_lanes<L: Lanes>(l: L, f: VectorFn, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: the caller's guarantee, passed on.
    unsafe {
        match f {
            VectorFn::Exp => map_vectors(
                l,
                src,
                dst,
                n,
                #[inline(always)]
                |x| exp(l, x),
            ),
            VectorFn::Tanh => map_vectors(
                l,
                src,
                dst,
                n,
                #[inline(always)]
                |x| tanh(l, x),
            ),
            VectorFn::Sigmoid => map_vectors(
                l,
                src,
                dst,
                n,
                #[inline(always)]
                |x| sigmoid(l, x),
            ),
            VectorFn::Silu => map_vectors(
                l,
                src,
                dst,
                n,
                #[inline(always)]
                |x| l.mul(x, sigmoid(l, x)),
            ),
            VectorFn::Gelu => map_vectors(
                l,
                src,
                dst,
                n,
                #[inline(always)]
                |x| l.mul(x, normal_cdf(l, x)),
            ),
        }
    }
}

/// `dst[i] = op(src[i])`, two vectors a step while they last, then one at a time with the
/// last few values masked. `op` is `#[inline(always)]` at every caller: with two call
/// sites (or three), LLVM otherwise left GELU's as a call per vector, its argument and
/// result passed through memory. Two independent vectors a step give the out-of-order core
/// a second dependency chain to overlap: on an Intel core (Emerald Rapids, one thread, 4M
/// values) GELU's 57 operations a vector went 2.95 -> 2.66 ms, sigmoid and SiLU 3-4%
/// faster, exp and tanh level (on Zen 4 two vectors a step were no faster).
///
/// # Safety
/// As [`apply_lanes`].
#[inline(always)]
unsafe fn map_vectors<L: Lanes>(
    l: L,
    src: *const f32,
    dst: *mut f32,
    n: usize,
    op: impl Fn(L::V) -> L::V,
) {
    let mut i = 0;
    while i + 2 * L::N <= n {
        // SAFETY: two vectors at `i` lie inside both buffers.
        unsafe {
            let x0 = l.load(src.add(i), L::N);
            let x1 = l.load(src.add(i + L::N), L::N);
            let (y0, y1) = (op(x0), op(x1));
            l.store(dst.add(i), L::N, y0);
            l.store(dst.add(i + L::N), L::N, y1);
        }
        i += 2 * L::N;
    }
    while i < n {
        let count = (n - i).min(L::N);
        // SAFETY: `count` values at `i` lie inside both buffers.
        unsafe {
            let x = l.load(src.add(i), count);
            l.store(dst.add(i), count, op(x));
        }
        i += L::N;
    }
}

/// # Safety
/// `x` and `g` (unless null) are readable and `dst` writable for `n` elements; `g` and
/// `dst` are the same pointer or apart.
#[inline(always)]
unsafe fn apply_grad_lanes<L: Lanes>(
    l: L,
    f: VectorFn,
    x: *const f32,
    g: *const f32,
    c: f32,
    dst: *mut f32,
    n: usize,
) {
    let derivative = |x: L::V| match f {
        VectorFn::Gelu => gelu_derivative(l, x),
        _ => silu_derivative(l, x),
    };
    let c = l.splat(c);
    let mut i = 0;
    while i < n {
        let count = (n - i).min(L::N);
        // SAFETY: `count` values at `i` lie inside every buffer.
        unsafe {
            let s = if g.is_null() {
                c
            } else {
                l.load(g.add(i), count)
            };
            let d = derivative(l.load(x.add(i), count));
            l.store(dst.add(i), count, l.mul(s, d));
        }
        i += L::N;
    }
}

/// # Safety
/// `x` is readable and `dst` null or writable for `n` elements, the same pointer or apart.
#[inline(always)]
unsafe fn exp_shifted_sum_lanes<L: Lanes>(
    l: L,
    x: *const f32,
    n: usize,
    shift: f32,
    dst: *mut f32,
) -> f32 {
    let shift = l.splat(shift);
    let mut sum = l.splat(0.0);
    let mut i = 0;
    while i < n {
        let count = (n - i).min(L::N);
        // SAFETY: `count` values at `i` lie inside both buffers.
        unsafe {
            let e = exp(l, l.sub(l.load(x.add(i), count), shift));
            // The lanes past the row's end hold e^-shift, not 0.
            sum = l.add(sum, l.first(e, count));
            if !dst.is_null() {
                l.store(dst.add(i), count, e);
            }
        }
        i += L::N;
    }
    l.sum(sum)
}

/// # Safety
/// `g` is readable and writable, `gy` and `y` readable, for `n` elements.
#[inline(always)]
unsafe fn add_log_softmax_grad_lanes<L: Lanes>(
    l: L,
    g: *mut f32,
    gy: *const f32,
    y: *const f32,
    total: f32,
    n: usize,
) {
    let total = l.splat(total);
    let mut i = 0;
    while i < n {
        let count = (n - i).min(L::N);
        // SAFETY: `count` values at `i` lie inside all three rows.
        unsafe {
            let e = exp(l, l.load(y.add(i), count));
            let d = l.fnmadd(e, total, l.load(gy.add(i), count));
            l.store(g.add(i), count, l.add(l.load(g.add(i), count), d));
        }
        i += L::N;
    }
}

// Cephes' `expf`, as `crate::dtype::exp_f32`: `e^r = 1 + r + r^2 P(r)` on `|r| <= ln2 / 2`,
// ln 2 split in two parts so that `n * LN2_HI` is exact.
const LOG2E: f32 = core::f32::consts::LOG2_E;
const LN2_HI: f32 = LN2_HI_F32;
const LN2_LO: f32 = LN2_LO_F32;
const P: [f32; 6] = EXP_POLY_F32;

/// `x = n ln2 + r`, `|r| <= ln2 / 2`, `n` an integer held as a float.
#[inline(always)]
fn reduce<L: Lanes>(l: L, x: L::V) -> (L::V, L::V) {
    let n = l.round(l.mul(x, l.splat(LOG2E)));
    let r = l.fnmadd(n, l.splat(LN2_HI), x);
    let r = l.fnmadd(n, l.splat(LN2_LO), r);
    (n, r)
}

/// `P(r)` by Horner's rule in multiply-adds (the loops run many independent vectors, so
/// the chain's latency is hidden and fewer instructions win over Estrin's scheme).
#[inline(always)]
fn poly<L: Lanes>(l: L, r: L::V) -> L::V {
    let mut p = l.splat(P[5]);
    for &c in P[..5].iter().rev() {
        p = l.fmadd(p, r, l.splat(c));
    }
    p
}

/// e^x. Clamping to [-104, 89] first leaves every result alone (e^-104 rounds to 0, e^89
/// overflows) and keeps `n` in [`Lanes::scale`]'s range; the clamps return NaN for NaN,
/// and the infinities become 0 and infinity.
#[inline(always)]
pub(super) fn exp<L: Lanes>(l: L, x: L::V) -> L::V {
    let x = l.max(l.splat(-104.0), x);
    let x = l.min(l.splat(89.0), x);
    let (n, r) = reduce(l, x);
    let one = l.splat(1.0);
    // 1 + r (1 + r P(r))
    let e = l.fmadd(l.fmadd(poly(l, r), r, one), r, one);
    l.scale(e, n)
}

/// tanh x as `crate::dtype::tanh_f32`: `tanh|x| = m / (m + 2)` with `m = e^(2|x|) - 1`
/// taken as `2^n (r + r^2 P) + (2^n - 1)` (accurate near zero), and the sign of `x`.
#[inline(always)]
fn tanh<L: Lanes>(l: L, x: L::V) -> L::V {
    // tanh(10) is 1 in f32; NaN stays NaN through the clamp.
    let a = l.min(l.splat(10.0), l.abs(x));
    let (n, r) = reduce(l, l.add(a, a));
    let one = l.splat(1.0);
    let expm1_r = l.mul(l.fmadd(poly(l, r), r, one), r);
    // 0 <= n <= 29: 2^n and 2^n - 1 are exact.
    let scale = l.scale(one, n);
    let m = l.fmadd(scale, expm1_r, l.sub(scale, one));
    // A true division: `vrcp14ps` and a Newton step were 5-10% slower here (Zen 4).
    let t = l.div(m, l.add(m, l.splat(2.0)));
    l.with_sign_of(t, x)
}

/// `1 / (1 + e^-x)` as the plain `sigmoid`: `e = e^-|x|` (never overflows), then
/// `1 / (1 + e)` for `x >= 0` and `e / (1 + e)` below (NaN takes the second).
#[inline(always)]
fn sigmoid<L: Lanes>(l: L, x: L::V) -> L::V {
    let one = l.splat(1.0);
    let e = exp(l, l.neg_abs(x));
    let numerator = l.select_non_negative(x, one, e);
    l.div(numerator, l.add(one, e))
}

/// Phi(x), the standard normal CDF, step for step as the plain `f32` one in
/// `crate::ops::unary` (see there for the method and its error, about four ulp): Numerical
/// Recipes' `erfc(z) = t e^(P(t) - z^2)`, `t = 1 / (1 + z/2)` to about one rounding, `z^2`
/// and `P - z^2` carried with their rounding errors.
#[inline(always)]
fn normal_cdf<L: Lanes>(l: L, x: L::V) -> L::V {
    const C: [f32; 10] = ERFC_POLY_F32;
    let (one, half) = (l.splat(1.0), l.splat(0.5));
    // Past 16, Phi is 1 or below the smallest subnormal; NaN stays NaN through the clamp.
    let xa = l.min(l.splat(16.0), l.abs(x));
    let half_z = l.mul(half, l.mul(xa, l.splat(core::f32::consts::FRAC_1_SQRT_2)));
    let d = l.add(one, half_z);
    let d_err = l.sub(half_z, l.sub(d, one));
    let t0 = l.div(one, d);
    let residual = l.fnmadd(t0, d_err, l.fnmadd(t0, d, one));
    let t = l.fmadd(t0, residual, t0);
    let mut p = l.splat(C[0]);
    for &c in &C[1..] {
        p = l.fmadd(p, t, l.splat(c));
    }
    let (hi, lo) = half_square(l, xa);
    let s = l.sub(p, hi);
    let err = l.sub(p, l.add(s, hi));
    let scaled = l.mul(l.mul(half, t), exp(l, s));
    let lower = l.fmadd(scaled, l.sub(err, lo), scaled);
    l.select_positive(x, l.sub(one, lower), lower)
}

/// `x^2 / 2` as `hi + lo` exactly (the product and its rounding error).
#[inline(always)]
fn half_square<L: Lanes>(l: L, x: L::V) -> (L::V, L::V) {
    let half = l.splat(0.5);
    let square = l.mul(x, x);
    (l.mul(half, square), l.mul(half, l.fmsub(x, x, square)))
}

/// GELU's derivative `Phi(x) + x phi(x)` as the plain `f32` one: `phi` from `e^(-x^2/2)`
/// with `x^2 / 2` carried in two parts.
#[inline(always)]
fn gelu_derivative<L: Lanes>(l: L, x: L::V) -> L::V {
    // 1 / sqrt(2 pi)
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let xa = l.min(l.splat(16.0), l.abs(x));
    let (hi, lo) = half_square(l, xa);
    let e = exp(l, l.sub(l.splat(0.0), hi));
    let pdf = l.mul(l.splat(INV_SQRT_2PI), l.fnmadd(e, lo, e));
    l.fmadd(x, pdf, normal_cdf(l, x))
}

/// SiLU's derivative `s (1 + x (1 - s))`, `s = sigmoid(x)`.
#[inline(always)]
fn silu_derivative<L: Lanes>(l: L, x: L::V) -> L::V {
    let one = l.splat(1.0);
    let s = sigmoid(l, x);
    l.mul(s, l.fmadd(x, l.sub(one, s), one))
}
