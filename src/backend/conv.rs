//! Convolution and pooling kernels on row-major `(N, C, H, W)` buffers.
//!
//! Convolutions go through im2col and one gemm per sample: the unfolded input `cols` is a
//! `(C*KH*KW) x (OH*OW)` matrix, so `y = W cols`, `gW += gy cols^T` and `gcols = W^T gy`
//! (folded back with col2im). A transposed convolution is the same pair of maps used the
//! other way round. Samples are independent, so large batches are split over threads.

use super::simd::wide;
use crate::dtype::Float;

/// One sample's convolution geometry: `c` input planes of `h x w`, a `kh x kw` kernel with
/// stride, padding and dilation, and the `oh x ow` output grid (the caller computes it, so
/// that a transposed convolution can pass the exact size its output padding asks for).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub dh: usize,
    pub dw: usize,
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeom {
    /// Rows of the unfolded input: one per (channel, kernel row, kernel column).
    pub fn col_rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Columns of the unfolded input: one per output position.
    pub fn col_cols(&self) -> usize {
        self.oh * self.ow
    }
    /// A 1x1 kernel with unit stride and no padding unfolds to the input itself.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1 && self.ph == 0 && self.pw == 0
    }
    /// Unit stride and dilation, no padding, kernel larger than 1x1: the case unfolded in
    /// "wide rows" (see [`im2col_wide`]).
    fn unfolds_wide(&self) -> bool {
        !self.is_pointwise()
            && (self.sh, self.sw, self.ph, self.pw, self.dh, self.dw) == (1, 1, 0, 0, 1, 1)
            && self.oh > 0
            && self.ow > 0
    }
    /// Columns of the wide unfolding: every output row padded to the input width.
    fn wide_cols(&self) -> usize {
        self.oh * self.w
    }
}

/// [`im2col`] for [`ConvGeom::unfolds_wide`] geometries, with each output row widened to the
/// input width `w`: row `(c, i, j)` of `cols` (`oh * w` long) is then one contiguous run of
/// the input plane, from `(i, j)` on, so the unfolding is `c * kh * kw` long copies instead
/// of `oh` short ones each. Entries in the `w - ow` extra columns of every row hold
/// neighbouring inputs (or zeros past the plane); products over them are dropped by
/// [`narrow_rows`], and their gradients are zero, so [`col2im_wide`] may add them back.
fn im2col_wide<E: Float>(x: &[E], g: &ConvGeom, cols: &mut [E]) {
    let (hw, len) = (g.h * g.w, g.wide_cols());
    for c in 0..g.c {
        let plane = &x[c * hw..][..hw];
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &mut cols[((c * g.kh + i) * g.kw + j) * len..][..len];
                let start = i * g.w + j;
                let n = len.min(hw - start);
                row[..n].copy_from_slice(&plane[start..start + n]);
                row[n..].fill(E::ZERO);
            }
        }
    }
}

/// The adjoint of [`im2col_wide`]: adds each wide row back onto its run of the input
/// (`x += fold(cols)`); requires zero gradients in the extra columns.
fn col2im_wide<E: Float>(cols: &[E], g: &ConvGeom, x: &mut [E]) {
    let (hw, len) = (g.h * g.w, g.wide_cols());
    wide(
        #[inline(always)]
        || {
            for c in 0..g.c {
                let plane = &mut x[c * hw..][..hw];
                for i in 0..g.kh {
                    for j in 0..g.kw {
                        let row = &cols[((c * g.kh + i) * g.kw + j) * len..][..len];
                        let start = i * g.w + j;
                        let n = len.min(hw - start);
                        let dst = &mut plane[start..start + n];
                        dst.iter_mut().zip(&row[..n]).for_each(|(d, &v)| *d += v);
                    }
                }
            }
        },
    )
}

/// Copies the `oh x ow` outputs out of `oh x w` wide rows of each of `planes` planes.
fn narrow_rows<E: Float>(wide_rows: &[E], g: &ConvGeom, planes: usize, out: &mut [E]) {
    let (len, p) = (g.wide_cols(), g.col_cols());
    for (src, dst) in wide_rows
        .chunks_exact(len)
        .zip(out.chunks_exact_mut(p))
        .take(planes)
    {
        for (s, d) in src.chunks_exact(g.w).zip(dst.chunks_exact_mut(g.ow)) {
            d.copy_from_slice(&s[..g.ow]);
        }
    }
}

