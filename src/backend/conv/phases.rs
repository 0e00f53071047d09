//! Strided or padded convolutions in the wide layout through phase planes.
//!
//! With stride `(sh, sw)`, kernel tap `(i, j)` reads the padded input at `(sh oy + i, sw ox +
//! j)`: in the *phase plane* `(i % sh, j % sw)` (every `sh`-th row and `sw`-th column of the
//! padded plane, from that phase on) that is position `(oy + i / sh, ox + j / sw)`, a unit
//! stride read. So with each channel split once into its `sh * sw` phase planes, row `(c, i,
//! j)` of the unfolding is one contiguous run of a phase plane in wide rows (as
//! [`super::im2col_wide`] reads an unpadded plane): one long copy per tap instead of one
//! strided gather per tap and output row, and the same `c * kh * kw` rows, so the same
//! product. The wide rows are a phase plane's width, `ceil((w + 2 pw) / sw)`: one extra
//! column per output row for a 3x3 kernel at stride 2 and padding 1.
//!
//! At unit stride the one phase plane is the zero-padded plane, so a padded convolution
//! unfolds in wide rows too (the row unfolding copied one short run per output row and tap,
//! eleven floats at a time on a 14 x 14 plane, and took as long as the product).
//!
//! Each sample is split while its planes are in cache, and unfolded in blocks of output
//! rows that stay in the L2 cache for the product that reads them.

use super::{
    ConvGeom, add_cols_gy_t, add_gy_cols_t, add_transposed, by_channel_blocks, split_backward,
    split_samples, wt_gy,
};
use crate::backend::gemm::gemm;
use crate::backend::im2col::{copy_row, narrow_rows, widen_rows};
use crate::backend::simd::wide;
use crate::dtype::Float;
use core::mem::MaybeUninit;
use core::ops::Range;

/// Unfolded values per block of output rows in the forward pass (512 KiB of `f32`; blocks
/// of at most 240 columns, as the row unfolding's, made 21 small products of a sample of
/// (16, 3, 64, 64) padded: one thread, 3 -> 16 channels, 0.92 -> 0.81 ms forward).
const FORWARD_BLOCK: usize = 1 << 17;
/// The same for the backward pass, whose products want longer blocks.
const BACKWARD_BLOCK: usize = 1 << 18;

/// The fewest rows of the unfolding (input channels x kernel taps) for a padded convolution
/// with unit stride: with fewer the row unfolding is cheap beside the padding and widening
/// around the product (one 3x3 kernel over (32, 1, 28, 28): forward level, with backward
/// 0.93 -> 0.99 ms on one thread, 0.59 -> 0.63 on two; 5x5 kernels, 25 rows: 1.61 -> 1.15
/// and 1.37 -> 0.81).
const MIN_PADDED_ROWS: usize = 16;

/// Input channels (per group) below which the weight gradient is summed transposed (see
/// [`backward`]), as the wide layout's unfolded weight gradient is. Above, the `k x og`
/// sums and their transposed add outgrow the cache: (8, 256, 14, 14) at stride 2 to 512
/// channels with backward, two threads, 25.2 ms transposed, 20.8 not; (8, 128, 28, 28) to
/// 128 8.66 -> 8.57; below, (64, 32, 7, 7) padded to 64 2.54 -> 2.69 not transposed,
/// (16, 64, 28, 28) at stride 2 to 128 8.23 -> 8.39.
const TRANSPOSED_BELOW_CHANNELS: usize = 128;

/// The most values of a sample's phase planes: they are split whole before the unfolding,
/// where the row unfolding reads the input in place. One thread, 3x3 stride 2 with
/// backward: (8, 64, 56, 56) to 128 channels (215K values) 32.5 -> 31.4 ms, (1, 64, 224,
/// 224) to 64 (3.3M) 36.3 -> 41.9.
const MAX_PLANES: usize = 1 << 18;

/// A strided or padded convolution's geometry `g` with the size of its phase planes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Phases {
    g: ConvGeom,
    /// Rows of a phase plane: `ceil((h + 2 ph) / sh)`.
    rows: usize,
    /// Columns of a phase plane and of the wide rows: `ceil((w + 2 pw) / sw)`.
    cols: usize,
}

