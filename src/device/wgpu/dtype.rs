//! One WGSL source per kernel, compiled once per element type: every kernel is written over
//! the alias `T` and the helpers below, and the prelude of its element type (f32 or f64) is
//! put in front of it. Float parameters reach the shaders through [`Params`] and `sc(i)`.
//!
//! WGSL has f64 only as an extension (wgpu's `SHADER_F64`), and Vulkan's extended
//! instruction set has no 64-bit `exp`, `log`, `tanh`, `pow`, `sin` or `cos`: the f64 prelude
//! computes those in software (range reduction and polynomials, to an ulp or two), so that
//! f64 kernels are exact enough on every driver, not only on the ones that accept the
//! 32-bit instructions on doubles.

use crate::dtype::Float;

/// The kernel parameters of one launch: `u32` words, and float scalars that take one word in
/// an f32 kernel and two (a high and a low f32 part, `x = hi + lo` to 48 bits) in an f64
/// kernel. Shaders read word `i` as `p[i]` and the float at word `i` as `sc(i)`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params {
    hi: Vec<u32>,
    lo: Vec<u32>,
}

impl Params {
    /// No parameters yet.
    pub(crate) fn new() -> Self {
        Params::default()
    }
    /// Appends an integer word.
    pub(crate) fn u(mut self, x: usize) -> Self {
        self.hi.push(x as u32);
        self.lo.push(0);
        self
    }
    /// Appends integer words.
    pub(crate) fn us(mut self, xs: impl IntoIterator<Item = u32>) -> Self {
        for x in xs {
            self.hi.push(x);
            self.lo.push(0);
        }
        self
    }
    /// Appends a float scalar (read with `sc(i)`).
    pub(crate) fn f<E: Float>(mut self, x: E) -> Self {
        let v = x.to_f64();
        let hi = v as f32;
        let lo = if hi.is_finite() {
            (v - hi as f64) as f32
        } else {
            0.0
        };
        self.hi.push(hi.to_bits());
        self.lo.push(lo.to_bits());
        self
    }
    /// The bytes of the parameter buffer for element type `dtype`: the words, then for f64
    /// the low parts of the float scalars (one per word, zero for integer words).
    pub(crate) fn bytes(&self, dtype: &str) -> Vec<u8> {
        let words: Vec<u32> = if self.hi.is_empty() {
            vec![0]
        } else if dtype == "f64" {
            self.hi.iter().chain(&self.lo).copied().collect()
        } else {
            self.hi.clone()
        };
        words.iter().flat_map(|x| x.to_le_bytes()).collect()
    }
}

impl From<&[u32]> for Params {
    fn from(words: &[u32]) -> Self {
        Params::new().us(words.iter().copied())
    }
}

/// The WGSL put in front of every kernel compiled for `dtype` ("f32" or "f64").
pub(crate) fn prelude(dtype: &str) -> &'static str {
    if dtype == "f64" {
        PRELUDE_F64
    } else {
        PRELUDE_F32
    }
}

/// The f32 helpers are the builtins: f32 kernels compile to what they were before `T`.
const PRELUDE_F32: &str = r#"
alias T = f32;
fn sc(i: u32) -> T { return bitcast<f32>(p[i]); }
fn inf_t() -> T { return bitcast<f32>(0x7f800000u); }
fn nan_t() -> T { return bitcast<f32>(0x7fc00000u); }
fn max_t() -> T { return 3.4028235e38; }
fn is_nan_t(v: T) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn exp_t(x: T) -> T { return exp(x); }
fn log_t(x: T) -> T { return log(x); }
fn tanh_t(x: T) -> T { return tanh(x); }
// tanh is +-1 in f32 well before 15; the clamp keeps exp-based implementations from
// overflowing into NaN (the f64 tanh_t needs no clamp).
fn tanh_sat_t(x: T) -> T { return tanh(clamp(x, -15.0, 15.0)); }
fn pow_t(x: T, a: T) -> T { return pow(x, a); }
fn sin_t(x: T) -> T { return sin(x); }
fn cos_t(x: T) -> T { return cos(x); }
// erfc to ~1.2e-7 relative (Numerical Recipes' Chebyshev fit), enough for f32.
fn erfc_t(x: T) -> T {
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277)))))))));
    return select(2.0 - r, r, x >= 0.0);
}
"#;

