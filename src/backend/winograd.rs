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

use super::conv::split_samples;
use super::gemm::gemm;
use super::im2col::ConvGeom;
use crate::dtype::Float;
use core::mem::MaybeUninit;

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

/// `G g` along one axis: three kernel taps to four.
#[inline(always)]
fn filter_1d<E: Float>(g: [E; 3]) -> [E; T] {
    let half = E::from_f64(0.5);
    let ends = g[0] + g[2];
    [g[0], half * (ends + g[1]), half * (ends - g[1]), g[2]]
}

/// `B^T d` along one axis: four inputs to four.
#[inline(always)]
fn input_1d<E: Float>(d: [E; T]) -> [E; T] {
    [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]
}

/// `A^T m` along one axis: four values to two outputs.
#[inline(always)]
fn output_1d<E: Float>(m: [E; T]) -> [E; M] {
    [m[0] + m[1] + m[2], m[1] - m[2] - m[3]]
}

/// The transformed kernels `U`, `[position][out][in]`: of `w` (`o x (c 3 3)`) for the
/// forward pass, or, with `for_input_grad`, of the flipped kernels with the channel axes
/// swapped (`c x (o 3 3)`), whose convolution with `gy` is the input gradient.
///
/// The taps are first laid out tap by tap (`[9][out][in]`), so that both one-axis
/// transforms run along rows of all kernel pairs (one kernel at a time, in f64, took 43%
/// of a (8, 256, 14, 14) forward pass).
fn transform_kernels<E: Float>(w: &[E], o: usize, c: usize, for_input_grad: bool) -> Vec<E> {
    let pairs = o * c;
    let taps = if for_input_grad {
        super::layout::permute(w, &[o, c, 9], &[2, 1, 0])
    } else {
        super::layout::permute(w, &[o, c, 9], &[2, 0, 1])
    };
    // Tap (r, s) of the kernel to transform; the flipped kernel's is (2 - r, 2 - s).
    let tap = |r: usize, s: usize| {
        let k = if for_input_grad {
            8 - (r * 3 + s)
        } else {
            r * 3 + s
        };
        &taps[k * pairs..][..pairs]
    };
    // Along each kernel row r: rows[r][j] = (G g_r)[j].
    let mut rows = vec![E::ZERO; 3 * T * pairs];
    for r in 0..3 {
        let (a, b, d) = (tap(r, 0), tap(r, 1), tap(r, 2));
        let dst = rows_mut::<E, T>(&mut rows[r * T * pairs..], pairs);
        map_rows([a, b, d, a], dst, pairs, |v| filter_1d([v[0], v[1], v[2]]));
    }
    // Down each column j: U[(j, i)] = (G rows[..][j])[i].
    let mut u = vec![E::ZERO; POS * pairs];
    for j in 0..T {
        let col = |r: usize| &rows[(r * T + j) * pairs..][..pairs];
        let (a, b, d) = (col(0), col(1), col(2));
        let dst = rows_mut::<E, T>(&mut u[j * T * pairs..], pairs);
        map_rows([a, b, d, a], dst, pairs, |v| filter_1d([v[0], v[1], v[2]]));
    }
    u
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
            for first in (0..total).step_by(plan.band_rows) {
                let rows = plan.band_rows.min(total - first);
                weight_band(xs, gys, &plan, first..first + rows, scratch, du);
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
    let (cols, phased) = (plan.band_cols(rows.len()), plan.phased_len(rows.len()));
    let (phases, rest) = scratch.split_at_mut(M * T * phased);
    let (along, rest) = rest.split_at_mut(POS * phased);
    let (v, rest) = rest.split_at_mut(plan.c * POS * cols);
    let (z, rest) = rest.split_at_mut(plan.o * POS * cols);
    super::simd::wide(
        #[inline(always)]
        || input_band(xs, plan, rows.clone(), phases, along, v),
    );
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

/// `A g` along one axis: two output gradients of a tile to its four positions.
#[inline(always)]
fn grad_1d<E: Float>(g0: E, g1: E) -> [E; T] {
    [g0, g0 + g1, g0 - g1, -g1]
}

/// `Z = A gy A^T` for every output channel and tile of the band, laid out as `V`
/// (`[out][position j * 4 + i][r * np + t]`); outputs past the plane's edge (and the spare
/// tile of each row) count as zeros.
#[inline(always)]
fn grad_band<E: Float>(
    gys: &[E],
    plan: &Plan,
    rows: core::ops::Range<usize>,
    scratch: &mut [E],
    z: &mut [E],
) {
    let (np, cols) = (plan.phase_len(), plan.band_cols(rows.len()));
    let phased = plan.phased_len(rows.len());
    let (oh, ow) = (plan.oh, plan.ow);
    let out_len = plan.o * oh * ow;
    // phases[l][k][r np + t] = gy(2 ty + k, 2 t + l); along[j][k] its transform along rows.
    let (phases, rest) = scratch.split_at_mut(M * M * phased);
    let along = &mut rest[..T * M * phased];
    for oc in 0..plan.o {
        for (r, tile_row) in rows.clone().enumerate() {
            let (sample, ty) = (tile_row / plan.tiles_y, tile_row % plan.tiles_y);
            let plane = &gys[sample * out_len + oc * oh * ow..][..oh * ow];
            for k in 0..M {
                let y = Some(M * ty + k).filter(|&y| y < oh);
                let row = y.map_or(&[][..], |y| &plane[y * ow..][..ow]);
                split_phases(row, 0, &mut phases[k * phased + r * np..], M * phased, np);
            }
        }
        for k in 0..M {
            let (g0, g1) = (&phases[k * phased..], &phases[(M + k) * phased..]);
            let dst = rows_mut::<E, T>(&mut along[k * phased..], M * phased);
            map_rows([g0, g1, g0, g1], dst, cols, |v| grad_1d(v[0], v[1]));
        }
        let zo = &mut z[oc * POS * cols..][..POS * cols];
        for j in 0..T {
            let (g0, g1) = (&along[(j * M) * phased..], &along[(j * M + 1) * phased..]);
            let dst = rows_mut::<E, T>(&mut zo[j * T * cols..], cols);
            map_rows([g0, g1, g0, g1], dst, cols, |v| grad_1d(v[0], v[1]));
        }
    }
}

/// `G^T d` along one axis: four position gradients to three kernel taps.
#[inline(always)]
fn kernel_grad_1d<E: Float>(d: [E; T]) -> [E; T] {
    let half = E::from_f64(0.5);
    let (sum, diff) = (half * (d[1] + d[2]), half * (d[1] - d[2]));
    [d[0] + sum, diff, sum + d[3], E::ZERO]
}

/// Adds `G^T dU G` (`dU` as `[position][out][in]`) to `gw` (`o x (c 3 3)`): along each
/// axis over rows of all kernel pairs, then the taps back into the kernels' layout.
fn add_kernel_grads<E: Float>(du: &[E], o: usize, c: usize, gw: &mut [E]) {
    let pairs = o * c;
    // rows[j][r] = sum_i G[i][r] dU[(j, i)]; taps[r][s] = sum_j G[j][s] rows[j][r].
    let mut rows = vec![E::ZERO; T * T * pairs];
    for j in 0..T {
        let src: [&[E]; T] = core::array::from_fn(|i| &du[(j * T + i) * pairs..][..pairs]);
        let dst = rows_mut::<E, T>(&mut rows[j * T * pairs..], pairs);
        map_rows(src, dst, pairs, kernel_grad_1d);
    }
    let mut taps = vec![E::ZERO; 3 * T * pairs];
    for r in 0..3 {
        let src: [&[E]; T] = core::array::from_fn(|j| &rows[(j * T + r) * pairs..][..pairs]);
        let dst = rows_mut::<E, T>(&mut taps[r * T * pairs..], pairs);
        map_rows(src, dst, pairs, kernel_grad_1d);
    }
    // taps[r][s][pair] (s < 3 of the 4 rows written) -> gw[pair][r][s].
    for pair in 0..pairs {
        let k = &mut gw[pair * 9..][..9];
        for r in 0..3 {
            for s in 0..3 {
                k[r * 3 + s] += taps[(r * T + s) * pairs + pair];
            }
        }
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
            for first in (0..total).step_by(plan.band_rows) {
                let rows = plan.band_rows.min(total - first);
                band(xs, u, bias, plan, first..first + rows, scratch, block);
            }
        },
    );
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
    let (cols, phased) = (plan.band_cols(rows.len()), plan.phased_len(rows.len()));
    let (phases, rest) = scratch.split_at_mut(M * T * phased);
    let (along, rest) = rest.split_at_mut(POS * phased);
    let (v, rest) = rest.split_at_mut(plan.c * POS * cols);
    let (m, rest) = rest.split_at_mut(plan.o * POS * cols);
    super::simd::wide(
        #[inline(always)]
        || input_band(xs, plan, rows.clone(), phases, along, v),
    );
    let stride = (POS * cols) as isize;
    for pos in 0..POS {
        gemm(
            plan.o,
            plan.c,
            cols,
            E::ONE,
            &u[pos * plan.o * plan.c..][..plan.o * plan.c],
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

/// `V` for the band, per input channel. Column `2 t + b` of the four input rows `2 ty + a`
/// of band row `r` goes to `phases[b][a][r * np + t]` (zeros outside the plane), so that
/// tile `(r, t)`'s four values along a row are phases at `r * np + t` and one further, and
/// each transform is one pass along the whole band (`np = tiles_x + 1` per tile row: a
/// spare tile each, whose values are never stored).
#[inline(always)]
fn input_band<E: Float>(
    xs: &[E],
    plan: &Plan,
    rows: core::ops::Range<usize>,
    phases: &mut [E],
    along: &mut [E],
    v: &mut [E],
) {
    let (np, cols) = (plan.phase_len(), plan.band_cols(rows.len()));
    let phased = plan.phased_len(rows.len());
    let (h, w) = (plan.h, plan.w);
    let (in_len, plane_len) = (plan.c * h * w, h * w);
    for ch in 0..plan.c {
        for (r, tile_row) in rows.clone().enumerate() {
            let (sample, ty) = (tile_row / plan.tiles_y, tile_row % plan.tiles_y);
            let plane = &xs[sample * in_len + ch * plane_len..][..plane_len];
            for a in 0..T {
                let y = (M * ty + a).checked_sub(plan.ph).filter(|&y| y < h);
                let row = y.map_or(&[][..], |y| &plane[y * w..][..w]);
                let at = a * phased + r * np;
                split_phases(row, plan.pw, &mut phases[at..], T * phased, np);
            }
        }
        // Along each row `a`: the four column values of tile `(r, t)` are
        // `phases[0..2][a][r np + t]` and `phases[0..2][a][r np + t + 1]`.
        for a in 0..T {
            let p: [&[E]; M] = core::array::from_fn(|b| &phases[(b * T + a) * phased..]);
            let src = [p[0], p[1], &p[0][1..], &p[1][1..]];
            let dst = rows_mut::<E, T>(&mut along[a * phased..], T * phased);
            map_rows(src, dst, cols, input_1d);
        }
        // Down the columns: `along[j][a]` for the four rows `a`; `V`'s positions are
        // `j * 4 + i`.
        let vc = &mut v[ch * POS * cols..][..POS * cols];
        for j in 0..T {
            let src: [&[E]; T] = core::array::from_fn(|a| &along[(j * T + a) * phased..]);
            map_rows(
                src,
                rows_mut::<E, T>(&mut vc[j * T * cols..], cols),
                cols,
                input_1d,
            );
        }
    }
}

/// `dst[k][q] = f(src[0][q], .., src[3][q])[k]` for `q < len`.
#[inline(always)]
fn map_rows<E: Float, const K: usize>(
    src: [&[E]; T],
    dst: [&mut [E]; K],
    len: usize,
    f: impl Fn([E; T]) -> [E; K],
) {
    let mut dst = dst.into_iter();
    let mut next = || dst.next().unwrap_or_default();
    let (d0, d1) = (next(), next());
    let widen = |v| {
        let e = f(v);
        core::array::from_fn(|k| e[k.min(K - 1)])
    };
    if K == T {
        map_to_4(len, src, d0, d1, next(), next(), widen);
    } else {
        map_to_2(len, src, d0, d1, widen);
    }
}

/// [`map_rows`] into two rows. The rows are separate arguments so that the compiler knows
/// they do not overlap each other or the sources (through an array of slices it could not
/// tell, and the loop stayed scalar).
#[inline(always)]
fn map_to_2<E: Float>(
    len: usize,
    src: [&[E]; T],
    d0: &mut [E],
    d1: &mut [E],
    f: impl Fn([E; T]) -> [E; T],
) {
    let [s0, s1, s2, s3] = src.map(|s| &s[..len]);
    let (d0, d1) = (&mut d0[..len], &mut d1[..len]);
    for q in 0..len {
        let e = f([s0[q], s1[q], s2[q], s3[q]]);
        d0[q] = e[0];
        d1[q] = e[1];
    }
}

/// [`map_rows`] into four rows (see [`map_to_2`]).
#[inline(always)]
fn map_to_4<E: Float>(
    len: usize,
    src: [&[E]; T],
    d0: &mut [E],
    d1: &mut [E],
    d2: &mut [E],
    d3: &mut [E],
    f: impl Fn([E; T]) -> [E; T],
) {
    let [s0, s1, s2, s3] = src.map(|s| &s[..len]);
    let (d0, d1) = (&mut d0[..len], &mut d1[..len]);
    let (d2, d3) = (&mut d2[..len], &mut d3[..len]);
    for q in 0..len {
        let e = f([s0[q], s1[q], s2[q], s3[q]]);
        d0[q] = e[0];
        d1[q] = e[1];
        d2[q] = e[2];
        d3[q] = e[3];
    }
}

/// The first `K` runs of `len` of `s`, each mutable (the last may be cut short by the
/// end of `s`: the callers slice what they use).
#[inline(always)]
fn rows_mut<E, const K: usize>(mut s: &mut [E], len: usize) -> [&mut [E]; K] {
    core::array::from_fn(|_| {
        let rest = core::mem::take(&mut s);
        let (head, tail) = rest.split_at_mut(len.min(rest.len()));
        s = tail;
        head
    })
}

/// The padded row `row` (left padding `pw`, zeros past either end) as two phases of `np`,
/// `stride` apart in `dst`: `dst[b * stride + t] = padded[2 t + b]`.
#[inline(always)]
fn split_phases<E: Float>(row: &[E], pw: usize, dst: &mut [E], stride: usize, np: usize) {
    let (d0, rest) = dst.split_at_mut(stride);
    split_into(row, pw, &mut d0[..np], &mut rest[..np]);
}

/// [`split_phases`] into two separate phases of the same length.
#[inline(always)]
fn split_into<E: Float>(row: &[E], pw: usize, d0: &mut [E], d1: &mut [E]) {
    let np = d0.len();
    let d1 = &mut d1[..np];
    d0.fill(E::ZERO);
    d1.fill(E::ZERO);
    // Padded index `q = col + pw` goes to phase `q % 2`, slot `q / 2` (when inside).
    let mut place = |col: usize, v: E| {
        let q = col + pw;
        if q < M * np {
            let slot = if q.is_multiple_of(M) {
                &mut d0[q / M]
            } else {
                &mut d1[q / M]
            };
            *slot = v;
        }
    };
    // A value before the first even padded index alone, then pairs (one per phase), then
    // the rest one by one.
    let head = (pw % M).min(row.len());
    for (col, &v) in row[..head].iter().enumerate() {
        place(col, v);
    }
    let first = (head + pw) / M;
    let pairs = ((row.len() - head) / M).min(np.saturating_sub(first));
    let tail = head + pairs * M;
    for (col, &v) in row.iter().enumerate().skip(tail) {
        place(col, v);
    }
    let body = &row[head..tail];
    let (e0, e1) = (&mut d0[first..][..pairs], &mut d1[first..][..pairs]);
    for (t, c) in body.chunks_exact(M).enumerate() {
        e0[t] = c[0];
        e1[t] = c[1];
    }
}

/// The band's outputs from `M` (positions `j * 4 + i`, columns `r * np + t`), per output
/// channel: `A^T` down the columns (into `stage`, `[j][k]`), then along the rows with the
/// bias (into `ready`, `[k][l]`), then phase `l` of output row `2 ty + k` of band row `r`
/// stored at columns `2 t + l`; positions past the plane's edge are dropped.
#[inline(always)]
fn output_band<E: Float, S: Store<E>>(
    m: &[E],
    bias: Option<&[E]>,
    plan: &Plan,
    rows: core::ops::Range<usize>,
    scratch: &mut [E],
    ys: &mut [S],
) {
    let (tx, np, cols) = (plan.tiles_x, plan.phase_len(), plan.band_cols(rows.len()));
    let (oh, ow) = (plan.oh, plan.ow);
    let out_len = plan.o * oh * ow;
    let (stage, ready) = scratch.split_at_mut(T * M * cols);
    let ready = &mut ready[..M * M * cols];
    for oc in 0..plan.o {
        let mo = &m[oc * POS * cols..][..POS * cols];
        let b = bias.map_or(E::ZERO, |b| b[oc]);
        for j in 0..T {
            let src: [&[E]; T] = core::array::from_fn(|i| &mo[(j * T + i) * cols..][..cols]);
            map_rows(
                src,
                rows_mut::<E, M>(&mut stage[j * M * cols..], cols),
                cols,
                output_1d,
            );
        }
        for k in 0..M {
            let src: [&[E]; T] = core::array::from_fn(|j| &stage[(j * M + k) * cols..][..cols]);
            let dst = rows_mut::<E, M>(&mut ready[k * M * cols..], cols);
            map_rows(src, dst, cols, |m| output_1d(m).map(|v| v + b));
        }
        for (r, tile_row) in rows.clone().enumerate() {
            let (sample, ty) = (tile_row / plan.tiles_y, tile_row % plan.tiles_y);
            let plane = &mut ys[sample * out_len + oc * oh * ow..][..oh * ow];
            let top = ty * M;
            for k in 0..M.min(oh - top) {
                let out_row = &mut plane[(top + k) * ow..][..ow];
                let p: [&[E]; M] =
                    core::array::from_fn(|l| &ready[(k * M + l) * cols + r * np..][..tx]);
                let (p0, p1) = (p[0], p[1]);
                let whole = ow / M;
                for (t, c) in out_row.chunks_exact_mut(M).enumerate().take(whole) {
                    c[0].store(p0[t]);
                    c[1].store(p1[t]);
                }
                for (l, slot) in out_row[whole * M..].iter_mut().enumerate() {
                    slot.store(p[l][whole]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct convolution, in f64.
    #[allow(clippy::too_many_arguments)]
    fn direct(
        x: &[f64],
        w: &[f64],
        c: usize,
        h: usize,
        wd: usize,
        o: usize,
        p: (usize, usize),
    ) -> Vec<f64> {
        let (oh, ow) = (h + 2 * p.0 - 2, wd + 2 * p.1 - 2);
        let mut y = vec![0.0; o * oh * ow];
        for oc in 0..o {
            for yy in 0..oh {
                for xx in 0..ow {
                    let mut s = 0.0;
                    for ic in 0..c {
                        for r in 0..3 {
                            for q in 0..3 {
                                let (iy, ix) = (
                                    (yy + r) as isize - p.0 as isize,
                                    (xx + q) as isize - p.1 as isize,
                                );
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                    s += x[(ic * h + iy as usize) * wd + ix as usize]
                                        * w[((oc * c + ic) * 3 + r) * 3 + q];
                                }
                            }
                        }
                    }
                    y[(oc * oh + yy) * ow + xx] = s;
                }
            }
        }
        y
    }

    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (s >> 40) as f64 / (1u64 << 23) as f64 - 1.0
            })
            .collect()
    }

    fn geom(c: usize, h: usize, w: usize, p: (usize, usize)) -> ConvGeom {
        ConvGeom {
            c,
            h,
            w,
            kh: 3,
            kw: 3,
            sh: 1,
            sw: 1,
            ph: p.0,
            pw: p.1,
            dh: 1,
            dw: 1,
            oh: h + 2 * p.0 - 2,
            ow: w + 2 * p.1 - 2,
        }
    }

    /// Forward, input and weight gradients against the direct formulas, over plane sizes
    /// that do and do not fill the last tile, paddings 0-2 and several bands.
    #[test]
    fn forward_and_gradients_match_the_direct_convolution() {
        for (c, o, h, wd, p) in [
            (3, 2, 6, 6, (0, 0)),
            (2, 3, 7, 9, (1, 1)),
            (4, 5, 13, 11, (2, 1)),
            (3, 2, 9, 70, (1, 0)),
            (2, 2, 40, 6, (0, 2)),
        ] {
            let n = 2;
            let g = geom(c, h, wd, p);
            let x = values(n * c * h * wd, 1);
            let w = values(o * c * 9, 2);
            let bias = values(o, 3);
            let y = forward(&x, &w, Some(&bias), n, o, &g);
            let per = o * g.oh * g.ow;
            for b in 0..n {
                let want = direct(&x[b * c * h * wd..][..c * h * wd], &w, c, h, wd, o, p);
                for (i, (&got, &want)) in y[b * per..][..per].iter().zip(&want).enumerate() {
                    let want = want + bias[i / (g.oh * g.ow)];
                    assert!(
                        (got - want).abs() < 1e-11,
                        "y {c} {o} {h} {wd} {p:?} [{b}, {i}]: {got} vs {want}"
                    );
                }
            }
            // gx = sum over outputs of gy * dy/dx: the direct convolution's adjoint.
            let gy = values(n * per, 4);
            let mut gx = vec![0.5; n * c * h * wd];
            add_input_grad(&gy, &w, n, o, &g, &mut gx);
            for b in 0..n {
                let mut want = vec![0.5; c * h * wd];
                for oc in 0..o {
                    for yy in 0..g.oh {
                        for xx in 0..g.ow {
                            let gv = gy[b * per + (oc * g.oh + yy) * g.ow + xx];
                            for ic in 0..c {
                                for r in 0..3 {
                                    for q in 0..3 {
                                        let (iy, ix) = (
                                            (yy + r) as isize - p.0 as isize,
                                            (xx + q) as isize - p.1 as isize,
                                        );
                                        if iy >= 0
                                            && ix >= 0
                                            && (iy as usize) < h
                                            && (ix as usize) < wd
                                        {
                                            want[(ic * h + iy as usize) * wd + ix as usize] +=
                                                gv * w[((oc * c + ic) * 3 + r) * 3 + q];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                for (i, (&got, &want)) in gx[b * c * h * wd..][..c * h * wd]
                    .iter()
                    .zip(&want)
                    .enumerate()
                {
                    assert!(
                        (got - want).abs() < 1e-11,
                        "gx {c} {o} {h} {wd} {p:?} [{b}, {i}]: {got} vs {want}"
                    );
                }
            }
            // gw[oc, ic, r, q] = sum over samples and outputs of gy * x at the tap.
            let mut gw = vec![0.25; o * c * 9];
            add_weight_grad(&x, &gy, n, o, &g, &mut gw);
            let mut want = vec![0.25; o * c * 9];
            for b in 0..n {
                for oc in 0..o {
                    for yy in 0..g.oh {
                        for xx in 0..g.ow {
                            let gv = gy[b * per + (oc * g.oh + yy) * g.ow + xx];
                            for ic in 0..c {
                                for r in 0..3 {
                                    for q in 0..3 {
                                        let (iy, ix) = (yy + r, xx + q);
                                        if iy < p.0 || ix < p.1 || iy - p.0 >= h || ix - p.1 >= wd {
                                            continue;
                                        }
                                        let xi = ((b * c + ic) * h + iy - p.0) * wd + ix - p.1;
                                        want[((oc * c + ic) * 3 + r) * 3 + q] += gv * x[xi];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for (i, (&got, &want)) in gw.iter().zip(&want).enumerate() {
                assert!(
                    (got - want).abs() < 1e-10,
                    "gw {c} {o} {h} {wd} {p:?} [{i}]: {got} vs {want}"
                );
            }
        }
    }
}
