//! In-place dot products for `x W^T` (a linear layer's product): `A`'s rows and `B`'s
//! columns are both contiguous along the summed dimension, so every entry of `C` is a dot
//! product of two contiguous vectors and nothing is packed. The sums run vectorised along
//! `k` and are reduced once at the end.
//!
//! On AVX-512 they take products of up to 64 rows (the blocked product would pack `W` for
//! every call); on AVX2, with 16 registers, only batches of up to four rows, where packing
//! all of `W` for one or two rows of `x` costs several times the product itself (a batch of
//! one, 1 x 1024 -> 4096 `f32` on one AVX2 thread: 2026 us packed, ~330 in place).

use super::avx2::{mask_pd, mask_ps};
use super::{Operand, SendPtr};
use crate::dtype::Float;
use core::arch::x86_64::*;

/// Rows of `B^T` (columns of `C`) per kernel call: one sum each.
const DOT: usize = 4;
/// Products whose summed dimension is shorter than this pack as usual: their final
/// reductions would cost more than the packing they save.
pub(super) const DOT_MIN_K: usize = 32;
/// Past [`DOT_FEW_ROWS`] rows, the summed dimension must reach this too: a dot product of
/// a few vectors is mostly its final reduction, and with many rows the blocked product's
/// packing is shared by enough of them (Winograd's weight gradient, 64 x 64 x 64 products
/// per kernel position: `Conv2d<64, 64, 3, 1, 1>` on (8, 64, 56, 56), forward and backward
/// on one thread of the Intel VM, 31.3-32.3 -> 27.6-27.9 ms; W2 and W4 level, whose
/// batches of 16 rows against 64 inputs keep the dot products).
pub(super) const DOT_MIN_K_MANY_ROWS: usize = 128;
/// See [`DOT_MIN_K_MANY_ROWS`].
pub(super) const DOT_FEW_ROWS: usize = 16;

/// Whether a product of `m` rows summed over `k` (operands laid out for it) is left to the
/// dot products, for a kernel that takes at most `max_rows` rows.
pub(super) fn dot_pays(m: usize, k: usize, max_rows: usize) -> bool {
    k >= DOT_MIN_K && m <= max_rows && (m <= DOT_FEW_ROWS || k >= DOT_MIN_K_MANY_ROWS)
}
/// Sums at least this long load `B^T` on vector boundaries (see [`dot_kernel`]).
const ALIGNED_MIN_K: usize = 256;
/// Rows of `B^T` per block: they stay in L2 while every row block of `A` passes over them.
const DOT_BLOCK: usize = 64;

