//! `exp`, `tanh`, `sigmoid` and SiLU over `f32` slices, written with AVX-512 intrinsics.
//!
//! Why by hand: the element loops elsewhere are plain Rust that the compiler vectorises
//! ([`super::simd`]), which cannot use two instructions these functions need. Rust does not
//! fuse `a * b + c` into one multiply-add (and `f32::mul_add` would be a library call per
//! element on the CPUs without FMA that run the same source), and no plain-Rust expression
//! becomes `vscalefps`, which multiplies by `2^n` with overflow to infinity and exactly
//! rounded subnormal results in one step. [`crate::dtype::exp_f32`] spends 36 vector
//! instructions per 16 values on Zen 4 (double-pumped 512-bit operations), so a 4M-element
//! `exp` ran at 0.66x PyTorch's speed on one thread; [`exp16`] is 15 of them.
//!
//! The results are those of the plain versions' formulas (the same range reduction and
//! Cephes polynomial, evaluated with fused steps): within 2 ulp of the exact values,
//! NaN and infinities as `f32::exp` and `f32::tanh`. Other CPUs, `f64` and
//! `SHAPED_SIMD=avx2|portable` take the plain loops.

use crate::dtype::Float;
use crate::dtype::private::{Slice, SliceMut};
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
}

/// `f(x)` for every element as a new vector (split over the threads for long slices), or
/// `None` for `f64` and where this process does not run AVX-512 loops (see
/// [`super::simd::level`]).
pub(crate) fn vector_map<E: Float>(f: VectorFn, x: &[E]) -> Option<Vec<E>> {
    if !applies::<E>() {
        return None;
    }
    // SAFETY: `apply_into` writes each block whole (`applies` said it runs).
    Some(unsafe {
        super::parallel::collect_blocks(x.len(), |off, block: &mut [MaybeUninit<E>]| {
            apply_into(f, &x[off..][..block.len()], block);
        })
    })
}

/// `x[i] = f(x[i])` in place (split over the threads for long slices); false, leaving `x`
/// alone, for `f64` and where this process does not run AVX-512 loops.
pub(crate) fn vector_map_in_place<E: Float>(f: VectorFn, x: &mut [E]) -> bool {
    if !applies::<E>() {
        return false;
    }
    super::parallel::for_blocks(x, |_, block| {
        apply_in_place(f, block);
    });
    true
}

/// `c * f'(x[i])` for every element as a new vector (split over the threads for long
/// slices): the input gradient of `f` under a uniform output gradient `c` (a whole-tensor
/// sum's). `None` for the functions whose backward reads their output instead (exp, tanh,
/// sigmoid), for `f64`, and where this process does not run AVX-512 loops.
pub(crate) fn vector_grad_scaled<E: Float>(f: VectorFn, c: E, x: &[E]) -> Option<Vec<E>> {
    let c = [c];
    let Slice::F32(c) = E::concrete(&c) else {
        return None;
    };
    if !(f.has_derivative() && applies::<E>()) {
        return None;
    }
    let c = c[0];
    // SAFETY: each block is written whole (`apply_grad` is given the block's own length).
    Some(unsafe {
        super::parallel::collect_blocks(x.len(), |off, block: &mut [MaybeUninit<E>]| {
            let x = &x[off..][..block.len()];
            let dst = block.as_mut_ptr().cast::<f32>();
            // SAFETY: `applies` checked the CPU (and that `E` is `f32`: the casts change no
            // layout); `x` and `block` have the same length.
            #[cfg(target_arch = "x86_64")]
            avx512::apply_grad(f, x.as_ptr().cast(), core::ptr::null(), c, dst, x.len());
            #[cfg(not(target_arch = "x86_64"))]
            let _ = (x, dst, c);
        })
    })
}

