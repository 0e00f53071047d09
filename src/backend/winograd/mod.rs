//! 3x3 convolutions at unit stride by Winograd's minimal filtering, F(2x2, 3x3) (Lavin and
//! Gray, "Fast Algorithms for Convolutional Neural Networks", 2015): each 2x2 block of
//! outputs takes 16 products per input and output channel pair instead of 36.
//!
//! The kernels are transformed to `U = G g G^T` (4 x 4 each) and every 4 x 4 input patch
//! (the tiles overlap by two) to `V = B^T d B`; the 16 positions of a tile are then 16
//! independent products `M = U V` over the channels, one `gemm` each, and `A^T M A` is the
//! 2 x 2 output block. The direct method (`im2col` and one product) already runs at the
//! FMA peak on these shapes, so fewer products is the only way left to go faster; PyTorch's
//! CPU build (oneDNN) ran (8, 64, 56, 56) with 64 kernels 1.6x faster than that peak allows.
//!
//! Why not F(4x4, 3x3) (36 products per 16 outputs, 2.25x fewer than here): it was tried,
//! and is faster ((8, 64, 56, 56), one thread: 7.4 ms against 15.1 direct), but its
//! transforms' constants (8 in `A`, 1/24 in `G`) cost an extra decimal digit: with 64
//! channels `f32` outputs already reached 0.88 of the golden tolerance (1e-5 + 1e-4
//! relative), where PyTorch's own stay at 0.06, and the error grows with the channels.
//! F(2x2, 3x3)'s constants are 0, 1 and 1/2, and its outputs stay as close as the direct
//! sums (`tests/conv_winograd.rs`).
//!
//! The weight gradient follows the same chain backwards: with `Z = A gy A^T` for each
//! output tile, `dU[pos] = sum over tiles of Z[pos] V[pos]^T` (again one product per
//! position) and `gw = G^T dU G`. The input gradient is the forward pass itself, run on
//! `gy` with the flipped kernels.
//!
//! Layout, per band of tile rows: `V` is `[channel][position][tile]` and `M`
//! `[output channel][position][tile]`, so that one position of all channels is a strided
//! matrix for the product and each channel's transform reads and writes contiguous rows.
//! The transforms run along rows of tiles: an input row is split into its two phases
//! (`x[2t + b]`), after which a tile's four values along the row are `P0[t], P1[t],
//! P0[t + 1], P1[t + 1]`, contiguous across tiles, so the loops vectorise.

#[cfg(test)]
mod tests;
mod tiles;
mod transforms;

use super::conv::split_samples;
use super::gemm::gemm;
use super::im2col::ConvGeom;
use crate::dtype::Float;
use core::mem::MaybeUninit;
use tiles::{grad_band, input_band, output_band};
use transforms::{add_kernel_grads, transform_kernels};

/// Output rows and columns per tile.
const M: usize = 2;
/// Input rows and columns per tile (`M + 3 - 1`).
const T: usize = 4;
/// Positions per tile: one product each.
const POS: usize = T * T;

/// Bytes of a band's `V` and `M` together, sized to stay in L2 between the transforms and
/// the products. One thread, forward, ms at 256 KiB / 512 KiB / 1 MiB / 2 MiB: (8, 64, 56,
/// 56) with 64 kernels 8.3 / 8.3-8.5 / 9.1 / 10.2, (1, 64, 224, 224) - / 15.9 / 17.0 / 19.6,
/// (8, 256, 14, 14) 8.3 / 8.1 / 8.4 / 8.3.
const BAND_BYTES: usize = 1 << 19;
/// Fewest columns per band, whatever the channels: the products' `n`.
const MIN_BAND_COLS: usize = 96;

/// Whether a convolution takes this path: one group, 3x3, unit stride and dilation, 32
/// channels or more in and out, and planes of 14 or more a side. Forward, ms, direct ->
/// this path, one thread: (8, 64, 56, 56) with 64 kernels 15.1 -> 9.8, (8, 128, 28, 28)
/// 11.7 -> 9.0, (8, 256, 14, 14) 11.4 -> 8.6, (1, 64, 224, 224) 37.6 -> 17.1, (32, 64, 14,
/// 14) 3.9 -> 2.5. Below that the transforms and the thin products (`k` = channels) eat the
/// gain: W3's (32, 16, 13, 13) with 32 kernels 1.52 -> 1.69 ms per training step; (32, 32,
/// 13, 13) and (32, 128, 8, 8) on two threads 0.61 -> 0.73 and 2.17 -> 2.47.
pub(crate) fn applies(groups: usize, o: usize, g: &ConvGeom) -> bool {
    const MIN_CHANNELS: usize = 32;
    const MIN_SIDE: usize = 14;
    groups == 1
        && (g.kh, g.kw, g.sh, g.sw, g.dh, g.dw) == (3, 3, 1, 1, 1, 1)
        && g.c >= MIN_CHANNELS
        && o >= MIN_CHANNELS
        && g.oh >= MIN_SIDE
        && g.ow >= MIN_SIDE
}