/// One instruction set and element type of the dot-product kernel.
pub(super) trait DotIsa {
    type E: Float;
    type V: Copy;
    /// Lanes per vector.
    const LANES: usize;
    /// The most rows of `A` per call (`MAX_ROWS x DOT` accumulators, the `DOT` vectors of
    /// `B^T` and one of `A` fit the registers).
    const MAX_ROWS: usize;
    /// # Safety (all methods)
    /// The CPU has the instruction set; pointers as documented.
    unsafe fn zero() -> Self::V;
    /// `LANES` values at `p`.
    unsafe fn load(p: *const Self::E) -> Self::V;
    /// The first `n < LANES` values at `p`, zeros in the other lanes (masked: nothing past
    /// them is read).
    unsafe fn load_first(n: usize, p: *const Self::E) -> Self::V;
    /// Whether [`DotIsa::load_from`] and [`DotIsa::rotate_back`] are implemented: the
    /// kernel then aligns its loads of `B^T` (see [`dot_kernel`]).
    const ALIGNS: bool;
    /// Lanes `first..LANES` (`first < LANES`) from `p + first..`, where `p` is lane 0's
    /// address, zeros below (masked: nothing before them is read).
    unsafe fn load_from(first: usize, p: *const Self::E) -> Self::V;
    /// Lane `j` of the result is lane `(j + by) % LANES` of `v`.
    unsafe fn rotate_back(v: Self::V, by: usize) -> Self::V;
    /// `a * b + c`.
    unsafe fn fmadd(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `c[j] = alpha * sum(v[j]) + beta * c[j]` for `j < nr <= DOT` (`c` read only when
    /// `beta != 0`).
    unsafe fn store_sums(
        v: [Self::V; DOT],
        alpha: Self::E,
        beta: Self::E,
        c: *mut Self::E,
        nr: usize,
    );
    /// [`dot_kernel`] compiled for this instruction set, with `R` rows of `A`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel<const R: usize>(
        k: usize,
        a: *const Self::E,
        lda: usize,
        b: *const Self::E,
        ldb: usize,
        c: *mut Self::E,
        rsc: usize,
        mr: usize,
        nr: usize,
        alpha: Self::E,
        beta: Self::E,
    );
}

/// `C[i, j] = alpha * dot(A_i, B_j) + beta * C[i, j]` for `i < mr <= R`, `j < nr <= DOT`:
/// row `i` of `A` starts at `a + i * lda` and row `j` of `B^T` at `b + j * ldb`, each with
/// `k` contiguous values; `C` rows start at `c + i * rsc`, columns contiguous (not read when
/// `beta == 0`). Rows past `mr` / `nr` repeat the last real row: their sums are computed
/// and dropped, so a block takes the smallest `R` that covers it.
///
/// # Safety
/// The CPU has `I`'s instruction set (this is inlined into [`DotIsa::kernel`], compiled for
/// it); `1 <= mr <= R`, `1 <= nr <= DOT`, and the pointer ranges above valid.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_kernel<I: DotIsa, const R: usize>(
    k: usize,
    a: *const I::E,
    lda: usize,
    b: *const I::E,
    ldb: usize,
    c: *mut I::E,
    rsc: usize,
    mr: usize,
    nr: usize,
    alpha: I::E,
    beta: I::E,
) {
    let ar: [*const I::E; R] = core::array::from_fn(|i| a.wrapping_add(i.min(mr - 1) * lda));
    let br: [*const I::E; DOT] = core::array::from_fn(|j| b.wrapping_add(j.min(nr - 1) * ldb));
    // SAFETY (whole body): the caller guarantees the instruction set and the row ranges;
    // the tail is read through zero-padded copies.
    unsafe {
        let mut acc = [[I::zero(); DOT]; R];
        // Each row of `A` is loaded just before its multiply-adds: loaded all at once, six
        // rows, four of `B^T` and the 24 accumulators would not fit the 32 registers.
        macro_rules! step {
            ($bv:expr, |$row:ident| $load_a:expr) => {{
                let bv: [I::V; DOT] = $bv;
                for (sums, &$row) in acc.iter_mut().zip(&ar) {
                    let av = $load_a;
                    for (s, &b) in sums.iter_mut().zip(&bv) {
                        *s = I::fmadd(av, b, *s);
                    }
                }
            }};
        }
        // With `B^T`'s first row off the vector boundary by `off` values, every step loads
        // the vector of `B^T` that starts on the boundary: value `p` of a row goes to lane
        // `(p + off) % LANES`, not `p % LANES`, the first step masked below lane `off`.
        // Tensors are only as aligned as malloc makes them (16 bytes), and a load that
        // straddles two cache lines costs two: `x W^T` for a batch of 64, 784 -> 256 `f32`
        // on two threads ran at 270 GFLOP/s with `W` misaligned, 375 aligned. Each lane
        // still sums the same values in the same order, so turning the lanes back before the
        // final sums gives the bits of the unaligned loop: results do not depend on where
        // the allocator put `W`. Short sums skip it (the turn costs one shuffle per sum).
        let mut p = 0;
        let width = I::LANES * size_of::<I::E>();
        let misaligned = b as usize % width;
        let off = if I::ALIGNS
            && k >= ALIGNED_MIN_K
            && misaligned != 0
            && misaligned.is_multiple_of(size_of::<I::E>())
        {
            misaligned / size_of::<I::E>()
        } else {
            0
        };
        if off > 0 {
            step!(
                core::array::from_fn(|j| I::load_from(off, br[j].wrapping_sub(off))),
                |row| { I::load_from(off, row.wrapping_sub(off)) }
            );
            p = I::LANES - off;
        }
        while p + I::LANES <= k {
            step!(core::array::from_fn(|j| I::load(br[j].add(p))), |row| {
                I::load(row.add(p))
            });
            p += I::LANES;
        }
        if p < k {
            let n = k - p;
            step!(
                core::array::from_fn(|j| I::load_first(n, br[j].add(p))),
                |row| { I::load_first(n, row.add(p)) }
            );
        }
        if off > 0 {
            for sums in acc.iter_mut() {
                for s in sums.iter_mut() {
                    *s = I::rotate_back(*s, off);
                }
            }
        }
        // Over all `R` rows with a test, not a loop of `mr`: unrolled, the accumulators stay
        // in registers (a loop of run-time length indexed them on the stack: all 24 spilled
        // after the main loop, +17% on a 6 x 256 x 128 product).
        for (i, row) in acc.iter().enumerate() {
            if i < mr {
                I::store_sums(*row, alpha, beta, c.add(i * rsc), nr);
            }
        }
    }
}

