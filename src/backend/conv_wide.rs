//! The weight gradient of a convolution in the wide layout ([`ConvGeom::unfolds_wide`]): from
//! the input read in place for many channels, from its unfolding for fewer (the backward pass
//! of [`super::conv::conv2d_grouped_backward`]).

use super::conv::{add_cols_gy_t, add_transposed};
use super::gemm::gemm;
use super::im2col::{ConvGeom, im2col_wide};
use crate::dtype::Float;

/// The fewest planes for which [`weight_grad_shifted`] reads `x` in place. One 3x3
/// convolution's weight gradient on one AVX2 core (`conv2d_grouped_backward`, best of 20,
/// two runs; in place / unfolded, GFLOP/s): 3 -> 32 channels on 64x64 16 / 55, 16 -> 32 on
/// 13x13 61 / 63, 32 -> 64 on 56x56 78 / 78, 64 -> 64 on 32x32 72 / 80, 128 -> 128 on 16x16
/// 79 / 78, 256 -> 256 on 14x14 75 / 68 (its unfolding, 1.8 MB a sample, is copied through
/// L3).
const IN_PLACE_MIN_PLANES: usize = 128;

/// Whether [`weight_grad_shifted`] reads `x` in place (see [`IN_PLACE_MIN_PLANES`]).
fn reads_in_place(g: &ConvGeom) -> bool {
    g.c >= IN_PLACE_MIN_PLANES.max(g.kw)
}

/// `gw += gy cols^T` for one sample and group in the wide layout, summed into `tmp` (which
/// [`add_shifted`] then adds into `gw` once per block of samples). Only the first
/// `oh * w - (kw - 1)` wide columns are summed: the rest are extra columns (zero in `gy`)
/// and, for the last plane, would read past its end.
///
/// With at least [`IN_PLACE_MIN_PLANES`] planes, `x` is not unfolded: row `(c, i, j)` of the
/// wide unfolding is the plane `c` read from `i * w + j` on, so each kernel offset's block of
/// `cols` is `x` itself read with strides (the planes `hw` apart), and its product with `gy`
/// is taken in place, one product per kernel offset `(i, j)` into `tmp` (`kh * kw` blocks of
/// `og x c`).
///
/// With fewer, `x` is unfolded into `cols` and the product taken transposed,
/// `tmp (k x og) += cols gy^T`: a contiguous copy and one small transposed operand (`gy`)
/// instead of `kh * kw` strided ones, and `k` rows of register blocks instead of products
/// only `c` columns wide (three of sixteen for an RGB input).
pub(super) fn weight_grad_shifted<E: Float>(
    gy: &[E],
    x: &[E],
    g: &ConvGeom,
    og: usize,
    cols: &mut [E],
    tmp: &mut [E],
) {
    let (hw, len, k) = (g.h * g.w, g.wide_cols(), g.col_rows());
    let used = len - (g.kw - 1);
    if reads_in_place(g) {
        for (at, block) in tmp.chunks_exact_mut(og * g.c).enumerate() {
            let (i, j) = (at / g.kw, at % g.kw);
            // tmp_ij (og x c) += gy[:, ..used] (og x used) x_ij (used x c)
            gemm(
                og,
                used,
                g.c,
                E::ONE,
                gy,
                (len as isize, 1),
                &x[i * g.w + j..],
                (1, hw as isize),
                E::ONE,
                block,
                (g.c as isize, 1),
            );
        }
    } else {
        im2col_wide(x, g, cols);
        // tmp (k x og) += cols[:, ..used] (k x used) gy[:, ..used]^T (used x og)
        add_cols_gy_t((og, k, used), (cols, len), (gy, len), tmp);
    }
}

/// Adds what [`weight_grad_shifted`] summed in `tmp` into `gw` (`og x (c kh kw)`): the
/// `kh * kw` blocks of `og x c` read in place, or the `k x og` transpose of the unfolded
/// product.
pub(super) fn add_shifted<E: Float>(tmp: &[E], g: &ConvGeom, og: usize, gw: &mut [E]) {
    let (k, kk) = (g.col_rows(), g.kh * g.kw);
    if !reads_in_place(g) {
        add_transposed(tmp, og, k, gw);
        return;
    }
    for (at, block) in tmp.chunks_exact(og * g.c).enumerate() {
        for (gw_row, t_row) in gw.chunks_exact_mut(k).zip(block.chunks_exact(g.c)) {
            for (c, &t) in t_row.iter().enumerate() {
                gw_row[c * kk + at] += t;
            }
        }
    }
}
