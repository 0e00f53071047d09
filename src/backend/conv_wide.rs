//! The weight gradient of a convolution in the wide layout ([`ConvGeom::unfolds_wide`]) read
//! from the input in place, without unfolding it: the backward pass of
//! [`super::conv::conv2d_grouped_backward`] then unfolds nothing.

use super::gemm::gemm;
use super::im2col::ConvGeom;
use crate::dtype::Float;

/// `gw += gy cols^T` for one sample and group in the wide layout, without unfolding `x`:
/// row `(c, i, j)` of the wide unfolding is the plane `c` read from `i * w + j` on, so each
/// kernel offset's block of `cols` is `x` itself read with strides (the planes `hw` apart),
/// and its product with `gy` is taken in place by the gemm's dot-product path (`gy`'s rows
/// and those strided rows are both contiguous along the summed output positions).
///
/// Only the first `oh * w - (kw - 1)` wide columns are summed: the rest are extra columns
/// (zero in `gy`) and, for the last plane, would read past its end. With at least `kw`
/// planes, one product per kernel offset `(i, j)`, accumulated into `tmp` (`kh * kw`
/// blocks of `og x c`, added into `gw` by [`add_shifted`]); with fewer (a first layer's
/// single channel), one per `(c, i)` straight into `gw` (`og x kw`).
pub(super) fn weight_grad_shifted<E: Float>(
    gy: &[E],
    x: &[E],
    g: &ConvGeom,
    og: usize,
    tmp: &mut [E],
    gw: &mut [E],
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
        for c in 0..g.c {
            for i in 0..g.kh {
                // gw[:, c, i, ..] (og x kw) += gy[:, ..used] (og x used) x_ci (used x kw)
                gemm(
                    og,
                    used,
                    g.kw,
                    E::ONE,
                    gy,
                    (len as isize, 1),
                    &x[c * hw + i * g.w..],
                    (1, 1),
                    E::ONE,
                    &mut gw[(c * g.kh + i) * g.kw..],
                    (k as isize, 1),
                );
            }
        }
    }
}

/// Adds the `kh * kw` blocks of `og x c` that [`weight_grad_shifted`] summed in `tmp` into
/// `gw` (`og x (c kh kw)`).
pub(super) fn add_shifted<E: Float>(tmp: &[E], g: &ConvGeom, og: usize, gw: &mut [E]) {
    let (k, kk) = (g.col_rows(), g.kh * g.kw);
    for (at, block) in tmp.chunks_exact(og * g.c).enumerate() {
        for (gw_row, t_row) in gw.chunks_exact_mut(k).zip(block.chunks_exact(g.c)) {
            for (c, &t) in t_row.iter().enumerate() {
                gw_row[c * kk + at] += t;
            }
        }
    }
}