/// `C = alpha A B + beta C` by [`DotIsa::kernel`] calls: columns in blocks of
/// [`DOT_BLOCK`], rows in blocks of up to `I::MAX_ROWS`.
///
/// # Safety
/// The CPU has `I`'s instruction set; `A`'s rows and `B`'s columns contiguous (`a.cs ==
/// 1`, `b.rs == 1`); every element the strides reach inside the operands' buffers.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn dot_products<I: DotIsa>(
    m: usize,
    k: usize,
    n: usize,
    alpha: I::E,
    a: Operand<I::E>,
    b: Operand<I::E>,
    beta: I::E,
    c: SendPtr<I::E>,
    rsc: usize,
) {
    for j0 in (0..n).step_by(DOT_BLOCK) {
        let j_end = (j0 + DOT_BLOCK).min(n);
        for i in (0..m).step_by(I::MAX_ROWS) {
            let mr = I::MAX_ROWS.min(m - i);
            let kernel = match mr {
                1 => I::kernel::<1>,
                2 => I::kernel::<2>,
                3 | 4 => I::kernel::<4>,
                _ => I::kernel::<6>,
            };
            for j in (j0..j_end).step_by(DOT) {
                // SAFETY: rows i.., columns j.. are inside the checked extents; `kernel`
                // takes at least `mr` rows; the instruction set is the caller's contract.
                unsafe {
                    kernel(
                        k,
                        a.at(i, 0).ptr,
                        a.rs,
                        b.at(0, j).ptr,
                        b.cs,
                        c.get().add(i * rsc + j),
                        rsc,
                        mr,
                        DOT.min(j_end - j),
                        alpha,
                        beta,
                    )
                };
            }
        }
    }
}

/// `c[j] = alpha * s[j] + beta * c[j]` for `j < nr <= 4`, `s` the four sums of a
/// [`DotIsa::store_sums`] whose block has fewer than four columns (kept out of line: the
/// kernels write whole blocks of four with one vector store).
///
/// # Safety
/// `nr` values writable (and readable unless `beta == 0`) at `c`.
#[cold]
#[inline(never)]
unsafe fn store4<E: Float>(s: [E; DOT], alpha: E, beta: E, c: *mut E, nr: usize) {
    for (j, &s) in s.iter().enumerate().take(nr) {
        // SAFETY: the caller's contract.
        unsafe {
            let v = alpha * s;
            *c.add(j) = if beta == E::ZERO {
                v
            } else {
                v + beta * *c.add(j)
            };
        }
    }
}

/// The 256-bit lanes of four `f32` vectors summed, written as in [`store4`].
///
/// # Safety
/// As [`store4`].
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_sums_ps256(v: [__m256; DOT], alpha: f32, beta: f32, c: *mut f32, nr: usize) {
    // Two rounds of pairwise adds leave, in each 128-bit half, the partial sums of the four
    // vectors over that half; adding the halves finishes them.
    let abcd = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    let s = _mm_add_ps(
        _mm256_castps256_ps128(abcd),
        _mm256_extractf128_ps::<1>(abcd),
    );
    // SAFETY: the caller's contract.
    unsafe {
        if nr == DOT {
            let mut out = _mm_mul_ps(_mm_set1_ps(alpha), s);
            if beta != 0.0 {
                out = _mm_fmadd_ps(_mm_set1_ps(beta), _mm_loadu_ps(c), out);
            }
            _mm_storeu_ps(c, out);
        } else {
            let mut sums = [0.0; DOT];
            _mm_storeu_ps(sums.as_mut_ptr(), s);
            store4(sums, alpha, beta, c, nr);
        }
    }
}

/// The same for four `f64` vectors of four lanes.
///
/// # Safety
/// As [`store4`].
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn store_sums_pd256(v: [__m256d; DOT], alpha: f64, beta: f64, c: *mut f64, nr: usize) {
    // (a01, b01, a23, b23) and (c01, d01, c23, d23): swapping 128-bit halves between the
    // two and adding finishes.
    let (ab, cd) = (_mm256_hadd_pd(v[0], v[1]), _mm256_hadd_pd(v[2], v[3]));
    let s = _mm256_add_pd(
        _mm256_permute2f128_pd::<0x20>(ab, cd),
        _mm256_permute2f128_pd::<0x31>(ab, cd),
    );
    // SAFETY: the caller's contract.
    unsafe {
        if nr == DOT {
            let mut out = _mm256_mul_pd(_mm256_set1_pd(alpha), s);
            if beta != 0.0 {
                out = _mm256_fmadd_pd(_mm256_set1_pd(beta), _mm256_loadu_pd(c), out);
            }
            _mm256_storeu_pd(c, out);
        } else {
            let mut sums = [0.0; DOT];
            _mm256_storeu_pd(sums.as_mut_ptr(), s);
            store4(sums, alpha, beta, c, nr);
        }
    }
}

