//! The functions and their loops, written once over [`Lanes`] and compiled for AVX-512 and
//! for AVX2 + FMA (one `#[target_feature]` entry point per instruction set, into which all
//! of it is inlined).

use super::VectorFn;
use super::lanes::{Avx2, Avx512, Lanes};
use super::normal_tables::{GELU_SLOPE_BELOW_ZERO, NORMAL_UPPER_TAIL, PIECES};
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
    /// `g[i] += gy[i] - e^y[i] * total` for `i < n`, or without `accumulate`
    /// `g[i] = gy[i] - e^y[i] * total` (`gy` may then be `g` itself).
    fn add_log_softmax_grad(g: *mut f32, gy: *const f32, y: *const f32, total: f32, n: usize, accumulate: bool) = add_log_softmax_grad_lanes;
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
                |x| silu(l, x),
            ),
            VectorFn::Sin => map_vectors(
                l,
                src,
                dst,
                n,
                #[inline(always)]
                |x| sin_or_cos::<L, false>(l, x),
            ),
            VectorFn::Cos => map_vectors(
                l,
                src,
                dst,
                n,
                #[inline(always)]
                |x| sin_or_cos::<L, true>(l, x),
            ),
            VectorFn::Gelu => match l.tables(&NORMAL_UPPER_TAIL) {
                Some(tail) => map_vectors(
                    l,
                    src,
                    dst,
                    n,
                    #[inline(always)]
                    |x| gelu_by_tables(l, x, &tail),
                ),
                None => map_vectors(
                    l,
                    src,
                    dst,
                    n,
                    #[inline(always)]
                    |x| gelu_within_or_general(l, x, l.abs(x)),
                ),
            },
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
    // SAFETY: the caller's guarantee, passed on.
    unsafe {
        match f {
            VectorFn::Gelu => match l.tables(&GELU_SLOPE_BELOW_ZERO) {
                Some(slope) => scale_derivative(
                    l,
                    x,
                    g,
                    c,
                    dst,
                    n,
                    #[inline(always)]
                    |x| gelu_derivative_by_tables(l, x, &slope),
                ),
                None => scale_derivative(
                    l,
                    x,
                    g,
                    c,
                    dst,
                    n,
                    #[inline(always)]
                    |x| gelu_derivative(l, x),
                ),
            },
            // sin' = cos, cos' = -sin.
            VectorFn::Sin => scale_derivative(
                l,
                x,
                g,
                c,
                dst,
                n,
                #[inline(always)]
                |x| sin_or_cos::<L, true>(l, x),
            ),
            VectorFn::Cos => scale_derivative(
                l,
                x,
                g,
                c,
                dst,
                n,
                #[inline(always)]
                |x| l.mul(sin_or_cos::<L, false>(l, x), l.splat(-1.0)),
            ),
            _ => scale_derivative(
                l,
                x,
                g,
                c,
                dst,
                n,
                #[inline(always)]
                |x| silu_derivative(l, x),
            ),
        }
    }
}

