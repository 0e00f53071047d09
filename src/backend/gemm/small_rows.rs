//! Products of a few rows of `A` (at most [`SMALL_ROWS`]) against a row-major `B`: a batch
//! of one `x B`, a decoding step's `attention @ V`. Every value of `B` is used once per row
//! of `A`, so the product is a stream over `B`. The blocked product walks `B` down its
//! columns a panel at a time, a new row (and, for wide `B`, a new page) at every step, where
//! the hardware prefetchers do not follow; here `B` is read row after row, eight rows at a
//! time, each multiplied by `A`'s values of those steps into rows of sums that stay in L2.
//! One thread, `benches/gemm_compare`: 1 x 1024 x 4096 `f32` 5.4 GFLOP/s blocked with `B`
//! packed, 11 with `B` in place, 15 here one row of `B` at a time (`f64` 1.6 -> 4.3;
//! PyTorch 22 and 8.5); 1 x 512 x 512 `f64` 4.2 -> 11.8. Eight rows at a time, with the
//! sums in blocks of 8192 columns instead of 1024 (so that a thread reads whole rows of
//! `B` in order, which the prefetchers follow, rather than a strip of each), without the
//! software prefetches that the strips needed (`/tmp/big vm`, alternating runs, one / two
//! threads, before -> after, PyTorch in brackets): `f64` 1 x 4096 x 4096 15.9 / 7.4 ->
//! 5.3-6.0 / 3.5-3.6 ms (6.3 / 5.6), 2 x 4096 x 4096 19.3 / 9.3 -> 7.1-7.3 / 4.0-4.2
//! (12.4 / 7.9); `f32` 1 x 4096 x 4096 6.6 / 2.8 -> 2.6 / 1.6 (2.9 / 2.7), 1 x 1024 x
//! 4096 0.56 / 0.28 -> 0.31-0.32 / 0.16 (0.39 / 0.34), 1 x 4096 x 256 0.089 / 0.068 ->
//! 0.069 / 0.055 (0.098 / 0.098); `f64` 1 x 512 x 512 0.043 / 0.039 -> 0.034 / 0.033
//! (0.038 / 0.036). From three rows on the micro-kernels reading `B` in place are faster.

use super::blocked::split;
use super::{Operand, SendPtr};
use crate::backend::simd::wide;
use crate::backend::threads;
use crate::dtype::Float;

/// The most rows of `A` this path takes (2 x 1024 x 4096 `f64`: 4.5 GFLOP/s in the
/// micro-kernels, 6.5 here; at four rows `f32` 45 there, 24 here).
pub(super) const SMALL_ROWS: usize = 2;
/// Columns per block: `SMALL_ROWS` rows of sums stay in L2 (64 KiB of `f32`, 128 of `f64`).
const BLOCK: usize = 8192;
/// Rows of `B` per pass over the sums: each sum is loaded and stored once per `STEPS` steps
/// (every step, the stores bounded the loop); four gave 0.87-0.93x of eight on the large
/// products above and 1.15-1.2x on 1 x 512 x 512 `f64`.
const STEPS: usize = 8;

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
    let mut sums = vec![E::ZERO; m * w];
    wide(
        #[inline(always)]
        || {
            // SAFETY: row p of `b`, columns j0..j0 + w: inside its checked extent,
            // contiguous (`b.cs == 1`).
            let b_row = |p: usize| unsafe { core::slice::from_raw_parts(b.at(p, j0).ptr, w) };
            // Rows of `B` four at a time: each sum is loaded and stored once per four
            // steps instead of every step (the stores bounded the loop), with the same
            // fused operations in the same order.
            let mut p = 0;
            while p + STEPS <= k {
                let rows: [&[E]; STEPS] = core::array::from_fn(|u| b_row(p + u));

                for (i, row) in sums.chunks_exact_mut(w).enumerate() {
                    // SAFETY: elements (i, p..p + STEPS) of `a`, inside its checked extent.
                    let a_i: [E; STEPS] = core::array::from_fn(|u| unsafe { *a.at(i, p + u).ptr });
                    for (j, s) in row.iter_mut().enumerate() {
                        // Fused, as the micro-kernels: a row's numbers do not depend on
                        // whether it came alone or with others (`f64` LSTM cells split
                        // their rows over threads and promise the same numbers).
                        let mut acc = *s;
                        for u in 0..STEPS {
                            acc = a_i[u].mul_add(rows[u][j], acc);
                        }
                        *s = acc;
                    }
                }
                p += STEPS;
            }
            for p in p..k {
                let b_p = b_row(p);
                for (i, row) in sums.chunks_exact_mut(w).enumerate() {
                    // SAFETY: element (i, p) of `a`, inside its checked extent.
                    let ai = unsafe { *a.at(i, p).ptr };
                    for (s, &v) in row.iter_mut().zip(b_p) {
                        *s = ai.mul_add(v, *s);
                    }
                }
            }
            for (i, row) in sums.chunks_exact(w).enumerate() {
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

#[cfg(test)]
mod tests {
    use crate::backend::gemm::tests::{Layout, check_every_path};
    use rand::SeedableRng;

    /// Products of one or two rows against a row-major `B` stream `B` row by row
    /// (`small_rows`): every layout of `A`, padded rows, depths with and without a remainder
    /// of rows past the groups of eight, blocks of columns past 8192, and products large
    /// enough to split over the threads; three rows take the micro-kernels with `B` in
    /// place.
    #[test]
    fn few_rows_against_row_major_b_match_naive() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(18);
        for m in 1..=3 {
            for (k, n) in [(1, 64), (7, 100), (40, 1030), (600, 2000), (19, 8300)] {
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
