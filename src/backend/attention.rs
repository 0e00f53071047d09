//! Scaled dot-product attention over heads read in place: `softmax(scale Q K^T + mask) V`
//! for every (batch, head) pair, forward and backward.
//!
//! Why a kernel of its own: written as tensor ops, the head split `(B, N, E) -> (B, H, N, d)`
//! and the merge back are permutes that copy, `K^T` is another copy, the scale and the mask
//! are passes of their own, and the batched products run one small product after another.
//! Here each head's `Q`, `K` and `V` are read through strides straight from the projections
//! (one `(B, N, 3E)` buffer for self-attention, or three `(B, N, E)` ones), the scale rides on
//! the product, the mask is added inside the softmax, the context is written in the merged
//! `(B, L, E)` layout, and the batch elements are split over the threads.

use super::gemm::gemm;
use super::softmax::{row_dot, row_max};
use super::{simd::wide, threads};
use crate::dtype::Float;
use std::sync::Mutex;

/// Where `Q`, `K` or `V` lies in its buffer: buffer `buf`, columns `col..col + E` of rows of
/// `stride` elements, `batch_stride` elements per batch element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Part {
    pub buf: usize,
    pub col: usize,
    pub stride: usize,
    pub batch_stride: usize,
}

/// One attention call: `batch` elements, `heads` heads of `head_dim` features, `l` queries,
/// `s` keys, and where `Q`, `K`, `V` are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Attention {
    pub batch: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub l: usize,
    pub s: usize,
    pub q: Part,
    pub k: Part,
    pub v: Part,
}