/// Double-precision helpers from +, *, /, floor, round and ldexp only (the operations Vulkan
/// has for 64-bit floats).
const PRELUDE_F64: &str = r#"
alias T = f64;
fn sc(i: u32) -> T {
    let half = arrayLength(&p) / 2u;
    return f64(bitcast<f32>(p[i])) + f64(bitcast<f32>(p[i + half]));
}
fn inf_t() -> T { return f64(bitcast<f32>(0x7f800000u)); }
fn nan_t() -> T { return f64(bitcast<f32>(0x7fc00000u)); }
fn max_t() -> T { return 1.7976931348623157e308; }
fn is_nan_t(v: T) -> bool { return !(v == v); }
// 2^k * s in two steps, so that neither factor overflows or flushes early.
fn scale2_t(s: T, k: i32) -> T {
    let h = k / 2;
    return ldexp(ldexp(s, h), k - h);
}
fn exp_t(x: T) -> T {
    if (is_nan_t(x)) { return x; }
    if (x > 709.782712893384) { return inf_t(); }
    if (x < -745.1332191019412) { return 0.0; }
    let k = round(x * 1.4426950408889634);
    // x - k ln 2 with ln 2 in two parts (the high part has trailing zero bits: k * hi is exact),
    // each step one fma. Written as two subtractions, NVIDIA's Vulkan compiler (H200, driver
    // 580) evaluated them as if regrouped into x - k (hi + lo), k ln 2 rounded to x's last
    // place: e^x was off by up to 2.5e-14 relative (tests/gpu_f64.rs, software_math_*).
    let r = fma(-k, 1.90821492927058770002e-10, fma(-k, 6.93147180369123816490e-01, x));
    // e^r for |r| <= 0.35: Taylor to degree 13 (the next term is below 2^-56).
    var s: T = 1.0 / 6227020800.0;
    s = s * r + 1.0 / 479001600.0;
    s = s * r + 1.0 / 39916800.0;
    s = s * r + 1.0 / 3628800.0;
    s = s * r + 1.0 / 362880.0;
    s = s * r + 1.0 / 40320.0;
    s = s * r + 1.0 / 5040.0;
    s = s * r + 1.0 / 720.0;
    s = s * r + 1.0 / 120.0;
    s = s * r + 1.0 / 24.0;
    s = s * r + 1.0 / 6.0;
    s = s * r + 0.5;
    s = s * r + 1.0;
    s = s * r + 1.0;
    return scale2_t(s, i32(k));
}
// e^x - 1 without cancellation near 0.
fn expm1_t(x: T) -> T {
    if (abs(x) >= 0.5) { return exp_t(x) - 1.0; }
    var s: T = 1.0 / 355687428096000.0;
    s = s * x + 1.0 / 20922789888000.0;
    s = s * x + 1.0 / 1307674368000.0;
    s = s * x + 1.0 / 87178291200.0;
    s = s * x + 1.0 / 6227020800.0;
    s = s * x + 1.0 / 479001600.0;
    s = s * x + 1.0 / 39916800.0;
    s = s * x + 1.0 / 3628800.0;
    s = s * x + 1.0 / 362880.0;
    s = s * x + 1.0 / 40320.0;
    s = s * x + 1.0 / 5040.0;
    s = s * x + 1.0 / 720.0;
    s = s * x + 1.0 / 120.0;
    s = s * x + 1.0 / 24.0;
    s = s * x + 1.0 / 6.0;
    s = s * x + 0.5;
    return x + x * x * s;
}
fn log_t(x: T) -> T {
    if (is_nan_t(x) || x < 0.0) { return nan_t(); }
    if (x == 0.0) { return -inf_t(); }
    if (x > max_t()) { return x; }
    // x = m 2^e with m in [sqrt(1/2), sqrt(2)), by exact scalings (naga's f64 frexp needs
    // 64-bit integers): big steps into f32's range, an f32 log2 guess, then fix-ups.
    var m = x;
    var e: i32 = 0;
    for (var i = 0; i < 9 && m > 1e30; i++) {
        m = ldexp(m, -128);
        e += 128;
    }
    for (var i = 0; i < 9 && m < 1e-30; i++) {
        m = ldexp(m, 128);
        e -= 128;
    }
    let e0 = i32(floor(log2(f32(m))));
    m = ldexp(m, -e0);
    e += e0;
    if (m >= 2.0) {
        m = m * 0.5;
        e += 1;
    }
    if (m < 1.0) {
        m = m * 2.0;
        e -= 1;
    }
    if (m > 1.41421356237309504880) {
        m = m * 0.5;
        e += 1;
    }
    // log(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.172: odd series to s^23.
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    var t: T = 1.0 / 23.0;
    t = t * z + 1.0 / 21.0;
    t = t * z + 1.0 / 19.0;
    t = t * z + 1.0 / 17.0;
    t = t * z + 1.0 / 15.0;
    t = t * z + 1.0 / 13.0;
    t = t * z + 1.0 / 11.0;
    t = t * z + 1.0 / 9.0;
    t = t * z + 1.0 / 7.0;
    t = t * z + 1.0 / 5.0;
    t = t * z + 1.0 / 3.0;
    let ke = f64(e);
    // 2 s (1 + z t) = f - s (f - 2 z t) (as 2 s = f - s f): f enters exactly.
    let r = s * (f - 2.0 * z * t);
    // e ln 2 + f - r, the small parts first (fma: as in `exp_t`, against reassociation).
    return fma(ke, 6.93147180369123816490e-01, f + fma(ke, 1.90821492927058770002e-10, -r));
}
fn tanh_t(x: T) -> T {
    if (is_nan_t(x)) { return x; }
    let a = abs(x);
    if (a > 22.0) { return select(T(1.0), T(-1.0), x < 0.0); }
    let e = expm1_t(2.0 * a);
    let t = e / (e + 2.0);
    return select(t, -t, x < 0.0);
}
fn tanh_sat_t(x: T) -> T { return tanh_t(x); }
fn pow_t(x: T, a: T) -> T {
    if (a == 0.0) { return 1.0; }
    if (is_nan_t(x) || is_nan_t(a)) { return nan_t(); }
    if (x == 0.0) { return select(inf_t(), 0.0, a > 0.0); }
    if (x < 0.0) { return nan_t(); }
    return exp_t(a * log_t(x));
}
// sin and cos of r in [-pi/4, pi/4].
fn sin_kernel_t(r: T) -> T {
    let z = r * r;
    var s: T = -1.0 / 1307674368000.0;
    s = s * z + 1.0 / 6227020800.0;
    s = s * z - 1.0 / 39916800.0;
    s = s * z + 1.0 / 362880.0;
    s = s * z - 1.0 / 5040.0;
    s = s * z + 1.0 / 120.0;
    s = s * z - 1.0 / 6.0;
    return r + r * z * s;
}
fn cos_kernel_t(r: T) -> T {
    let z = r * r;
    var s: T = 1.0 / 20922789888000.0;
    s = s * z - 1.0 / 87178291200.0;
    s = s * z + 1.0 / 479001600.0;
    s = s * z - 1.0 / 3628800.0;
    s = s * z + 1.0 / 40320.0;
    s = s * z - 1.0 / 720.0;
    s = s * z + 1.0 / 24.0;
    return 1.0 - 0.5 * z + z * z * s;
}
// x - q pi/2 with pi/2 in three parts (exact enough for |x| up to ~1e9); returns r, and q mod 4.
fn reduce_half_pi_t(x: T, q: ptr<function, i32>) -> T {
    let k = round(x * 0.63661977236758134308);
    *q = i32(k - 4.0 * floor(k / 4.0));
    // One fma per part (as in `exp_t`, against reassociation).
    let r = fma(-k, 6.07710050630396597660e-11, fma(-k, 1.57079632673412561417e+00, x));
    return fma(-k, 2.02226624879595063154e-21, r);
}
fn sin_t(x: T) -> T {
    if (is_nan_t(x) || abs(x) > max_t()) { return nan_t(); }
    var q: i32 = 0;
    let r = reduce_half_pi_t(x, &q);
    switch q {
        case 0: { return sin_kernel_t(r); }
        case 1: { return cos_kernel_t(r); }
        case 2: { return -sin_kernel_t(r); }
        default: { return -cos_kernel_t(r); }
    }
}
fn cos_t(x: T) -> T {
    if (is_nan_t(x) || abs(x) > max_t()) { return nan_t(); }
    var q: i32 = 0;
    let r = reduce_half_pi_t(x, &q);
    switch q {
        case 0: { return cos_kernel_t(r); }
        case 1: { return -sin_kernel_t(r); }
        case 2: { return -cos_kernel_t(r); }
        default: { return sin_kernel_t(r); }
    }
}
// erfc as the CPU's f64 erf: the Taylor series below 2.5, a continued fraction above.
fn erfc_t(x: T) -> T {
    if (is_nan_t(x)) { return x; }
    let ax = abs(x);
    var r: T = 0.0; // erf(|x|)
    if (ax < 2.5) {
        let x2 = ax * ax;
        var term = ax;
        var sum = ax;
        for (var n: T = 1.0; n < 200.0; n += 1.0) {
            term *= -x2 / n;
            let add = term / (2.0 * n + 1.0);
            sum += add;
            if (abs(add) <= 1e-17 * abs(sum)) { break; }
        }
        r = sum * 1.12837916709551257390;
    } else if (ax > 27.0) {
        return select(T(2.0), T(0.0), x > 0.0);
    } else {
        // erfc(ax) = exp(-ax^2)/sqrt(pi) / (ax + (1/2)/(ax + 1/(ax + (3/2)/(ax + ...)))), Lentz.
        let tiny: T = 1e-300;
        var f = ax;
        var c = ax;
        var d: T = 0.0;
        for (var i: T = 1.0; i < 300.0; i += 1.0) {
            let a = i / 2.0;
            d = ax + a * d;
            if (abs(d) < tiny) { d = tiny; }
            c = ax + a / c;
            if (abs(c) < tiny) { c = tiny; }
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (abs(delta - 1.0) < 1e-16) { break; }
        }
        let tail = exp_t(-ax * ax) / (f * 1.77245385090551602730);
        return select(2.0 - tail, tail, x > 0.0);
    }
    return select(1.0 + r, 1.0 - r, x >= 0.0);
}
"#;