/// `dst[i] = s[i] * derivative(x[i])`, `s` as [`apply_grad_lanes`] says; `derivative` is
/// `#[inline(always)]` at every caller, as `map_vectors`' `op`.
///
/// # Safety
/// As [`apply_grad_lanes`].
#[inline(always)]
unsafe fn scale_derivative<L: Lanes>(
    l: L,
    x: *const f32,
    g: *const f32,
    c: f32,
    dst: *mut f32,
    n: usize,
    derivative: impl Fn(L::V) -> L::V,
) {
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
/// `g` is readable and writable, `gy` and `y` readable, for `n` elements; `gy` is `g` or
/// apart from it.
#[inline(always)]
unsafe fn add_log_softmax_grad_lanes<L: Lanes>(
    l: L,
    g: *mut f32,
    gy: *const f32,
    y: *const f32,
    total: f32,
    n: usize,
    accumulate: bool,
) {
    let total = l.splat(total);
    let mut i = 0;
    while i < n {
        let count = (n - i).min(L::N);
        // SAFETY: `count` values at `i` lie inside all three rows; each vector of `gy` is
        // loaded before the store to the same place in `g`.
        unsafe {
            let e = exp(l, l.load(y.add(i), count));
            let d = l.fnmadd(e, total, l.load(gy.add(i), count));
            let d = if accumulate {
                l.add(l.load(g.add(i), count), d)
            } else {
                d
            };
            l.store(g.add(i), count, d);
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

/// e^x. Where every lane is above -87 (the results normal) as `e^r 2^n`, clamped at 89
/// (e^89 overflows; NaN stays NaN through the clamp); 0 where every lane is below -104;
/// elsewhere by [`exp_into_subnormals`].
#[inline(always)]
pub(super) fn exp<L: Lanes>(l: L, x: L::V) -> L::V {
    let x = l.min(l.splat(89.0), x);
    if l.all_above(x, -87.0) {
        let (e, n) = exp_parts(l, x);
        l.scale(e, n)
    } else if l.all_below(x, -104.0) {
        // e^x < 2^-150 (from -103.98 on) rounds to 0: masked rows, -inf.
        l.splat(0.0)
    } else {
        exp_into_subnormals(l, x)
    }
}

/// e^x for vectors with a lane at or below -87 (a subnormal result, or 0 from -104 on,
/// which clamping there leaves alone): the lanes above -87 as in [`exp`], those below 2^80
/// times larger and brought back by [`unshift`], so that no step underflows. Each
/// underflowing step took a microcode assist on an Intel core: a softmax over rows half
/// masked with -inf, as causal attention's, ran 6.4 times slower than unmasked (4096 rows
/// of 1024, one thread, 11.3 ms against 1.75).
#[inline(always)]
fn exp_into_subnormals<L: Lanes>(l: L, x: L::V) -> L::V {
    let (e, n) = exp_parts(l, l.max(l.splat(-87.0), x));
    let normal = l.scale(e, n);
    let low = l.min(l.splat(-87.0), l.max(l.splat(-104.0), x));
    let subnormal = unshift(l, exp_shifted(l, low, SHIFT));
    // NaN takes `subnormal`, NaN too.
    l.select_positive(l.add(x, l.splat(87.0)), normal, subnormal)
}

/// `e^x 2^shift` for `-150 <= x <= 1` and `0 <= shift <= 80` (in [`Lanes::scale`]'s range
/// without clamps): a result that would be subnormal unshifted stays normal.
#[inline(always)]
fn exp_shifted<L: Lanes>(l: L, x: L::V, shift: f32) -> L::V {
    let (e, n) = exp_parts(l, x);
    l.scale(e, l.add(n, l.splat(shift)))
}

/// `e^x = e 2^n`: `e = e^r` near 1 and the integer `n` (as a float), `x = n ln2 + r`.
#[inline(always)]
fn exp_parts<L: Lanes>(l: L, x: L::V) -> (L::V, L::V) {
    let (n, r) = reduce(l, x);
    let one = l.splat(1.0);
    // 1 + r (1 + r P(r))
    (l.fmadd(l.fmadd(poly(l, r), r, one), r, one), n)
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

/// Below this magnitude the three-part reduction by `pi / 2` keeps `sin` and `cos` within
/// 2 ulp (cephes' bound for its `sinf`); vectors with a lane past it (or NaN, or infinite)
/// take `f32::sin` / `f32::cos` lane by lane.
const SIN_REDUCTION_BOUND: f32 = 8192.0;
/// `pi / 2` in three `f32` parts, each step of the reduction exact or rounded relative to
/// its result: `x - k P1` is exact for `|x| < 8192` (a multiple of `P1`'s last place).
const PIO2: [f32; 3] = [1.570_796_4, -4.371_139e-8, -1.715_124_5e-15];
/// cephes' `sinf` and `cosf` polynomials on `[-pi/4, pi/4]`.
const SIN_POLY: [f32; 3] = [-1.666_665_5e-1, 8.332_161e-3, -1.951_529_6e-4];
const COS_POLY: [f32; 3] = [4.166_664_6e-2, -1.388_731_6e-3, 2.443_315_7e-5];

/// `sin x` (`COS` false) or `cos x`: `x = k pi/2 + r`, `|r| <= pi/4`, then the sine or
/// cosine polynomial of `r` by the quadrant `k mod 4`, with its sign. `f32::sin`, called
/// per element, kept `x.sin()` at 2.8 ns per value on one Zen 4 thread (PyTorch 1.3).
#[inline(always)]
fn sin_or_cos<L: Lanes, const COS: bool>(l: L, x: L::V) -> L::V {
    if !l.all_below(l.abs(x), SIN_REDUCTION_BOUND) {
        return lane_by_lane(l, x, if COS { f32::cos } else { f32::sin });
    }
    let k = l.round(l.mul(x, l.splat(core::f32::consts::FRAC_2_PI)));
    let r = l.fnmadd(k, l.splat(PIO2[0]), x);
    let r = l.fnmadd(k, l.splat(PIO2[1]), r);
    let r = l.fnmadd(k, l.splat(PIO2[2]), r);
    let r2 = l.mul(r, r);
    // sin r = r + r^3 S(r^2), with the sign of `r` (so that sin(-0) is -0).
    let s_poly = l.fmadd(
        l.fmadd(l.splat(SIN_POLY[2]), r2, l.splat(SIN_POLY[1])),
        r2,
        l.splat(SIN_POLY[0]),
    );
    let sin_r = l.fmadd(l.mul(r2, r), s_poly, r);
    let sin_r = l.with_sign_of(l.abs(sin_r), r);
    // cos r = 1 - r^2 / 2 + r^4 C(r^2).
    let c_poly = l.fmadd(
        l.fmadd(l.splat(COS_POLY[2]), r2, l.splat(COS_POLY[1])),
        r2,
        l.splat(COS_POLY[0]),
    );
    let cos_r = l.fmadd(
        l.mul(r2, r2),
        c_poly,
        l.fnmadd(l.splat(0.5), r2, l.splat(1.0)),
    );
    // The quadrant m = k mod 4 in {0, 1, 2, 3}, in floats (every step exact; no ties:
    // `(k - 1.5) / 4` and `(m - 0.5) / 2` are never halves).
    let m = l.fnmadd(
        l.splat(4.0),
        l.round(l.mul(l.sub(k, l.splat(1.5)), l.splat(0.25))),
        k,
    );
    let odd = l.fnmadd(
        l.splat(2.0),
        l.round(l.mul(l.sub(m, l.splat(0.5)), l.splat(0.5))),
        m,
    );
    let negate = |v| l.mul(v, l.splat(-1.0));
    if COS {
        // cos(k pi/2 + r): cos r, -sin r, -cos r, sin r.
        let base = l.select_positive(odd, sin_r, cos_r);
        let middle = l.mul(l.sub(m, l.splat(0.5)), l.sub(l.splat(2.5), m));
        l.select_positive(middle, negate(base), base)
    } else {
        // sin(k pi/2 + r): sin r, cos r, -sin r, -cos r.
        let base = l.select_positive(odd, cos_r, sin_r);
        l.select_positive(l.sub(m, l.splat(1.5)), negate(base), base)
    }
}

/// `f` of every lane of `x`, one at a time (the rare vectors the fast path leaves).
#[inline(always)]
fn lane_by_lane<L: Lanes>(l: L, x: L::V, f: fn(f32) -> f32) -> L::V {
    let mut values = [0.0f32; 16];
    // SAFETY: `values` holds 16 >= `L::N` floats.
    unsafe { l.store(values.as_mut_ptr(), L::N, x) };
    for v in &mut values[..L::N] {
        *v = f(*v);
    }
    // SAFETY: as above.
    unsafe { l.load(values.as_ptr(), L::N) }
}

/// Past 87 in magnitude `e^-|x|` is subnormal (and so sigmoid below -87, and SiLU); 86
/// keeps `exp` of the bound itself on its plain steps.
const SIGMOID_NORMAL_BOUND: f32 = 86.0;

/// `1 / (1 + e^-x)`; vectors with a lane past 86 in magnitude by [`sigmoid_past_bound`].
#[inline(always)]
fn sigmoid<L: Lanes>(l: L, x: L::V) -> L::V {
    if l.all_below(l.abs(x), SIGMOID_NORMAL_BOUND) {
        sigmoid_within_bound(l, x)
    } else {
        sigmoid_past_bound(l, x)
    }
}

/// `1 / (1 + e^-x)` as the plain `sigmoid`: `e = e^-|x|` (never overflows), then
/// `1 / (1 + e)` for `x >= 0` and `e / (1 + e)` below (NaN takes the second).
#[inline(always)]
fn sigmoid_within_bound<L: Lanes>(l: L, x: L::V) -> L::V {
    let one = l.splat(1.0);
    let e = exp(l, l.neg_abs(x));
    let numerator = l.select_non_negative(x, one, e);
    l.div(numerator, l.add(one, e))
}

/// `x` bounded to +-86, NaN kept.
#[inline(always)]
fn clamped_to_sigmoid_bound<L: Lanes>(l: L, x: L::V) -> L::V {
    let bound = l.splat(SIGMOID_NORMAL_BOUND);
    l.min(bound, l.max(l.sub(l.splat(0.0), bound), x))
}

/// Sigmoid with every step normal (see [`unshift`]): the formula over `x` bounded to +-86
/// (above, sigmoid is 1 already), and below -86 `e^x` itself (`1 + e^x` is 1 from -17 on),
/// subnormal, from [`exp`]. Dividing into a subnormal quotient took an assist per vector:
/// 4M values at -95, one thread, 29 ms (14 with `exp` alone kept normal) -> 3.3, 1.2 at
/// -50; a vector wholly below -104 gives zeros at once.
#[inline(always)]
fn sigmoid_past_bound<L: Lanes>(l: L, x: L::V) -> L::V {
    if l.all_below(x, -104.0) {
        // e^x rounds to 0 (as in `exp`).
        return l.splat(0.0);
    }
    let low = l.splat(-SIGMOID_NORMAL_BOUND);
    let within = sigmoid_within_bound(l, clamped_to_sigmoid_bound(l, x));
    // NaN takes `e^x`, NaN too; the bound keeps `e^x` from overflowing where not taken.
    l.select_positive(l.sub(x, low), within, exp(l, l.min(low, x)))
}

/// SiLU, `x sigmoid(x)`; vectors with a lane past 86 in magnitude with every step normal:
/// below -86 `x e^x`, 2^80 times larger and brought back by [`unshift`] (zero from -120
/// on, where it rounds to zero), and NaN at -inf as `-inf * 0` (the plain SiLU's).
#[inline(always)]
fn silu<L: Lanes>(l: L, x: L::V) -> L::V {
    if l.all_below(l.abs(x), SIGMOID_NORMAL_BOUND) {
        return l.mul(x, sigmoid_within_bound(l, x));
    }
    if l.all_below(x, -120.0) {
        // `x e^x` rounds to -0 (NaN at -inf).
        return l.mul(x, l.splat(0.0));
    }
    let low = l.splat(-SIGMOID_NORMAL_BOUND);
    let within = l.mul(x, sigmoid_within_bound(l, clamped_to_sigmoid_bound(l, x)));
    let below_x = l.min(low, l.max(l.splat(-120.0), x));
    let below = unshift(l, l.mul(below_x, exp_shifted(l, below_x, SHIFT)));
    let silu = l.select_positive(l.sub(x, low), within, below);
    let minus_infinity = l.sub(l.splat(f32::MIN), x);
    l.select_positive(minus_infinity, l.mul(x, l.splat(0.0)), silu)
}

/// `Q(a) 2^shift` for `0 <= a <= 16`, `Q(a) = P(Z > a) = Phi(-a)`, step for step as the
/// plain `f32` normal CDF in `crate::ops::unary` (see there for the method and its error,
/// about four ulp): Numerical Recipes' `erfc(z) = t e^(P(t) - z^2)`, `t = 1 / (1 + z/2)` to
/// about one rounding, `z^2` and `P - z^2` carried with their rounding errors. A `shift`
/// of 80 keeps every step normal up to `a = 16` (`Q(16) = 6e-58`).
#[inline(always)]
fn upper_tail_shifted<L: Lanes>(l: L, a: L::V, shift: f32) -> L::V {
    const C: [f32; 10] = ERFC_POLY_F32;
    let (one, half) = (l.splat(1.0), l.splat(0.5));
    let half_z = l.mul(half, l.mul(a, l.splat(core::f32::consts::FRAC_1_SQRT_2)));
    let d = l.add(one, half_z);
    let d_err = l.sub(half_z, l.sub(d, one));
    let t0 = l.div(one, d);
    let residual = l.fnmadd(t0, d_err, l.fnmadd(t0, d, one));
    let t = l.fmadd(t0, residual, t0);
    let mut p = l.splat(C[0]);
    for &c in &C[1..] {
        p = l.fmadd(p, t, l.splat(c));
    }
    let (hi, lo) = half_square(l, a);
    let s = l.sub(p, hi);
    let err = l.sub(p, l.add(s, hi));
    let scaled = l.mul(l.mul(half, t), exp_shifted(l, s, shift));
    l.fmadd(scaled, l.sub(err, lo), scaled)
}

/// `2^SHIFT`'s inverse and the factor from it to the smallest subnormal's `2^149`.
const SHIFT: f32 = 80.0;
const UNSHIFT: f32 = 1.0 / (1u128 << 80) as f32;
const UNSHIFT_TO_SUBNORMAL_UNITS: f32 = (1u128 << (149 - 80)) as f32;

/// `y 2^-SHIFT` rounded once, also where that is subnormal, without a step whose result is
/// subnormal or overflows: on Intel cores each such step takes a microcode assist of about
/// 150 cycles, which made GELU over values of spread 10 (one in ten below -13, where GELU
/// is subnormal) twelve times slower than at spread 1 (4M values, one thread, 34 ms; PyTorch
/// 1.2, which flushes them to zero). A subnormal's bits are its multiple of `2^-149`: the
/// nearest integer to `|y| 2^(149 - SHIFT)`, with the sign of `y`.
#[inline(always)]
fn unshift<L: Lanes>(l: L, y: L::V) -> L::V {
    let magnitude = l.abs(y);
    let smallest = l.splat(f32::MIN_POSITIVE / UNSHIFT);
    // |y| 2^-SHIFT below the smallest normal, 2^-126 (NaN is not).
    let below_normal = l.sub(smallest, magnitude);
    // Both are computed in every lane, each from `|y|` bounded so that it stays normal and
    // finite (a bound, not a select: LLVM moves a select past the product).
    let normal = l.mul(
        l.with_sign_of(l.max(smallest, magnitude), y),
        l.splat(UNSHIFT),
    );
    let units = l.mul(
        l.min(smallest, magnitude),
        l.splat(UNSHIFT_TO_SUBNORMAL_UNITS),
    );
    let subnormal = l.with_sign_of(l.integer_bits(units), y);
    l.select_positive(below_normal, subnormal, normal)
}

/// Below 12.5 in magnitude every step of `x Phi(x)` is normal as it stands: the vectors
/// within it skip [`gelu_general`]'s shifts and bounds (a fifth of its operations).
#[inline(always)]
fn gelu_within_or_general<L: Lanes>(l: L, x: L::V, a: L::V) -> L::V {
    if l.all_below(a, 12.5) {
        let q = upper_tail_shifted(l, a, 0.0);
        l.mul(x, l.select_positive(x, l.sub(l.splat(1.0), q), q))
    } else {
        gelu_general(l, x)
    }
}

/// GELU as `x Phi(x)`, to the plain `f32` GELU's bound (about four ulp) from the largest
/// values down to the subnormal tail, every step normal (see [`unshift`]).
#[inline(always)]
fn gelu_general<L: Lanes>(l: L, x: L::V) -> L::V {
    let (zero, one) = (l.splat(0.0), l.splat(1.0));
    let a = l.abs(x);
    // Past 16, `x Q(-x)` rounds to zero: `Q` is taken as 0 there, so that -inf gives NaN
    // (as the plain GELU and PyTorch's), and NaN stays NaN through `x`.
    let q = upper_tail_shifted(l, l.min(l.splat(16.0), a), SHIFT);
    let q = l.select_positive(l.sub(l.splat(16.0), a), q, zero);
    // Above zero `1 - Q(x)` is 1 from 5.5 on: `Q` below 2^-40 is taken as 2^-40, so that
    // the product stays normal (in the lanes below zero too, where it is not used).
    let q_above = l.mul(
        l.max(l.splat(2f32.powi(-40) / UNSHIFT), q),
        l.splat(UNSHIFT),
    );
    let above = l.mul(x, l.sub(one, q_above));
    let below = unshift(l, l.mul(x, q));
    l.select_positive(x, above, below)
}

/// `x^2 / 2` as `hi + lo` exactly (the product and its rounding error).
#[inline(always)]
fn half_square<L: Lanes>(l: L, x: L::V) -> (L::V, L::V) {
    let half = l.splat(0.5);
    let square = l.mul(x, x);
    (l.mul(half, square), l.mul(half, l.fmsub(x, x, square)))
}

/// GELU's derivative `Phi(x) + x phi(x)` as the plain `f32` one: `phi` from `e^(-x^2/2)`
/// with `x^2 / 2` carried in two parts. Past 12.5 on either side the slope is within 1e-33
/// of 0 or 1: `Q` and `phi` are taken as 0 there, which keeps every step normal (see
/// [`unshift`]) and the infinities NaN as in the plain one.
#[inline(always)]
fn gelu_derivative<L: Lanes>(l: L, x: L::V) -> L::V {
    // 1 / sqrt(2 pi)
    const INV_SQRT_2PI: f32 = 0.398_942_3;
    let (zero, one) = (l.splat(0.0), l.splat(1.0));
    let a = l.min(l.splat(12.5), l.abs(x));
    let within = l.sub(l.splat(12.5), l.abs(x));
    let (hi, lo) = half_square(l, a);
    let e = exp(l, l.sub(zero, hi));
    let pdf = l.mul(l.splat(INV_SQRT_2PI), l.fnmadd(e, lo, e));
    let pdf = l.select_positive(within, pdf, zero);
    let q = l.select_positive(within, upper_tail_shifted(l, a, 0.0), zero);
    l.fmadd(x, pdf, l.select_positive(x, l.sub(one, q), q))
}

/// Where the tables of `super::normal_tables` end: `a` below it rounds to a piece
/// `k = round(4a) <= 31`.
const TABLE_END: f32 = (PIECES as f32 - 0.5) / 4.0;

/// The piece `k = round(4a)` of each lane (in the low bits of `index`, for
/// [`Lanes::lookup`]) and `u = a - k / 4` (exact), for `0 <= a < TABLE_END`.
#[inline(always)]
fn piece<L: Lanes>(l: L, a: L::V) -> (L::V, L::V) {
    // 1.5 * 2^23: the sum's unit in the last place is 1, so adding it rounds `4a` to an
    // integer, which lands in the lowest mantissa bits.
    const ROUNDER: f32 = 12_582_912.0;
    let index = l.fmadd(a, l.splat(4.0), l.splat(ROUNDER));
    let k = l.sub(index, l.splat(ROUNDER));
    (index, l.fnmadd(k, l.splat(0.25), a))
}

/// The piece's polynomial in `u` by Horner's rule, its coefficients looked up per lane.
#[inline(always)]
fn piece_polynomial<L: Lanes, const K: usize>(
    l: L,
    tables: &[L::Table; K],
    index: L::V,
    u: L::V,
) -> L::V {
    let mut p = l.lookup(tables[K - 1], index);
    for &t in tables[..K - 1].iter().rev() {
        p = l.fmadd(p, u, l.lookup(t, index));
    }
    p
}

/// GELU within the bound of [`gelu_general`] in under half its operations, where every
/// lane lies within the tables: `Q(|x|)` from its piece's polynomial (no division, no
/// exponential), then `x - x Q` above zero (one rounding) and `x Q` below. A vector with a
/// lane past `TABLE_END` (or NaN) takes [`gelu_within_or_general`]: with inputs of spread 3,
/// one vector in eight. One thread on an Intel core (Emerald Rapids), 4M values, ms, before
/// and after, PyTorch 1.1-1.2 at every spread: spread 1 2.8-2.9 -> 1.13-1.24, spread 2
/// 2.7-2.9 -> 1.14-1.2, spread 3 2.7-2.8 -> 1.66-1.86. Pieces of width 1/8 (degree 5,
/// within 3.94) were 10% faster at spread 1 but took the general steps for most vectors
/// from spread 2 on (2.75-2.9 ms there).
#[inline(always)]
fn gelu_by_tables<L: Lanes>(l: L, x: L::V, upper_tail: &[L::Table; 8]) -> L::V {
    let a = l.abs(x);
    if !l.all_below(a, TABLE_END) {
        return gelu_within_or_general(l, x, a);
    }
    let (index, u) = piece(l, a);
    let q = piece_polynomial(l, upper_tail, index, u);
    l.select_positive(x, l.fnmadd(x, q, x), l.mul(x, q))
}

/// [`gelu_derivative`] by the tables where every lane lies within them: the slope at
/// `-|x|` from its piece's polynomial, and one minus it above zero (`Phi(x) + x phi(x)`
/// is `1 - (Q(x) - x phi(x))`).
#[inline(always)]
fn gelu_derivative_by_tables<L: Lanes>(l: L, x: L::V, slope_below_zero: &[L::Table; 6]) -> L::V {
    let a = l.abs(x);
    if !l.all_below(a, TABLE_END) {
        return gelu_derivative(l, x);
    }
    let (index, u) = piece(l, a);
    let g = piece_polynomial(l, slope_below_zero, index, u);
    l.select_positive(x, l.sub(l.splat(1.0), g), g)
}

/// SiLU's derivative `s (1 + x (1 - s))`, `s = sigmoid(x)`. Past 86 in magnitude the slope
/// is within 1e-35 of 0 (below) or 1 (above): `s` comes from `x` bounded to +-86 and the
/// slope below -86 is taken as 0 (by a product, so that -inf still gives NaN), every step
/// normal.
#[inline(always)]
fn silu_derivative<L: Lanes>(l: L, x: L::V) -> L::V {
    let one = l.splat(1.0);
    if l.all_below(l.abs(x), SIGMOID_NORMAL_BOUND) {
        let s = sigmoid_within_bound(l, x);
        return l.mul(s, l.fmadd(x, l.sub(one, s), one));
    }
    let s = sigmoid_within_bound(l, clamped_to_sigmoid_bound(l, x));
    let slope = l.mul(s, l.fmadd(x, l.sub(one, s), one));
    let above_low = l.add(x, l.splat(SIGMOID_NORMAL_BOUND));
    l.mul(slope, l.select_positive(above_low, one, l.splat(0.0)))
}