impl Phases {
    /// The phase planes of `g`, when it has unit dilation and is strided or padded (with
    /// more than one output row, a 1-D convolution's row unfolding being one run per row
    /// already: `Conv1d(32, 64, 5, padding 2)` over (32, 32, 512) was 5% slower padded, and
    /// [`MIN_PADDED_ROWS`]), its kernel reaches every phase (a 1x1 kernel at stride 2 reads
    /// one phase in four: split whole, one thread, (8, 64, 56, 56) to 128 channels with
    /// backward 4.1 -> 5.3 ms) and a sample's phase planes are at most [`MAX_PLANES`]
    /// values.
    pub(super) fn of(g: &ConvGeom) -> Option<Self> {
        let phases = Self {
            g: *g,
            rows: (g.h + 2 * g.ph).div_ceil(g.sh.max(1)),
            cols: (g.w + 2 * g.pw).div_ceil(g.sw.max(1)),
        };
        let strided = (g.sh, g.sw) != (1, 1);
        let padded = (g.ph, g.pw) != (0, 0) && g.oh > 1 && g.col_rows() >= MIN_PADDED_ROWS;
        let applies = (strided || padded)
            && (g.dh, g.dw) == (1, 1)
            && g.oh > 0
            && g.ow > 0
            && g.kh >= g.sh
            && g.kw >= g.sw
            && phases.planes_len() <= MAX_PLANES;
        applies.then_some(phases)
    }

    fn phases(&self) -> usize {
        self.g.sh * self.g.sw
    }

    fn plane_len(&self) -> usize {
        self.rows * self.cols
    }

    /// Values of one sample's (or group's) phase planes.
    fn planes_len(&self) -> usize {
        self.g.c * self.phases() * self.plane_len()
    }

    /// Columns of the wide output rows: `oh` rows of [`Self::cols`].
    fn wide_cols(&self) -> usize {
        self.g.oh * self.cols
    }

    /// The geometry whose wide rows ([`narrow_rows`], [`widen_rows`]) are a phase plane wide.
    fn wide_geom(&self) -> ConvGeom {
        ConvGeom {
            w: self.cols,
            ..self.g
        }
    }

    /// Output rows per block: about `budget` unfolded values (whole rows, at least one).
    fn block_rows(&self, budget: usize) -> usize {
        let columns = budget / self.g.col_rows().max(1);
        (columns / self.cols).clamp(1, self.g.oh)
    }

    /// Working space of [`Self::forward_sample`] for `rows` output channels: the phase
    /// planes, a block of the unfolding and the wide output rows.
    fn scratch_len(&self, rows: usize) -> usize {
        let block = self.block_rows(FORWARD_BLOCK) * self.cols;
        self.planes_len() + self.g.col_rows() * block + rows * self.wide_cols()
    }

    /// `y = w cols(x) + bias` for one sample (or group) `x` and the `rows x k` weights `w`:
    /// split, unfolded block by block and multiplied into wide rows in `scratch`
    /// ([`Self::scratch_len`]), then narrowed into `y` (`rows` planes, all written).
    fn forward_sample<E: Float>(
        &self,
        x: &[E],
        w: &[E],
        bias: Option<&[E]>,
        scratch: &mut [E],
        y: &mut [MaybeUninit<E>],
    ) {
        let (k, len) = (self.g.col_rows(), self.wide_cols());
        let rows = w.len() / k.max(1);
        let block = self.block_rows(FORWARD_BLOCK);
        let (planes, scratch) = scratch.split_at_mut(self.planes_len());
        let (cols, ywide) = scratch.split_at_mut(k * block * self.cols);
        if rows == 0 {
            return;
        }
        self.split(x, planes);
        for r0 in (0..self.g.oh).step_by(block) {
            let out_rows = r0..(r0 + block).min(self.g.oh);
            let width = out_rows.len() * self.cols;
            let cols = &mut cols[..k * width];
            self.unfold_rows(planes, out_rows, cols);
            gemm(
                rows,
                k,
                width,
                E::ONE,
                w,
                (k as isize, 1),
                cols,
                (width as isize, 1),
                E::ZERO,
                &mut ywide[r0 * self.cols..][..(rows - 1) * len + width],
                (len as isize, 1),
            );
        }
        narrow_rows(ywide, &self.wide_geom(), rows, bias, y);
    }

    /// The tap `(c, i, j)`'s phase plane in `planes` and where its run starts for output row 0.
    #[inline(always)]
    fn tap(&self, c: usize, i: usize, j: usize) -> (usize, usize) {
        let g = &self.g;
        let phase = (i % g.sh) * g.sw + j % g.sw;
        let plane = (c * self.phases() + phase) * self.plane_len();
        (plane, (i / g.sh) * self.cols + j / g.sw)
    }

