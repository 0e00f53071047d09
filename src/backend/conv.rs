//! Convolution kernels on row-major `(N, C, H, W)` buffers (pooling is in [`super::pooling`]).
//!
//! Convolutions go through im2col and one gemm per sample: the unfolded input `cols` is a
//! `(C*KH*KW) x (OH*OW)` matrix, so `y = W cols`, `gW += gy cols^T` and `gcols = W^T gy`
//! (folded back with col2im). A transposed convolution is the same pair of maps used the
//! other way round. Samples are independent, so large batches are split over threads.

use super::conv_wide::{add_shifted, weight_grad_shifted};
use super::gemm::gemm;
pub(crate) use super::im2col::ConvGeom;
use super::im2col::{
    col2im, col2im_rows, col2im_wide, im2col, im2col_rows, im2col_wide, narrow_rows, widen_rows,
};
use super::simd;
use super::uninit::{assume_init_mut, filled};
use crate::dtype::Float;

/// The sum of a slice with eight independent accumulators: the compiler may not reorder a
/// float sum, and a single accumulator runs at one add per cycle of latency.
pub(super) fn sum_fast<E: Float>(v: &[E]) -> E {
    let mut acc = [E::ZERO; 8];
    let chunks = v.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    let mut s = E::ZERO;
    for a in acc {
        s += a;
    }
    for &x in tail {
        s += x;
    }
    s
}

/// How many threads to give `n` samples of `cost` multiply-adds each: one unless every
/// thread gets enough work to pay for handing it over (a few microseconds with the pool).
fn worker_count(n: usize, cost: usize) -> usize {
    const MIN_WORK_PER_THREAD: usize = 1 << 18;
    super::threads::threads()
        .min(n)
        .min(n.saturating_mul(cost) / MIN_WORK_PER_THREAD)
        .max(1)
}

/// Runs `f(samples, out_block, acc, scratch)` over contiguous blocks of the `n` samples, one
/// block per thread of [`super::threads`] (the calling thread takes one). `out` holds `per`
/// elements per sample (`per` may be 0 when there is no per-sample output); `acc` is shared
/// by all samples, so every other block accumulates into a zeroed copy that is added back at
/// the end; `scratch` is `scratch_len` elements of working space per block.
///
/// Every buffer is allocated here, on the calling thread, so that workers never allocate.
pub(super) fn split_samples<E: Float, O: Send, F>(
    n: usize,
    per: usize,
    cost: usize,
    scratch_len: usize,
    out: &mut [O],
    acc: &mut [E],
    f: F,
) where
    F: Fn(core::ops::Range<usize>, &mut [O], &mut [E], &mut [E]) + Sync,
{
    let threads = worker_count(n, cost);
    let mut scratch = vec![E::ZERO; threads * scratch_len];
    if threads <= 1 {
        f(0..n, out, acc, &mut scratch);
        return;
    }
    let per_thread = n.div_ceil(threads);
    let mut locals = vec![E::ZERO; (threads - 1) * acc.len()];
    type Block<'a, E, O> = (
        core::ops::Range<usize>,
        &'a mut [O],
        &'a mut [E],
        &'a mut [E],
    );
    {
        let mut blocks: Vec<std::sync::Mutex<Option<Block<'_, E, O>>>> = Vec::new();
        let mut rest = out;
        let mut local_blocks = locals.chunks_mut(acc.len().max(1));
        let mut scratch_blocks = scratch.chunks_mut(scratch_len.max(1));
        let shared_acc_empty = acc.is_empty();
        let mut first_acc = Some(&mut *acc);
        let mut start = 0;
        while start < n {
            let count = per_thread.min(n - start);
            let (block, tail) = core::mem::take(&mut rest).split_at_mut(count * per);
            rest = tail;
            let acc_block = match first_acc.take() {
                Some(shared) => shared,
                None if shared_acc_empty => &mut [][..],
                None => local_blocks.next().unwrap_or_default(),
            };
            let scratch = scratch_blocks.next().unwrap_or_default();
            let block = (start..start + count, block, acc_block, scratch);
            blocks.push(std::sync::Mutex::new(Some(block)));
            start += count;
        }
        super::threads::run(blocks.len(), &|t| {
            let taken = blocks[t].lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some((samples, out, acc, scratch)) = taken {
                f(samples, out, acc, scratch);
            }
        });
    }
    for local in locals.chunks(acc.len().max(1)) {
        for (a, &v) in acc.iter_mut().zip(local) {
            *a += v;
        }
    }
}

/// How one sample is unfolded for the product.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unfold {
    /// A 1x1 kernel: the sample itself is the unfolding.
    InPlace,
    /// [`im2col_wide`]: output rows widened to the input width.
    Wide,
    /// [`im2col`].
    Rows,
}

impl ConvGeom {
    fn unfold_kind(&self) -> Unfold {
        if self.is_pointwise() {
            Unfold::InPlace
        } else if self.unfolds_wide() {
            Unfold::Wide
        } else {
            Unfold::Rows
        }
    }
    /// Columns of the unfolded sample (and of the product's output rows) in that layout.
    fn unfold_cols(&self) -> usize {
        if self.unfold_kind() == Unfold::Wide {
            self.wide_cols()
        } else {
            self.col_cols()
        }
    }
}

/// Output positions unfolded at a time by the forward pass ([`im2col_rows`]): all of them,
/// unless the unfolding ([`Unfold::Rows`]) would outgrow the L2 cache; then blocks of whole
/// output rows of about 512 KiB, each multiplied while it is still in cache (unfolded whole,
/// it went out to L3 and came back for the product, which also packed it: (8, 64, 56, 56),
/// 3x3 stride 2, 128 kernels, one thread 5.85 -> 5.42 ms, two 3.40 -> 2.77; (32, 16, 56,
/// 56) at padding 1, 16 kernels, 7.3 -> 5.3 and 4.7 -> 2.9). At most 240 columns where
/// the rows allow: the product then reads the block and the weights in place instead of
/// packing them (at 480 or unblocked, slower).
fn column_block(g: &ConvGeom) -> usize {
    column_block_within(g, 1 << 17, 240)
}

