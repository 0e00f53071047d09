//! The vector operations the functions in [`super::kernels`] are written in, for AVX-512
//! (16 lanes of `f32`) and AVX2 + FMA (8 lanes): a token type per instruction set, which
//! exists only where the CPU has it, so that its methods are safe to call.
//!
//! Every method is `#[inline(always)]` and calls one or two intrinsics: the kernels are
//! generic over [`Lanes`] and instantiated inside one `#[target_feature]` function per
//! instruction set (`super::kernels`), where all of it is inlined into straight-line
//! vector code.

use core::arch::x86_64::*;

/// Vector operations on `N` lanes of `f32`.
pub(super) trait Lanes: Copy {
    /// A vector of `N` lanes.
    type V: Copy;
    /// Lanes per vector.
    const N: usize;
    fn splat(self, v: f32) -> Self::V;
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a * b + c`, rounded once.
    fn fmadd(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `c - a * b`, rounded once.
    fn fnmadd(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a * b - c`, rounded once.
    fn fmsub(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `min(bound, x)`, NaN where `x` is NaN (x86's rule: the second operand wins).
    fn min(self, bound: Self::V, x: Self::V) -> Self::V;
    /// `max(bound, x)`, NaN where `x` is NaN.
    fn max(self, bound: Self::V, x: Self::V) -> Self::V;
    fn abs(self, x: Self::V) -> Self::V;
    /// `-|x|`.
    fn neg_abs(self, x: Self::V) -> Self::V;
    /// `magnitude` (not negative) with the sign of `sign`.
    fn with_sign_of(self, magnitude: Self::V, sign: Self::V) -> Self::V;
    /// The nearest integers (ties to even).
    fn round(self, x: Self::V) -> Self::V;
    /// `e * 2^n` for integers `n` in `[-150, 129]` held as floats, rounded once (overflow
    /// to infinity, subnormal results exact up to that rounding).
    fn scale(self, e: Self::V, n: Self::V) -> Self::V;
    /// `if x > 0 { yes } else { no }` per lane (NaN takes `no`).
    fn select_positive(self, x: Self::V, yes: Self::V, no: Self::V) -> Self::V;
    /// `if x >= 0 { yes } else { no }` per lane (NaN takes `no`).
    fn select_non_negative(self, x: Self::V, yes: Self::V, no: Self::V) -> Self::V;
    /// The bits of the nearest integer to `x` (ties to even), as a float's bits: for
    /// `0 <= x <= 2^23`, the float `x 2^-149` (a subnormal, or the smallest normal).
    fn integer_bits(self, x: Self::V) -> Self::V;
    /// Whether every lane of `x` is below `bound` (not where one is NaN).
    fn all_below(self, x: Self::V, bound: f32) -> bool;
    /// Whether every lane of `x` is above `bound` (not where one is NaN).
    fn all_above(self, x: Self::V, bound: f32) -> bool;
    /// A table of 32 values held in registers, for [`Lanes::lookup`].
    type Table: Copy;
    /// The tables in registers where one instruction looks up 32 values per lane
    /// (AVX-512's two-source permute); `None` elsewhere (AVX2 would take four permutes and
    /// three blends a lookup, more than the functions that use tables save).
    fn tables<const K: usize>(self, values: &[[f32; 32]; K]) -> Option<[Self::Table; K]>;
    /// `table[k]` in each lane, `k` the lowest five bits of the lane's bit pattern.
    fn lookup(self, table: Self::Table, index: Self::V) -> Self::V;
    /// `v` with the lanes from `count` on set to 0.
    fn first(self, v: Self::V, count: usize) -> Self::V;
    /// The sum of the lanes.
    fn sum(self, v: Self::V) -> f32;
    /// The first `count` (at most `N`) values at `p`, the other lanes 0.
    ///
    /// # Safety
    /// `p` is readable for `count` values.
    unsafe fn load(self, p: *const f32, count: usize) -> Self::V;
    /// Stores the first `count` (at most `N`) lanes of `v` at `p`.
    ///
    /// # Safety
    /// `p` is writable for `count` values.
    unsafe fn store(self, p: *mut f32, count: usize, v: Self::V);
}

/// Proof that the CPU has AVX-512F.
#[derive(Clone, Copy)]
pub(super) struct Avx512(());

impl Avx512 {
    /// # Safety
    /// The CPU has AVX-512F.
    pub(super) unsafe fn new() -> Self {
        Avx512(())
    }
}

/// Proof that the CPU has AVX2 and FMA.
#[derive(Clone, Copy)]
pub(super) struct Avx2(());

impl Avx2 {
    /// # Safety
    /// The CPU has AVX2 and FMA.
    pub(super) unsafe fn new() -> Self {
        Avx2(())
    }
}

/// The lowest `n` bits set (`n <= 16`).
#[inline(always)]
fn low_bits(n: usize) -> __mmask16 {
    if n >= 16 {
        !0
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

// SAFETY (every `unsafe` block in this impl): an `Avx512` exists only where the CPU has
// AVX-512F (its constructor's contract); the pointer arguments are the callers' contract.
impl Lanes for Avx512 {
    type V = __m512;
    const N: usize = 16;
    #[inline(always)]
    fn splat(self, v: f32) -> __m512 {
        unsafe { _mm512_set1_ps(v) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m512, b: __m512) -> __m512 {
        unsafe { _mm512_div_ps(a, b) }
    }
    #[inline(always)]
    fn fmadd(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn fnmadd(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn fmsub(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        unsafe { _mm512_fmsub_ps(a, b, c) }
    }
    #[inline(always)]
    fn min(self, bound: __m512, x: __m512) -> __m512 {
        unsafe { _mm512_min_ps(bound, x) }
    }
    #[inline(always)]
    fn max(self, bound: __m512, x: __m512) -> __m512 {
        unsafe { _mm512_max_ps(bound, x) }
    }
    #[inline(always)]
    fn abs(self, x: __m512) -> __m512 {
        unsafe { _mm512_abs_ps(x) }
    }
    #[inline(always)]
    fn neg_abs(self, x: __m512) -> __m512 {
        unsafe {
            _mm512_castsi512_ps(_mm512_or_si512(
                _mm512_castps_si512(x),
                _mm512_set1_epi32(i32::MIN),
            ))
        }
    }
    #[inline(always)]
    fn with_sign_of(self, magnitude: __m512, sign: __m512) -> __m512 {
        unsafe {
            let s = _mm512_and_si512(_mm512_castps_si512(sign), _mm512_set1_epi32(i32::MIN));
            _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(magnitude), s))
        }
    }
    #[inline(always)]
    fn round(self, x: __m512) -> __m512 {
        unsafe { _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x) }
    }
    #[inline(always)]
    fn scale(self, e: __m512, n: __m512) -> __m512 {
        // `vscalefps`: one instruction, exact rounding, overflow and underflow included.
        unsafe { _mm512_scalef_ps(e, n) }
    }
    #[inline(always)]
    fn select_positive(self, x: __m512, yes: __m512, no: __m512) -> __m512 {
        unsafe {
            let m = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, _mm512_setzero_ps());
            _mm512_mask_blend_ps(m, no, yes)
        }
    }
    #[inline(always)]
    fn select_non_negative(self, x: __m512, yes: __m512, no: __m512) -> __m512 {
        unsafe {
            let m = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(x, _mm512_setzero_ps());
            _mm512_mask_blend_ps(m, no, yes)
        }
    }
    #[inline(always)]
    fn integer_bits(self, x: __m512) -> __m512 {
        unsafe { _mm512_castsi512_ps(_mm512_cvtps_epi32(x)) }
    }
    #[inline(always)]
    fn all_below(self, x: __m512, bound: f32) -> bool {
        unsafe { _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, _mm512_set1_ps(bound)) == !0 }
    }
    #[inline(always)]
    fn all_above(self, x: __m512, bound: f32) -> bool {
        unsafe { _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, _mm512_set1_ps(bound)) == !0 }
    }
    /// The first 16 values and the last 16.
    type Table = (__m512, __m512);
    #[inline(always)]
    fn tables<const K: usize>(self, values: &[[f32; 32]; K]) -> Option<[Self::Table; K]> {
        Some(values.map(|t| unsafe {
            (
                _mm512_loadu_ps(t.as_ptr()),
                _mm512_loadu_ps(t[16..].as_ptr()),
            )
        }))
    }
    #[inline(always)]
    fn lookup(self, (low, high): Self::Table, index: __m512) -> __m512 {
        unsafe { _mm512_permutex2var_ps(low, _mm512_castps_si512(index), high) }
    }
    #[inline(always)]
    fn first(self, v: __m512, count: usize) -> __m512 {
        unsafe { _mm512_maskz_mov_ps(low_bits(count), v) }
    }
    #[inline(always)]
    fn sum(self, v: __m512) -> f32 {
        unsafe { _mm512_reduce_add_ps(v) }
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32, count: usize) -> __m512 {
        // Masked whether whole or not: one code path, so that a kernel's body is inlined
        // once (masked accesses cost the same as plain ones on Zen 4 here).
        unsafe { _mm512_maskz_loadu_ps(low_bits(count), p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, count: usize, v: __m512) {
        unsafe { _mm512_mask_storeu_ps(p, low_bits(count), v) }
    }
}

// SAFETY (every `unsafe` block in this impl): an `Avx2` exists only where the CPU has AVX2
// and FMA (its constructor's contract); the pointer arguments are the callers' contract.
impl Lanes for Avx2 {
    type V = __m256;
    const N: usize = 8;
    #[inline(always)]
    fn splat(self, v: f32) -> __m256 {
        unsafe { _mm256_set1_ps(v) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn sub(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_sub_ps(a, b) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn div(self, a: __m256, b: __m256) -> __m256 {
        unsafe { _mm256_div_ps(a, b) }
    }
    #[inline(always)]
    fn fmadd(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn fnmadd(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fnmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn fmsub(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        unsafe { _mm256_fmsub_ps(a, b, c) }
    }
    #[inline(always)]
    fn min(self, bound: __m256, x: __m256) -> __m256 {
        unsafe { _mm256_min_ps(bound, x) }
    }
    #[inline(always)]
    fn max(self, bound: __m256, x: __m256) -> __m256 {
        unsafe { _mm256_max_ps(bound, x) }
    }
    #[inline(always)]
    fn abs(self, x: __m256) -> __m256 {
        unsafe { _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MAX))) }
    }
    #[inline(always)]
    fn neg_abs(self, x: __m256) -> __m256 {
        unsafe { _mm256_or_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN))) }
    }
    #[inline(always)]
    fn with_sign_of(self, magnitude: __m256, sign: __m256) -> __m256 {
        unsafe {
            let s = _mm256_and_ps(sign, _mm256_castsi256_ps(_mm256_set1_epi32(i32::MIN)));
            _mm256_or_ps(magnitude, s)
        }
    }
    #[inline(always)]
    fn round(self, x: __m256) -> __m256 {
        unsafe { _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(x) }
    }
    #[inline(always)]
    fn scale(self, e: __m256, n: __m256) -> __m256 {
        // No `vscalefps`: two multiplies by normal powers of two, 2^(n/2) and the rest (one
        // power alone would underflow below n = -126); the first is exact, so the result is
        // rounded once. A NaN `n` gives garbage powers, but then `e` is NaN too.
        unsafe {
            let n = _mm256_cvtps_epi32(n);
            let n1 = _mm256_srai_epi32::<1>(n);
            let n2 = _mm256_sub_epi32(n, n1);
            let bias = _mm256_set1_epi32(127);
            let p1 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n1, bias)));
            let p2 = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(_mm256_add_epi32(n2, bias)));
            _mm256_mul_ps(_mm256_mul_ps(e, p1), p2)
        }
    }
    #[inline(always)]
    fn select_positive(self, x: __m256, yes: __m256, no: __m256) -> __m256 {
        unsafe { _mm256_blendv_ps(no, yes, _mm256_cmp_ps::<_CMP_GT_OQ>(x, _mm256_setzero_ps())) }
    }
    #[inline(always)]
    fn select_non_negative(self, x: __m256, yes: __m256, no: __m256) -> __m256 {
        unsafe { _mm256_blendv_ps(no, yes, _mm256_cmp_ps::<_CMP_GE_OQ>(x, _mm256_setzero_ps())) }
    }
    #[inline(always)]
    fn integer_bits(self, x: __m256) -> __m256 {
        unsafe { _mm256_castsi256_ps(_mm256_cvtps_epi32(x)) }
    }
    #[inline(always)]
    fn all_below(self, x: __m256, bound: f32) -> bool {
        unsafe { _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_LT_OQ>(x, _mm256_set1_ps(bound))) == 0xff }
    }
    #[inline(always)]
    fn all_above(self, x: __m256, bound: f32) -> bool {
        unsafe { _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(x, _mm256_set1_ps(bound))) == 0xff }
    }
    /// No tables: [`Lanes::tables`] is `None`, so there is none to look up in.
    type Table = core::convert::Infallible;
    #[inline(always)]
    fn tables<const K: usize>(self, _: &[[f32; 32]; K]) -> Option<[Self::Table; K]> {
        None
    }
    #[inline(always)]
    fn lookup(self, table: Self::Table, _: __m256) -> __m256 {
        match table {}
    }
    #[inline(always)]
    fn first(self, v: __m256, count: usize) -> __m256 {
        unsafe { _mm256_and_ps(v, _mm256_castsi256_ps(partial_mask(count))) }
    }
    #[inline(always)]
    fn sum(self, v: __m256) -> f32 {
        unsafe {
            let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps::<1>(s, s)))
        }
    }
    #[inline(always)]
    unsafe fn load(self, p: *const f32, count: usize) -> __m256 {
        if count >= 8 {
            return unsafe { _mm256_loadu_ps(p) };
        }
        // The last few by a masked load, not through a buffer: the buffer's `memcpy` call,
        // though it runs once, made every step reload its constants (the call clobbers the
        // vector registers): exp 4M forward on one AVX2 thread 2.24 -> 1.83 ms.
        unsafe { _mm256_maskload_ps(p, partial_mask(count)) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32, count: usize, v: __m256) {
        if count >= 8 {
            return unsafe { _mm256_storeu_ps(p, v) };
        }
        unsafe { _mm256_maskstore_ps(p, partial_mask(count), v) }
    }
}

/// The lanes below `count` set (all bits), for AVX2's masked loads and stores.
#[inline(always)]
fn partial_mask(count: usize) -> __m256i {
    // SAFETY: only called from `Avx2`'s methods (the CPU has AVX2).
    unsafe {
        let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(count.min(8) as i32), lane)
    }
}