/// The inverse layout of [`narrow_rows`]: `oh x ow` planes into `oh x w` rows, extra
/// columns zero.
fn widen_rows<E: Float>(narrow: &[E], g: &ConvGeom, planes: usize, out: &mut [E]) {
    let (len, p) = (g.wide_cols(), g.col_cols());
    for (src, dst) in narrow
        .chunks_exact(p)
        .zip(out.chunks_exact_mut(len))
        .take(planes)
    {
        for (s, d) in src.chunks_exact(g.ow).zip(dst.chunks_exact_mut(g.w)) {
            d[..g.ow].copy_from_slice(s);
            d[g.ow..].fill(E::ZERO);
        }
    }
}

/// The outputs `o` in `0..out` whose input index `o*stride + offset` falls in `0..len`.
#[inline]
fn valid_range(out: usize, stride: usize, offset: isize, len: usize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if offset >= 0 {
        0
    } else {
        (-offset + s - 1) / s
    };
    let end = len as isize - offset;
    let hi = if end <= 0 { 0 } else { (end + s - 1) / s };
    let lo = (lo as usize).min(out);
    (lo, (hi as usize).clamp(lo, out))
}

/// Unfolds one sample `x` (`c x h x w`) into `cols` (`col_rows x col_cols`), writing zeros
/// where the kernel reads padding, so `cols` needs no clearing beforehand.
pub(crate) fn im2col<E: Float>(x: &[E], g: &ConvGeom, cols: &mut [E]) {
    wide(
        #[inline(always)]
        || {
            let ohw = g.col_cols();
            for c in 0..g.c {
                let plane = &x[c * g.h * g.w..][..g.h * g.w];
                for i in 0..g.kh {
                    let off_y = (i * g.dh) as isize - g.ph as isize;
                    let (y0, y1) = valid_range(g.oh, g.sh, off_y, g.h);
                    for j in 0..g.kw {
                        let off_x = (j * g.dw) as isize - g.pw as isize;
                        let (x0, x1) = valid_range(g.ow, g.sw, off_x, g.w);
                        let row = &mut cols[((c * g.kh + i) * g.kw + j) * ohw..][..ohw];
                        row[..y0 * g.ow].fill(E::ZERO);
                        row[y1 * g.ow..].fill(E::ZERO);
                        for oy in y0..y1 {
                            let iy = (oy * g.sh) as isize + off_y;
                            let src = &plane[iy as usize * g.w..][..g.w];
                            let dst = &mut row[oy * g.ow..][..g.ow];
                            dst[..x0].fill(E::ZERO);
                            dst[x1.max(x0)..].fill(E::ZERO);
                            if x1 > x0 {
                                let start = ((x0 * g.sw) as isize + off_x) as usize;
                                gather_strided(&mut dst[x0..x1], &src[start..], g.sw);
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `dst[k] = src[k * stride]`, without `step_by`, which the compiler turns into a loop with
/// a bounds check per element.
#[inline]
fn gather_strided<E: Float>(dst: &mut [E], src: &[E], stride: usize) {
    let n = dst.len();
    if n == 0 {
        return;
    }
    match stride {
        1 => dst.copy_from_slice(&src[..n]),
        // The common pooling stride, as a constant so the loop needs no bounds checks.
        2 => {
            let src = &src[..2 * n - 1];
            for (k, d) in dst.iter_mut().enumerate() {
                *d = src[2 * k];
            }
        }
        _ => {
            for (d, c) in dst.iter_mut().zip(src.chunks(stride)) {
                *d = c[0];
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the input element it was
/// read from (`x += fold(cols)`); padding entries are dropped.
pub(crate) fn col2im<E: Float>(cols: &[E], g: &ConvGeom, x: &mut [E]) {
    wide(
        #[inline(always)]
        || {
            let ohw = g.col_cols();
            for c in 0..g.c {
                let plane = &mut x[c * g.h * g.w..][..g.h * g.w];
                for i in 0..g.kh {
                    let off_y = (i * g.dh) as isize - g.ph as isize;
                    let (y0, y1) = valid_range(g.oh, g.sh, off_y, g.h);
                    for j in 0..g.kw {
                        let off_x = (j * g.dw) as isize - g.pw as isize;
                        let (x0, x1) = valid_range(g.ow, g.sw, off_x, g.w);
                        if x1 <= x0 {
                            continue;
                        }
                        let row = &cols[((c * g.kh + i) * g.kw + j) * ohw..][..ohw];
                        let start = ((x0 * g.sw) as isize + off_x) as usize;
                        for oy in y0..y1 {
                            let iy = ((oy * g.sh) as isize + off_y) as usize;
                            let dst = &mut plane[iy * g.w..][..g.w];
                            let src = &row[oy * g.ow + x0..oy * g.ow + x1];
                            if g.sw == 1 {
                                for (d, s) in dst[start..start + src.len()].iter_mut().zip(src) {
                                    *d += *s;
                                }
                            } else {
                                for (s, d) in src.iter().zip(dst[start..].iter_mut().step_by(g.sw))
                                {
                                    *d += *s;
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The sum of a slice with eight independent accumulators: the compiler may not reorder a
/// float sum, and a single accumulator runs at one add per cycle of latency.
fn sum_fast<E: Float>(v: &[E]) -> E {
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
    super::pool::threads()
        .min(n)
        .min(n.saturating_mul(cost) / MIN_WORK_PER_THREAD)
        .max(1)
}

/// Runs `f(samples, out_block, acc, scratch)` over contiguous blocks of the `n` samples, one
/// block per thread of [`super::pool`] (the calling thread takes one). `out` holds `per`
/// elements per sample (`per` may be 0 when there is no per-sample output); `acc` is shared
/// by all samples, so every other block accumulates into a zeroed copy that is added back at
/// the end; `scratch` is `scratch_len` elements of working space per block.
///
/// Every buffer is allocated here, on the calling thread, so that workers never allocate.
fn split_samples<E: Float, F>(
    n: usize,
    per: usize,
    cost: usize,
    scratch_len: usize,
    out: &mut [E],
    acc: &mut [E],
    f: F,
) where
    F: Fn(core::ops::Range<usize>, &mut [E], &mut [E], &mut [E]) + Sync,
{
    let threads = worker_count(n, cost);
    let mut scratch = vec![E::ZERO; threads * scratch_len];
    if threads <= 1 {
        f(0..n, out, acc, &mut scratch);
        return;
    }
    let per_thread = n.div_ceil(threads);
    let mut locals = vec![E::ZERO; (threads - 1) * acc.len()];
    type Block<'a, E> = (
        core::ops::Range<usize>,
        &'a mut [E],
        &'a mut [E],
        &'a mut [E],
    );
    {
        let mut blocks: Vec<std::sync::Mutex<Option<Block<'_, E>>>> = Vec::new();
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
        super::pool::run(blocks.len(), &|t| {
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
/// Each block is one gemm on its own unfolding.
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
    let (k, p, ghw) = (g.col_rows(), g.col_cols(), g.c * g.h * g.w);
    let (chw, og) = (groups * ghw, o / groups);
    let (kind, len) = (g.unfold_kind(), g.unfold_cols());
    let wide = kind == Unfold::Wide;
    let mut y = vec![E::ZERO; n * o * p];
    let beta = if bias.is_some() { E::ONE } else { E::ZERO };
    let cols_len = if kind == Unfold::InPlace { 0 } else { k * len };
    let out_len = if wide { o * len } else { 0 };
    split_samples(
        n,
        o * p,
        o * k * len,
        cols_len + out_len,
        &mut y,
        &mut [],
        |samples, yblock, _, scratch| {
            let (buf, ywide) = scratch.split_at_mut(cols_len);
            for (b, yb) in samples.zip(yblock.chunks_exact_mut(o * p)) {
                let out: &mut [E] = if wide { &mut *ywide } else { &mut *yb };
                if let Some(bias) = bias {
                    for (row, &v) in out.chunks_exact_mut(len).zip(bias) {
                        row.fill(v);
                    }
                }
                for gi in 0..groups {
                    let cols = unfold(&x[b * chw + gi * ghw..][..ghw], g, buf);
                    E::gemm(
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
                if wide {
                    narrow_rows(ywide, g, o, yb);
                }
            }
        },
    );
    y
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
    let (k, p, ghw) = (g.col_rows(), g.col_cols(), g.c * g.h * g.w);
    let (chw, og) = (groups * ghw, o / groups);
    if let Some(gb) = gb {
        for gyb in gy.chunks_exact(o * p) {
            for (acc, row) in gb.iter_mut().zip(gyb.chunks_exact(p)) {
                *acc += sum_fast(row);
            }
        }
    }
    let (kind, len) = (g.unfold_kind(), g.unfold_cols());
    let wide = kind == Unfold::Wide;
    let want_x = gx.is_some();
    let want_w = gw.is_some();
    let gx = gx.unwrap_or_default();
    let per = if want_x { chw } else { 0 };
    let gw = gw.unwrap_or_default();
    let cost = (want_x as usize + want_w as usize) * o * k * len;
    let cols_len = if kind == Unfold::InPlace { 0 } else { k * len };
    let gy_len = if wide { o * len } else { 0 };
    split_samples(
        n,
        per,
        cost,
        cols_len + gy_len,
        gx,
        gw,
        |samples, gxblock, gw, scratch| {
            let (buf, gy_wide) = scratch.split_at_mut(cols_len);
            for (i, b) in samples.enumerate() {
                let gyb: &[E] = if wide {
                    widen_rows(&gy[b * o * p..][..o * p], g, o, gy_wide);
                    gy_wide
                } else {
                    &gy[b * o * p..][..o * p]
                };
                for gi in 0..groups {
                    let gyg = &gyb[gi * og * len..][..og * len];
                    let wg = &w[gi * og * k..][..og * k];
                    if want_w {
                        let cols = unfold(&x[b * chw + gi * ghw..][..ghw], g, buf);
                        // gw_g (og x k) += gy_g (og x len) cols^T (len x k)
                        E::gemm(
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
                        let gxb = &mut gxblock[i * chw + gi * ghw..][..ghw];
                        // gcols (k x len) = w_g^T (k x og) gy_g (og x len), then folded onto
                        // this group's block of gx_b (a 1x1 kernel's gcols is that block).
                        let (gcols, beta) = match kind {
                            Unfold::InPlace => (&mut *gxb, E::ONE),
                            _ => (&mut buf[..], E::ZERO),
                        };
                        E::gemm(
                            k,
                            og,
                            len,
                            E::ONE,
                            wg,
                            (1, k as isize),
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
        },
    );
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
                E::gemm(
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
                E::gemm(
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
                E::gemm(
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

/// One plane's pooling geometry: an `h x w` input, a `kh x kw` window with stride and
/// padding, and the `oh x ow` output grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolGeom {
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
    pub oh: usize,
    pub ow: usize,
}

impl PoolGeom {
    /// For kernel row `i`: the output rows whose window row `i` lies inside the input, and
    /// the offset from `oy * sh` to that input row.
    fn rows(&self, i: usize) -> (usize, usize, isize) {
        let off = i as isize - self.ph as isize;
        let (y0, y1) = valid_range(self.oh, self.sh, off, self.h);
        (y0, y1, off)
    }
    /// The same for kernel column `j`.
    fn cols(&self, j: usize) -> (usize, usize, isize) {
        let off = j as isize - self.pw as isize;
        let (x0, x1) = valid_range(self.ow, self.sw, off, self.w);
        (x0, x1, off)
    }
    /// The first input index (clipped to the input) of the window at output `o`.
    fn clipped_start(o: usize, s: usize, p: usize) -> usize {
        (o * s).saturating_sub(p)
    }
    /// The window's extent at output `o`, clipped to the padded input only: PyTorch's
    /// `count_include_pad` divisor (always `k` in floor mode, computed for safety).
    fn padded_extent(o: usize, s: usize, p: usize, k: usize, len: usize) -> usize {
        let start = (o * s) as isize - p as isize;
        let end = (start + k as isize).min((len + p) as isize);
        (end - start).max(0) as usize
    }
}

/// Max pooling over `planes` planes; padding counts as `-inf`. Returns the maxima and, for
/// each, its flat index within the plane: the first maximum in row-major window order, or
/// the last NaN, as PyTorch's CPU kernel picks them.
///
/// The work is organised for vectorization: for each kernel offset `(i, j)` in turn, the
/// input each output's window has at that offset is gathered into a contiguous buffer
/// (padding as `-inf`, which never wins) for a block of planes at once, and merged with the
/// running maxima by [`merge_max`], a branch-free loop over all those outputs. Comparing
/// window by window instead is a serial chain of dependent selects (or of mispredicted
/// branches: on real data each comparison is a coin flip), several times slower.
///
/// Large inputs are split by planes over the threads of [`super::pool`].
pub(crate) fn max_pool2d_forward<E: Float>(
    x: &[E],
    planes: usize,
    g: &PoolGeom,
) -> (Vec<E>, Vec<u32>) {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut y = vec![E::NEG_INFINITY; planes * ohw];
    let mut idx = vec![0u32; planes * ohw];
    if ohw == 0 || planes == 0 {
        return (y, idx);
    }
    let parts = if planes * hw >= super::parallel::PARALLEL_ELEMS {
        super::pool::threads().min(planes)
    } else {
        1
    };
    let per = planes.div_ceil(parts);
    type Part<'a, E> = Option<(&'a [E], &'a mut [E], &'a mut [u32])>;
    let blocks: Vec<std::sync::Mutex<Part<'_, E>>> = x
        .chunks(per * hw)
        .zip(y.chunks_mut(per * ohw).zip(idx.chunks_mut(per * ohw)))
        .map(|(xb, (yb, ib))| std::sync::Mutex::new(Some((xb, yb, ib))))
        .collect();
    super::pool::run(blocks.len(), &|t| {
        let part = blocks[t].lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((xb, yb, ib)) = part {
            wide(
                #[inline(always)]
                || max_pool_planes(xb, g, yb, ib),
            );
        }
    });
    drop(blocks);
    (y, idx)
}

/// The 2x2, stride-2, unpadded window of `MaxPool2d(2)` (by far the most common pooling),
/// with every window inside the input: each output compares its four inputs directly,
/// in row-major order, with the same rule as [`merge_max`].
#[inline(always)]
fn max_pool_2x2_planes<E: Float>(x: &[E], g: &PoolGeom, y: &mut [E], idx: &mut [u32]) {
    let (hw, ohw, w, ow) = (g.h * g.w, g.oh * g.ow, g.w, g.ow);
    for ((xp, yp), ip) in x
        .chunks_exact(hw)
        .zip(y.chunks_exact_mut(ohw))
        .zip(idx.chunks_exact_mut(ohw))
    {
        for (oy, (yr, ir)) in yp
            .chunks_exact_mut(ow)
            .zip(ip.chunks_exact_mut(ow))
            .enumerate()
        {
            let r0 = &xp[2 * oy * w..][..2 * ow];
            let r1 = &xp[(2 * oy + 1) * w..][..2 * ow];
            let base = (2 * oy * w) as u32;
            // Pairs of columns through `chunks_exact(2)` and selects written without
            // branches, so that the loop vectorises (deinterleaving loads).
            let windows = yr
                .iter_mut()
                .zip(ir.iter_mut())
                .zip(r0.chunks_exact(2).zip(r1.chunks_exact(2)));
            for (ox, ((out, at), (top, bottom))) in windows.enumerate() {
                let (mut best, mut pos) = (top[0], 0u32);
                for (v, p) in [
                    (top[1], 1u32),
                    (bottom[0], w as u32),
                    (bottom[1], w as u32 + 1),
                ] {
                    // `|`, not `||`: both tests always run, so this is a select rather
                    // than a branch on the data.
                    let take = (v > best) | v.is_nan();
                    best = if take { v } else { best };
                    pos = if take { p } else { pos };
                }
                *out = best;
                *at = base + 2 * ox as u32 + pos;
            }
        }
    }
}

/// [`max_pool2d_forward`] on whole planes: `x` holds `y.len() / (oh * ow)` planes.
#[inline(always)]
fn max_pool_planes<E: Float>(x: &[E], g: &PoolGeom, y: &mut [E], idx: &mut [u32]) {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let plain_2x2 = (g.kh, g.kw, g.sh, g.sw, g.ph, g.pw) == (2, 2, 2, 2, 0, 0);
    if plain_2x2 && 2 * g.oh <= g.h && 2 * g.ow <= g.w {
        return max_pool_2x2_planes(x, g, y, idx);
    }
    let planes = y.len() / ohw;
    // Running maxima hold the kernel offset `i * kw + j` of their element until the end.
    const NONE: u32 = u32::MAX;
    let block = (4096 / ohw).clamp(1, planes);
    let lanes_max = block * ohw;
    let mut vals = vec![E::NEG_INFINITY; lanes_max];
    let (mut best, mut next_best) = (
        vec![E::NEG_INFINITY; lanes_max],
        vec![E::NEG_INFINITY; lanes_max],
    );
    let (mut at, mut next_at) = (vec![NONE; lanes_max], vec![NONE; lanes_max]);
    let cols: Vec<_> = (0..g.kw).map(|j| g.cols(j)).collect();
    let offsets: Vec<(usize, usize)> = (0..g.kh * g.kw).map(|t| (t / g.kw, t % g.kw)).collect();
    for ((xb, yb), ib) in x
        .chunks(block * hw)
        .zip(y.chunks_mut(block * ohw))
        .zip(idx.chunks_mut(block * ohw))
    {
        let lanes = yb.len();
        best[..lanes].fill(E::NEG_INFINITY);
        at[..lanes].fill(NONE);
        for i in 0..g.kh {
            for (j, &(x0, x1, off_x)) in cols.iter().enumerate() {
                for (p, xp) in xb.chunks_exact(hw).enumerate() {
                    for oy in 0..g.oh {
                        let dst = &mut vals[(p * g.oh + oy) * g.ow..][..g.ow];
                        let iy = (oy * g.sh + i) as isize - g.ph as isize;
                        if iy < 0 || iy as usize >= g.h || x1 <= x0 {
                            dst.fill(E::NEG_INFINITY);
                            continue;
                        }
                        dst[..x0].fill(E::NEG_INFINITY);
                        dst[x1..].fill(E::NEG_INFINITY);
                        let src = &xp[iy as usize * g.w..][..g.w];
                        let start = ((x0 * g.sw) as isize + off_x) as usize;
                        gather_strided(&mut dst[x0..x1], &src[start..], g.sw);
                    }
                }
                let t = (i * g.kw + j) as u32;
                merge_max(
                    &mut next_best[..lanes],
                    &mut next_at[..lanes],
                    &best[..lanes],
                    &at[..lanes],
                    &vals[..lanes],
                    t,
                );
                core::mem::swap(&mut best, &mut next_best);
                core::mem::swap(&mut at, &mut next_at);
            }
        }
        yb.copy_from_slice(&best[..lanes]);
        for (r, (orow, trow)) in ib
            .chunks_exact_mut(g.ow)
            .zip(at[..lanes].chunks_exact(g.ow))
            .enumerate()
        {
            let oy = r % g.oh;
            for (ox, (out, &t)) in orow.iter_mut().zip(trow).enumerate() {
                // A window of nothing but -inf points at its first real element.
                let (iy, ix) = match offsets.get(t as usize) {
                    Some(&(i, j)) => (oy * g.sh + i - g.ph, ox * g.sw + j - g.pw),
                    None => (
                        PoolGeom::clipped_start(oy, g.sh, g.ph),
                        PoolGeom::clipped_start(ox, g.sw, g.pw),
                    ),
                };
                *out = (iy * g.w + ix) as u32;
            }
        }
    }
}

/// `E` viewed as the concrete type `T` when they are the same type.
fn same_type<E: 'static, T: 'static>() -> bool {
    core::any::TypeId::of::<E>() == core::any::TypeId::of::<T>()
}

/// One max-pooling step over many outputs: output `k` takes the candidate `vals[k]` (found
/// at kernel offset `t`) when it beats the running `best[k]`, writing the merged maxima to
/// `next_best`/`next_at`. A candidate wins when it is larger or when it is NaN (PyTorch's
/// rule: ties keep the first maximum, and a later NaN replaces an earlier one).
fn merge_max<E: Float>(
    next_best: &mut [E],
    next_at: &mut [u32],
    best: &[E],
    at: &[u32],
    vals: &[E],
    t: u32,
) {
    // The loop vectorizes only when the float select is written as bit operations, which
    // `Float` does not offer; f32 and f64 take that path through a checked cast.
    macro_rules! bits_path {
        ($t:ty) => {
            if same_type::<E, $t>() {
                // SAFETY: `E` is `$t` (checked above), so the slices have the same layout.
                let (nb, b, v) = unsafe {
                    (
                        core::slice::from_raw_parts_mut(
                            next_best.as_mut_ptr().cast::<$t>(),
                            next_best.len(),
                        ),
                        core::slice::from_raw_parts(best.as_ptr().cast::<$t>(), best.len()),
                        core::slice::from_raw_parts(vals.as_ptr().cast::<$t>(), vals.len()),
                    )
                };
                let lanes = nb
                    .iter_mut()
                    .zip(next_at.iter_mut())
                    .zip(b.iter().zip(at))
                    .zip(v);
                for (((nb, na), (&b, &a)), &v) in lanes {
                    let take = (v > b) | v.is_nan();
                    let m = 0u32.wrapping_sub(take as u32);
                    let fm = (0 as <$t as FloatBits>::Bits)
                        .wrapping_sub(take as <$t as FloatBits>::Bits);
                    *nb = <$t>::from_bits((v.to_bits() & fm) | (b.to_bits() & !fm));
                    *na = (t & m) | (a & !m);
                }
                return;
            }
        };
    }
    bits_path!(f32);
    bits_path!(f64);
    let lanes = next_best
        .iter_mut()
        .zip(next_at.iter_mut())
        .zip(best.iter().zip(at))
        .zip(vals);
    for (((nb, na), (&b, &a)), &v) in lanes {
        let take = v > b || v.is_nan();
        *nb = if take { v } else { b };
        *na = if take { t } else { a };
    }
}

/// The unsigned integer with a float's bits.
trait FloatBits {
    type Bits;
}
impl FloatBits for f32 {
    type Bits = u32;
}
impl FloatBits for f64 {
    type Bits = u64;
}

/// Sends each output gradient to its window's maximum; overlapping windows accumulate.
pub(crate) fn max_pool2d_backward<E: Float>(
    gx: &mut [E],
    gy: &[E],
    idx: &[u32],
    hw: usize,
    ohw: usize,
) {
    for ((gxp, gyp), ip) in gx
        .chunks_exact_mut(hw)
        .zip(gy.chunks_exact(ohw))
        .zip(idx.chunks_exact(ohw))
    {
        for (&g, &i) in gyp.iter().zip(ip) {
            gxp[i as usize] += g;
        }
    }
}

/// `1 / divisor` for every output of an average pooling (`count_include_pad=True`).
fn avg_scales<E: Float>(g: &PoolGeom) -> Vec<E> {
    let mut s = Vec::with_capacity(g.oh * g.ow);
    for oy in 0..g.oh {
        let ny = PoolGeom::padded_extent(oy, g.sh, g.ph, g.kh, g.h);
        for ox in 0..g.ow {
            let nx = PoolGeom::padded_extent(ox, g.sw, g.pw, g.kw, g.w);
            s.push(E::ONE / E::from_usize((ny * nx).max(1)));
        }
    }
    s
}

/// Average pooling over `planes` planes, dividing by the window size including padding
/// (`count_include_pad=True`).
pub(crate) fn avg_pool2d_forward<E: Float>(x: &[E], planes: usize, g: &PoolGeom) -> Vec<E> {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let mut y = vec![E::ZERO; planes * ohw];
    let cols: Vec<_> = (0..g.kw).map(|j| g.cols(j)).collect();
    let scales = avg_scales::<E>(g);
    for (xp, yp) in x.chunks_exact(hw).zip(y.chunks_exact_mut(ohw)) {
        for i in 0..g.kh {
            let (y0, y1, off_y) = g.rows(i);
            for oy in y0..y1 {
                let iy = ((oy * g.sh) as isize + off_y) as usize;
                let src = &xp[iy * g.w..][..g.w];
                let yrow = &mut yp[oy * g.ow..][..g.ow];
                for &(x0, x1, off_x) in &cols {
                    for ox in x0..x1 {
                        yrow[ox] += src[((ox * g.sw) as isize + off_x) as usize];
                    }
                }
            }
        }
        for (v, &s) in yp.iter_mut().zip(&scales) {
            *v *= s;
        }
    }
    y
}

/// The gradient of [`avg_pool2d_forward`], accumulated into `gx`.
pub(crate) fn avg_pool2d_backward<E: Float>(gx: &mut [E], gy: &[E], g: &PoolGeom) {
    let (hw, ohw) = (g.h * g.w, g.oh * g.ow);
    let cols: Vec<_> = (0..g.kw).map(|j| g.cols(j)).collect();
    let scales = avg_scales::<E>(g);
    let mut scaled = vec![E::ZERO; ohw];
    for (gxp, gyp) in gx.chunks_exact_mut(hw).zip(gy.chunks_exact(ohw)) {
        for ((d, &v), &s) in scaled.iter_mut().zip(gyp).zip(&scales) {
            *d = v * s;
        }
        for i in 0..g.kh {
            let (y0, y1, off_y) = g.rows(i);
            for oy in y0..y1 {
                let iy = ((oy * g.sh) as isize + off_y) as usize;
                let dst = &mut gxp[iy * g.w..][..g.w];
                let grow = &scaled[oy * g.ow..][..g.ow];
                for &(x0, x1, off_x) in &cols {
                    for ox in x0..x1 {
                        dst[((ox * g.sw) as isize + off_x) as usize] += grow[ox];
                    }
                }
            }
        }
    }
}

/// PyTorch's adaptive window for output `o` of `out` over `len` inputs:
/// `floor(o*len/out) .. ceil((o+1)*len/out)`.
#[inline]
fn adaptive_span(o: usize, out: usize, len: usize) -> (usize, usize) {
    (o * len / out, ((o + 1) * len).div_ceil(out))
}

/// Adaptive average pooling of `planes` planes of `h x w` to `oh x ow`.
pub(crate) fn adaptive_avg_pool2d_forward<E: Float>(
    x: &[E],
    planes: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
) -> Vec<E> {
    let mut y = vec![E::ZERO; planes * oh * ow];
    for (xp, yp) in x.chunks_exact(h * w).zip(y.chunks_exact_mut(oh * ow)) {
        for oy in 0..oh {
            let (y0, y1) = adaptive_span(oy, oh, h);
            for ox in 0..ow {
                let (x0, x1) = adaptive_span(ox, ow, w);
                let mut s = E::ZERO;
                for iy in y0..y1 {
                    s += sum_fast(&xp[iy * w + x0..iy * w + x1]);
                }
                yp[oy * ow + ox] = s / E::from_usize((y1 - y0) * (x1 - x0));
            }
        }
    }
    y
}

/// The gradient of [`adaptive_avg_pool2d_forward`], accumulated into `gx`.
pub(crate) fn adaptive_avg_pool2d_backward<E: Float>(
    gx: &mut [E],
    gy: &[E],
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
) {
    for (gxp, gyp) in gx.chunks_exact_mut(h * w).zip(gy.chunks_exact(oh * ow)) {
        for oy in 0..oh {
            let (y0, y1) = adaptive_span(oy, oh, h);
            for ox in 0..ow {
                let (x0, x1) = adaptive_span(ox, ow, w);
                let v = gyp[oy * ow + ox] / E::from_usize((y1 - y0) * (x1 - x0));
                for iy in y0..y1 {
                    for a in &mut gxp[iy * w + x0..iy * w + x1] {
                        *a += v;
                    }
                }
            }
        }
    }
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
        }
    }

    /// The wide-row path (unit stride, no padding): its gradients are the adjoints of its
    /// forward in `x` and in `w`, <conv(x, w), gy> = <x, gx> = <w, gw>, over enough samples
    /// to be split over threads.
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
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> == <x, col2im(c)> for any x and c.
        let g = geom(2, 7, 8, (3, 2), (2, 1), (1, 1), (2, 1));
        let x = pseudo(g.c * g.h * g.w, 7);
        let c = pseudo(g.col_rows() * g.col_cols(), 8);
        let mut cols = vec![0.0; c.len()];
        im2col(&x, &g, &mut cols);
        let mut back = vec![0.0; x.len()];
        col2im(&c, &g, &mut back);
        let lhs: f64 = cols.iter().zip(&c).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-10, "{lhs} vs {rhs}");
    }

    /// Window-by-window max pooling with PyTorch's rules, for comparison.
    fn naive_max_pool(x: &[f32], planes: usize, g: &PoolGeom) -> (Vec<f32>, Vec<u32>) {
        let (mut y, mut idx) = (Vec::new(), Vec::new());
        for p in 0..planes {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    let y0 = (oy * g.sh).saturating_sub(g.ph);
                    let x0 = (ox * g.sw).saturating_sub(g.pw);
                    let (mut best, mut at) = (f32::NEG_INFINITY, y0 * g.w + x0);
                    for iy in y0..(oy * g.sh + g.kh).saturating_sub(g.ph).min(g.h) {
                        for ix in x0..(ox * g.sw + g.kw).saturating_sub(g.pw).min(g.w) {
                            let v = x[p * g.h * g.w + iy * g.w + ix];
                            if v > best || v.is_nan() {
                                best = v;
                                at = iy * g.w + ix;
                            }
                        }
                    }
                    y.push(best);
                    idx.push(at as u32);
                }
            }
        }
        (y, idx)
    }

    #[test]
    fn max_pool_matches_window_by_window_with_nan_and_infinities() {
        let mut x: Vec<f32> = pseudo(3 * 7 * 6, 9).into_iter().map(|v| v as f32).collect();
        x[3] = f32::NAN;
        x[4] = f32::NAN;
        x[20] = f32::INFINITY;
        for v in &mut x[42..84] {
            *v = f32::NEG_INFINITY; // a whole plane of -inf
        }
        x[100] = 5.0;
        x[101] = 5.0; // a tie: the first one wins
        for (k, s, p) in [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 1), (3, 3, 0)] {
            let oh = (7 + 2 * p - k) / s + 1;
            let ow = (6 + 2 * p - k) / s + 1;
            let g = PoolGeom {
                h: 7,
                w: 6,
                kh: k,
                kw: k,
                sh: s,
                sw: s,
                ph: p,
                pw: p,
                oh,
                ow,
            };
            let (y, idx) = max_pool2d_forward(&x, 3, &g);
            let (want_y, want_idx) = naive_max_pool(&x, 3, &g);
            for (a, b) in y.iter().zip(&want_y) {
                assert!(
                    a == b || (a.is_nan() && b.is_nan()),
                    "{k} {s} {p}: {a} vs {b}"
                );
            }
            assert_eq!(idx, want_idx, "{k} {s} {p}");
            let y64 = max_pool2d_forward(&x.iter().map(|&v| v as f64).collect::<Vec<_>>(), 3, &g);
            assert_eq!(y64.1, want_idx, "f64 {k} {s} {p}");
        }
    }

    #[test]
    fn max_pool_split_over_threads_matches_window_by_window() {
        // Large enough to be split by planes over the pool; odd sizes leave a ragged edge.
        let (planes, h, w) = (37, 41, 39);
        let mut x: Vec<f32> = pseudo(planes * h * w, 4)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        x[1000] = f32::NAN;
        for (k, s, p) in [(2, 2, 0), (3, 2, 1)] {
            let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
            let g = PoolGeom {
                h,
                w,
                kh: k,
                kw: k,
                sh: s,
                sw: s,
                ph: p,
                pw: p,
                oh,
                ow,
            };
            let (y, idx) = max_pool2d_forward(&x, planes, &g);
            let (want_y, want_idx) = naive_max_pool(&x, planes, &g);
            assert!(
                y.iter()
                    .zip(&want_y)
                    .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
            );
            assert_eq!(idx, want_idx, "{k} {s} {p}");
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
        split_samples::<f64, _>(n, 0, 1 << 30, 0, &mut [], &mut [], |samples, _, _, _| {
            count.fetch_add(samples.len(), std::sync::atomic::Ordering::Relaxed);
        });
        assert_eq!(count.into_inner(), n);
    }
}