/// [`column_block`] for the backward pass, whose products (`gy cols^T` summing over the
/// block's positions, `w^T gy` of the block) want longer blocks: 1 MiB, 480 columns. One
/// thread, ms with the forward pass, whole -> 512 KiB blocks -> these: (1, 64, 224, 224)
/// stride 2 26.8 -> 22.0 -> 19.7, the 7x7 stride-2 stem on (1, 3, 224, 224) 6.8 -> 5.1 ->
/// 5.2, (32, 16, 56, 56) at padding 1 18.2 -> 17.0 -> 16.6; (8, 128, 28, 28) stride 2
/// 17.4 -> 18.2 -> 17.2 (its 900 KiB unfolding now whole again).
fn backward_column_block(g: &ConvGeom) -> usize {
    column_block_within(g, 1 << 18, 480)
}

/// The block of whole output rows of at most about `budget` unfolded values and `most`
/// columns (at least one row), or all of them when the unfolding is within `budget` or is
/// not [`Unfold::Rows`].
fn column_block_within(g: &ConvGeom, budget: usize, most: usize) -> usize {
    let (k, len) = (g.col_rows(), g.unfold_cols());
    if g.unfold_kind() != Unfold::Rows || k * len <= budget || g.ow == 0 {
        return len;
    }
    let columns = (budget / k).min(most);
    (columns / g.ow).max(1) * g.ow
}

/// The unfolding of sample `xb`: `xb` itself, or written into `buf`.
fn unfold<'a, E: Float>(xb: &'a [E], g: &ConvGeom, buf: &'a mut [E]) -> &'a [E] {
    match g.unfold_kind() {
        Unfold::InPlace => xb,
        Unfold::Wide => {
            im2col_wide(xb, g, buf);
            buf
        }
        Unfold::Rows => {
            im2col(xb, g, buf);
            buf
        }
    }
}

/// `y = conv2d(x, w) + b` for `n` samples with the channels split into `groups` blocks
/// (PyTorch's `groups`; 1 for a plain convolution): `g.c` is the number of input channels
/// *per group*, so `x` is `n x (groups*g.c h w)`, `w` is `o x (g.c kh kw)`, `y` is
/// `n x (o oh ow)`, and output block `i` (`o / groups` channels) sees only input block `i`.
/// Each block is one gemm on its own unfolding; with one input channel per group
/// (depthwise), the direct kernels of `depthwise` instead.
///
/// In the wide layout the product yields wide output rows, which are narrowed into `y`
/// (about `w / ow` more multiply-adds, far fewer and longer copies).
pub(crate) fn conv2d_grouped_forward<E: Float>(
    x: &[E],
    w: &[E],
    bias: Option<&[E]>,
    n: usize,
    o: usize,
    groups: usize,
    g: &ConvGeom,
) -> Vec<E> {
    if super::depthwise::applies(groups, g) {
        return super::depthwise::forward(x, w, bias, n, o, groups, g);
    }
    if super::winograd::applies(groups, o, g) {
        return super::winograd::forward(x, w, bias, n, o, g);
    }
    let (k, p, ghw) = (g.col_rows(), g.col_cols(), g.c * g.h * g.w);
    let (chw, og) = (groups * ghw, o / groups);
    let (kind, len) = (g.unfold_kind(), g.unfold_cols());
    let wide = kind == Unfold::Wide;
    // Each sample's block of `y` is written by the thread that computes it (no serial zero
    // fill of the whole output on the calling thread first).
    let mut y: Vec<E> = Vec::with_capacity(n * o * p);
    let beta = if bias.is_some() { E::ONE } else { E::ZERO };
    let block = column_block(g);
    let cols_len = if kind == Unfold::InPlace {
        0
    } else {
        k * block
    };
    let out_len = if wide { o * len } else { 0 };
    if n == 1 && groups == 1 && block < len {
        one_sample_by_channels(
            x,
            w,
            bias,
            o,
            g,
            block,
            &mut y.spare_capacity_mut()[..o * p],
        );
        // SAFETY: every block of channels was written whole by `bias_rows` (see there).
        unsafe { y.set_len(o * p) };
        return y;
    }
    split_samples(
        n,
        o * p,
        o * k * len,
        cols_len + out_len,
        &mut y.spare_capacity_mut()[..n * o * p],
        &mut [],
        |samples, yblock, _, scratch| {
            let (buf, ywide) = scratch.split_at_mut(cols_len);
            for (b, yb) in samples.zip(yblock.chunks_exact_mut(o * p)) {
                // The wide rows are narrowed into `yb` at the end, adding the bias (every
                // element written once); otherwise `yb` starts as the bias rows (or zeros)
                // under the product.
                let (out, narrow_into, beta): (&mut [E], _, _) = if wide {
                    (&mut *ywide, Some(yb), E::ZERO)
                } else {
                    (bias_rows(yb, bias, len), None, beta)
                };
                for gi in 0..groups {
                    let xg = &x[b * chw + gi * ghw..][..ghw];
                    if block < len {
                        let out = &mut out[gi * og * len..][..og * len];
                        product_by_row_blocks(
                            xg,
                            &w[gi * og * k..][..og * k],
                            g,
                            block,
                            beta,
                            buf,
                            out,
                        );
                        continue;
                    }
                    let cols = unfold(xg, g, buf);
                    gemm(
                        og,
                        k,
                        len,
                        E::ONE,
                        &w[gi * og * k..][..og * k],
                        (k as isize, 1),
                        cols,
                        (len as isize, 1),
                        beta,
                        &mut out[gi * og * len..][..og * len],
                        (len as isize, 1),
                    );
                }
                if let Some(yb) = narrow_into {
                    narrow_rows(ywide, g, o, bias, yb);
                }
            }
        },
    );
    // SAFETY: `split_samples` ran the closure over every sample, and it wrote each sample's
    // block of `o * p` elements (all of `y`): by `narrow_rows` (all `o` planes), or by
    // `bias_rows` before the product.
    unsafe { y.set_len(n * o * p) };
    y
}