/// Defines a [`DotIsa`]: the marker type, its element and vector types, lanes, rows per
/// call, the target features, and its zero / load / fmadd intrinsics and lane sums.
macro_rules! dot_isa {
    ($ty:ident, $e:ty, $v:ty, $lanes:literal, $rows:literal, $features:literal,
     $zero:ident, $load:ident, |$n:ident, $p:ident| $load_first:expr, $fmadd:ident,
     $half:ident, $store:ident,
     $aligns:literal, |$f:ident, $q:ident| $load_from:expr, |$x:ident, $by:ident| $rotate:expr) => {
        pub(super) struct $ty;
        impl DotIsa for $ty {
            type E = $e;
            type V = $v;
            const LANES: usize = $lanes;
            const MAX_ROWS: usize = $rows;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn zero() -> $v {
                $zero()
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load(p: *const $e) -> $v {
                // SAFETY: the caller's contract.
                unsafe { $load(p) }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load_first($n: usize, $p: *const $e) -> $v {
                // SAFETY: the caller's contract; the lanes past `n` are masked off.
                unsafe { $load_first }
            }
            const ALIGNS: bool = $aligns;
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn load_from($f: usize, $q: *const $e) -> $v {
                // SAFETY: the caller's contract; the lanes below `first` are masked off.
                #[allow(unused_unsafe)] // the AVX2 kinds' body is `unreachable!`
                unsafe {
                    $load_from
                }
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn rotate_back($x: $v, $by: usize) -> $v {
                $rotate
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn fmadd(a: $v, b: $v, c: $v) -> $v {
                $fmadd(a, b, c)
            }
            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn store_sums(v: [$v; DOT], alpha: $e, beta: $e, c: *mut $e, nr: usize) {
                // Spelled out: a closure over `map` is compiled without this function's
                // target features, and was called per vector (a third of a small product).
                let halves = [$half(v[0]), $half(v[1]), $half(v[2]), $half(v[3])];
                // SAFETY: the caller's contract.
                unsafe { $store(halves, alpha, beta, c, nr) }
            }
            #[target_feature(enable = $features)]
            unsafe fn kernel<const R: usize>(
                k: usize,
                a: *const $e,
                lda: usize,
                b: *const $e,
                ldb: usize,
                c: *mut $e,
                rsc: usize,
                mr: usize,
                nr: usize,
                alpha: $e,
                beta: $e,
            ) {
                // SAFETY: forwarded; compiled for this instruction set.
                unsafe { dot_kernel::<Self, R>(k, a, lda, b, ldb, c, rsc, mr, nr, alpha, beta) }
            }
        }
    };
}

/// A 256-bit vector as it is (the AVX2 kernels' vectors need no halving).
#[inline(always)]
fn same<T>(x: T) -> T {
    x
}

/// 512 bits to 256: the two halves added.
#[target_feature(enable = "avx512f")]
#[inline]
fn half_ps(x: __m512) -> __m256 {
    _mm256_add_ps(
        _mm512_castps512_ps256(x),
        _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(x))),
    )
}

/// 512 bits to 256: the two halves added.
#[target_feature(enable = "avx512f")]
#[inline]
fn half_pd(x: __m512d) -> __m256d {
    _mm256_add_pd(_mm512_castpd512_pd256(x), _mm512_extractf64x4_pd::<1>(x))
}

dot_isa!(
    Avx512F32,
    f32,
    __m512,
    16,
    6,
    "avx512f,avx512vl,avx2,fma",
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    |n, p| _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, p),
    _mm512_fmadd_ps,
    half_ps,
    store_sums_ps256,
    true,
    |first, p| _mm512_maskz_loadu_ps(!((1u32 << first) - 1) as __mmask16, p),
    |v, by| {
        let lanes = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
        let index = _mm512_and_si512(
            _mm512_add_epi32(lanes, _mm512_set1_epi32(by as i32)),
            _mm512_set1_epi32(15),
        );
        _mm512_permutexvar_ps(index, v)
    }
);
dot_isa!(
    Avx512F64,
    f64,
    __m512d,
    8,
    6,
    "avx512f,avx512vl,avx2,fma",
    _mm512_setzero_pd,
    _mm512_loadu_pd,
    |n, p| _mm512_maskz_loadu_pd(((1u32 << n) - 1) as __mmask8, p),
    _mm512_fmadd_pd,
    half_pd,
    store_sums_pd256,
    true,
    |first, p| _mm512_maskz_loadu_pd(!((1u32 << first) - 1) as __mmask8, p),
    |v, by| {
        let lanes = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
        let index = _mm512_and_si512(
            _mm512_add_epi64(lanes, _mm512_set1_epi64(by as i64)),
            _mm512_set1_epi64(7),
        );
        _mm512_permutexvar_pd(index, v)
    }
);
dot_isa!(
    Avx2F32,
    f32,
    __m256,
    8,
    2,
    "avx2,fma",
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    |n, p| _mm256_maskload_ps(p, mask_ps(n)),
    _mm256_fmadd_ps,
    same,
    store_sums_ps256,
    false,
    |_first, _p| unreachable!("AVX2 dot products do not align"),
    |_v, _by| unreachable!("AVX2 dot products do not align")
);
dot_isa!(
    Avx2F64,
    f64,
    __m256d,
    4,
    2,
    "avx2,fma",
    _mm256_setzero_pd,
    _mm256_loadu_pd,
    |n, p| _mm256_maskload_pd(p, mask_pd(n)),
    _mm256_fmadd_pd,
    same,
    store_sums_pd256,
    false,
    |_first, _p| unreachable!("AVX2 dot products do not align"),
    |_v, _by| unreachable!("AVX2 dot products do not align")
);

/// The [`Kernel::dot_applies`](super::blocked::Kernel::dot_applies) and
/// [`Kernel::dot_block`](super::blocked::Kernel::dot_block) of a micro-kernel whose
/// instruction set has the [`DotIsa`] `$dot`: `x W^T` of at most `$max_rows` rows.
macro_rules! dot_methods {
    ($e:ty, $dot:ident, $max_rows:expr) => {
        fn dot_applies(m: usize, k: usize, a: Operand<$e>, b: Operand<$e>) -> bool {
            a.cs == 1 && b.rs == 1 && $crate::backend::gemm::dot::dot_pays(m, k, $max_rows)
        }
        unsafe fn dot_block(
            m: usize,
            k: usize,
            n: usize,
            alpha: $e,
            a: Operand<$e>,
            b: Operand<$e>,
            beta: $e,
            c: SendPtr<$e>,
            rsc: usize,
        ) {
            // SAFETY: forwarded; the kernel's instruction set (that of `$dot`) was detected.
            unsafe {
                $crate::backend::gemm::dot::dot_products::<$dot>(m, k, n, alpha, a, b, beta, c, rsc)
            }
        }
    };
}
pub(super) use dot_methods;

#[cfg(test)]
mod tests {
    use crate::backend::gemm::tests::{Layout, check_every_path, check_every_path_at};
    use rand::SeedableRng;

    /// The in-place dot products of `x W^T` (`A` row-major, `B` column-major, `k >= 32`, at
    /// most 64 rows) take an instance with as many rows as the block has (1, 2, 4 or 6): every
    /// row count up to two blocks and a half, with ragged column groups and a masked `k` tail.
    #[test]
    fn dot_products_match_naive_for_every_row_count() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for m in 1..=15 {
            for (k, n) in [(32, 4), (45, 9), (77, 3)] {
                for pad in [0, 5] {
                    let layout = Layout {
                        ta: false,
                        tb: true,
                        pad,
                    };
                    for beta in [0.0, 1.0] {
                        check_every_path((m, k, n), layout, beta, &mut rng);
                    }
                }
            }
        }
    }

    /// The aligned loads of `B^T`'s rows (sums from `ALIGNED_MIN_K` on): operands at every
    /// element offset within a vector (16 for `f32`), with rows a whole number of vectors
    /// apart (`k` = 784 and 256: every row as misaligned as the first) and not (263, 300:
    /// each row at its own offset), and shorter sums that keep the unaligned loads.
    #[test]
    fn dot_products_match_naive_at_every_alignment() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(19);
        let layout = Layout {
            ta: false,
            tb: true,
            pad: 0,
        };
        for offset in 0..16 {
            for (m, k, n) in [
                (7, 784, 9),
                (6, 256, 4),
                (13, 300, 5),
                (3, 263, 7),
                (5, 45, 4),
            ] {
                check_every_path_at((m, k, n), layout, offset, 1.0, &mut rng);
            }
        }
    }
}
