//! Transposed convolutions (`ConvTranspose2d`): the forward pass is the input gradient of
//! the convolution it transposes, the backward pass that convolution's forward (for `gx`)
//! and its weight gradient with the roles of input and output exchanged.

use super::super::gemm::gemm;
use super::super::im2col::{col2im, im2col};
use super::{ConvGeom, split_samples, sum_fast};
use crate::dtype::Float;

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