    /// Splits the `g.c` planes of `x` (`h x w`) into their zero-padded phase planes.
    fn split<E: Float>(&self, x: &[E], planes: &mut [E]) {
        let g = &self.g;
        let (hw, plane_len) = (g.h * g.w, self.plane_len());
        wide(
            #[inline(always)]
            || {
                for (c, out) in planes
                    .chunks_exact_mut(self.phases() * plane_len)
                    .enumerate()
                {
                    let src = &x[c * hw..][..hw];
                    out.fill(E::ZERO);
                    // Source row `iy` goes to row `u` of the row phase `a`.
                    for (iy, line) in src.chunks_exact(g.w).enumerate() {
                        let (u, a) = ((iy + g.ph) / g.sh, (iy + g.ph) % g.sh);
                        let phase_rows = &mut out[a * g.sw * plane_len..][..g.sw * plane_len];
                        if g.sw == 1 {
                            copy_row(&mut phase_rows[u * self.cols + g.pw..][..g.w], line);
                            continue;
                        }
                        if g.sw == 2 {
                            let (even, odd) = phase_rows.split_at_mut(plane_len);
                            let at = u * self.cols..(u + 1) * self.cols;
                            split_interleaved(line, [&mut even[at.clone()], &mut odd[at]], g.pw);
                            continue;
                        }
                        for (ix, &v) in line.iter().enumerate() {
                            let (col, b) = ((ix + g.pw) / g.sw, (ix + g.pw) % g.sw);
                            phase_rows[b * plane_len + u * self.cols + col] = v;
                        }
                    }
                }
            },
        )
    }

    /// `gx += merge(planes)`: the gradient of [`Self::split`], each phase plane's values
    /// added back onto the input positions they were read from (the padding dropped).
    fn add_merged<E: Float>(&self, planes: &[E], gx: &mut [E]) {
        let g = &self.g;
        let (hw, plane_len) = (g.h * g.w, self.plane_len());
        wide(
            #[inline(always)]
            || {
                for c in 0..g.c {
                    let dst = &mut gx[c * hw..][..hw];
                    for iy in 0..g.h {
                        let (u, a) = ((iy + g.ph) / g.sh, (iy + g.ph) % g.sh);
                        let line = &mut dst[iy * g.w..][..g.w];
                        let first = (c * self.phases() + a * g.sw) * plane_len + u * self.cols;
                        let phase_row = |b: usize| &planes[first + b * plane_len..][..self.cols];
                        if g.sw == 1 {
                            let row = &phase_row(0)[g.pw..][..g.w];
                            line.iter_mut().zip(row).for_each(|(d, &v)| *d += v);
                            continue;
                        }
                        if g.sw == 2 {
                            // Both column phases interleaved: one contiguous run.
                            add_interleaved(line, [phase_row(0), phase_row(1)], g.pw);
                            continue;
                        }
                        for (ix, d) in line.iter_mut().enumerate() {
                            let (v, b) = ((ix + g.pw) / g.sw, (ix + g.pw) % g.sw);
                            *d += phase_row(b)[v];
                        }
                    }
                }
            },
        )
    }

    /// The wide unfolding of output rows `rows` from the phase planes: row `(c, i, j)` of
    /// `cols` (`rows.len() * cols` long) is one run of tap `(c, i, j)`'s phase plane (zeros
    /// past its end, under the last row's extra columns).
    fn unfold_rows<E: Float>(&self, planes: &[E], rows: Range<usize>, cols: &mut [E]) {
        let g = &self.g;
        let (width, plane_len) = (rows.len() * self.cols, self.plane_len());
        wide(
            #[inline(always)]
            || {
                let mut out = cols.chunks_exact_mut(width);
                for c in 0..g.c {
                    for i in 0..g.kh {
                        for j in 0..g.kw {
                            let Some(row) = out.next() else { return };
                            let (plane, at) = self.tap(c, i, j);
                            let start = at + rows.start * self.cols;
                            let n = width.min(plane_len - start);
                            copy_row(&mut row[..n], &planes[plane + start..][..n]);
                            row[n..].fill(E::ZERO);
                        }
                    }
                }
            },
        )
    }