/// `out += w cols(x)` for one sample (or group) `x`, unfolded in blocks of `block` output
/// positions (whole output rows, see [`column_block`]), each multiplied by the `rows x k`
/// weights while it is still in cache; `out` is `rows` planes of `oh * ow`.
fn product_by_row_blocks<E: Float>(
    x: &[E],
    w: &[E],
    g: &ConvGeom,
    block: usize,
    beta: E,
    buf: &mut [E],
    out: &mut [E],
) {
    let (k, len) = (g.col_rows(), g.col_cols());
    let rows = w.len() / k;
    if rows == 0 {
        return;
    }
    for p0 in (0..len).step_by(block) {
        let width = block.min(len - p0);
        let cols = &mut buf[..k * width];
        im2col_rows(x, g, p0 / g.ow..(p0 + width) / g.ow, cols);
        gemm(
            rows,
            k,
            width,
            E::ONE,
            w,
            (k as isize, 1),
            cols,
            (width as isize, 1),
            beta,
            &mut out[p0..][..(rows - 1) * len + width],
            (len as isize, 1),
        );
    }
}

/// The gradients of [`product_by_row_blocks`] for one sample (or group) `x` and its
/// output gradient `gy` (`og` planes), block by block (`block` output positions, unfolded
/// into `buf`): `gw += gy cols^T` (`og x k`) and `gx += fold(w^T gy)`, `wt` being `w^T`
/// (`k x og`).
fn backward_by_row_blocks<E: Float>(
    x: &[E],
    wt: &[E],
    gy: &[E],
    g: &ConvGeom,
    (block, buf): (usize, &mut [E]),
    mut gw: Option<&mut [E]>,
    mut gx: Option<&mut [E]>,
) {
    let (k, len) = (g.col_rows(), g.col_cols());
    let og = gy.len() / len;
    if og == 0 {
        return;
    }
    for p0 in (0..len).step_by(block) {
        let width = block.min(len - p0);
        let rows = p0 / g.ow..(p0 + width) / g.ow;
        let cols = &mut buf[..k * width];
        let gy_block = &gy[p0..][..(og - 1) * len + width];
        if let Some(gw) = gw.as_deref_mut() {
            im2col_rows(x, g, rows.clone(), cols);
            gemm(
                og,
                width,
                k,
                E::ONE,
                gy_block,
                (len as isize, 1),
                cols,
                (1, width as isize),
                E::ONE,
                gw,
                (k as isize, 1),
            );
        }
        if let Some(gx) = gx.as_deref_mut() {
            // The block's `gcols` (`k x width`), folded back at once.
            gemm(
                k,
                og,
                width,
                E::ONE,
                wt,
                (og as isize, 1),
                gy_block,
                (len as isize, 1),
                E::ZERO,
                cols,
                (width as isize, 1),
            );
            col2im_rows(cols, g, rows, gx);
        }
    }
}

/// The forward pass of a single sample unfolded in blocks: its output channels split over
/// the threads, each thread unfolding the whole input for its own channels (one thread
/// unfolding for both left the other waiting: (1, 64, 224, 224), 3x3 stride 2, 64 kernels,
/// two threads 7.2 -> 3.7 ms, as fast as one thread alone before). Writes every element of
/// `y` (`o` planes).
fn one_sample_by_channels<E: Float>(
    x: &[E],
    w: &[E],
    bias: Option<&[E]>,
    o: usize,
    g: &ConvGeom,
    block: usize,
    y: &mut [core::mem::MaybeUninit<E>],
) {
    const MIN_CHANNELS_PER_THREAD: usize = 16;
    let (k, len) = (g.col_rows(), g.col_cols());
    let parts = super::threads::threads()
        .min(o / MIN_CHANNELS_PER_THREAD)
        .max(1);
    let per = o.div_ceil(parts).max(1);
    let beta = if bias.is_some() { E::ONE } else { E::ZERO };
    let pieces: Vec<_> = y
        .chunks_mut(per * len)
        .enumerate()
        .map(|(t, block_of_y)| (t * per, block_of_y, vec![E::ZERO; k * block]))
        .collect();
    super::threads::run_pieces(pieces, &|(first, block_of_y, mut buf)| {
        let count = block_of_y.len() / len;
        let out = bias_rows(block_of_y, bias.map(|b| &b[first..first + count]), len);
        product_by_row_blocks(
            x,
            &w[first * k..][..count * k],
            g,
            block,
            beta,
            &mut buf,
            out,
        );
    });
}

/// Writes `bias[r]` over row `r` of `buf` (rows of `len`), or zeros without a bias, and
/// returns it as initialised.
fn bias_rows<'a, E: Float>(
    buf: &'a mut [core::mem::MaybeUninit<E>],
    bias: Option<&[E]>,
    len: usize,
) -> &'a mut [E] {
    match bias {
        Some(bias) => {
            assert_eq!(buf.len(), bias.len() * len, "a bias per row");
            for (row, &v) in buf.chunks_exact_mut(len).zip(bias) {
                filled(row, v);
            }
            // SAFETY: the rows above cover `buf` (asserted), each written by `filled`.
            unsafe { assume_init_mut(buf) }
        }
        None => filled(buf, E::ZERO),
    }
}

