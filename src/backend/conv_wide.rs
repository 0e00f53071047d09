//! The weight gradient of a convolution in the wide layout ([`ConvGeom::unfolds_wide`]), read
//! from the input in place where it has enough channels: the backward pass of
//! [`super::conv::conv2d_grouped_backward`] then unfolds nothing (or, for a first layer's
//! few channels, a short copy).

use super::gemm::gemm;
use super::im2col::{ConvGeom, im2col_wide};
use crate::dtype::Float;

/// `gw += gy cols^T` for one sample and group in the wide layout, summed into `tmp` (which
/// [`add_shifted`] then adds into `gw` once per block of samples). Only the first
/// `oh * w - (kw - 1)` wide columns are summed: the rest are extra columns (zero in `gy`)
/// and, for the last plane, would read past its end.
///
/// With at least `kw` planes, `x` is not unfolded: row `(c, i, j)` of the wide unfolding
/// is the plane `c` read from `i * w + j` on, so each kernel offset's block of `cols` is `x`
/// itself read with strides (the planes `hw` apart), and its product with `gy` is taken in
/// place, one product per kernel offset `(i, j)` into `tmp` (`kh * kw` blocks of `og x c`).
///
/// With fewer (a first layer's one or three channels), the unfolding is short: it is copied
/// into `cols` and the product is taken transposed, `tmp (k x og) += cols gy^T`. Products
/// per `(c, i)` straight into `gw` were `og x kw`, three columns of a sixteen-wide register
/// block (a 1 -> 16 channel 3x3 convolution on 28x28 at 21 GFLOP/s on one AVX2 core); here
/// the `k` rows fill the register blocks.
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
    if g.c >= g.kw {
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
        gemm(
            k,
            used,
            og,
            E::ONE,
            cols,
            (len as isize, 1),
            gy,
            (1, len as isize),
            E::ONE,
            tmp,
            (og as isize, 1),
        );
    }
}

/// Adds what [`weight_grad_shifted`] summed in `tmp` into `gw` (`og x (c kh kw)`): the
/// `kh * kw` blocks of `og x c`, or with fewer than `kw` planes the `k x og` transpose.
pub(super) fn add_shifted<E: Float>(tmp: &[E], g: &ConvGeom, og: usize, gw: &mut [E]) {
    let (k, kk) = (g.col_rows(), g.kh * g.kw);
    if g.c < g.kw {
        for (r, t_row) in tmp.chunks_exact(og).enumerate() {
            for (o, &t) in t_row.iter().enumerate() {
                gw[o * k + r] += t;
            }
        }
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