    /// The adjoint of [`Self::unfold_rows`]: adds each row of `cols` back onto its run of
    /// the phase planes (the extra columns' gradients are zero).
    fn fold_rows<E: Float>(&self, cols: &[E], rows: Range<usize>, planes: &mut [E]) {
        let g = &self.g;
        let (width, plane_len) = (rows.len() * self.cols, self.plane_len());
        wide(
            #[inline(always)]
            || {
                let mut taps = cols.chunks_exact(width);
                for c in 0..g.c {
                    for i in 0..g.kh {
                        for j in 0..g.kw {
                            let Some(row) = taps.next() else { return };
                            let (plane, at) = self.tap(c, i, j);
                            let start = at + rows.start * self.cols;
                            let n = width.min(plane_len - start);
                            let dst = &mut planes[plane + start..][..n];
                            dst.iter_mut().zip(&row[..n]).for_each(|(d, &v)| *d += v);
                        }
                    }
                }
            },
        )
    }
}

/// `phases[(ix + pad) % 2][(ix + pad) / 2] = line[ix]`: a padded input row split into its
/// two column phases in one pass (the inverse of [`add_interleaved`]).
#[inline(always)]
fn split_interleaved<E: Float>(line: &[E], phases: [&mut [E]; 2], pad: usize) {
    let [even, odd] = phases;
    let mut ix = 0;
    if pad % 2 == 1 && !line.is_empty() {
        odd[pad / 2] = line[0];
        ix = 1;
    }
    let first = (ix + pad) / 2;
    let pairs = line[ix..].chunks_exact(2);
    let whole = pairs.len();
    for (pair, (e, o)) in pairs.zip(even[first..].iter_mut().zip(&mut odd[first..])) {
        *e = pair[0];
        *o = pair[1];
    }
    if let Some(&last) = line[ix + 2 * whole..].first() {
        even[first + whole] = last;
    }
}

/// `line[ix] += phases[(ix + pad) % 2][(ix + pad) / 2]`: a row of the input gradient from
/// its two column phases.
#[inline(always)]
fn add_interleaved<E: Float>(line: &mut [E], phases: [&[E]; 2], pad: usize) {
    let mut ix = 0;
    if pad % 2 == 1 && !line.is_empty() {
        line[0] += phases[1][pad / 2];
        ix = 1;
    }
    let first = (ix + pad) / 2;
    let pairs = line[ix..].chunks_exact_mut(2);
    let whole = pairs.len();
    for (pair, (&even, &odd)) in pairs.zip(phases[0][first..].iter().zip(&phases[1][first..])) {
        pair[0] += even;
        pair[1] += odd;
    }
    if let Some(last) = line[ix + 2 * whole..].first_mut() {
        *last += phases[0][first + whole];
    }
}

/// [`super::conv2d_grouped_forward`] for a geometry `ph.g` through phase planes.
pub(super) fn forward<E: Float>(
    x: &[E],
    w: &[E],
    bias: Option<&[E]>,
    n: usize,
    o: usize,
    groups: usize,
    ph: &Phases,
) -> Vec<E> {
    let g = &ph.g;
    let (k, p, ghw) = (g.col_rows(), g.col_cols(), g.c * g.h * g.w);
    let (chw, og) = (groups * ghw, o / groups);
    let mut y: Vec<E> = Vec::with_capacity(n * o * p);
    let out = &mut y.spare_capacity_mut()[..n * o * p];
    if n == 1 && groups == 1 {
        // Output channels split over the threads, each splitting and unfolding the sample
        // for its own (by samples, one thread would work alone).
        by_channel_blocks(
            o,
            p,
            |rows| ph.scratch_len(rows),
            out,
            &|first, yb, scratch| {
                let count = yb.len() / p;
                let bias = bias.map(|b| &b[first..first + count]);
                ph.forward_sample(x, &w[first * k..][..count * k], bias, scratch, yb);
            },
        );
    } else {
        split_samples(
            n,
            o * p,
            o * k * ph.wide_cols(),
            ph.scratch_len(og),
            out,
            &mut [],
            |samples, yblock, _, scratch| {
                for (b, yb) in samples.zip(yblock.chunks_exact_mut(o * p)) {
                    for (gi, yg) in yb.chunks_exact_mut(og * p).enumerate() {
                        let bias = bias.map(|bias| &bias[gi * og..][..og]);
                        let (xg, wg) = (&x[b * chw + gi * ghw..][..ghw], &w[gi * og * k..]);
                        ph.forward_sample(xg, &wg[..og * k], bias, scratch, yg);
                    }
                }
            },
        );
    }
    // SAFETY: every sample's block of `o * p` outputs (all of `y`) was written whole by
    // `forward_sample`, over the samples or the channels.
    unsafe { y.set_len(n * o * p) };
    y
}

