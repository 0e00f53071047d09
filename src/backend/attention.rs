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
//!
//! A mask that hides every key from some point on (a causal mask: PyTorch's `is_causal`
//! path), or a key padding mask that pads the end of a batch element, is not computed where
//! it hides: the queries go in blocks of rows, each block's products stop at the last key
//! one of its rows sees, and the keys' gradients start at the first block that sees them
//! (see [`KeyExtents`]).

use super::gemm::gemm;
use super::softmax::{row_dot, row_max};
use super::uninit::filled;
use super::vector_math::exp_shifted_sum_in_place;
use super::{simd::wide, threads};
use crate::dtype::Float;
use core::mem::MaybeUninit;
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

/// Queries are taken in blocks of this many rows when a mask hides keys at the end of rows:
/// a causal 128 x 128 mask then computes 56% of the scores. W8's attention (16 x 4 heads of
/// 128 x 64, one thread, forward / backward): full 4.3 / 6.7 ms, blocks of 32 rows 3.6 /
/// 5.3, of 16 rows 3.2 / 4.9 (more product calls, each smaller).
const ROW_BLOCK: usize = 16;

/// Which keys each block of query rows sees: `(first row, end row, keys)`, every key from
/// `keys` on hidden (`-inf` in the mask or in the key padding) for all rows of the block,
/// whose probabilities are then exactly zero and whose scores are never computed. Adjacent
/// blocks with the same extent are one block, so without a mask, or with one that hides no
/// trailing keys, there is one block of all rows and keys, computed as one product.
///
/// A row that sees no key (the mask and the padding together hide all of them) puts its
/// block back to all keys, so it comes out NaN and spreads NaN to the keys' gradients as
/// the full computation does (PyTorch's math path).
pub(crate) struct KeyExtents {
    rows: Vec<(usize, usize, usize)>,
}

impl KeyExtents {
    fn new<E: Float>(
        l: usize,
        s: usize,
        mask: Option<&[E]>,
        key_padding: Option<&[E]>,
        row_block: usize,
    ) -> Self {
        let seen = |v: E| v != E::NEG_INFINITY;
        // The last key the padding leaves (+ 1); 0 when it hides them all.
        let padded_end = key_padding.map_or(s, |kp| {
            kp[..s].iter().rposition(|&v| seen(v)).map_or(0, |j| j + 1)
        });
        let Some(mask) = mask else {
            let keys = if padded_end == 0 {
                s
            } else {
                padded_end.next_multiple_of(8).min(s)
            };
            return Self {
                rows: vec![(0, l, keys)],
            };
        };
        let mut rows: Vec<(usize, usize, usize)> = Vec::new();
        for r0 in (0..l).step_by(row_block.max(1)) {
            let r1 = (r0 + row_block).min(l);
            let mut keys = 0;
            for i in r0..r1 {
                let row = &mask[i * s..][..s];
                let last = match key_padding {
                    None => row.iter().rposition(|&v| seen(v)),
                    Some(kp) => (0..padded_end).rev().find(|&j| seen(row[j]) && seen(kp[j])),
                };
                match last {
                    Some(j) => keys = keys.max(j + 1),
                    // A row that sees no key comes out NaN, as in PyTorch, only when its
                    // whole row of scores goes through the softmax.
                    None => keys = s,
                }
            }
            // Whole groups of eight keys: the softmax's sums then add the same partial sums
            // as over the full row (the hidden keys add exact zeros).
            let keys = keys.next_multiple_of(8).min(s);
            match rows.last_mut() {
                Some(last) if last.2 == keys => last.1 = r1,
                _ => rows.push((r0, r1, keys)),
            }
        }
        Self { rows }
    }

