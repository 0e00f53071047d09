//! Products of a few rows of `A` (at most [`SMALL_ROWS`]) against a row-major `B`: a batch
//! of one `x B`, a decoding step's `attention @ V`. Every value of `B` is used once per row
//! of `A`, so the product is a stream over `B`. The blocked product walks `B` down its
//! columns a panel at a time, a new row (and, for wide `B`, a new page) at every step, where
//! the hardware prefetchers do not follow; here `B` is read row after row, each row
//! multiplied by `A`'s values of that step into rows of sums that stay in L1. One thread,
//! `benches/gemm_compare`: 1 x 1024 x 4096 `f32` 5.4 GFLOP/s blocked with `B` packed, 11
//! with `B` in place, 15 here (`f64` 1.6 -> 4.3; PyTorch 22 and 8.5); 1 x 512 x 512 `f64`
//! 4.2 -> 11.8. From three rows on the micro-kernels reading `B` in place are faster: the
//! rows of sums are written back at every step, and their stores then bound the loop.

use super::blocked::split;
use super::{Operand, SendPtr};
use crate::backend::simd::wide;
use crate::backend::threads;
use crate::dtype::Float;

/// The most rows of `A` this path takes (2 x 1024 x 4096 `f64`: 4.5 GFLOP/s in the
/// micro-kernels, 6.5 here; at four rows `f32` 45 there, 24 here).
pub(super) const SMALL_ROWS: usize = 2;
/// Columns per block: `SMALL_ROWS` rows of sums (8 KiB of `f32`, 16 of `f64`) and the
/// block's segment of a row of `B` stay in L1.
const BLOCK: usize = 1024;

/// Whether [`product`] takes this product: few rows, a row-major `B`, and enough columns
/// for the rows of sums to pay off (narrow products stay with the micro-kernels).
pub(super) fn applies<E>(m: usize, n: usize, b: Operand<E>) -> bool {
    m <= SMALL_ROWS && n >= 64 && b.cs == 1
}

/// `c = alpha a b + beta c` for `m <= SMALL_ROWS`, `b` with contiguous rows (`b.cs == 1`),
/// columns split over `threads` threads.
///
/// # Safety
/// Every element the strides reach is inside the operands' buffers; `c`'s rows (stride
/// `rsc`, `n` contiguous elements) are valid for writes, and initialised unless
/// `beta == 0` (then they are only written).
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn product<E: Float>(
    m: usize,
    k: usize,
    n: usize,
    alpha: E,
    a: Operand<E>,
    b: Operand<E>,
    beta: E,
    c: SendPtr<E>,
    rsc: usize,
    threads: usize,
) {
    debug_assert!(m <= SMALL_ROWS && b.cs == 1);
    let parts = threads.min(n.div_ceil(64)).max(1);
    threads::run(parts, &|t| {
        let (c0, c1) = split(n, 16, parts, t);
        for j0 in (c0..c1).step_by(BLOCK) {
            let w = BLOCK.min(c1 - j0);
            // SAFETY: columns j0..j0 + w of the product, inside the caller's extents;
            // the threads' column ranges are disjoint.
            unsafe { block(m, k, j0, w, alpha, a, b, beta, c, rsc) };
        }
    });
}

/// Columns `j0..j0 + w` (`w <= BLOCK`) of [`product`].
///
/// # Safety
/// As [`product`], for these columns.
#[allow(clippy::too_many_arguments)]
unsafe fn block<E: Float>(
    m: usize,
    k: usize,
    j0: usize,
    w: usize,
    alpha: E,
    a: Operand<E>,
    b: Operand<E>,
    beta: E,
    c: SendPtr<E>,
    rsc: usize,
) {
    let mut sums = [[E::ZERO; BLOCK]; SMALL_ROWS];
    wide(
        #[inline(always)]
        || {
            for p in 0..k {
                // SAFETY: row p of `b`, columns j0..j0 + w: inside its checked extent,
                // contiguous (`b.cs == 1`).
                let b_row = unsafe { core::slice::from_raw_parts(b.at(p, j0).ptr, w) };
                if p + 1 < k {
                    prefetch(b.at(p + 1, j0).ptr, w);
                }
                for (i, row) in sums.iter_mut().enumerate().take(m) {
                    // SAFETY: element (i, p) of `a`, inside its checked extent.
                    let ai = unsafe { *a.at(i, p).ptr };
                    for (s, &v) in row[..w].iter_mut().zip(b_row) {
                        // Fused, as the micro-kernels: a row's numbers do not depend on
                        // whether it came alone or with others (`f64` LSTM cells split
                        // their rows over threads and promise the same numbers).
                        *s = ai.mul_add(v, *s);
                    }
                }
            }
            for (i, row) in sums.iter().enumerate().take(m) {
                let out = c.get().wrapping_add(i * rsc + j0);
                for (j, &s) in row[..w].iter().enumerate() {
                    // SAFETY: element (i, j0 + j) of `c`, inside its extent; read only when
                    // `beta != 0` (then initialised).
                    unsafe {
                        let v = alpha * s;
                        let v = if beta == E::ZERO {
                            v
                        } else {
                            v + beta * out.add(j).read()
                        };
                        out.add(j).write(v);
                    }
                }
            }
        },
    )
}

/// Asks for the `len` values at `p` (the next row's segment of `B`): each segment is a few
/// KiB a row apart, a new page for every row of a wide `B`, where the hardware prefetchers
/// start over (1 x 1024 x 4096 `f32` on one thread: 14.2 -> 16.4 GFLOP/s).
#[inline(always)]
fn prefetch<E>(p: *const E, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = len * size_of::<E>();
        for offset in (0..bytes).step_by(64) {
            // SAFETY: a prefetch does not fault, whatever the address.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>().wrapping_add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
}

#[cfg(test)]
mod tests {
    use crate::backend::gemm::tests::{Layout, check_every_path};
    use rand::SeedableRng;

    /// Products of one or two rows against a row-major `B` stream `B` row by row
    /// (`small_rows`): every layout of `A`, padded rows, blocks of columns past 1024, and one
    /// large enough to split over the threads; three rows take the micro-kernels with `B` in
    /// place.
    #[test]
    fn few_rows_against_row_major_b_match_naive() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(18);
        for m in 1..=3 {
            for (k, n) in [(1, 64), (7, 100), (40, 1030), (600, 2000)] {
                for ta in [false, true] {
                    for pad in [0, 3] {
                        let layout = Layout { ta, tb: false, pad };
                        for beta in [0.0, 1.0] {
                            check_every_path((m, k, n), layout, beta, &mut rng);
                        }
                    }
                }
            }
        }
    }
}
