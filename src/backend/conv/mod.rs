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
    if n * o * g.col_cols() == 0 {
        return Vec::new();
    }
    if super::depthwise::applies(groups, g) {
        return super::depthwise::forward(x, w, bias, n, o, groups, g);
    }
    if super::winograd::applies(groups, o, g) {
        return super::winograd::forward(x, w, bias, n, o, g);
    }
    if let Some(phases) = phases::Phases::of(g) {
        return phases::forward(x, w, bias, n, o, groups, &phases);
    }
    let (k, p, ghw) = (g.col_rows(), g.col_cols(), g.c * g.h * g.w);
    let (chw, og) = (groups * ghw, o / groups);
    // A 1-D convolution with unit stride reads `x` in place, one product per tap.
    let by_taps = taps::applies(g);
    let (kind, len) = if by_taps {
        (Unfold::InPlace, p)
    } else {
        (g.unfold_kind(), g.unfold_cols())
    };
    let wide = kind == Unfold::Wide;
    // Each sample's block of `y` is written by the thread that computes it (no serial zero
    // fill of the whole output on the calling thread first).
    let mut y: Vec<E> = Vec::with_capacity(n * o * p);
    let beta = if bias.is_some() { E::ONE } else { E::ZERO };
    let block = if by_taps { len } else { column_block(g) };
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
                    if by_taps {
                        let out = &mut out[gi * og * len..][..og * len];
                        taps::add_forward(xg, &w[gi * og * k..][..og * k], g, og, out);
                        continue;
                    }
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
            add_gy_cols_t((og, k, width), gy_block, len, cols, gw);
        }
        if let Some(gx) = gx.as_deref_mut() {
            // The block's `gcols` (`k x width`), folded back at once.
            wt_gy((og, k, width), wt, gy_block, len, E::ZERO, cols);
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
    let (k, len) = (g.col_rows(), g.col_cols());
    let beta = if bias.is_some() { E::ONE } else { E::ZERO };
    by_channel_blocks(o, len, |_| k * block, y, &|first, block_of_y, buf| {
        let count = block_of_y.len() / len;
        let out = bias_rows(block_of_y, bias.map(|b| &b[first..first + count]), len);
        let w = &w[first * k..][..count * k];
        product_by_row_blocks(x, w, g, block, beta, buf, out);
    });
}