/// `g[i] *= f'(x[i])` in place (split over the threads for long slices): the input gradient
/// of `f` from its output gradient. False, leaving `g` alone, where [`vector_grad_scaled`]
/// gives `None`.
pub(crate) fn vector_grad_mul<E: Float>(f: VectorFn, g: &mut [E], x: &[E]) -> bool {
    if !(f.has_derivative() && applies::<E>()) {
        return false;
    }
    super::parallel::for_blocks(g, |off, block| {
        let x = &x[off..][..block.len()];
        let p = block.as_mut_ptr().cast::<f32>();
        // SAFETY: as in `vector_grad_scaled`; `block` is read and written in place.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            avx512::apply_grad(f, x.as_ptr().cast(), p, 1.0, p, x.len())
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (x, p);
    });
    true
}

impl VectorFn {
    /// Whether [`vector_grad_scaled`] and [`vector_grad_mul`] take it: the functions whose
    /// derivative is read off the input.
    fn has_derivative(self) -> bool {
        matches!(self, VectorFn::Silu | VectorFn::Gelu)
    }
}

/// `dst[i] = f(src[i])` on the calling thread (the gate planes of a recurrent step, already
/// split over the threads by rows); false, with nothing written, for `f64` and where this
/// process does not run AVX-512 loops.
#[inline]
pub(crate) fn apply_into<E: Float>(f: VectorFn, src: &[E], dst: &mut [MaybeUninit<E>]) -> bool {
    assert_eq!(src.len(), dst.len(), "apply_into: lengths");
    // SAFETY: `src` read and `dst` (a separate buffer) written for `src.len()` elements.
    unsafe { apply_raw(f, src.as_ptr(), dst.as_mut_ptr().cast(), src.len()) }
}

/// `x[i] = f(x[i])` on the calling thread, as [`apply_into`].
#[inline]
pub(crate) fn apply_in_place<E: Float>(f: VectorFn, x: &mut [E]) -> bool {
    let p = x.as_mut_ptr();
    // SAFETY: read and written in place, each vector read before it is written.
    unsafe { apply_raw(f, p, p, x.len()) }
}

/// # Safety
/// `src` is readable and `dst` writable for `n` elements, the same pointer or apart.
#[inline]
unsafe fn apply_raw<E: Float>(f: VectorFn, src: *const E, dst: *mut E, n: usize) -> bool {
    if !applies::<E>() {
        return false;
    }
    // `E` is `f32` here (`applies` said so): the casts change no layout.
    // SAFETY: `applies` checked the CPU; the rest is the caller's guarantee.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        avx512::apply(f, src.cast(), dst.cast(), n)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (f, src, dst, n);
    true
}

/// Whether the loops here run for `E` in this process: `f32`, with AVX-512.
#[inline]
pub(crate) fn applies<E: Float>() -> bool {
    matches!(E::concrete(&[]), Slice::F32(_)) && available()
}

/// `sum_k e^(x_k - shift)` over a row, also writing each term to `out` (as long as `x`)
/// when given: the exponentials of softmax, log-softmax and logsumexp along contiguous rows.
/// `None`, with nothing written, for `f64` and where this process does not run AVX-512
/// loops. The sum is taken in 16 lanes, added up at the end.
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
    let shift = [shift];
    let Slice::F32(shift) = E::concrete(&shift) else {
        return None;
    };
    if !available() {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    {
        // `E` is `f32` here (`concrete` said so): the casts change no layout.
        // SAFETY: `available` checked the CPU; the rest is the caller's guarantee.
        let sum = unsafe { avx512::exp_shifted_sum(x.cast(), n, shift[0], dst.cast()) };
        Some(E::from_f64(f64::from(sum)))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (x, n, shift, dst);
        None
    }
}

/// `g += gy - e^y * total` along a row: the backward of log-softmax from its output `y`.
/// False, with nothing changed, for `f64` and where this process does not run AVX-512 loops.
#[inline]
pub(crate) fn add_log_softmax_grad<E: Float>(g: &mut [E], gy: &[E], y: &[E], total: E) -> bool {
    let total = [total];
    let (SliceMut::F32(g), Slice::F32(gy), Slice::F32(y), Slice::F32(total)) = (
        E::concrete_mut(g),
        E::concrete(gy),
        E::concrete(y),
        E::concrete(&total),
    ) else {
        return false;
    };
    if !available() {
        return false;
    }
    let (gy, y) = (&gy[..g.len()], &y[..g.len()]);
    // SAFETY: `available` checked the CPU; the three rows have the same length.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        avx512::add_log_softmax_grad(g, gy, y, total[0])
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (g, gy, y, total);
    true
}