/// The gradients of [`conv2d_grouped_forward`] from `gy`, accumulated into whichever of
/// `gx`, `gw`, `gb` are given; each group's block of `gw` and `gx` comes from that group's
/// block of `gy` alone.
///
/// In the wide layout `gy` is widened with zero extra columns, so the extra entries of the
/// unfolding contribute nothing to `gw` and receive zero gradient for [`col2im_wide`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_grouped_backward<E: Float>(
    x: &[E],
    w: &[E],
    gy: &[E],
    n: usize,
    o: usize,
    groups: usize,
    g: &ConvGeom,
    gx: Option<&mut [E]>,
    gw: Option<&mut [E]>,
    gb: Option<&mut [E]>,
) {
    if super::depthwise::applies(groups, g) {
        return super::depthwise::backward(x, w, gy, n, o, groups, g, gx, gw, gb);
    }
    let gx = match gx {
        Some(gx) if super::winograd::applies_to_input_grad(groups, o, g) => {
            super::winograd::add_input_grad(gy, w, n, o, g, gx);
            None
        }
        gx => gx,
    };
    let gw = match gw {
        Some(gw) if super::winograd::applies(groups, o, g) => {
            super::winograd::add_weight_grad(x, gy, n, o, g, gw);
            None
        }
        gw => gw,
    };
    if gx.is_none() && gw.is_none() && gb.is_none() {
        return;
    }
    let (k, p, ghw) = (g.col_rows(), g.col_cols(), g.c * g.h * g.w);
    let (chw, og) = (groups * ghw, o / groups);
    let (kind, len) = (g.unfold_kind(), g.unfold_cols());
    let wide = kind == Unfold::Wide;
    let want_x = gx.is_some();
    let want_w = gw.is_some();
    let gx = gx.unwrap_or_default();
    let per = if want_x { chw } else { 0 };
    let gw = gw.unwrap_or_default();
    // The bias gradient (sums of `gy`'s rows) is summed in the same blocks of samples,
    // after `gw` in one shared accumulator.
    let gw_len = gw.len();
    let mut acc_buf = Vec::new();
    let acc: &mut [E] = match &gb {
        Some(gb) => {
            acc_buf = [&*gw, &**gb].concat();
            &mut acc_buf
        }
        None => &mut *gw,
    };
    let cost = (want_x as usize + want_w as usize) * o * k * len;
    // Each group's `w_g^T` (`k x og`) row-major for the input gradient's product: read in
    // place by rows, the kernel broadcasts along contiguous rows, not across one cache line
    // per step (144 x 32 x 143 on one AVX2 core, five alternating runs: 61 -> 67 GFLOP/s).
    let wt = if want_x {
        super::layout::permute(w, &[groups, og, k], &[0, 2, 1])
    } else {
        Vec::new()
    };
    let block = backward_column_block(g);
    let cols_len = if kind == Unfold::InPlace {
        0
    } else {
        k * block
    };
    let gy_len = if wide { o * len } else { 0 };
    // The weight gradients of `weight_grad_shifted`, summed over a block's samples and
    // added into `gw` once at its end.
    let wide_weight_grad = wide && want_w;
    let shift_len = if wide_weight_grad { o * k } else { 0 };
    split_samples(
        n,
        per,
        cost,
        cols_len + gy_len + shift_len,
        gx,
        acc,
        |samples, gxblock, acc, scratch| {
            let (gw, gb_acc) = acc.split_at_mut(gw_len);
            if !gb_acc.is_empty() {
                let gy = &gy[samples.start * o * p..samples.end * o * p];
                simd::wide(
                    #[inline(always)]
                    || {
                        for gyb in gy.chunks_exact(o * p) {
                            for (acc, row) in gb_acc.iter_mut().zip(gyb.chunks_exact(p)) {
                                *acc += sum_fast(row);
                            }
                        }
                    },
                );
            }
            let (buf, scratch) = scratch.split_at_mut(cols_len);
            let (gy_wide, shift_tmp) = scratch.split_at_mut(gy_len);
            // Zeroed once per block: `widen_rows` never writes `gy_wide`'s extra columns.
            gy_wide.fill(E::ZERO);
            shift_tmp.fill(E::ZERO);
            for (i, b) in samples.enumerate() {
                let gyb: &[E] = if wide {
                    widen_rows(&gy[b * o * p..][..o * p], g, o, gy_wide);
                    gy_wide
                } else {
                    &gy[b * o * p..][..o * p]
                };
                for gi in 0..groups {
                    let gyg = &gyb[gi * og * len..][..og * len];
                    if block < len {
                        // `gw` and `gxblock` are empty unless wanted.
                        let gw_g = want_w.then(|| &mut gw[gi * og * k..][..og * k]);
                        let gx_g = want_x.then(|| &mut gxblock[i * chw + gi * ghw..][..ghw]);
                        backward_by_row_blocks(
                            &x[b * chw + gi * ghw..][..ghw],
                            if want_x {
                                &wt[gi * og * k..][..og * k]
                            } else {
                                &[]
                            },
                            gyg,
                            g,
                            (block, buf),
                            gw_g,
                            gx_g,
                        );
                        continue;
                    }
                    if want_w && wide {
                        let xg = &x[b * chw + gi * ghw..][..ghw];
                        weight_grad_shifted(
                            gyg,
                            xg,
                            g,
                            og,
                            buf,
                            &mut shift_tmp[gi * og * k..][..og * k],
                        );
                    } else if want_w {
                        let cols = unfold(&x[b * chw + gi * ghw..][..ghw], g, buf);
                        // gw_g (og x k) += gy_g (og x len) cols^T (len x k)
                        gemm(
                            og,
                            len,
                            k,
                            E::ONE,
                            gyg,
                            (len as isize, 1),
                            cols,
                            (1, len as isize),
                            E::ONE,
                            &mut gw[gi * og * k..][..og * k],
                            (k as isize, 1),
                        );
                    }
                    if want_x {
                        let wtg = &wt[gi * og * k..][..og * k];
                        let gxb = &mut gxblock[i * chw + gi * ghw..][..ghw];
                        // gcols (k x len) = w_g^T (k x og) gy_g (og x len), then folded onto
                        // this group's block of gx_b (a 1x1 kernel's gcols is that block).
                        let (gcols, beta) = match kind {
                            Unfold::InPlace => (&mut *gxb, E::ONE),
                            _ => (&mut buf[..], E::ZERO),
                        };
                        gemm(
                            k,
                            og,
                            len,
                            E::ONE,
                            wtg,
                            (og as isize, 1),
                            gyg,
                            (len as isize, 1),
                            beta,
                            gcols,
                            (len as isize, 1),
                        );
                        match kind {
                            Unfold::InPlace => {}
                            Unfold::Wide => col2im_wide(buf, g, gxb),
                            Unfold::Rows => col2im(buf, g, gxb),
                        }
                    }
                }
            }
            if wide_weight_grad {
                for gi in 0..groups {
                    add_shifted(
                        &shift_tmp[gi * og * k..][..og * k],
                        g,
                        og,
                        &mut gw[gi * og * k..][..og * k],
                    );
                }
            }
        },
    );
    if let Some(gb) = gb {
        gw.copy_from_slice(&acc_buf[..gw_len]);
        gb.copy_from_slice(&acc_buf[gw_len..]);
    }
}