/// Runs `f(first, y_block, scratch)` on blocks of the `o` output planes (`len` values each)
/// of a single sample's `y`, one block per thread (each at least 16 planes), with
/// `scratch_len(planes)` values of working space each.
pub(super) fn by_channel_blocks<E: Float>(
    o: usize,
    len: usize,
    scratch_len: impl Fn(usize) -> usize,
    y: &mut [core::mem::MaybeUninit<E>],
    f: &(dyn Fn(usize, &mut [core::mem::MaybeUninit<E>], &mut [E]) + Sync),
) {
    const MIN_CHANNELS_PER_THREAD: usize = 16;
    let parts = super::threads::threads()
        .min(o / MIN_CHANNELS_PER_THREAD)
        .max(1);
    let per = o.div_ceil(parts).max(1);
    let pieces: Vec<_> = y
        .chunks_mut(per * len)
        .enumerate()
        .map(|(t, block_of_y)| (t * per, block_of_y, vec![E::ZERO; scratch_len(per)]))
        .collect();
    super::threads::run_pieces(pieces, &|(first, block_of_y, mut scratch)| {
        f(first, block_of_y, &mut scratch)
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
    // No outputs: every gradient is zero, nothing to add.
    if n * o * g.col_cols() == 0 {
        return;
    }
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
    if let Some(phases) = phases::Phases::of(g) {
        return phases::backward(x, w, gy, n, o, groups, &phases, gx, gw, gb);
    }
    let (k, p, ghw) = (g.col_rows(), g.col_cols(), g.c * g.h * g.w);
    let (chw, og) = (groups * ghw, o / groups);
    // As in the forward pass: one product per tap, `x` and `gx` in place.
    let by_taps = taps::applies(g);
    let (kind, len) = if by_taps {
        (Unfold::InPlace, p)
    } else {
        (g.unfold_kind(), g.unfold_cols())
    };
    let wide = kind == Unfold::Wide;
    let want_x = gx.is_some();
    let want_w = gw.is_some();
    let cost = (want_x as usize + want_w as usize) * o * k * len;
    let wt = transposed_weights(w, groups, og, k, want_x);
    let block = if by_taps {
        len
    } else {
        backward_column_block(g)
    };
    let cols_len = if kind == Unfold::InPlace {
        0
    } else {
        k * block
    };
    let gy_len = if wide { o * len } else { 0 };
    // The weight gradients of `weight_grad_shifted` (or of the taps), summed over a block's
    // samples and added into `gw` once at its end.
    let summed_per_block = (wide || by_taps) && want_w;
    let shift_len = if summed_per_block { o * k } else { 0 };
    split_backward(
        (n, o, p),
        cost,
        cols_len + gy_len + shift_len,
        gy,
        (gx, chw),
        gw,
        gb,
        |samples, gxblock, gw, scratch| {
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
                    if by_taps {
                        if want_w {
                            let xg = &x[b * chw + gi * ghw..][..ghw];
                            let tmp = &mut shift_tmp[gi * og * k..][..og * k];
                            taps::add_weight_grad(gyg, xg, g, og, tmp);
                        }
                        if want_x {
                            let gxb = &mut gxblock[i * chw + gi * ghw..][..ghw];
                            taps::add_input_grad(gyg, &wt[gi * og * k..][..og * k], g, og, gxb);
                        }
                        continue;
                    }
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
                        let gw = &mut gw[gi * og * k..][..og * k];
                        add_gy_cols_t((og, k, len), gyg, len, cols, gw);
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
                        wt_gy((og, k, len), wtg, gyg, len, beta, gcols);
                        match kind {
                            Unfold::InPlace => {}
                            Unfold::Wide => col2im_wide(buf, g, gxb),
                            Unfold::Rows => col2im(buf, g, gxb),
                        }
                    }
                }
            }
            if summed_per_block {
                for gi in 0..groups {
                    let (tmp, gw) = (
                        &shift_tmp[gi * og * k..][..og * k],
                        &mut gw[gi * og * k..][..og * k],
                    );
                    if by_taps {
                        taps::add_tap_sums(tmp, g, og, gw);
                    } else {
                        add_shifted(tmp, g, og, gw);
                    }
                }
            }
        },
    );
}

/// [`split_samples`] for a backward pass over `n` samples of `o` output planes of `p`:
/// `f(samples, gx_block, gw, scratch)` runs on blocks of samples, `gx_block` being their
/// `chw` values each of `gx` (empty without `gx`) and `gw` the block's weight-gradient
/// accumulator (empty without `gw`). The bias gradient (sums of `gy`'s rows) is summed here
/// in the same blocks, after `gw` in one shared accumulator.
#[allow(clippy::too_many_arguments)]
pub(super) fn split_backward<E: Float, F>(
    (n, o, p): (usize, usize, usize),
    cost: usize,
    scratch_len: usize,
    gy: &[E],
    (gx, chw): (Option<&mut [E]>, usize),
    gw: Option<&mut [E]>,
    gb: Option<&mut [E]>,
    f: F,
) where
    F: Fn(core::ops::Range<usize>, &mut [E], &mut [E], &mut [E]) + Sync,
{
    let per = if gx.is_some() { chw } else { 0 };
    let gx = gx.unwrap_or_default();
    let gw = gw.unwrap_or_default();
    let gw_len = gw.len();
    let mut acc_buf = Vec::new();
    let acc: &mut [E] = match &gb {
        Some(gb) => {
            acc_buf = [&*gw, &**gb].concat();
            &mut acc_buf
        }
        None => &mut *gw,
    };
    split_samples(
        n,
        per,
        cost,
        scratch_len,
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
            f(samples, gxblock, gw, scratch);
        },
    );
    if let Some(gb) = gb {
        gw.copy_from_slice(&acc_buf[..gw_len]);
        gb.copy_from_slice(&acc_buf[gw_len..]);
    }
}

mod phases;
mod products;
use products::transposed_weights;
pub(in crate::backend) use products::{add_cols_gy_t, add_gy_cols_t, add_transposed, wt_gy};
mod taps;
mod transpose;
pub(crate) use transpose::{conv_transpose2d_backward, conv_transpose2d_forward};
#[cfg(test)]
mod tests;