    /// Blocks of keys `(first key, end key, first row)`: the rows from `first row` on are
    /// the only ones that see any of those keys (earlier rows have exact zeros there), so
    /// the keys' gradients sum over those rows alone. Keys no row sees are left out.
    fn key_blocks(&self) -> Vec<(usize, usize, usize)> {
        let mut ends: Vec<usize> = self.rows.iter().map(|r| r.2).collect();
        ends.sort_unstable();
        ends.dedup();
        let mut blocks = Vec::with_capacity(ends.len());
        let mut c0 = 0;
        for c1 in ends {
            if c1 > c0 {
                if let Some(&(r0, _, _)) = self.rows.iter().find(|r| r.2 > c0) {
                    blocks.push((c0, c1, r0));
                }
                c0 = c1;
            }
        }
        blocks
    }
}

/// The [`KeyExtents`] of every batch element: one shared by all of them without a key
/// padding mask, else one each (the padding differs per batch element).
pub(crate) struct BatchExtents(Vec<KeyExtents>);

impl BatchExtents {
    fn of(&self, b: usize) -> &KeyExtents {
        &self.0[if self.0.len() == 1 { 0 } else { b }]
    }
}

impl Attention {
    fn embed(&self) -> usize {
        self.heads * self.head_dim
    }

    /// Runs `f(b, chunks)` for every batch element, `chunks[i]` being batch element `b`'s
    /// block of `bufs[i]` (`sizes[i]` elements per batch element): in parallel over batch
    /// elements when there are enough of them, else one after another (each product then
    /// splits over the threads itself).
    fn for_batches<T: Send, const N: usize>(
        &self,
        bufs: [&mut [T]; N],
        sizes: [usize; N],
        f: impl Fn(usize, [&mut [T]; N]) + Sync,
    ) {
        let mut chunks = bufs
            .into_iter()
            .zip(sizes)
            .map(|(b, n)| b.chunks_mut(n.max(1)))
            .collect::<Vec<_>>();
        let tasks: Vec<Mutex<Option<[&mut [T]; N]>>> = (0..self.batch)
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

    /// New buffers of `batch * sizes[i]` elements, written by `f(b, chunks)` as in
    /// [`Attention::for_batches`] after each task has zero-filled its own chunks: in parallel
    /// and just before they are written, instead of on the calling thread first while the
    /// others wait (W8's probabilities, context and gradients: 12 MiB a layer).
    fn for_batches_zeroed<E: Float, const N: usize>(
        &self,
        sizes: [usize; N],
        f: impl Fn(usize, [&mut [E]; N]) + Sync,
    ) -> [Vec<E>; N] {
        let lens = sizes.map(|n| self.batch * n);
        let mut bufs: [Vec<E>; N] = lens.map(Vec::with_capacity);
        let mut slots = bufs.each_mut().map(|v| v.spare_capacity_mut());
        let slots: [&mut [MaybeUninit<E>]; N] =
            core::array::from_fn(|i| &mut core::mem::take(&mut slots[i])[..lens[i]]);
        self.for_batches(slots, sizes, |b, chunks| {
            f(b, chunks.map(|chunk| filled(chunk, E::ZERO)))
        });
        for (buf, len) in bufs.iter_mut().zip(lens) {
            // SAFETY: the `batch` chunks of `sizes[i]` elements cover `..len`, and every
            // batch element's task ran (`for_batches` runs them all; a panic in one unwinds
            // before this line), each having written its chunks in full with zeros before
            // handing them to `f`.
            unsafe { buf.set_len(len) };
        }
        bufs
    }

    /// The context `(B, L, E)` (heads merged), the probabilities `(B, H, L, S)` and the keys
    /// each block of queries sees (for [`Attention::backward`]). `mask` `(L, S)` and
    /// `key_padding` `(B, S)` are added to the scaled scores.
    pub(crate) fn forward<E: Float>(
        &self,
        bufs: &[&[E]],
        scale: E,
        mask: Option<&[E]>,
        key_padding: Option<&[E]>,
    ) -> (Vec<E>, Vec<E>, BatchExtents) {
        self.forward_in_blocks(bufs, scale, mask, key_padding, ROW_BLOCK)
    }

    fn forward_in_blocks<E: Float>(
        &self,
        bufs: &[&[E]],
        scale: E,
        mask: Option<&[E]>,
        key_padding: Option<&[E]>,
        row_block: usize,
    ) -> (Vec<E>, Vec<E>, BatchExtents) {
        let (l, s, d, e) = (self.l, self.s, self.head_dim, self.embed());
        // Zero-filled (`for_batches_zeroed`): the probabilities of keys a block does not see
        // stay exact zeros.
        // Without padding, one set of extents for all; with it, each batch element's own,
        // found by the thread that computes that element.
        let shared = key_padding
            .is_none()
            .then(|| KeyExtents::new(l, s, mask, None, row_block));
        let own: Vec<std::sync::OnceLock<KeyExtents>> = match shared {
            Some(_) => Vec::new(),
            None => (0..self.batch)
                .map(|_| std::sync::OnceLock::new())
                .collect(),
        };
        let padded = |b: usize| {
            KeyExtents::new(l, s, mask, key_padding.map(|m| &m[b * s..][..s]), row_block)
        };
        let extents_of = |b: usize| match &shared {
            Some(e) => e,
            None => own[b].get_or_init(|| padded(b)),
        };
        let [out, probs] =
            self.for_batches_zeroed([l * e, self.heads * l * s], |b, [out, probs]| {
                let kpm = key_padding.map(|m| &m[b * s..][..s]);
                let extents = extents_of(b);
                let mut head = HeadCopies::new(self);
                for (h, p) in probs.chunks_exact_mut((l * s).max(1)).enumerate() {
                    let c = h * d;
                    head.gather(self, bufs, b, h);
                    for &(r0, r1, keys) in &extents.rows {
                        // P = scale Q K^T
                        times_transposed(
                            r1 - r0,
                            d,
                            keys,
                            scale,
                            &head.q[r0 * d..],
                            &head.k,
                            &mut p[r0 * s..],
                            s,
                        );
                        let rows = &mut p[r0 * s..r1 * s];
                        masked_softmax_rows(rows, s, keys, mask.map(|m| &m[r0 * s..]), kpm);
                        // The head's context, written into its columns of the merged output.
                        gemm(
                            r1 - r0,
                            keys,
                            d,
                            E::ONE,
                            &p[r0 * s..],
                            (s as isize, 1),
                            &head.v,
                            (d as isize, 1),
                            E::ZERO,
                            &mut out[r0 * e + c..],
                            (e as isize, 1),
                        );
                    }
                }
            });
        let extents = match shared {
            Some(e) => vec![e],
            None => own
                .into_iter()
                .enumerate()
                .map(|(b, e)| e.into_inner().unwrap_or_else(|| padded(b)))
                .collect(),
        };
        (out, probs, BatchExtents(extents))
    }

    /// The gradients of the buffers `bufs` (one vector per buffer, of its length) from the
    /// context's gradient `dout` `(B, L, E)` and the forward pass's probabilities and key
    /// extents.
    pub(crate) fn backward<E: Float>(
        &self,
        bufs: &[&[E]],
        (probs, batch_extents): (&[E], &BatchExtents),
        dout: &[E],
        scale: E,
    ) -> Vec<Vec<E>> {
        let (l, s, d, e) = (self.l, self.s, self.head_dim, self.embed());
        let (q, k, v) = (self.q, self.k, self.v);
        // Batch strides of each buffer (the same for every part in one buffer).
        let mut strides = vec![0; bufs.len()];
        for p in [q, k, v] {
            strides[p.buf] = p.batch_stride;
        }
        for (buf, stride) in bufs.iter().zip(&strides) {
            assert_eq!(buf.len(), self.batch * stride, "a buffer of batch elements");
        }
        let task = |b: usize, gs: &mut [&mut [E]]| {
            let extents = batch_extents.of(b);
            let key_blocks = extents.key_blocks();
            let dob = &dout[b * l * e..];
            // dS of keys a block does not see stays zero: every head writes the same parts.
            let mut dp = vec![E::ZERO; l * s];
            // Contiguous copies of the head's operands, as in the forward, and of its dO.
            let mut head = HeadCopies::new(self);
            let mut doh = vec![E::ZERO; l * d];
            for h in 0..self.heads {
                let c = h * d;
                let p = &probs[(b * self.heads + h) * l * s..][..l * s];
                head.gather(self, bufs, b, h);
                gather_head(&dob[c..], e, l, &mut doh);
                for &(r0, r1, keys) in &extents.rows {
                    // dP = dO V^T
                    times_transposed(
                        r1 - r0,
                        d,
                        keys,
                        E::ONE,
                        &doh[r0 * d..],
                        &head.v,
                        &mut dp[r0 * s..],
                        s,
                    );
                    softmax_backward_rows(&mut dp[r0 * s..r1 * s], &p[r0 * s..r1 * s], s, keys);
                    // dQ = scale dS K
                    gemm(
                        r1 - r0,
                        keys,
                        d,
                        scale,
                        &dp[r0 * s..],
                        (s as isize, 1),
                        &head.k,
                        (d as isize, 1),
                        E::ONE,
                        &mut gs[q.buf][q.col + c + r0 * q.stride..],
                        (q.stride as isize, 1),
                    );
                }
                // dK = scale dS^T Q, dV = P^T dO, over the rows that see each block of keys.
                for &(c0, c1, r0) in &key_blocks {
                    gemm(
                        c1 - c0,
                        l - r0,
                        d,
                        scale,
                        &dp[r0 * s + c0..],
                        (1, s as isize),
                        &head.q[r0 * d..],
                        (d as isize, 1),
                        E::ONE,
                        &mut gs[k.buf][k.col + c + c0 * k.stride..],
                        (k.stride as isize, 1),
                    );
                    gemm(
                        c1 - c0,
                        l - r0,
                        d,
                        E::ONE,
                        &p[r0 * s + c0..],
                        (1, s as isize),
                        &doh[r0 * d..],
                        (d as isize, 1),
                        E::ONE,
                        &mut gs[v.buf][v.col + c + c0 * v.stride..],
                        (v.stride as isize, 1),
                    );
                }
            }
        };
        match strides[..] {
            [s0] => self
                .for_batches_zeroed([s0], |b, [g0]| task(b, &mut [g0]))
                .into(),
            [s0, s1, s2] => self
                .for_batches_zeroed([s0, s1, s2], |b, [g0, g1, g2]| task(b, &mut [g0, g1, g2]))
                .into(),
            _ => unreachable!("Q, K and V lie in one buffer or in three"),
        }
    }
}

/// One head's `Q` (`L x d`), `K` and `V` (`S x d`) copied into contiguous rows: read in
/// place at the projections' row stride (`3E`, a multiple of 1 KiB for E = 256), every
/// product packed its `B` again, a sixth of the attention's time.
struct HeadCopies<E> {
    q: Vec<E>,
    k: Vec<E>,
    v: Vec<E>,
}

impl<E: Float> HeadCopies<E> {
    fn new(a: &Attention) -> Self {
        let d = a.head_dim;
        Self {
            q: vec![E::ZERO; a.l * d],
            k: vec![E::ZERO; a.s * d],
            v: vec![E::ZERO; a.s * d],
        }
    }