/// [`super::conv2d_grouped_backward`] for a geometry `ph.g` through phase planes. With
/// fewer than [`TRANSPOSED_BELOW_CHANNELS`] input channels the weight gradient is summed
/// transposed, `tmp (k x og) += cols gy^T`, over a block of samples and added into `gw` at
/// its end, as in the wide layout (`gw += gy cols^T`, the unfolding packed transposed, is
/// slower for few output rows: one thread, (32, 16, 32, 32) at stride 2 to 32 channels
/// with backward 4.06 -> 3.73 ms transposed; for 16 output channels at stride 1, 8.7 ->
/// 6.5).
#[allow(clippy::too_many_arguments)]
pub(super) fn backward<E: Float>(
    x: &[E],
    w: &[E],
    gy: &[E],
    n: usize,
    o: usize,
    groups: usize,
    ph: &Phases,
    gx: Option<&mut [E]>,
    gw: Option<&mut [E]>,
    gb: Option<&mut [E]>,
) {
    let g = &ph.g;
    let (k, p, ghw) = (g.col_rows(), g.col_cols(), g.c * g.h * g.w);
    let (chw, og, len) = (groups * ghw, o / groups, ph.wide_cols());
    let (want_x, want_w) = (gx.is_some(), gw.is_some());
    let wt = if want_x {
        crate::backend::layout::permute(w, &[groups, og, k], &[0, 2, 1])
    } else {
        Vec::new()
    };
    let block = ph.block_rows(BACKWARD_BLOCK);
    let planes_len = ph.planes_len();
    let (x_planes, gx_planes) = (
        if want_w { planes_len } else { 0 },
        if want_x { planes_len } else { 0 },
    );
    let cols_len = k * block * ph.cols;
    let cost = (want_x as usize + want_w as usize) * o * k * len;
    let transposed = want_w && g.c < TRANSPOSED_BELOW_CHANNELS;
    let tmp_len = if transposed { o * k } else { 0 };
    let scratch_len = x_planes + gx_planes + cols_len + o * len + tmp_len;
    split_backward(
        (n, o, p),
        cost,
        scratch_len,
        gy,
        (gx, chw),
        gw,
        gb,
        |samples, gxblock, gw, scratch| {
            let (planes, scratch) = scratch.split_at_mut(x_planes);
            let (gplanes, scratch) = scratch.split_at_mut(gx_planes);
            let (cols, scratch) = scratch.split_at_mut(cols_len);
            let (gy_wide, tmp) = scratch.split_at_mut(o * len);
            // Zeroed once: `widen_rows` never writes the extra columns.
            gy_wide.fill(E::ZERO);
            tmp.fill(E::ZERO);
            for (i, b) in samples.enumerate() {
                widen_rows(&gy[b * o * p..][..o * p], &ph.wide_geom(), o, gy_wide);
                for gi in 0..groups {
                    if want_w {
                        ph.split(&x[b * chw + gi * ghw..][..ghw], planes);
                    }
                    gplanes.fill(E::ZERO);
                    let gyg = &gy_wide[gi * og * len..][..og * len];
                    for r0 in (0..g.oh).step_by(block) {
                        let rows = r0..(r0 + block).min(g.oh);
                        let width = rows.len() * ph.cols;
                        let cols = &mut cols[..k * width];
                        let gy_block = &gyg[r0 * ph.cols..][..(og - 1) * len + width];
                        if want_w {
                            ph.unfold_rows(planes, rows.clone(), cols);
                            let gw_g = &mut gw[gi * og * k..][..og * k];
                            if transposed {
                                let tmp = &mut tmp[gi * og * k..][..og * k];
                                add_cols_gy_t((og, k, width), (cols, width), (gy_block, len), tmp);
                            } else {
                                add_gy_cols_t((og, k, width), gy_block, len, cols, gw_g);
                            }
                        }
                        if want_x {
                            let wt = &wt[gi * og * k..][..og * k];
                            wt_gy((og, k, width), wt, gy_block, len, E::ZERO, cols);
                            ph.fold_rows(cols, rows, gplanes);
                        }
                    }
                    if want_x {
                        ph.add_merged(gplanes, &mut gxblock[i * chw + gi * ghw..][..ghw]);
                    }
                }
            }
            if transposed {
                for (gw, tmp) in gw.chunks_exact_mut(og * k).zip(tmp.chunks_exact(og * k)) {
                    add_transposed(tmp, og, k, gw);
                }
            }
        },
    );
}
