//! Adaptive pooling kernels on row-major `(N, C, H, W)` buffers (`AdaptiveAvgPool2d`,
//! `AdaptiveMaxPool2d` and their 1-D forms as planes of one row): PyTorch's windows
//! `floor(o*len/out) .. ceil((o+1)*len/out)`, forward and backward; the max pooling's
//! backward is [`super::pooling::max_pool2d_backward`]'s scatter.

use super::parallel::{PARALLEL_ELEMS, for_row_blocks_from};
use super::reduce::{sum_contiguous, sum_lanes};
use crate::dtype::Float;

/// PyTorch's adaptive window for output `o` of `out` over `len` inputs:
/// `floor(o*len/out) .. ceil((o+1)*len/out)`.
#[inline]
fn adaptive_span(o: usize, out: usize, len: usize) -> (usize, usize) {
    (o * len / out, ((o + 1) * len).div_ceil(out))
}

/// Adaptive average pooling of `planes` planes of `h x w` to `oh x ow`: blocks of output
/// planes over the threads (split by the input they read), each window's sum in 32 lanes,
/// and a window of whole rows (global pooling's) as one contiguous run. Row by row with an
/// eight-lane sum outside [`crate::backend::simd::wide`], global pooling of (32, 32, 32, 32)
/// f32 took 119 us on one thread, PyTorch's 52.
pub(crate) fn adaptive_avg_pool2d_forward<E: Float>(
    x: &[E],
    planes: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
) -> Vec<E> {
    let mut y = vec![E::ZERO; planes * oh * ow];
    let out_plane = oh * ow;
    if out_plane == 0 || h * w == 0 {
        return y;
    }
    // Split when the input read (not the few outputs written) is long enough.
    let per_output = (h * w).div_ceil(out_plane).max(1);
    for_row_blocks_from(
        &mut y,
        out_plane,
        (PARALLEL_ELEMS / per_output).max(1),
        #[inline(always)]
        |first, block| {
            let x = &x[first * h * w..][..block.len() / out_plane * h * w];
            for (xp, yp) in x.chunks_exact(h * w).zip(block.chunks_exact_mut(out_plane)) {
                for oy in 0..oh {
                    let (y0, y1) = adaptive_span(oy, oh, h);
                    for ox in 0..ow {
                        let (x0, x1) = adaptive_span(ox, ow, w);
                        let s = if x0 == 0 && x1 == w {
                            sum_contiguous(&xp[y0 * w..y1 * w])
                        } else {
                            (y0..y1).fold(E::ZERO, |s, iy| {
                                s + sum_lanes(&xp[iy * w + x0..iy * w + x1])
                            })
                        };
                        yp[oy * ow + ox] = s / E::from_usize((y1 - y0) * (x1 - x0));
                    }
                }
            }
        },
    );
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

/// Adaptive max pooling of `planes` planes of `h x w` to `oh x ow` (PyTorch's
/// `adaptive_max_pool2d`): output `(oy, ox)` takes the maximum of rows
/// `floor(oy*h/oh) .. ceil((oy+1)*h/oh)` and the columns likewise. Returns the maxima and, for
/// each, its flat index within the plane: the first maximum in row-major window order, or the
/// last NaN, as PyTorch's CPU kernel picks them. The gradient is
/// [`max_pool2d_backward`]'s. Blocks of output planes go to the threads, split by the input
/// they read.
pub(crate) fn adaptive_max_pool2d_forward<E: Float>(
    x: &[E],
    planes: usize,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
) -> (Vec<E>, Vec<u32>) {
    let (hw, ohw) = (h * w, oh * ow);
    let n = planes * ohw;
    if n == 0 || hw == 0 {
        return (vec![E::ZERO; n], vec![0; n]);
    }
    debug_assert_eq!(
        x.len(),
        planes * hw,
        "adaptive max pooling input of {planes} planes"
    );
    // One buffer of (value, index) pairs, so that a block of output planes is one slice.
    let mut pairs = vec![(E::ZERO, 0u32); n];
    let per_output = hw.div_ceil(ohw).max(1);
    for_row_blocks_from(
        &mut pairs,
        ohw,
        (PARALLEL_ELEMS / per_output).max(1),
        #[inline(always)]
        |first, block| {
            let x = &x[first * hw..][..block.len() / ohw * hw];
            for (xp, yp) in x.chunks_exact(hw).zip(block.chunks_exact_mut(ohw)) {
                adaptive_max_plane(xp, yp, (h, w), (oh, ow));
            }
        },
    );
    pairs.into_iter().unzip()
}

/// One plane of [`adaptive_max_pool2d_forward`].
#[inline(always)]
fn adaptive_max_plane<E: Float>(
    xp: &[E],
    yp: &mut [(E, u32)],
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
) {
    for oy in 0..oh {
        let (y0, y1) = adaptive_span(oy, oh, h);
        for ox in 0..ow {
            let (x0, x1) = adaptive_span(ox, ow, w);
            // Two passes, each without a data-dependent branch per element: the maximum (and
            // whether a NaN is present), then where it is. One pass with a compare-and-branch
            // per element mispredicted on random data: (16, 64, 28, 28) to 5x5 took 3.6 ms on
            // one thread, PyTorch 2.0.
            let mut best = E::NEG_INFINITY;
            let mut nan = false;
            for iy in y0..y1 {
                for &v in &xp[iy * w + x0..iy * w + x1] {
                    best = if v > best { v } else { best };
                    nan |= v.is_nan();
                }
            }
            // Every window holds at least one element (`h, w >= 1`); the first is the answer
            // when every element is `-inf`.
            let mut at = y0 * w + x0;
            if nan {
                // The last NaN, as PyTorch's `val > max || isnan(val)` keeps it.
                'rows: for iy in (y0..y1).rev() {
                    for ix in (x0..x1).rev() {
                        if xp[iy * w + ix].is_nan() {
                            at = iy * w + ix;
                            break 'rows;
                        }
                    }
                }
                best = xp[at];
            } else {
                // The first maximum.
                'first: for iy in y0..y1 {
                    for ix in x0..x1 {
                        if xp[iy * w + ix] == best {
                            at = iy * w + ix;
                            break 'first;
                        }
                    }
                }
            }
            yp[oy * ow + ox] = (best, at as u32);
        }
    }
}