/// Whether the input gradient of such a convolution takes this path: the gradient is the
/// convolution of `gy` with the flipped kernels at padding `2 - p`, so `p <= 2`.
pub(crate) fn applies_to_input_grad(groups: usize, o: usize, g: &ConvGeom) -> bool {
    applies(groups, o, g) && g.ph <= 2 && g.pw <= 2 && g.h >= 14 && g.w >= 14
}

/// One convolution's sizes for the tile loops: `c` input planes of `h x w` padded by
/// `(ph, pw)`, `o` output planes of `oh x ow`.
#[derive(Clone, Copy)]
struct Plan {
    c: usize,
    h: usize,
    w: usize,
    ph: usize,
    pw: usize,
    o: usize,
    oh: usize,
    ow: usize,
    tiles_x: usize,
    tiles_y: usize,
    band_rows: usize,
    /// The output channels of `U` (`o` is a block of them when a single sample's output
    /// channels are split over the threads) and the first of this plan's block.
    u_outs: usize,
    u_first: usize,
}

impl Plan {
    fn new<E>(c: usize, (h, w): (usize, usize), (ph, pw): (usize, usize), o: usize) -> Self {
        let (oh, ow) = (h + 2 * ph - 2, w + 2 * pw - 2);
        let (tiles_y, tiles_x) = (oh.div_ceil(M), ow.div_ceil(M));
        let per_col = (c + o) * POS * core::mem::size_of::<E>();
        let cols = (BAND_BYTES / per_col.max(1)).max(MIN_BAND_COLS);
        let band_rows = cols.div_ceil(tiles_x + 1).max(1);
        Plan {
            c,
            h,
            w,
            ph,
            pw,
            o,
            oh,
            ow,
            tiles_x,
            tiles_y,
            band_rows,
            u_outs: o,
            u_first: 0,
        }
    }
    /// Length of one phase of a padded input row: a tile reads `t` and `t + 1`.
    fn phase_len(&self) -> usize {
        self.tiles_x + 1
    }
    /// Columns of a band's `V` and `M`: `phase_len` per tile row, the last of each a
    /// spare tile whose values are never stored (so that every transform runs along the
    /// whole band at once).
    fn band_cols(&self, rows: usize) -> usize {
        rows * self.phase_len()
    }
    /// Length of one row phase of a band of `rows` tile rows: one more than the columns,
    /// for the reads one tile further.
    fn phased_len(&self, rows: usize) -> usize {
        self.band_cols(rows) + 1
    }
    /// Scratch per thread: the input rows' phases (2 column phases of 4 rows) and their row
    /// transforms (4 x 4), `V`, `M`, and the output transform's two stages.
    fn scratch_len(&self) -> usize {
        let (cols, phased) = (
            self.band_cols(self.band_rows),
            self.phased_len(self.band_rows),
        );
        (M * T + POS) * phased + (self.c + self.o) * POS * cols + (T * M + M * M) * phased
    }
}

/// Where an output value goes: written into new memory, or added to a gradient.
trait Store<E>: Send {
    fn store(&mut self, v: E);
}

impl<E: Float> Store<E> for MaybeUninit<E> {
    #[inline(always)]
    fn store(&mut self, v: E) {
        self.write(v);
    }
}

impl<E: Float> Store<E> for E {
    #[inline(always)]
    fn store(&mut self, v: E) {
        *self += v;
    }
}

/// `y = conv2d(x, w) + b` for `n` samples, when [`applies`].
pub(crate) fn forward<E: Float>(
    x: &[E],
    w: &[E],
    bias: Option<&[E]>,
    n: usize,
    o: usize,
    g: &ConvGeom,
) -> Vec<E> {
    let plan = Plan::new::<E>(g.c, (g.h, g.w), (g.ph, g.pw), o);
    debug_assert_eq!((plan.oh, plan.ow), (g.oh, g.ow));
    let u = transform_kernels(w, o, g.c, false);
    let len = n * o * g.oh * g.ow;
    let mut y: Vec<E> = Vec::with_capacity(len);
    run(x, &u, bias, n, &plan, &mut y.spare_capacity_mut()[..len]);
    // SAFETY: `run` writes every output of every sample: the tiles cover each plane, and
    // `output_band` stores each position inside it once.
    unsafe { y.set_len(len) };
    y
}