impl Attention {
    fn embed(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Runs `f(b, chunks)` for every batch element, `chunks[i]` being batch element `b`'s
    /// block of `bufs[i]` (`sizes[i]` elements per batch element): in parallel over batch
    /// elements when there are enough of them, else one after another (each product then
    /// splits over the threads itself).
    fn for_batches<E: Float, const N: usize>(
        &self,
        bufs: [&mut [E]; N],
        sizes: [usize; N],
        f: impl Fn(usize, [&mut [E]; N]) + Sync,
    ) {
        let mut chunks = bufs
            .into_iter()
            .zip(sizes)
            .map(|(b, n)| b.chunks_mut(n.max(1)))
            .collect::<Vec<_>>();
        let tasks: Vec<Mutex<Option<[&mut [E]; N]>>> = (0..self.batch)
            .map(|_| {
                Mutex::new(Some(core::array::from_fn(|i| {
                    chunks[i].next().unwrap_or_default()
                })))
            })
            .collect();
        let run = |b: usize| {
            let task = tasks[b].lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(task) = task {
                f(b, task);
            }
        };
        if self.batch >= threads::threads() && self.batch > 1 {
            threads::run(self.batch, &run);
        } else {
            (0..self.batch).for_each(run);
        }
    }

    /// The context `(B, L, E)` (heads merged) and the probabilities `(B, H, L, S)`.
    /// `mask` `(L, S)` and `key_padding` `(B, S)` are added to the scaled scores.
    pub(crate) fn forward<E: Float>(
        &self,
        bufs: &[&[E]],
        scale: E,
        mask: Option<&[E]>,
        key_padding: Option<&[E]>,
    ) -> (Vec<E>, Vec<E>) {
        let (l, s, d, e) = (self.l, self.s, self.head_dim, self.embed());
        let mut out = vec![E::ZERO; self.batch * l * e];
        let mut probs = vec![E::ZERO; self.batch * self.heads * l * s];
        let (q, k, v) = (self.q, self.k, self.v);
        self.for_batches(
            [&mut out, &mut probs],
            [l * e, self.heads * l * s],
            |b, [out, probs]| {
                let (qb, kb, vb) = (
                    &bufs[q.buf][b * q.batch_stride..],
                    &bufs[k.buf][b * k.batch_stride..],
                    &bufs[v.buf][b * v.batch_stride..],
                );
                for (h, p) in probs.chunks_exact_mut((l * s).max(1)).enumerate() {
                    let c = h * d;
                    // P = scale Q K^T, K^T read through swapped strides.
                    gemm(
                        l,
                        d,
                        s,
                        scale,
                        &qb[q.col + c..],
                        (q.stride as isize, 1),
                        &kb[k.col + c..],
                        (1, k.stride as isize),
                        E::ZERO,
                        p,
                        (s as isize, 1),
                    );
                    let kpm = key_padding.map(|m| &m[b * s..][..s]);
                    masked_softmax_rows(p, s, mask, kpm);
                    // The head's context, written into its columns of the merged output.
                    gemm(
                        l,
                        s,
                        d,
                        E::ONE,
                        p,
                        (s as isize, 1),
                        &vb[v.col + c..],
                        (v.stride as isize, 1),
                        E::ZERO,
                        &mut out[c..],
                        (e as isize, 1),
                    );
                }
            },
        );
        (out, probs)
    }

    /// The gradients of the buffers `bufs` (one vector per buffer, of its length) from the
    /// context's gradient `dout` `(B, L, E)` and the forward pass's probabilities.
    pub(crate) fn backward<E: Float>(
        &self,
        bufs: &[&[E]],
        probs: &[E],
        dout: &[E],
        scale: E,
    ) -> Vec<Vec<E>> {
        let (l, s, d, e) = (self.l, self.s, self.head_dim, self.embed());
        let (q, k, v) = (self.q, self.k, self.v);
        let mut grads: Vec<Vec<E>> = bufs.iter().map(|b| vec![E::ZERO; b.len()]).collect();
        // Batch strides of each buffer (the same for every part in one buffer).
        let mut strides = vec![0; bufs.len()];
        for p in [q, k, v] {
            strides[p.buf] = p.batch_stride;
        }
        let task = |b: usize, gs: &mut [&mut [E]]| {
            let (qb, kb, vb) = (
                &bufs[q.buf][b * q.batch_stride..],
                &bufs[k.buf][b * k.batch_stride..],
                &bufs[v.buf][b * v.batch_stride..],
            );
            let dob = &dout[b * l * e..];
            let mut dp = vec![E::ZERO; l * s];
            for h in 0..self.heads {
                let c = h * d;
                let p = &probs[(b * self.heads + h) * l * s..][..l * s];
                // dP = dO V^T
                gemm(
                    l,
                    d,
                    s,
                    E::ONE,
                    &dob[c..],
                    (e as isize, 1),
                    &vb[v.col + c..],
                    (1, v.stride as isize),
                    E::ZERO,
                    &mut dp,
                    (s as isize, 1),
                );
                softmax_backward_rows(&mut dp, p, s);
                // dQ = scale dS K, dK = scale dS^T Q, dV = P^T dO.
                gemm(
                    l,
                    s,
                    d,
                    scale,
                    &dp,
                    (s as isize, 1),
                    &kb[k.col + c..],
                    (k.stride as isize, 1),
                    E::ONE,
                    &mut gs[q.buf][q.col + c..],
                    (q.stride as isize, 1),
                );
                gemm(
                    s,
                    l,
                    d,
                    scale,
                    &dp,
                    (1, s as isize),
                    &qb[q.col + c..],
                    (q.stride as isize, 1),
                    E::ONE,
                    &mut gs[k.buf][k.col + c..],
                    (k.stride as isize, 1),
                );
                gemm(
                    s,
                    l,
                    d,
                    E::ONE,
                    p,
                    (1, s as isize),
                    &dob[c..],
                    (e as isize, 1),
                    E::ONE,
                    &mut gs[v.buf][v.col + c..],
                    (v.stride as isize, 1),
                );
            }
        };
        match &mut grads[..] {
            [g0] => self.for_batches([g0], [strides[0]], |b, [g0]| task(b, &mut [g0])),
            [g0, g1, g2] => self.for_batches(
                [g0, g1, g2],
                [strides[0], strides[1], strides[2]],
                |b, [g0, g1, g2]| task(b, &mut [g0, g1, g2]),
            ),
            _ => unreachable!("Q, K and V lie in one buffer or in three"),
        }
        grads
    }
}

/// Softmax of each row of `s` elements of `p` in place after adding the mask row and the key
/// padding row. A row whose entries are all `-inf` comes out NaN, as in PyTorch.
fn masked_softmax_rows<E: Float>(
    p: &mut [E],
    s: usize,
    mask: Option<&[E]>,
    key_padding: Option<&[E]>,
) {
    wide(
        #[inline(always)]
        || {
            for (i, row) in p.chunks_exact_mut(s.max(1)).enumerate() {
                if let Some(m) = mask {
                    for (x, &mv) in row.iter_mut().zip(&m[i * s..][..s]) {
                        *x += mv;
                    }
                }
                if let Some(m) = key_padding {
                    for (x, &mv) in row.iter_mut().zip(m) {
                        *x += mv;
                    }
                }
                let mut mx = row_max(row);
                if !mx.is_finite() {
                    mx = E::ZERO;
                }
                for x in row.iter_mut() {
                    *x = (*x - mx).exp();
                }
                let inv = E::ONE / row_dot(row, None);
                row.iter_mut().for_each(|x| *x *= inv);
            }
        },
    )
}

/// `dp <- p * (dp - sum(dp * p))` row by row: the softmax's backward step in place.
fn softmax_backward_rows<E: Float>(dp: &mut [E], p: &[E], s: usize) {
    wide(
        #[inline(always)]
        || {
            for (g, y) in dp.chunks_exact_mut(s.max(1)).zip(p.chunks_exact(s.max(1))) {
                let dot = row_dot(g, Some(y));
                for (gv, &yv) in g.iter_mut().zip(y) {
                    *gv = yv * (*gv - dot);
                }
            }
        },
    )
}