    /// Head `h` of batch element `b` from the buffers `bufs`.
    fn gather(&mut self, a: &Attention, bufs: &[&[E]], b: usize, h: usize) {
        let c = h * a.head_dim;
        let parts = [
            (a.q, a.l, &mut self.q),
            (a.k, a.s, &mut self.k),
            (a.v, a.s, &mut self.v),
        ];
        for (part, rows, dst) in parts {
            let src = &bufs[part.buf][b * part.batch_stride + part.col + c..];
            gather_head(src, part.stride, rows, dst);
        }
    }
}

/// `out = alpha a b^T` into rows of stride `s`: `a` is `rows x d`, `b` is `keys x d`, both
/// contiguous rows of `d` (the scores `Q K^T`, and `dO V^T` in the backward pass).
#[allow(clippy::too_many_arguments)]
fn times_transposed<E: Float>(
    rows: usize,
    d: usize,
    keys: usize,
    alpha: E,
    a: &[E],
    b: &[E],
    out: &mut [E],
    s: usize,
) {
    gemm(
        rows,
        d,
        keys,
        alpha,
        a,
        (d as isize, 1),
        b,
        (1, d as isize),
        E::ZERO,
        out,
        (s as isize, 1),
    );
}

/// Rows `..rows` of `d = dst.len() / rows` values each, `stride` apart in `src`, packed into
/// `dst`.
fn gather_head<E: Float>(src: &[E], stride: usize, rows: usize, dst: &mut [E]) {
    let d = dst.len() / rows.max(1);
    for (i, row) in dst.chunks_exact_mut(d.max(1)).enumerate().take(rows) {
        row.copy_from_slice(&src[i * stride..][..d]);
    }
}

/// Softmax of the first `keys` of each row of `s` elements of `p` in place after adding the
/// mask row and the key padding row (the rest of each row is hidden by the mask and left as
/// it is: zero). A row whose entries are all `-inf` comes out NaN, as in PyTorch.
fn masked_softmax_rows<E: Float>(
    p: &mut [E],
    s: usize,
    keys: usize,
    mask: Option<&[E]>,
    key_padding: Option<&[E]>,
) {
    wide(
        #[inline(always)]
        || {
            for (i, row) in p.chunks_exact_mut(s.max(1)).enumerate() {
                let row = &mut row[..keys];
                if let Some(m) = mask {
                    for (x, &mv) in row.iter_mut().zip(&m[i * s..][..keys]) {
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
                let total = match exp_shifted_sum_in_place(row, mx) {
                    Some(total) => total,
                    None => {
                        for x in row.iter_mut() {
                            *x = (*x - mx).exp();
                        }
                        row_dot(row, None)
                    }
                };
                let inv = E::ONE / total;
                row.iter_mut().for_each(|x| *x *= inv);
            }
        },
    )
}

/// `dp <- p * (dp - sum(dp * p))` over the first `keys` of each row of `s`: the softmax's
/// backward step in place.
fn softmax_backward_rows<E: Float>(dp: &mut [E], p: &[E], s: usize, keys: usize) {
    wide(
        #[inline(always)]
        || {
            for (g, y) in dp.chunks_exact_mut(s.max(1)).zip(p.chunks_exact(s.max(1))) {
                let (g, y) = (&mut g[..keys], &y[..keys]);
                let dot = row_dot(g, Some(y));
                for (gv, &yv) in g.iter_mut().zip(y) {
                    *gv = yv * (*gv - dot);
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// `(B, L, E)` `Q`, `(B, S, E)` `K` and `V` in three buffers.
    fn plan(batch: usize, heads: usize, head_dim: usize, l: usize, s: usize) -> Attention {
        let e = heads * head_dim;
        let part = |buf: usize, rows: usize| Part {
            buf,
            col: 0,
            stride: e,
            batch_stride: rows * e,
        };
        Attention {
            batch,
            heads,
            head_dim,
            l,
            s,
            q: part(0, l),
            k: part(1, s),
            v: part(2, s),
        }
    }

    /// Attention by the definition, one score at a time: the context, and the gradients of
    /// `Q`, `K`, `V` from `dout`.
    #[allow(clippy::type_complexity)]
    fn reference(
        a: &Attention,
        bufs: &[Vec<f64>],
        scale: f64,
        mask: Option<&[f64]>,
        key_padding: Option<&[f64]>,
        dout: &[f64],
    ) -> (Vec<f64>, [Vec<f64>; 3]) {
        let (l, s, d, e) = (a.l, a.s, a.head_dim, a.embed());
        let (q, k, v) = (&bufs[0], &bufs[1], &bufs[2]);
        let mut out = vec![0.0; a.batch * l * e];
        let mut grads = [vec![0.0; q.len()], vec![0.0; k.len()], vec![0.0; v.len()]];
        for b in 0..a.batch {
            for h in 0..a.heads {
                let qi = |i: usize, t: usize| q[(b * l + i) * e + h * d + t];
                let kj = |j: usize, t: usize| k[(b * s + j) * e + h * d + t];
                let vj = |j: usize, t: usize| v[(b * s + j) * e + h * d + t];
                let doi = |i: usize, t: usize| dout[(b * l + i) * e + h * d + t];
                for i in 0..l {
                    let mut p: Vec<f64> = (0..s)
                        .map(|j| {
                            let dot: f64 = (0..d).map(|t| qi(i, t) * kj(j, t)).sum();
                            scale * dot
                                + mask.map_or(0.0, |m| m[i * s + j])
                                + key_padding.map_or(0.0, |m| m[b * s + j])
                        })
                        .collect();
                    let mx = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let mx = if mx.is_finite() { mx } else { 0.0 };
                    p.iter_mut().for_each(|x| *x = (*x - mx).exp());
                    let total: f64 = p.iter().sum();
                    p.iter_mut().for_each(|x| *x /= total);
                    let dp: Vec<f64> = (0..s)
                        .map(|j| (0..d).map(|t| doi(i, t) * vj(j, t)).sum())
                        .collect();
                    let dot: f64 = (0..s).map(|j| dp[j] * p[j]).sum();
                    for j in 0..s {
                        let ds = p[j] * (dp[j] - dot);
                        for t in 0..d {
                            out[(b * l + i) * e + h * d + t] += p[j] * vj(j, t);
                            grads[0][(b * l + i) * e + h * d + t] += scale * ds * kj(j, t);
                            grads[1][(b * s + j) * e + h * d + t] += scale * ds * qi(i, t);
                            grads[2][(b * s + j) * e + h * d + t] += p[j] * doi(i, t);
                        }
                    }
                }
            }
        }
        (out, grads)
    }

    fn assert_close(what: &str, got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let same_nan = g.is_nan() && w.is_nan();
            assert!(
                same_nan || (g - w).abs() <= 1e-10 * (1.0 + w.abs()),
                "{what}[{i}]: {g} vs {w}"
            );
        }
    }

    /// Masks that hide trailing keys (causal, shifted causal, ragged per row) are computed
    /// only where they do not hide, in blocks of every size: the context and all three
    /// gradients match attention by the definition, as do a mask without trailing `-inf`s
    /// and no mask; a row that sees no key stays NaN. Each with no key padding, padding at
    /// the end (a different length per batch element, one that leaves a single key) and at
    /// the start (one batch element padded entirely: all NaN, as by the definition).
    #[test]
    fn blocks_of_queries_skip_hidden_keys_only() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let inf = f64::NEG_INFINITY;
        for (l, s) in [(70, 70), (37, 53), (9, 9), (64, 40)] {
            let a = plan(3, 2, 5, l, s);
            let e = 10;
            let bufs: Vec<Vec<f64>> = [l, s, s]
                .iter()
                .map(|&rows| {
                    (0..3 * rows * e)
                        .map(|_| rng.random_range(-1.0..1.0))
                        .collect()
                })
                .collect();
            let dout: Vec<f64> = (0..3 * l * e)
                .map(|_| rng.random_range(-1.0..1.0))
                .collect();
            let causal: Vec<f64> = (0..l * s)
                .map(|x| {
                    if x % s > x / s + s.saturating_sub(l) {
                        inf
                    } else {
                        0.0
                    }
                })
                .collect();
            let ragged: Vec<f64> = (0..l)
                .flat_map(|_| {
                    let seen = rng.random_range(1..=s);
                    let mut r = vec![0.0; s];
                    r.iter_mut().enumerate().for_each(|(j, x)| {
                        *x = if j >= seen {
                            inf
                        } else {
                            rng.random_range(-2.0..2.0)
                        }
                    });
                    r
                })
                .collect();
            let mut unseeing = ragged.clone();
            unseeing[(l / 2) * s..][..s].fill(inf);
            let dense: Vec<f64> = (0..l * s).map(|_| rng.random_range(-2.0..2.0)).collect();
            let masks = [
                Some(causal),
                Some(ragged),
                Some(unseeing),
                Some(dense),
                None,
            ];
            // Per batch element: how many keys are padded, and where.
            let padding = |pads: [usize; 3], at_end: bool| -> Vec<f64> {
                pads.iter()
                    .flat_map(|&p| {
                        (0..s).map(move |j| {
                            let hidden = if at_end { j >= s - p } else { j < p };
                            if hidden { inf } else { 0.0 }
                        })
                    })
                    .collect()
            };
            let paddings = [
                None,
                Some(padding([0, 5.min(s - 1), s - 1], true)),
                Some(padding([3, 0, s], false)),
            ];
            for (mask, key_padding) in masks
                .iter()
                .flat_map(|m| paddings.iter().map(move |p| (m, p)))
            {
                let (mask, key_padding) = (mask.as_deref(), key_padding.as_deref());
                let (want_out, want_grads) = reference(&a, &bufs, 0.3, mask, key_padding, &dout);
                for row_block in [1, 5, 8, 32, l] {
                    let refs: Vec<&[f64]> = bufs.iter().map(Vec::as_slice).collect();
                    let (out, probs, extents) =
                        a.forward_in_blocks(&refs, 0.3, mask, key_padding, row_block);
                    let what = format!(
                        "l {l} s {s} block {row_block} mask {} padding {}",
                        mask.is_some(),
                        key_padding.is_some()
                    );
                    assert_close(&format!("context, {what}"), &out, &want_out);
                    let grads = a.backward(&refs, (&probs, &extents), &dout, 0.3);
                    for (g, (got, want)) in grads.iter().zip(&want_grads).enumerate() {
                        assert_close(&format!("gradient {g}, {what}"), got, want);
                    }
                }
            }
        }
    }

    /// A causal mask's blocks: each sees the keys up to its last row, rounded up to eight;
    /// with padded keys, no block goes past the last key left.
    #[test]
    fn causal_extents() {
        let inf = f64::NEG_INFINITY;
        let mask: Vec<f64> = (0..100 * 100)
            .map(|x| if x % 100 > x / 100 { inf } else { 0.0 })
            .collect();
        let extents = KeyExtents::new(100, 100, Some(&mask), None, 32);
        assert_eq!(
            extents.rows,
            [(0, 32, 32), (32, 64, 64), (64, 96, 96), (96, 100, 100)]
        );
        assert_eq!(
            extents.key_blocks(),
            [(0, 32, 0), (32, 64, 32), (64, 96, 64), (96, 100, 96)]
        );
        let none = KeyExtents::new::<f64>(100, 100, None, None, 32);
        assert_eq!(none.rows, [(0, 100, 100)]);
        assert_eq!(none.key_blocks(), [(0, 100, 0)]);
        // The last 30 keys padded: every block stops at key 72 (70 rounded up to eight),
        // the causal blocks before it at their own extents.
        let padded: Vec<f64> = (0..100).map(|j| if j >= 70 { inf } else { 0.0 }).collect();
        let both = KeyExtents::new(100, 100, Some(&mask), Some(&padded), 32);
        assert_eq!(both.rows, [(0, 32, 32), (32, 64, 64), (64, 100, 72)]);
        let alone = KeyExtents::new(100, 100, None, Some(&padded), 32);
        assert_eq!(alone.rows, [(0, 100, 72)]);
        // Every key padded: the rows see nothing and take all keys (NaN, as by definition).
        let all = vec![inf; 100];
        assert_eq!(
            KeyExtents::new(100, 100, None, Some(&all), 32).rows,
            [(0, 100, 100)]
        );
    }
}