/// Adds the input gradient of such a convolution (when [`applies_to_input_grad`]) to `gx`:
/// `gy` (`n x (o oh ow)`) convolved with the flipped kernels at padding `2 - p`.
pub(crate) fn add_input_grad<E: Float>(
    gy: &[E],
    w: &[E],
    n: usize,
    o: usize,
    g: &ConvGeom,
    gx: &mut [E],
) {
    let plan = Plan::new::<E>(o, (g.oh, g.ow), (2 - g.ph, 2 - g.pw), g.c);
    debug_assert_eq!((plan.oh, plan.ow), (g.h, g.w));
    let u = transform_kernels(w, o, g.c, true);
    run(gy, &u, None, n, &plan, &mut gx[..n * g.c * g.h * g.w]);
}

/// Adds the weight gradient of such a convolution (when [`applies`]) to `gw` (`o x (c 3
/// 3)`), by the forward pass's chain rule: with `V` the input tiles' transform and
/// `Z = A gy A^T` each output tile's, `dU[pos] = sum over tiles of Z[pos] V[pos]^T` (one
/// product per position, all tiles of all samples as its inner dimension), then
/// `gw = G^T dU G`. Samples split over the threads, each with its own `dU`.
pub(crate) fn add_weight_grad<E: Float>(
    x: &[E],
    gy: &[E],
    n: usize,
    o: usize,
    g: &ConvGeom,
    gw: &mut [E],
) {
    let plan = Plan::new::<E>(g.c, (g.h, g.w), (g.ph, g.pw), o);
    let (in_len, out_len) = (plan.c * plan.h * plan.w, plan.o * plan.oh * plan.ow);
    let cost = POS * plan.o * plan.c * plan.tiles_x * plan.tiles_y;
    let mut du = vec![E::ZERO; POS * o * g.c];
    split_samples(
        n,
        0,
        cost,
        plan.scratch_len(),
        &mut [] as &mut [E],
        &mut du,
        |samples, _, du, scratch| {
            let xs = &x[samples.start * in_len..samples.end * in_len];
            let gys = &gy[samples.start * out_len..samples.end * out_len];
            let total = samples.len() * plan.tiles_y;
            for rows in bands(total, plan.band_rows) {
                weight_band(xs, gys, &plan, rows, scratch, du);
            }
        },
    );
    add_kernel_grads(&du, o, g.c, &mut gw[..o * g.c * 9]);
}

/// One band's share of `dU`: `V` as in the forward pass, `Z` from `gy`, 16 products.
fn weight_band<E: Float>(
    xs: &[E],
    gys: &[E],
    plan: &Plan,
    rows: core::ops::Range<usize>,
    scratch: &mut [E],
    du: &mut [E],
) {
    let cols = plan.band_cols(rows.len());
    let (v, z, rest) = transformed_input(xs, plan, rows.clone(), scratch);
    super::simd::wide(
        #[inline(always)]
        || grad_band(gys, plan, rows, rest, z),
    );
    let (o, c, stride) = (plan.o, plan.c, (POS * cols) as isize);
    for pos in 0..POS {
        gemm(
            o,
            cols,
            c,
            E::ONE,
            &z[pos * cols..],
            (stride, 1),
            &v[pos * cols..],
            (1, stride),
            E::ONE,
            &mut du[pos * o * c..][..o * c],
            (c as isize, 1),
        );
    }
}

/// The convolution of every sample of `x` by the transformed kernels `u`, stored into
/// `out` band by band; samples split over the threads.
fn run<E: Float, S: Store<E>>(
    x: &[E],
    u: &[E],
    bias: Option<&[E]>,
    n: usize,
    plan: &Plan,
    out: &mut [S],
) {
    let (in_len, out_len) = (plan.c * plan.h * plan.w, plan.o * plan.oh * plan.ow);
    let cost = POS * plan.o * plan.c * plan.tiles_x * plan.tiles_y;
    if n == 1 {
        return run_one_sample(x, u, bias, plan, cost, out);
    }
    split_samples(
        n,
        out_len,
        cost,
        plan.scratch_len(),
        out,
        &mut [],
        |samples, block, _, scratch| {
            // Bands run over the tile rows of all of this block's samples in turn, so that
            // small planes still give the products long rows.
            let xs = &x[samples.start * in_len..samples.end * in_len];
            let total = samples.len() * plan.tiles_y;
            for rows in bands(total, plan.band_rows) {
                band(xs, u, bias, plan, rows, scratch, block);
            }
        },
    );
}