/// `y = conv_transpose2d(x, w) + b`: `x` is `n x (ci ih iw)` and `w` is `ci x (co kh kw)`.
/// `g` describes the convolution this transposes: its input (`g.c = co` planes of
/// `g.h x g.w`) is `y`, and its output grid (`g.oh x g.ow`) is `x`'s.
pub(crate) fn conv_transpose2d_forward<E: Float>(
    x: &[E],
    w: &[E],
    bias: Option<&[E]>,
    n: usize,
    ci: usize,
    g: &ConvGeom,
) -> Vec<E> {
    let (k, p, ohw) = (g.col_rows(), g.col_cols(), g.h * g.w);
    let co = g.c;
    let mut y = vec![E::ZERO; n * co * ohw];
    split_samples(
        n,
        co * ohw,
        ci * k * p,
        k * p,
        &mut y,
        &mut [],
        |samples, yblock, _, cols| {
            for (b, yb) in samples.zip(yblock.chunks_exact_mut(co * ohw)) {
                let xb = &x[b * ci * p..][..ci * p];
                if let Some(bias) = bias {
                    for (plane, &v) in yb.chunks_exact_mut(ohw).zip(bias) {
                        plane.fill(v);
                    }
                }
                // cols (k x p) = w^T (k x ci) x_b (ci x p), folded onto y_b.
                gemm(
                    k,
                    ci,
                    p,
                    E::ONE,
                    w,
                    (1, k as isize),
                    xb,
                    (p as isize, 1),
                    E::ZERO,
                    cols,
                    (p as isize, 1),
                );
                col2im(cols, g, yb);
            }
        },
    );
    y
}