fn available() -> bool {
    cfg!(target_arch = "x86_64") && super::simd::level() == super::simd::Level::Avx512
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::VectorFn;
    use core::arch::x86_64::*;

    /// Writes `f(src[i])` to `dst[i]` for `i < n`.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `src` is readable and `dst` writable for `n` elements, and
    /// the two are the same pointer or do not overlap.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn apply(f: VectorFn, src: *const f32, dst: *mut f32, n: usize) {
        // SAFETY: the caller's guarantee, passed on.
        unsafe {
            match f {
                VectorFn::Exp => map_vectors(src, dst, n, |x| exp16(x)),
                VectorFn::Tanh => map_vectors(src, dst, n, |x| tanh16(x)),
                VectorFn::Sigmoid => map_vectors(src, dst, n, |x| sigmoid16(x)),
                VectorFn::Silu => map_vectors(src, dst, n, |x| _mm512_mul_ps(x, sigmoid16(x))),
                VectorFn::Gelu => map_vectors(src, dst, n, |x| _mm512_mul_ps(x, normal_cdf16(x))),
            }
        }
    }

    /// `dst[i] = op(src[i])`, 16 values a step, the last few through masked loads and
    /// stores in the same loop: `op` has one call site, so it is inlined even when large
    /// (with a second one for the tail, LLVM left GELU's as a call per vector, its argument
    /// and result passed through memory). GELU is bound by its 57 vector operations per
    /// step, half of them multiply-adds (two steps interleaved per iteration: no faster).
    ///
    /// # Safety
    /// As [`apply`].
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn map_vectors(src: *const f32, dst: *mut f32, n: usize, op: impl Fn(__m512) -> __m512) {
        let mut i = 0;
        while i < n {
            let mask = lanes(n - i);
            // SAFETY: the lanes of `mask` lie at `i..n`, inside both buffers.
            unsafe {
                let x = _mm512_maskz_loadu_ps(mask, src.add(i));
                _mm512_mask_storeu_ps(dst.add(i), mask, op(x));
            }
            i += 16;
        }
    }

    /// The lanes of a step with `left` values still to do: all 16, or the first `left`.
    #[inline(always)]
    fn lanes(left: usize) -> __mmask16 {
        if left >= 16 {
            !0
        } else {
            ((1u32 << left) - 1) as __mmask16
        }
    }

    /// `dst[i] = s[i] * f'(x[i])` for `i < n`, where `s` is `g` (null: `c` everywhere), for
    /// the functions with [`VectorFn::has_derivative`] (others write nothing).
    ///
    /// # Safety
    /// The CPU has AVX-512F; `x` and `g` (unless null) are readable and `dst` writable for
    /// `n` elements; `g` and `dst` are the same pointer or apart.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn apply_grad(
        f: VectorFn,
        x: *const f32,
        g: *const f32,
        c: f32,
        dst: *mut f32,
        n: usize,
    ) {
        let derivative = |x: __m512| match f {
            VectorFn::Gelu => gelu_derivative16(x),
            _ => silu_derivative16(x),
        };
        let c = _mm512_set1_ps(c);
        let mut i = 0;
        while i < n {
            let mask = lanes(n - i);
            // SAFETY: the lanes of `mask` lie at `i..n`, inside every buffer.
            unsafe {
                let s = if g.is_null() {
                    c
                } else {
                    _mm512_maskz_loadu_ps(mask, g.add(i))
                };
                let d = derivative(_mm512_maskz_loadu_ps(mask, x.add(i)));
                _mm512_mask_storeu_ps(dst.add(i), mask, _mm512_mul_ps(s, d));
            }
            i += 16;
        }
    }

    /// GELU's derivative `Phi(x) + x phi(x)` as the plain `f32` one: `phi` from
    /// `e^(-x^2/2)` with `x^2 / 2` carried in two parts.
    #[target_feature(enable = "avx512f")]
    fn gelu_derivative16(x: __m512) -> __m512 {
        // 1 / sqrt(2 pi)
        const INV_SQRT_2PI: f32 = 0.398_942_3;
        let xa = _mm512_min_ps(_mm512_set1_ps(16.0), _mm512_abs_ps(x));
        let half = _mm512_set1_ps(0.5);
        let square = _mm512_mul_ps(xa, xa);
        let hi = _mm512_mul_ps(half, square);
        let lo = _mm512_mul_ps(half, _mm512_fmsub_ps(xa, xa, square));
        let e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), hi));
        let pdf = _mm512_mul_ps(_mm512_set1_ps(INV_SQRT_2PI), _mm512_fnmadd_ps(e, lo, e));
        _mm512_fmadd_ps(x, pdf, normal_cdf16(x))
    }

    /// SiLU's derivative `s (1 + x (1 - s))`, `s = sigmoid(x)`.
    #[target_feature(enable = "avx512f")]
    fn silu_derivative16(x: __m512) -> __m512 {
        let one = _mm512_set1_ps(1.0);
        let s = sigmoid16(x);
        _mm512_mul_ps(s, _mm512_fmadd_ps(x, _mm512_sub_ps(one, s), one))
    }

    /// The sum of `e^(x[i] - shift)` for `i < n`, each term also written to `dst[i]` unless
    /// `dst` is null.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `x` is readable and `dst` null or writable for `n` elements,
    /// the two the same pointer or not overlapping.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn exp_shifted_sum(
        x: *const f32,
        n: usize,
        shift: f32,
        dst: *mut f32,
    ) -> f32 {
        let shift = _mm512_set1_ps(shift);
        let mut sum = _mm512_setzero_ps();
        let mut step = |i: usize, mask: __mmask16| {
            // SAFETY: the lanes of `mask` lie at `i..n`.
            unsafe {
                let e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x.add(i)), shift));
                sum = _mm512_mask_add_ps(sum, mask, sum, e);
                if !dst.is_null() {
                    _mm512_mask_storeu_ps(dst.add(i), mask, e);
                }
            }
        };
        let mut i = 0;
        while i + 16 <= n {
            step(i, !0);
            i += 16;
        }
        if i < n {
            step(i, ((1u32 << (n - i)) - 1) as __mmask16);
        }
        _mm512_reduce_add_ps(sum)
    }

    /// `g[i] += gy[i] - e^y[i] * total`.
    ///
    /// # Safety
    /// The CPU has AVX-512F; `gy` and `y` are at least as long as `g`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn add_log_softmax_grad(g: &mut [f32], gy: &[f32], y: &[f32], total: f32) {
        let n = g.len();
        let total = _mm512_set1_ps(total);
        let (g, gy, y) = (g.as_mut_ptr(), gy.as_ptr(), y.as_ptr());
        let step = |i: usize, mask: __mmask16| {
            // SAFETY: the lanes of `mask` lie at `i..n`, inside all three rows.
            unsafe {
                let e = exp16(_mm512_maskz_loadu_ps(mask, y.add(i)));
                let d = _mm512_fnmadd_ps(e, total, _mm512_maskz_loadu_ps(mask, gy.add(i)));
                let sum = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, g.add(i)), d);
                _mm512_mask_storeu_ps(g.add(i), mask, sum);
            }
        };
        let mut i = 0;
        while i + 16 <= n {
            step(i, !0);
            i += 16;
        }
        if i < n {
            step(i, ((1u32 << (n - i)) - 1) as __mmask16);
        }
    }

    // Cephes' `expf`: `e^r = 1 + r + r^2 P(r)` on `|r| <= ln2 / 2`, ln 2 split in two
    // parts so that `n * LN2_HI` is exact (as `crate::dtype::exp_f32`).
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    #[allow(clippy::excessive_precision)] // Cephes' coefficients, kept as published
    const P: [f32; 6] = [
        5.000_000_1e-1,
        1.666_666_5e-1,
        4.166_579_6e-2,
        8.333_452e-3,
        1.398_199_9e-3,
        1.987_569_1e-4,
    ];

    /// `x = n ln2 + r`, `|r| <= ln2 / 2`, `n` an integer held as a float (for
    /// `vscalefps`, which takes its power of two that way).
    #[target_feature(enable = "avx512f")]
    fn reduce(x: __m512) -> (__m512, __m512) {
        let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
            _mm512_mul_ps(x, _mm512_set1_ps(LOG2E)),
        );
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
        (n, r)
    }

    /// `P(r)` by Horner's rule in multiply-adds (the loops run many independent vectors, so
    /// the chain's latency is hidden and fewer instructions win over Estrin's scheme).
    #[target_feature(enable = "avx512f")]
    fn poly(r: __m512) -> __m512 {
        let mut p = _mm512_set1_ps(P[5]);
        for &c in P[..5].iter().rev() {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        p
    }

    /// e^x. Clamping to [-104, 89] first leaves every result alone (e^-104 rounds to 0,
    /// e^89 overflows) and keeps `n` small; `vmaxps`/`vminps` return their second operand
    /// when one is NaN, so NaN passes through, and the infinities become 0 and infinity.
    #[target_feature(enable = "avx512f")]
    pub(super) fn exp16(x: __m512) -> __m512 {
        let x = _mm512_max_ps(_mm512_set1_ps(-104.0), x);
        let x = _mm512_min_ps(_mm512_set1_ps(89.0), x);
        let (n, r) = reduce(x);
        let one = _mm512_set1_ps(1.0);
        // 1 + r (1 + r P(r))
        let e = _mm512_fmadd_ps(_mm512_fmadd_ps(poly(r), r, one), r, one);
        _mm512_scalef_ps(e, n)
    }

    /// tanh x as `crate::dtype::tanh_f32`: `tanh|x| = m / (m + 2)` with `m = e^(2|x|) - 1`
    /// taken as `2^n (r + r^2 P) + (2^n - 1)` (accurate near zero), and the sign of `x`.
    #[target_feature(enable = "avx512f")]
    pub(super) fn tanh16(x: __m512) -> __m512 {
        // tanh(10) is 1 in f32; NaN is `vminps`'s second operand and stays NaN.
        let a = _mm512_min_ps(_mm512_set1_ps(10.0), _mm512_abs_ps(x));
        let (n, r) = reduce(_mm512_add_ps(a, a));
        let one = _mm512_set1_ps(1.0);
        let expm1_r = _mm512_mul_ps(_mm512_fmadd_ps(poly(r), r, one), r);
        // 0 <= n <= 29: 2^n and 2^n - 1 are exact.
        let scale = _mm512_scalef_ps(one, n);
        let m = _mm512_fmadd_ps(scale, expm1_r, _mm512_sub_ps(scale, one));
        // A true division: `vrcp14ps` and a Newton step were 5-10% slower here (Zen 4).
        let t = _mm512_div_ps(m, _mm512_add_ps(m, _mm512_set1_ps(2.0)));
        let sign = _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(i32::MIN));
        _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), sign))
    }

    /// Phi(x), the standard normal CDF, step for step as the plain `f32` one in
    /// `crate::ops::unary` (see there for the method and its error, about four ulp):
    /// Numerical Recipes' `erfc(z) = t e^(P(t) - z^2)`, `t = 1 / (1 + z/2)` to about one
    /// rounding, `z^2` and `P - z^2` carried with their rounding errors.
    #[target_feature(enable = "avx512f")]
    pub(super) fn normal_cdf16(x: __m512) -> __m512 {
        #[allow(clippy::excessive_precision)]
        const C: [f32; 10] = [
            0.170_872_77,
            -0.822_152_23,
            1.488_515_9,
            -1.135_204,
            0.278_868_07,
            -0.186_288_06,
            0.096_784_18,
            0.374_091_96,
            1.000_023_7,
            -1.265_512_2,
        ];
        let (one, half) = (_mm512_set1_ps(1.0), _mm512_set1_ps(0.5));
        // Past 16, Phi is 1 or below the smallest subnormal; NaN stays NaN (`vminps`).
        let xa = _mm512_min_ps(_mm512_set1_ps(16.0), _mm512_abs_ps(x));
        let half_z = _mm512_mul_ps(
            half,
            _mm512_mul_ps(xa, _mm512_set1_ps(core::f32::consts::FRAC_1_SQRT_2)),
        );
        let d = _mm512_add_ps(one, half_z);
        let d_err = _mm512_sub_ps(half_z, _mm512_sub_ps(d, one));
        let t0 = _mm512_div_ps(one, d);
        let residual = _mm512_fnmadd_ps(t0, d_err, _mm512_fnmadd_ps(t0, d, one));
        let t = _mm512_fmadd_ps(t0, residual, t0);
        let mut p = _mm512_set1_ps(C[0]);
        for &c in &C[1..] {
            p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(c));
        }
        let square = _mm512_mul_ps(xa, xa);
        let (hi, lo) = (
            _mm512_mul_ps(half, square),
            _mm512_mul_ps(half, _mm512_fmsub_ps(xa, xa, square)),
        );
        let s = _mm512_sub_ps(p, hi);
        let err = _mm512_sub_ps(p, _mm512_add_ps(s, hi));
        let scaled = _mm512_mul_ps(_mm512_mul_ps(half, t), exp16(s));
        let lower = _mm512_fmadd_ps(scaled, _mm512_sub_ps(err, lo), scaled);
        let positive = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, _mm512_setzero_ps());
        _mm512_mask_blend_ps(positive, lower, _mm512_sub_ps(one, lower))
    }

    /// `1 / (1 + e^-x)` as the plain `sigmoid`: `e = e^-|x|` (never overflows), then
    /// `1 / (1 + e)` for `x >= 0` and `e / (1 + e)` below (NaN takes the second).
    #[target_feature(enable = "avx512f")]
    pub(super) fn sigmoid16(x: __m512) -> __m512 {
        let one = _mm512_set1_ps(1.0);
        let minus_abs = _mm512_castsi512_ps(_mm512_or_si512(
            _mm512_castps_si512(x),
            _mm512_set1_epi32(i32::MIN),
        ));
        let e = exp16(minus_abs);
        let non_negative = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, _mm512_setzero_ps());
        let numerator = _mm512_mask_blend_ps(non_negative, e, one);
        _mm512_div_ps(numerator, _mm512_add_ps(one, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in representable f32 values (ulp) between `got` and the f64 reference.
    fn ulps(got: f32, want: f64) -> f64 {
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
        let t = vector_map(VectorFn::Tanh, &x).unwrap();
        assert_eq!(&t[..2], &[1.0, -1.0]);
        assert!(t[2].is_nan());
        assert_eq!(t[3].to_bits(), (-0.0f32).to_bits());
        let s = vector_map(VectorFn::Sigmoid, &x).unwrap();
        assert_eq!(&s[..2], &[1.0, 0.0]);
        assert!(s[2].is_nan());
        let silu = vector_map(VectorFn::Silu, &x).unwrap();
        assert!(silu[2].is_nan());
        assert_eq!(silu[0], f32::INFINITY);
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
            for i in 0..n {
                let want = f64::from(before[i]) + f64::from(gy[i]) - f64::from(y[i]).exp() * 0.75;
                assert!((f64::from(g[i]) - want).abs() < 1e-6, "n = {n}, i = {i}");
            }
        }
    }

    /// GELU to the plain `f32` version's bound (`f32_gelu_matches_the_f64_one` in
    /// `ops::unary`): relative 4.8e-7 against f64, down to the subnormal tail.
    #[test]
    fn gelu_keeps_the_plain_bound() {
        let mut x: Vec<f32> = (0..=240_000).map(|i| -12.0 + i as f32 * 1e-4).collect();
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

    /// GELU's and SiLU's derivatives against f64, scaled by a constant and by a gradient
    /// buffer (the two backward forms), over the range and the masked tail.
    #[test]
    fn derivatives_match_f64() {
        let x = inputs();
        let x: Vec<f32> = x.into_iter().filter(|v| v.is_finite()).collect();
        let g: Vec<f32> = (0..x.len()).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
        for f in [VectorFn::Gelu, VectorFn::Silu] {
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