/// [`run`] for a single sample, whose output channels are split over the threads when the
/// work pays for it: each thread transforms the whole input and computes its block of
/// channels ((1, 64, 224, 224) with 64 kernels, two threads: 16.1 -> 9.9 ms).
fn run_one_sample<E: Float, S: Store<E>>(
    x: &[E],
    u: &[E],
    bias: Option<&[E]>,
    plan: &Plan,
    cost: usize,
    out: &mut [S],
) {
    const MIN_CHANNELS_PER_THREAD: usize = 16;
    const MIN_COST: usize = 1 << 22;
    let parts = if cost >= MIN_COST {
        super::threads::threads()
            .min(plan.o / MIN_CHANNELS_PER_THREAD)
            .max(1)
    } else {
        1
    };
    let per = plan.o.div_ceil(parts);
    let plane = plan.oh * plan.ow;
    let mut pieces = Vec::with_capacity(parts);
    let mut rest = &mut out[..plan.o * plane];
    for first in (0..plan.o).step_by(per.max(1)) {
        let count = per.min(plan.o - first);
        let (block, tail) = core::mem::take(&mut rest).split_at_mut(count * plane);
        rest = tail;
        let sub = Plan {
            o: count,
            u_first: plan.u_first + first,
            ..*plan
        };
        let scratch = vec![E::ZERO; sub.scratch_len()];
        pieces.push((sub, block, scratch, bias.map(|b| &b[first..first + count])));
    }
    super::threads::run_pieces(pieces, &|(sub, block, mut scratch, bias)| {
        for rows in bands(sub.tiles_y, sub.band_rows) {
            band(x, u, bias, &sub, rows, &mut scratch, block);
        }
    });
}

/// Cuts a band's scratch into `V` (filled with the input tiles' transform), the per-output
/// block of the same shape (`M` or `Z`), and the rest; shared by the convolution and its
/// weight gradient.
fn transformed_input<'a, E: Float>(
    xs: &[E],
    plan: &Plan,
    rows: core::ops::Range<usize>,
    scratch: &'a mut [E],
) -> (&'a mut [E], &'a mut [E], &'a mut [E]) {
    let (cols, phased) = (plan.band_cols(rows.len()), plan.phased_len(rows.len()));
    let (phases, rest) = scratch.split_at_mut(M * T * phased);
    let (along, rest) = rest.split_at_mut(POS * phased);
    let (v, rest) = rest.split_at_mut(plan.c * POS * cols);
    let (per_output, rest) = rest.split_at_mut(plan.o * POS * cols);
    super::simd::wide(
        #[inline(always)]
        || input_band(xs, plan, rows, phases, along, v),
    );
    (v, per_output, rest)
}

/// The bands of `total` tile rows, `band_rows` each (the last may be shorter).
fn bands(total: usize, band_rows: usize) -> impl Iterator<Item = core::ops::Range<usize>> {
    (0..total)
        .step_by(band_rows.max(1))
        .map(move |first| first..(first + band_rows).min(total))
}

/// One band of tile rows (numbered across the samples of `xs`, `tiles_y` per sample):
/// transform, 16 products, transform back into `ys`.
fn band<E: Float, S: Store<E>>(
    xs: &[E],
    u: &[E],
    bias: Option<&[E]>,
    plan: &Plan,
    rows: core::ops::Range<usize>,
    scratch: &mut [E],
    ys: &mut [S],
) {
    let cols = plan.band_cols(rows.len());
    let (v, m, rest) = transformed_input(xs, plan, rows.clone(), scratch);
    let stride = (POS * cols) as isize;
    for pos in 0..POS {
        gemm(
            plan.o,
            plan.c,
            cols,
            E::ONE,
            &u[(pos * plan.u_outs + plan.u_first) * plan.c..][..plan.o * plan.c],
            (plan.c as isize, 1),
            &v[pos * cols..],
            (stride, 1),
            E::ZERO,
            &mut m[pos * cols..],
            (stride, 1),
        );
    }
    super::simd::wide(
        #[inline(always)]
        || output_band(m, bias, plan, rows, rest, ys),
    );
}
