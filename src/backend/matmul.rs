//! Batched matrix multiplication on top of `matrixmultiply`.

use super::gemm::Strides;
use super::gemm::{gemm, gemm_uninit};
use super::uninit::{GradTarget, assume_init_mut, filled, written};
use crate::dtype::Float;

/// A batch of `m x k` by `k x n` products. Batch strides are 0 for a side shared by every batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatMulPlan {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a_batch_stride: usize,
    pub b_batch_stride: usize,
}

impl MatMulPlan {
    /// The plan for PyTorch's `matmul` of two shapes already checked by the type rules.
    pub(crate) fn new(a: &[usize], b: &[usize]) -> Self {
        let (m, k) = match a.len() {
            1 => (1, a[0]),
            r => (a[r - 2], a[r - 1]),
        };
        let n = match b.len() {
            1 => 1,
            r => b[r - 1],
        };
        let a_batch: usize = a[..a.len().saturating_sub(2)].iter().product();
        let b_batch: usize = b[..b.len().saturating_sub(2)].iter().product();
        let batch = a_batch.max(b_batch);
        MatMulPlan {
            batch,
            m,
            k,
            n,
            a_batch_stride: if a.len() > 2 { m * k } else { 0 },
            b_batch_stride: if b.len() > 2 { k * n } else { 0 },
        }
    }

    /// `c = a b`, row-major. The output is written by the products alone, without a zero
    /// fill first (1024^3 `f32` on two threads: the fill of the 4 MiB result was 2% of the
    /// product's time).
    pub(crate) fn forward<E: Float>(&self, a: &[E], b: &[E]) -> Vec<E> {
        let (m, k, n) = (self.m, self.k, self.n);
        // SAFETY: every batch's product writes its `m * n` block of `c` in full
        // (`gemm_uninit`), and the blocks cover it (`batch * m * n`; with `m * n == 0`
        // there is nothing to write).
        unsafe {
            written(self.batch * m * n, |c| {
                for (i, c) in c.chunks_exact_mut((m * n).max(1)).enumerate() {
                    gemm_uninit(
                        m,
                        k,
                        n,
                        E::ONE,
                        &a[i * self.a_batch_stride..],
                        (k as isize, 1),
                        &b[i * self.b_batch_stride..],
                        (n as isize, 1),
                        c,
                    );
                }
            })
        }
    }

    /// `ga (+)= gc b^T`, summed over batches when `a` is shared: a new gradient
    /// ([`GradTarget::Write`]) is written whole, without a zero fill to add into.
    pub(crate) fn grad_a<E: Float>(&self, ga: GradTarget<'_, E>, gc: &[E], b: &[E]) {
        let (m, k, n) = (self.m, self.k, self.n);
        self.batch_products(ga, (m, n, k), self.a_batch_stride, |i| {
            (
                &gc[i * m * n..],
                (n as isize, 1),
                &b[i * self.b_batch_stride..],
                (1, n as isize),
            )
        });
    }

    /// `gb (+)= a^T gc`, summed over batches when `b` is shared, as [`grad_a`](Self::grad_a).
    pub(crate) fn grad_b<E: Float>(&self, gb: GradTarget<'_, E>, a: &[E], gc: &[E]) {
        let (m, k, n) = (self.m, self.k, self.n);
        self.batch_products(gb, (k, m, n), self.b_batch_stride, |i| {
            (
                &a[i * self.a_batch_stride..],
                (1, k as isize),
                &gc[i * m * n..],
                (n as isize, 1),
            )
        });
    }

    /// One product per batch into a gradient of `rows x cols` blocks `stride` apart (0 when
    /// every batch sums into one block); `operands(i)` gives batch `i`'s two matrices, with
    /// `inner` steps. Into new memory, each block's first product writes it (`beta = 0`) and
    /// a shared block's later ones add.
    fn batch_products<'a, E: Float>(
        &self,
        out: GradTarget<'_, E>,
        (rows, inner, cols): (usize, usize, usize),
        stride: usize,
        operands: impl Fn(usize) -> (&'a [E], Strides, &'a [E], Strides),
    ) {
        let add = |i: usize, c: &mut [E]| {
            let (a, sa, b, sb) = operands(i);
            gemm(
                rows,
                inner,
                cols,
                E::ONE,
                a,
                sa,
                b,
                sb,
                E::ONE,
                c,
                (cols as isize, 1),
            );
        };
        match out {
            GradTarget::Add(c) => {
                for i in 0..self.batch {
                    add(i, &mut c[i * stride..]);
                }
            }
            GradTarget::Write(c) => {
                let block = rows * cols;
                let firsts = if stride == 0 {
                    self.batch.min(1)
                } else {
                    self.batch
                };
                for i in 0..firsts {
                    let (a, sa, b, sb) = operands(i);
                    gemm_uninit(
                        rows,
                        inner,
                        cols,
                        E::ONE,
                        a,
                        sa,
                        b,
                        sb,
                        &mut c[i * block..][..block],
                    );
                }
                // Nothing is left past the first blocks but for an empty batch.
                filled(&mut c[firsts * block..], E::ZERO);
                // SAFETY: the products and the fill above wrote all of `c`.
                let c = unsafe { assume_init_mut(c) };
                for i in firsts..self.batch {
                    add(i, &mut c[..block]);
                }
            }
        }
    }
}
