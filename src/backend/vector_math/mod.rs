//! `exp`, `tanh`, `sigmoid`, SiLU, GELU, `sin` and `cos` over `f32` slices, written with
//! AVX-512 and AVX2 + FMA intrinsics, the row loops of softmax built on that `exp`, and
//! `x^p` for a constant exponent ([`pow`]).
//!
//! Why by hand: the element loops elsewhere are plain Rust that the compiler vectorises
//! ([`super::simd`]), which cannot use two instructions these functions need. Rust does not
//! fuse `a * b + c` into one multiply-add (and `f32::mul_add` would be a library call per
//! element on the CPUs without FMA that run the same source), and no plain-Rust expression
//! becomes AVX-512's `vscalefps`, which multiplies by `2^n` with overflow to infinity and
//! exactly rounded subnormal results in one step. [`crate::dtype::exp_f32`] spends 36
//! vector instructions per 16 values on Zen 4 (double-pumped 512-bit operations), so a
//! 4M-element `exp` ran at 0.66x PyTorch's speed on one thread; the one here is 15.
//!
//! The functions are written once ([`kernels`]) over the vector operations of [`lanes`],
//! and compiled for both instruction sets. The results are those of the plain versions'
//! formulas (the same range reductions and polynomials, evaluated with fused steps): `exp`,
//! `tanh` and `sigmoid` within 2 ulp of the exact values, GELU within the plain `f32`
//! GELU's bound, NaN and infinities as `f32::exp` and `f32::tanh`; `sin` and `cos` (whose
//! plain versions are the C library's, called per element) within 2 ulp, by cephes'
//! reduction and polynomials, with `f32::sin` / `f32::cos` past `|x| = 8192`. `f64`, other
//! CPUs and `SHAPED_SIMD=portable` take the plain loops.

#[cfg(target_arch = "x86_64")]
mod kernels;
#[cfg(target_arch = "x86_64")]
mod lanes;
#[cfg(target_arch = "x86_64")]
mod normal_tables;
mod pow;
pub(crate) mod scalar;

pub(crate) use pow::{vector_powf, vector_powf_in_place};

use crate::dtype::Float;
use crate::dtype::private::Slice;
use core::mem::MaybeUninit;

/// An element function with a hand-vectorised `f32` loop here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VectorFn {
    /// e^x
    Exp,
    /// tanh x
    Tanh,
    /// 1 / (1 + e^-x)
    Sigmoid,
    /// x * sigmoid(x)
    Silu,
    /// x * Phi(x), Phi the normal CDF (PyTorch's exact GELU)
    Gelu,
    /// sin x
    Sin,
    /// cos x
    Cos,
}

impl VectorFn {
    /// Whether [`vector_grad_scaled`] and [`vector_grad_mul`] take it: the functions whose
    /// derivative is read off the input.
    fn has_derivative(self) -> bool {
        matches!(
            self,
            VectorFn::Silu | VectorFn::Gelu | VectorFn::Sin | VectorFn::Cos
        )
    }
}

#[cfg(target_arch = "x86_64")]
use kernels::Isa;

/// No instruction set: nothing here runs on other architectures.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy)]
enum Isa {}