/// The gradients of [`conv_transpose2d_forward`] from `gy` (`n x (co oh ow)`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_transpose2d_backward<E: Float>(
    x: &[E],
    w: &[E],
    gy: &[E],
    n: usize,
    ci: usize,
    g: &ConvGeom,
    gx: Option<&mut [E]>,
    gw: Option<&mut [E]>,
    gb: Option<&mut [E]>,
) {
    let (k, p, ohw) = (g.col_rows(), g.col_cols(), g.h * g.w);
    let co = g.c;
    if let Some(gb) = gb {
        for gyb in gy.chunks_exact(co * ohw) {
            for (acc, plane) in gb.iter_mut().zip(gyb.chunks_exact(ohw)) {
                *acc += sum_fast(plane);
            }
        }
    }
    let want_x = gx.is_some();
    let want_w = gw.is_some();
    let gx = gx.unwrap_or_default();
    let per = if want_x { ci * p } else { 0 };
    let gw = gw.unwrap_or_default();
    let cost = (want_x as usize + want_w as usize) * ci * k * p;
    split_samples(n, per, cost, k * p, gx, gw, |samples, gxblock, gw, cols| {
        for (i, b) in samples.enumerate() {
            im2col(&gy[b * co * ohw..][..co * ohw], g, cols);
            if want_x {
                // gx_b (ci x p) += w (ci x k) cols (k x p)
                let gxb = &mut gxblock[i * ci * p..][..ci * p];
                gemm(
                    ci,
                    k,
                    p,
                    E::ONE,
                    w,
                    (k as isize, 1),
                    cols,
                    (p as isize, 1),
                    E::ONE,
                    gxb,
                    (p as isize, 1),
                );
            }
            if want_w {
                // gw (ci x k) += x_b (ci x p) cols^T (p x k)
                let xb = &x[b * ci * p..][..ci * p];
                gemm(
                    ci,
                    p,
                    k,
                    E::ONE,
                    xb,
                    (p as isize, 1),
                    cols,
                    (1, p as isize),
                    E::ONE,
                    gw,
                    (k as isize, 1),
                );
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct 7-deep loop, the definition im2col + gemm must agree with.
    fn naive_conv(x: &[f64], w: &[f64], n: usize, o: usize, g: &ConvGeom) -> Vec<f64> {
        let mut y = vec![0.0; n * o * g.oh * g.ow];
        for b in 0..n {
            for oc in 0..o {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let mut s = 0.0;
                        for c in 0..g.c {
                            for i in 0..g.kh {
                                for j in 0..g.kw {
                                    let iy = (oy * g.sh + i * g.dh) as isize - g.ph as isize;
                                    let ix = (ox * g.sw + j * g.dw) as isize - g.pw as isize;
                                    if iy >= 0
                                        && ix >= 0
                                        && (iy as usize) < g.h
                                        && (ix as usize) < g.w
                                    {
                                        s += x[((b * g.c + c) * g.h + iy as usize) * g.w
                                            + ix as usize]
                                            * w[((oc * g.c + c) * g.kh + i) * g.kw + j];
                                    }
                                }
                            }
                        }
                        y[((b * o + oc) * g.oh + oy) * g.ow + ox] = s;
                    }
                }
            }
        }
        y
    }

    fn geom(
        c: usize,
        h: usize,
        w: usize,
        k: (usize, usize),
        s: (usize, usize),
        p: (usize, usize),
        d: (usize, usize),
    ) -> ConvGeom {
        let oh = (h + 2 * p.0 - d.0 * (k.0 - 1) - 1) / s.0 + 1;
        let ow = (w + 2 * p.1 - d.1 * (k.1 - 1) - 1) / s.1 + 1;
        ConvGeom {
            c,
            h,
            w,
            kh: k.0,
            kw: k.1,
            sh: s.0,
            sw: s.1,
            ph: p.0,
            pw: p.1,
            dh: d.0,
            dw: d.1,
            oh,
            ow,
        }
    }

    fn pseudo(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn im2col_gemm_matches_direct_loops() {
        for (i, g) in [
            geom(3, 7, 6, (3, 3), (1, 1), (0, 0), (1, 1)),
            geom(2, 8, 9, (3, 2), (2, 3), (1, 2), (1, 1)),
            geom(2, 9, 9, (3, 3), (1, 1), (2, 2), (2, 2)),
            geom(4, 5, 5, (1, 1), (1, 1), (0, 0), (1, 1)),
            geom(1, 4, 4, (5, 5), (1, 1), (2, 2), (1, 1)),
            geom(2, 1, 10, (1, 3), (1, 2), (0, 1), (1, 2)),
        ]
        .iter()
        .enumerate()
        {
            let (n, o) = (2, 3);
            let x = pseudo(n * g.c * g.h * g.w, i as u64);
            let w = pseudo(o * g.col_rows(), 100 + i as u64);
            let y = conv2d_grouped_forward(&x, &w, None, n, o, 1, g);
            let want = naive_conv(&x, &w, n, o, g);
            for (a, b) in y.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "case {i}: {a} vs {b}");
            }
            // With a bias (added under the product, or by the wide layout's narrowing).
            let bias = pseudo(o, 200 + i as u64);
            let y = conv2d_grouped_forward(&x, &w, Some(&bias), n, o, 1, g);
            for (at, (a, b)) in y.iter().zip(&want).enumerate() {
                let plane = at / g.col_cols() % o;
                assert!(
                    (a - (b + bias[plane])).abs() < 1e-12,
                    "case {i} with bias at {at}"
                );
            }
        }
    }

    /// The wide-row path (unit stride, no padding): its gradients are the adjoints of its
    /// forward in `x` and in `w`, <conv(x, w), gy> = <x, gx> = <w, gw>, over enough samples
    /// to be split over threads.
    /// Unfoldings past the L2 budget go in blocks of whole output rows ([`column_block`]),
    /// a single sample's forward pass with its channels split over the threads: forward and
    /// gradients against the direct sums, with and without a bias, a ragged last block,
    /// stride 2 (the paired taps of `col2im_rows`), one and three samples.
    #[test]
    fn row_blocks_match_direct_loops() {
        for (i, g) in [
            geom(16, 48, 48, (3, 3), (1, 1), (1, 1), (1, 1)),
            geom(32, 64, 61, (3, 3), (2, 2), (1, 1), (1, 1)),
            geom(8, 20, 300, (3, 5), (1, 1), (1, 2), (1, 1)),
        ]
        .iter()
        .enumerate()
        {
            for block in [column_block(g), backward_column_block(g)] {
                assert!(
                    block < g.col_cols() && block.is_multiple_of(g.ow),
                    "case {i}: {block}"
                );
            }
            for n in [1, 3] {
                let o = 40;
                let x = pseudo(n * g.c * g.h * g.w, 300 + i as u64);
                let w = pseudo(o * g.col_rows(), 400 + i as u64);
                let bias = pseudo(o, 500 + i as u64);
                let want = naive_conv(&x, &w, n, o, g);
                let y = conv2d_grouped_forward(&x, &w, None, n, o, 1, g);
                let with_bias = conv2d_grouped_forward(&x, &w, Some(&bias), n, o, 1, g);
                for (at, b) in want.iter().enumerate() {
                    let plane = at / g.col_cols() % o;
                    assert!((y[at] - b).abs() < 1e-11, "case {i}, n {n} at {at}");
                    assert!(
                        (with_bias[at] - (b + bias[plane])).abs() < 1e-11,
                        "case {i}, n {n} with bias at {at}"
                    );
                }
                // The gradients, all three and each of `gx` and `gw` alone.
                let gy = pseudo(want.len(), 600 + i as u64);
                let (want_gx, want_gw) = naive_grads(&x, &w, &gy, n, o, g);
                let close = |got: &[f64], want: &[f64], what: &str| {
                    for (at, (a, b)) in got.iter().zip(want).enumerate() {
                        assert!(
                            (a - b).abs() < 1e-10,
                            "case {i}, n {n}: {what}[{at}] {a} vs {b}"
                        );
                    }
                };
                let (mut gx, mut gw, mut gb) =
                    (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
                conv2d_grouped_backward(
                    &x,
                    &w,
                    &gy,
                    n,
                    o,
                    1,
                    g,
                    Some(&mut gx),
                    Some(&mut gw),
                    Some(&mut gb),
                );
                close(&gx, &want_gx, "gx");
                close(&gw, &want_gw, "gw");
                let sums: Vec<f64> = (0..o)
                    .map(|c| gy.chunks(g.col_cols()).skip(c).step_by(o).flatten().sum())
                    .collect();
                close(&gb, &sums, "gb");
                let mut gx = vec![0.0; x.len()];
                conv2d_grouped_backward(&x, &w, &gy, n, o, 1, g, Some(&mut gx), None, None);
                close(&gx, &want_gx, "gx alone");
                let mut gw = vec![0.0; w.len()];
                conv2d_grouped_backward(&x, &w, &gy, n, o, 1, g, None, Some(&mut gw), None);
                close(&gw, &want_gw, "gw alone");
            }
        }
    }

    /// Row blocks with two groups (one sample and two) and with no output channels: each
    /// group as its own convolution over its channels.
    #[test]
    fn row_blocks_split_groups_and_take_no_channels() {
        let g = geom(16, 48, 48, (3, 3), (1, 1), (1, 1), (1, 1));
        assert!(column_block(&g) < g.col_cols());
        let (groups, og, plane) = (2, 8, g.c * g.h * g.w);
        for n in [1, 2] {
            let x = pseudo(n * groups * plane, 700);
            let w = pseudo(groups * og * g.col_rows(), 701);
            let y = conv2d_grouped_forward(&x, &w, None, n, groups * og, groups, &g);
            for gi in 0..groups {
                let xg: Vec<f64> = (0..n)
                    .flat_map(|b| x[(b * groups + gi) * plane..][..plane].to_vec())
                    .collect();
                let want = naive_conv(
                    &xg,
                    &w[gi * og * g.col_rows()..][..og * g.col_rows()],
                    n,
                    og,
                    &g,
                );
                for b in 0..n {
                    let got = &y[(b * groups + gi) * og * g.col_cols()..][..og * g.col_cols()];
                    let want = &want[b * og * g.col_cols()..][..og * g.col_cols()];
                    assert!(
                        got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-11),
                        "n {n}, group {gi}"
                    );
                }
            }
        }
        let x = pseudo(plane, 702);
        assert!(conv2d_grouped_forward(&x, &[], None, 1, 0, 1, &g).is_empty());
        let mut gx = vec![0.0; plane];
        conv2d_grouped_backward(
            &x,
            &[],
            &[],
            1,
            0,
            1,
            &g,
            Some(&mut gx),
            Some(&mut []),
            None,
        );
        assert!(gx.iter().all(|&v| v == 0.0));
    }

    /// The input and weight gradients of [`naive_conv`] by the same loops.
    fn naive_grads(
        x: &[f64],
        w: &[f64],
        gy: &[f64],
        n: usize,
        o: usize,
        g: &ConvGeom,
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut gx, mut gw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
        for b in 0..n {
            for oc in 0..o {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let d = gy[((b * o + oc) * g.oh + oy) * g.ow + ox];
                        for c in 0..g.c {
                            for i in 0..g.kh {
                                for j in 0..g.kw {
                                    let iy = (oy * g.sh + i * g.dh) as isize - g.ph as isize;
                                    let ix = (ox * g.sw + j * g.dw) as isize - g.pw as isize;
                                    if iy < 0 || ix < 0 || iy as usize >= g.h || ix as usize >= g.w
                                    {
                                        continue;
                                    }
                                    let xi =
                                        ((b * g.c + c) * g.h + iy as usize) * g.w + ix as usize;
                                    let wi = ((oc * g.c + c) * g.kh + i) * g.kw + j;
                                    gx[xi] += d * w[wi];
                                    gw[wi] += d * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        (gx, gw)
    }

    #[test]
    fn wide_path_gradients_are_adjoints_of_its_forward() {
        for g in [
            geom(3, 9, 10, (3, 3), (1, 1), (0, 0), (1, 1)),
            geom(2, 6, 11, (2, 4), (1, 1), (0, 0), (1, 1)),
        ] {
            assert!(g.unfolds_wide());
            let (n, o) = (32, 4);
            let x = pseudo(n * g.c * g.h * g.w, 1);
            let w = pseudo(o * g.col_rows(), 2);
            let gy = pseudo(n * o * g.col_cols(), 3);
            let y = conv2d_grouped_forward(&x, &w, None, n, o, 1, &g);
            assert!(
                y.iter()
                    .zip(&naive_conv(&x, &w, n, o, &g))
                    .all(|(a, b)| (a - b).abs() < 1e-12)
            );
            let (mut gx, mut gw, mut gb) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
            conv2d_grouped_backward(
                &x,
                &w,
                &gy,
                n,
                o,
                1,
                &g,
                Some(&mut gx),
                Some(&mut gw),
                Some(&mut gb),
            );
            let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(u, v)| u * v).sum::<f64>();
            let lhs = dot(&y, &gy);
            assert!((lhs - dot(&x, &gx)).abs() < 1e-9 * lhs.abs().max(1.0));
            assert!((lhs - dot(&w, &gw)).abs() < 1e-9 * lhs.abs().max(1.0));
            let sums: Vec<f64> = (0..o)
                .map(|c| gy.chunks(g.col_cols()).skip(c).step_by(o).flatten().sum())
                .collect();
            assert!(gb.iter().zip(&sums).all(|(a, b)| (a - b).abs() < 1e-9));
        }
    }

    #[test]
    fn wide_weight_gradient_matches_direct_sums() {
        // Groups of 128 planes (read in place, one product per kernel offset) and fewer
        // (unfolded, the product transposed), with two groups so that the group offsets
        // are exercised.
        for (g, groups) in [
            (geom(128, 5, 6, (3, 2), (1, 1), (0, 0), (1, 1)), 2),
            (geom(4, 7, 9, (3, 3), (1, 1), (0, 0), (1, 1)), 2),
            (geom(1, 8, 6, (3, 2), (1, 1), (0, 0), (1, 1)), 2),
            (geom(2, 5, 12, (2, 5), (1, 1), (0, 0), (1, 1)), 1),
        ] {
            assert!(g.unfolds_wide());
            let (n, o) = (3, 4);
            let (og, k, ghw) = (o / groups, g.col_rows(), g.c * g.h * g.w);
            let x = pseudo(n * groups * ghw, 5);
            let w = pseudo(o * k, 6);
            let gy = pseudo(n * o * g.col_cols(), 7);
            let mut gw = vec![0.0; w.len()];
            conv2d_grouped_backward(&x, &w, &gy, n, o, groups, &g, None, Some(&mut gw), None);
            for oc in 0..o {
                let gi = oc / og;
                for (c, i, j) in (0..g.c)
                    .flat_map(|c| (0..g.kh).flat_map(move |i| (0..g.kw).map(move |j| (c, i, j))))
                {
                    let mut want = 0.0;
                    for b in 0..n {
                        for oy in 0..g.oh {
                            for ox in 0..g.ow {
                                let xi = ((b * groups + gi) * g.c + c) * g.h * g.w
                                    + (oy + i) * g.w
                                    + ox
                                    + j;
                                want += gy[(b * o + oc) * g.col_cols() + oy * g.ow + ox] * x[xi];
                            }
                        }
                    }
                    let got = gw[oc * k + (c * g.kh + i) * g.kw + j];
                    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> == <x, col2im(c)> for any x and c. Stride 2 across the columns
        // takes the tap-pair path: even and odd kernel widths, paddings up to past the
        // kernel, widths that leave a tap out of range at either end, and dilation 2 (no
        // pairs).
        let mut geometries = vec![geom(2, 7, 8, (3, 2), (2, 1), (1, 1), (2, 1))];
        for (w, kw, pw) in [
            (8, 4, 1),
            (9, 4, 1),
            (7, 3, 0),
            (6, 5, 2),
            (5, 2, 0),
            (4, 4, 3),
            (11, 6, 2),
        ] {
            geometries.push(geom(2, 5, w, (2, kw), (1, 2), (0, pw), (1, 1)));
            geometries.push(geom(1, 6, w, (3, kw), (2, 2), (1, pw), (1, 1)));
        }
        geometries.push(geom(2, 6, 9, (3, 3), (2, 2), (1, 1), (1, 2)));
        for g in geometries {
            let x = pseudo(g.c * g.h * g.w, 7);
            let c = pseudo(g.col_rows() * g.col_cols(), 8);
            let mut cols = vec![0.0; c.len()];
            im2col(&x, &g, &mut cols);
            let mut back = vec![0.0; x.len()];
            col2im(&c, &g, &mut back);
            let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-10, "{g:?}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn batched_backward_matches_per_sample() {
        let g = geom(3, 6, 5, (3, 3), (1, 2), (1, 1), (1, 1));
        let (n, o) = (4, 5);
        let chw = g.c * g.h * g.w;
        let x = pseudo(n * chw, 1);
        let w = pseudo(o * g.col_rows(), 2);
        let gy = pseudo(n * o * g.col_cols(), 3);
        let (mut gx, mut gw, mut gb) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
        conv2d_grouped_backward(
            &x,
            &w,
            &gy,
            n,
            o,
            1,
            &g,
            Some(&mut gx),
            Some(&mut gw),
            Some(&mut gb),
        );
        let (mut want_x, mut want_w, mut want_b) =
            (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
        for b in 0..n {
            let gyb = &gy[b * o * g.col_cols()..][..o * g.col_cols()];
            let gxb = &mut want_x[b * chw..][..chw];
            conv2d_grouped_backward(
                &x[b * chw..][..chw],
                &w,
                gyb,
                1,
                o,
                1,
                &g,
                Some(gxb),
                Some(&mut want_w),
                Some(&mut want_b),
            );
        }
        for (got, want) in [(&gx, &want_x), (&gw, &want_w), (&gb, &want_b)] {
            for (a, b) in got.iter().zip(want.iter()) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn split_samples_covers_every_sample_once() {
        // Work large enough to be split whenever the machine has more than one core.
        let (n, per) = (11, 3);
        let mut out = vec![0.0f64; n * per];
        let mut acc = vec![0.0f64; 2];
        split_samples(
            n,
            per,
            1 << 30,
            4,
            &mut out,
            &mut acc,
            |samples, block, acc, scratch| {
                assert_eq!(scratch.len(), 4);
                assert_eq!(block.len(), samples.len() * per);
                for (b, chunk) in samples.zip(block.chunks_exact_mut(per)) {
                    chunk.fill(b as f64);
                    acc[0] += 1.0;
                    acc[1] += b as f64;
                }
            },
        );
        for (b, chunk) in out.chunks_exact(per).enumerate() {
            assert!(chunk.iter().all(|&v| v == b as f64));
        }
        assert_eq!(acc, vec![n as f64, (n * (n - 1) / 2) as f64]);
        // Without a per-sample output or an accumulator.
        let count = std::sync::atomic::AtomicUsize::new(0);
        split_samples::<f64, f64, _>(n, 0, 1 << 30, 0, &mut [], &mut [], |samples, _, _, _| {
            count.fetch_add(samples.len(), std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(count.into_inner(), n);
    }
}