/// The instruction set of the loops here in this process, if they run for `E` (`f32` only;
/// see [`super::simd::level`] for the choice, `SHAPED_SIMD` included).
fn isa<E: Float>() -> Option<Isa> {
    if !matches!(E::concrete(&[]), Slice::F32(_)) {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use super::simd::{Level, level};
        match level() {
            Level::Avx512 => Some(Isa::Avx512),
            Level::Avx2 => Some(Isa::Avx2),
            Level::Baseline => None,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// Whether the loops here run for `E` in this process (`f32` with AVX-512 or AVX2).
#[inline]
pub(crate) fn applies<E: Float>() -> bool {
    isa::<E>().is_some()
}

/// `dst[i] = f(src[i])` for `i < n`.
///
/// # Safety
/// `isa` came from [`isa`]; `src` is readable and `dst` writable for `n` `f32`s, the same
/// pointer or apart.
unsafe fn run_apply(isa: Isa, f: VectorFn, src: *const f32, dst: *mut f32, n: usize) {
    // SAFETY: the caller's guarantee, passed on.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        kernels::apply(isa, f, src, dst, n)
    }
    #[cfg(not(target_arch = "x86_64"))]
    match (isa, f, src, dst, n) {}
}

/// `dst[i] = s[i] * f'(x[i])` for `i < n`, `s` being `g` (null: `c` everywhere).
///
/// # Safety
/// `isa` came from [`isa`]; `x` and `g` (unless null) are readable and `dst` writable for
/// `n` `f32`s; `g` and `dst` are the same pointer or apart.
unsafe fn run_apply_grad(
    isa: Isa,
    f: VectorFn,
    x: *const f32,
    g: *const f32,
    c: f32,
    dst: *mut f32,
    n: usize,
) {
    // SAFETY: the caller's guarantee, passed on.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        kernels::apply_grad(isa, f, x, g, c, dst, n)
    }
    #[cfg(not(target_arch = "x86_64"))]
    match (isa, f, x, g, c, dst, n) {}
}

/// `f(x)` for every element as a new vector (split over the threads for long slices), or
/// `None` where the loops here do not run (see [`applies`]).
pub(crate) fn vector_map<E: Float>(f: VectorFn, x: &[E]) -> Option<Vec<E>> {
    let isa = isa::<E>()?;
    let write = |off: usize, block: &mut [MaybeUninit<E>]| {
        let src = &x[off..][..block.len()];
        // SAFETY: `E` is `f32` (`isa` said so), so the casts change no layout; `src` and
        // `block` are separate and of the same length.
        unsafe {
            run_apply(
                isa,
                f,
                src.as_ptr().cast(),
                block.as_mut_ptr().cast(),
                src.len(),
            )
        }
    };
    // SAFETY: `write` writes each block whole (`run_apply` is given its length).
    Some(unsafe { super::parallel::collect_blocks(x.len(), write) })
}

/// `x[i] = f(x[i])` in place (split over the threads for long slices); false, leaving `x`
/// alone, where the loops here do not run.
pub(crate) fn vector_map_in_place<E: Float>(f: VectorFn, x: &mut [E]) -> bool {
    let Some(isa) = isa::<E>() else {
        return false;
    };
    super::parallel::for_blocks(x, |_, block| {
        let p = block.as_mut_ptr().cast();
        // SAFETY: as in `vector_map`, the block read and written in place.
        unsafe { run_apply(isa, f, p, p, block.len()) }
    });
    true
}

/// `dst[i] = f(src[i])` on the calling thread (the gate planes of a recurrent step, already
/// split over the threads by rows); false, with nothing written, where the loops here do
/// not run.
#[inline]
pub(crate) fn apply_into<E: Float>(f: VectorFn, src: &[E], dst: &mut [MaybeUninit<E>]) -> bool {
    assert_eq!(src.len(), dst.len(), "apply_into: lengths");
    let Some(isa) = isa::<E>() else {
        return false;
    };
    // SAFETY: `E` is `f32`; `src` and `dst` are separate and of the same length.
    unsafe {
        run_apply(
            isa,
            f,
            src.as_ptr().cast(),
            dst.as_mut_ptr().cast(),
            src.len(),
        )
    };
    true
}

/// `x[i] = f(x[i])` on the calling thread, as [`apply_into`].
#[inline]
pub(crate) fn apply_in_place<E: Float>(f: VectorFn, x: &mut [E]) -> bool {
    let Some(isa) = isa::<E>() else {
        return false;
    };
    let p = x.as_mut_ptr().cast();
    // SAFETY: `E` is `f32`; `x` is read and written in place.
    unsafe { run_apply(isa, f, p, p, x.len()) };
    true
}

/// `c * f'(x[i])` for every element as a new vector (split over the threads for long
/// slices): the input gradient of `f` under a uniform output gradient `c` (a whole-tensor
/// sum's). `None` for the functions whose backward reads their output instead (exp, tanh,
/// sigmoid) and where the loops here do not run.
pub(crate) fn vector_grad_scaled<E: Float>(f: VectorFn, c: E, x: &[E]) -> Option<Vec<E>> {
    let isa = isa::<E>().filter(|_| f.has_derivative())?;
    let c = c.to_f64() as f32; // exact: `E` is `f32`
    let write = |off: usize, block: &mut [MaybeUninit<E>]| {
        let x = &x[off..][..block.len()];
        let (x, dst, n) = (x.as_ptr().cast(), block.as_mut_ptr().cast(), x.len());
        // SAFETY: `E` is `f32`; `x` and `block` are separate and of the same length.
        unsafe { run_apply_grad(isa, f, x, core::ptr::null(), c, dst, n) }
    };
    // SAFETY: `write` writes each block whole (`run_apply_grad` is given its length).
    Some(unsafe { super::parallel::collect_blocks(x.len(), write) })
}

/// `g[i] *= f'(x[i])` in place (split over the threads for long slices): the input gradient
/// of `f` from its output gradient. False, leaving `g` alone, where [`vector_grad_scaled`]
/// gives `None`.
pub(crate) fn vector_grad_mul<E: Float>(f: VectorFn, g: &mut [E], x: &[E]) -> bool {
    let Some(isa) = isa::<E>().filter(|_| f.has_derivative()) else {
        return false;
    };
    super::parallel::for_blocks(g, |off, block| {
        let x = &x[off..][..block.len()];
        let p = block.as_mut_ptr().cast();
        // SAFETY: `E` is `f32`; `x` is as long as `block`, which is read and written in place.
        unsafe { run_apply_grad(isa, f, x.as_ptr().cast(), p, 1.0, p, x.len()) }
    });
    true
}

/// `sum_k e^(x_k - shift)` over a row, also writing each term to `out` (as long as `x`)
/// when given: the exponentials of softmax, log-softmax and logsumexp along contiguous rows.
/// `None`, with nothing written, where the loops here do not run. The sum is taken in a
/// vector's lanes, added up at the end.
#[inline]
pub(crate) fn exp_shifted_sum<E: Float>(
    x: &[E],
    shift: E,
    out: Option<&mut [MaybeUninit<E>]>,
) -> Option<E> {
    let dst = match out {
        Some(out) => {
            assert_eq!(out.len(), x.len(), "exp_shifted_sum: output length");
            out.as_mut_ptr().cast::<E>()
        }
        None => core::ptr::null_mut(),
    };
    // SAFETY: `x` is read and `dst` (null or a separate buffer) written for `x.len()`.
    unsafe { exp_shifted_sum_raw(x.as_ptr(), x.len(), shift, dst) }
}

/// [`exp_shifted_sum`] writing the terms over the row itself (attention's scores).
#[inline]
pub(crate) fn exp_shifted_sum_in_place<E: Float>(row: &mut [E], shift: E) -> Option<E> {
    let p = row.as_mut_ptr();
    // SAFETY: the row is read and written in place, each vector read before it is written.
    unsafe { exp_shifted_sum_raw(p, row.len(), shift, p) }
}

/// # Safety
/// `x` is readable and `dst` null or writable for `n` elements, the same pointer or apart.
#[inline]
unsafe fn exp_shifted_sum_raw<E: Float>(x: *const E, n: usize, shift: E, dst: *mut E) -> Option<E> {
    let isa = isa::<E>()?;
    let shift = shift.to_f64() as f32; // exact: `E` is `f32`
    // SAFETY: `E` is `f32`, so the casts change no layout; the rest is the caller's
    // guarantee.
    #[cfg(target_arch = "x86_64")]
    let sum = unsafe { kernels::exp_shifted_sum(isa, x.cast(), n, shift, dst.cast()) };
    #[cfg(not(target_arch = "x86_64"))]
    let sum: f32 = match (isa, x, n, shift, dst) {};
    Some(E::from_f64(f64::from(sum)))
}

/// `g += gy - e^y * total` along a row: the backward of log-softmax from its output `y`.
/// False, with nothing changed, where the loops here do not run.
#[inline]
pub(crate) fn add_log_softmax_grad<E: Float>(g: &mut [E], gy: &[E], y: &[E], total: E) -> bool {
    log_softmax_grad_rows(g, Some(gy), y, total)
}

/// [`add_log_softmax_grad`] in place, `g` holding `gy` on entry: `g = g - e^y * total`.
#[inline]
pub(crate) fn log_softmax_grad_in_place<E: Float>(g: &mut [E], y: &[E], total: E) -> bool {
    log_softmax_grad_rows(g, None, y, total)
}

/// The vector kernel of [`add_log_softmax_grad`] (`gy` given) and
/// [`log_softmax_grad_in_place`] (`gy` in `g`).
fn log_softmax_grad_rows<E: Float>(g: &mut [E], gy: Option<&[E]>, y: &[E], total: E) -> bool {
    let Some(isa) = isa::<E>() else {
        return false;
    };
    let n = g.len();
    let (y, total) = (&y[..n], total.to_f64() as f32);
    let g = g.as_mut_ptr();
    let (gy, accumulate) = match gy {
        Some(gy) => (gy[..n].as_ptr(), true),
        None => (g.cast_const(), false),
    };
    let (g, gy, y) = (g.cast(), gy.cast(), y.as_ptr().cast());
    // SAFETY: `E` is `f32`; the three rows hold `n` elements each, `gy` being `g` (from the
    // same pointer) or another slice.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        kernels::add_log_softmax_grad(isa, g, gy, y, total, n, accumulate)
    };
    #[cfg(not(target_arch = "x86_64"))]
    match (isa, g, gy, y, total, accumulate) {}
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in representable f32 values (ulp) between `got` and the f64 reference.
    pub(super) fn ulps(got: f32, want: f64) -> f64 {
        if got as f64 == want || (got.is_nan() && want.is_nan()) {
            return 0.0;
        }
        let w = want as f32;
        if !w.is_finite() || !got.is_finite() {
            return if got == w { 0.0 } else { f64::INFINITY };
        }
        // The spacing of f32 values at the reference (subnormal spacing at the bottom).
        let spacing = (f64::from(w.abs()).max(f64::from(f32::MIN_POSITIVE))
            * f64::from(f32::EPSILON))
        .max(f64::from(f32::from_bits(1)));
        ((f64::from(got) - want) / spacing).abs()
    }

    fn inputs() -> Vec<f32> {
        // More than `PARALLEL_ELEMS` values: the blocks of two threads run too.
        let mut x: Vec<f32> = (-40_000..40_000).map(|i| i as f32 * 0.0028).collect();
        x.extend((-2000..2000).map(|i| i as f32 * 0.055));
        x.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            1e-8,
            -1e-8,
            88.72,
            88.73,
            89.5,
            -87.3,
            -87.4,
            -100.0,
            -103.9,
            -104.5,
            -200.0,
            200.0,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            9.9,
            10.0,
            10.1,
            20.0,
        ]);
        // A length that is not a multiple of 16: the masked tail runs.
        x.truncate(x.len() / 16 * 16 + 7);
        x
    }

    fn reference(f: VectorFn, x: f64) -> f64 {
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        match f {
            VectorFn::Exp => x.exp(),
            VectorFn::Tanh => x.tanh(),
            VectorFn::Sigmoid => sigmoid(x),
            VectorFn::Silu => x * sigmoid(x),
            VectorFn::Gelu => x * crate::dtype::normal_cdf_f64(x),
            VectorFn::Sin => x.sin(),
            VectorFn::Cos => x.cos(),
        }
    }

    /// Each function within 2 ulp of the f64 value (3 for SiLU: a sigmoid and a product)
    /// over the range, the ends and the special values, in a new vector and in place.
    #[test]
    fn every_function_is_within_two_ulp_of_f64() {
        let x = inputs();
        for f in [
            VectorFn::Exp,
            VectorFn::Tanh,
            VectorFn::Sigmoid,
            VectorFn::Silu,
            VectorFn::Sin,
            VectorFn::Cos,
        ] {
            let Some(y) = vector_map(f, x.as_slice()) else {
                return; // no AVX-512 here: the plain loops run, tested elsewhere
            };
            let mut in_place = x.clone();
            assert!(vector_map_in_place(f, &mut in_place));
            assert_eq!(
                y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                in_place.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{f:?}: in place differs"
            );
            for (&xv, &yv) in x.iter().zip(&y) {
                let want = reference(f, f64::from(xv));
                // SiLU's product of a subnormal sigmoid (below x = -87; 0 below -104, as
                // `e^x`) keeps only an absolute precision, as the plain version's does.
                // Its error is the subnormal sigmoid's (a spacing of 1.4e-45) times |x| <= 104.
                if f == VectorFn::Silu && xv < -87.0 && !want.is_nan() {
                    assert!(
                        (f64::from(yv) - want).abs() < 3e-43,
                        "SiLU({xv:e}) = {yv:e}"
                    );
                    continue;
                }
                let limit = match f {
                    VectorFn::Silu => 3.0,
                    // The plain f32 GELU's bound (relative 4.8e-7, a few ulp).
                    VectorFn::Gelu => 8.0,
                    _ => 2.0,
                };
                let err = ulps(yv, want);
                assert!(
                    err <= limit,
                    "{f:?}({xv:e}) = {yv:e}, want {want:e} ({err} ulp)"
                );
            }
        }
    }

    /// The special values exactly as `f32::exp` / `f32::tanh` give them.
    #[test]
    fn infinities_nan_and_signed_zero() {
        let x = [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -0.0, 0.0];
        let Some(e) = vector_map(VectorFn::Exp, &x) else {
            return;
        };
        assert_eq!(&e[..2], &[f32::INFINITY, 0.0]);
        assert!(e[2].is_nan());
        assert_eq!(&e[3..], &[1.0, 1.0]);
        let Some(t) = vector_map(VectorFn::Tanh, &x) else {
            return; // unreachable: the level that ran `exp` runs every function
        };
        assert_eq!(&t[..2], &[1.0, -1.0]);
        assert!(t[2].is_nan());
        assert_eq!(t[3].to_bits(), (-0.0f32).to_bits());
        let Some(s) = vector_map(VectorFn::Sigmoid, &x) else {
            return; // unreachable: the level that ran `exp` runs every function
        };
        assert_eq!(&s[..2], &[1.0, 0.0]);
        assert!(s[2].is_nan());
        let Some(silu) = vector_map(VectorFn::Silu, &x) else {
            return; // unreachable: the level that ran `exp` runs every function
        };
        assert!(silu[1].is_nan() && silu[2].is_nan());
        assert_eq!(silu[0], f32::INFINITY);
        // GELU as the plain one: `inf * 1`, `-inf * 0` (NaN, as PyTorch's), signed zeros;
        // its slope `Phi + x phi` is NaN at both infinities.
        let Some(gelu) = vector_map(VectorFn::Gelu, &x) else {
            return; // unreachable: the level that ran `exp` runs every function
        };
        assert_eq!(gelu[0], f32::INFINITY);
        assert!(gelu[1].is_nan() && gelu[2].is_nan());
        assert_eq!(gelu[3].to_bits(), (-0.0f32).to_bits());
        assert_eq!(gelu[4].to_bits(), 0.0f32.to_bits());
        let slope = vector_grad_scaled(VectorFn::Gelu, 1.0f32, &x)
            .expect("the level that ran GELU runs every function");
        assert!(slope[..3].iter().all(|v| v.is_nan()));
        assert_eq!(&slope[3..], &[0.5, 0.5]);
    }

    /// The row helpers against their definitions, over row lengths around the 16-lane
    /// steps (masked tails), with `-inf` and large negative terms.
    #[test]
    fn row_helpers_match_their_definitions() {
        for n in [1, 5, 16, 17, 31, 64, 100] {
            let x: Vec<f32> = (0..n)
                .map(|i| match i % 7 {
                    3 => f32::NEG_INFINITY,
                    5 => -95.0,
                    _ => (i as f32 * 0.73).sin() * 6.0,
                })
                .collect();
            let shift = 1.25f32;
            let mut terms = vec![MaybeUninit::new(f32::NAN); n];
            let Some(sum) = exp_shifted_sum(&x, shift, Some(&mut terms)) else {
                return; // no AVX-512 here
            };
            let want: Vec<f64> = x
                .iter()
                .map(|&v| (f64::from(v) - f64::from(shift)).exp())
                .collect();
            let want_sum: f64 = want.iter().sum();
            assert!(
                (f64::from(sum) - want_sum).abs() <= 1e-6 * want_sum,
                "n = {n}"
            );
            assert_eq!(exp_shifted_sum(&x, shift, None), Some(sum));
            for (t, w) in terms.iter().zip(&want) {
                // SAFETY: every term was written (checked against NaN below).
                let t = f64::from(unsafe { t.assume_init() });
                // Two ulp; subnormal terms (e^-96) to their absolute spacing.
                assert!((t - w).abs() <= 2.4e-7 * w + 3e-45, "n = {n}: {t} vs {w}");
            }
            let y: Vec<f32> = x.iter().map(|v| (v * 0.1).min(0.0)).collect();
            let gy: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).cos()).collect();
            let mut g: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
            let before = g.clone();
            assert!(add_log_softmax_grad(&mut g, &gy, &y, 0.75));
            let mut in_place = gy.clone();
            assert!(log_softmax_grad_in_place(&mut in_place, &y, 0.75));
            for i in 0..n {
                let want = f64::from(gy[i]) - f64::from(y[i]).exp() * 0.75;
                let sum = f64::from(before[i]) + want;
                assert!((f64::from(g[i]) - sum).abs() < 1e-6, "n = {n}, i = {i}");
                assert!(
                    (f64::from(in_place[i]) - want).abs() < 1e-6,
                    "in place, n = {n}, i = {i}"
                );
            }
        }
    }

    /// GELU to the plain `f32` version's bound (`f32_gelu_matches_the_f64_one` in
    /// `ops::unary`): relative 4.8e-7 against f64, down to the subnormal tail.
    #[test]
    fn gelu_keeps_the_plain_bound() {
        // Whole vectors through each of the three ways (the tables within 3.94, the plain
        // steps within 12.5, the shifted ones beyond, down to the subnormal results) and
        // vectors that mix them.
        let mut x: Vec<f32> = (0..=340_000).map(|i| -17.0 + i as f32 * 1e-4).collect();
        x.extend([
            1e-30, -1e-30, 1e-6, -1e-6, 30.0, -30.0, 1e4, -1e4, -13.5, -14.2,
        ]);
        let Some(y) = vector_map(VectorFn::Gelu, x.as_slice()) else {
            return;
        };
        for (&xv, &yv) in x.iter().zip(&y) {
            let want = reference(VectorFn::Gelu, f64::from(xv));
            let got = f64::from(yv);
            let rel = if got == want {
                0.0
            } else {
                (got - want).abs() / want.abs()
            };
            assert!(
                rel <= 4.8e-7 || (got - want).abs() < 1e-44,
                "gelu({xv}): {got} vs {want}"
            );
        }
    }

    /// No step of GELU, `exp`, sigmoid, SiLU, their derivatives or the softmax rows has a subnormal or
    /// infinite result, or a subnormal operand (on Intel cores each such step takes a
    /// microcode assist of ~150 cycles): the MXCSR's sticky underflow, overflow and denormal
    /// flags stay clear over values whose results are subnormal or round to zero (GELU below
    /// -13, `e^x` below -87, rows masked with -inf), on the calling thread.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn steps_stay_normal() {
        fn mxcsr() -> u32 {
            let mut csr = 0u32;
            // SAFETY: `stmxcsr` stores the 32-bit MXCSR at the address given, a local.
            unsafe {
                core::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
            }
            csr
        }
        fn clear_flags() {
            let csr = mxcsr() & !0x3f;
            // SAFETY: `ldmxcsr` loads the value at the address given: the current MXCSR
            // with its six exception flags cleared (masks and rounding unchanged).
            unsafe {
                core::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly));
            }
        }
        // Denormal operand (bit 1), overflow (3), underflow (4).
        let assert_clear = |what: &str| {
            let csr = mxcsr();
            assert_eq!(csr & 0b1_1010, 0, "{what}: MXCSR {csr:#x}");
        };
        // Fewer than `PARALLEL_ELEMS`: one block, run on this thread.
        let x: Vec<f32> = (0..=3300).map(|i| -16.5 + i as f32 * 0.01).collect();
        assert!(x.len() < crate::backend::parallel::PARALLEL_ELEMS);
        clear_flags();
        let Some(y) = vector_map(VectorFn::Gelu, &x) else {
            return;
        };
        assert_clear("GELU");
        let d = vector_grad_scaled(VectorFn::Gelu, 1.0f32, &x)
            .expect("the level that ran GELU runs every function");
        assert_clear("GELU's slope");
        assert!(y.iter().any(|v| v.is_subnormal()));
        assert!(
            y.iter()
                .zip(&d)
                .all(|(v, g)| v.is_finite() && g.is_finite())
        );

        // e^x from -115 to 0: subnormal from -87.3, zero from -104; whole vectors of
        // each kind and mixed ones.
        let x: Vec<f32> = (0..=4600).map(|i| -115.0 + i as f32 * 0.025).collect();
        let e = vector_map(VectorFn::Exp, &x).expect("the level that ran GELU runs every function");
        assert_clear("exp");
        assert!(e.iter().any(|v| v.is_subnormal()) && e[..100].iter().all(|&v| v == 0.0));
        // Sigmoid, SiLU and SiLU's slope from -125 to 125: subnormal below -87, SiLU zero
        // below -111.
        let x: Vec<f32> = (0..=5000).map(|i| -125.0 + i as f32 * 0.05).collect();
        for f in [VectorFn::Sigmoid, VectorFn::Silu] {
            let y = vector_map(f, &x).expect("the level that ran GELU runs every function");
            assert_clear(&format!("{f:?}"));
            assert!(y.iter().any(|v| v.is_subnormal()) && y.iter().all(|v| v.is_finite()));
            // Whole vectors below -120 (zero at once), against f64.
            for (&xv, &yv) in x.iter().zip(&y).take_while(|(x, _)| **x < -120.0) {
                let e = f64::from(xv).exp();
                let want = if f == VectorFn::Silu {
                    f64::from(xv) * e
                } else {
                    e
                };
                assert!(
                    f64::from(yv).abs() <= want.abs() + 1e-45,
                    "{f:?}({xv}) = {yv}"
                );
            }
        }
        vector_grad_scaled(VectorFn::Silu, 1.0f32, &x).expect("as above");
        assert_clear("SiLU's slope");
        // Softmax rows masked with -inf (causal attention's), and their backward.
        let row: Vec<f32> = (0..100)
            .map(|i| {
                if i % 40 < 25 {
                    (i as f32 * 0.3).sin()
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        let total = exp_shifted_sum(&row, 1.0f32, None)
            .expect("the level that ran GELU runs every function");
        let log_y: Vec<f32> = row.iter().map(|v| v - 1.0 - total.ln()).collect();
        let mut g = vec![0.5f32; row.len()];
        assert!(add_log_softmax_grad(
            &mut g,
            &vec![0.25; row.len()],
            &log_y,
            1.0
        ));
        assert_clear("masked softmax rows");
    }

    /// `sin` and `cos` within 2 ulp of f64 over the whole range of the vector reduction
    /// (`|x| < 8192`), at the `f32` values nearest every multiple of `pi / 2` there (where
    /// the reduction cancels most), and past it (the lane-by-lane fallback); signed zero,
    /// infinities and NaN as `f32::sin` and `f32::cos`.
    #[test]
    fn sin_and_cos_across_the_reduction_range() {
        let mut x: Vec<f32> = (-22_200..22_200).map(|i| i as f32 * 0.369).collect();
        for k in 0..5216 {
            let near = (f64::from(k) * core::f64::consts::FRAC_PI_2) as f32;
            x.extend([near, -near, f32::from_bits(near.to_bits() + 1)]);
        }
        x.extend([
            8191.9,
            8192.0,
            -8192.5,
            1e5,
            -3.5e7,
            f32::MAX,
            1e-30,
            -1e-30,
            1e-8,
        ]);
        for f in [VectorFn::Sin, VectorFn::Cos] {
            let Some(y) = vector_map(f, x.as_slice()) else {
                return;
            };
            for (&xv, &yv) in x.iter().zip(&y) {
                let want = reference(f, f64::from(xv));
                let err = ulps(yv, want);
                assert!(
                    err <= 2.0,
                    "{f:?}({xv:e}) = {yv:e}, want {want:e} ({err} ulp)"
                );
            }
        }
        let special = [0.0f32, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        let Some(s) = vector_map(VectorFn::Sin, &special) else {
            return;
        };
        let Some(c) = vector_map(VectorFn::Cos, &special) else {
            return;
        };
        assert_eq!(s[0].to_bits(), 0.0f32.to_bits());
        assert_eq!(s[1].to_bits(), (-0.0f32).to_bits());
        assert_eq!(&c[..2], &[1.0, 1.0]);
        assert!(s[2..].iter().chain(&c[2..]).all(|v| v.is_nan()));
    }

    /// GELU's, SiLU's, sine's and cosine's derivatives against f64, scaled by a constant and by a gradient
    /// buffer (the two backward forms), over the range and the masked tail.
    #[test]
    fn derivatives_match_f64() {
        let x = inputs();
        let x: Vec<f32> = x.into_iter().filter(|v| v.is_finite()).collect();
        let g: Vec<f32> = (0..x.len()).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
        for f in [VectorFn::Gelu, VectorFn::Silu, VectorFn::Sin, VectorFn::Cos] {
            let Some(scaled) = vector_grad_scaled(f, 2.0f32, &x) else {
                return;
            };
            let mut multiplied = g.clone();
            assert!(vector_grad_mul(f, &mut multiplied, &x));
            for (i, &xv) in x.iter().enumerate() {
                let xd = f64::from(xv);
                let want = match f {
                    VectorFn::Gelu => {
                        let pdf = (-0.5 * xd * xd).exp() / (2.0 * core::f64::consts::PI).sqrt();
                        crate::dtype::normal_cdf_f64(xd) + xd * pdf
                    }
                    VectorFn::Sin => xd.cos(),
                    VectorFn::Cos => -xd.sin(),
                    _ => {
                        let s = 1.0 / (1.0 + (-xd).exp());
                        s * (1.0 + xd * (1.0 - s))
                    }
                };
                // Relative 2e-6 (the derivative cancels near its zero crossings at -0.75
                // and -1.28: there, to 3e-7 of the sum's scale), and 0 past the tails.
                let tol = 2e-6 * want.abs() + 3e-7 + if xd.abs() > 80.0 { 1e-30 } else { 0.0 };
                for (got, scale) in [(scaled[i], 2.0), (multiplied[i], f64::from(g[i]))] {
                    let got = f64::from(got) / scale;
                    assert!(
                        (got - want).abs() <= tol,
                        "{f:?}'({xv}) = {got}, want {want}"
                    );
                }
            }
        }
        assert!(vector_grad_scaled(VectorFn::Exp, 1.0f32, &[1.0]).is_none());
    }
}
