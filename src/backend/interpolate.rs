//! Nearest and bilinear resampling of `(planes, h, w)` buffers, PyTorch's
//! `upsample_nearest2d` and `upsample_bilinear2d` (CPU), index for index.
//!
//! Both modes are separable: each output row and column reads one or two input rows and
//! columns ([`Tap`]), computed once per axis with PyTorch's own formulas, including its
//! float32 arithmetic for nearest's source index.

use crate::dtype::Float;

/// Where one output position along an axis reads from: input positions `i0` and `i1` with
/// weights `l0` and `l1` (`i1 == i0`, `l1 == 0` for nearest).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Tap<E> {
    pub i0: usize,
    pub i1: usize,
    pub l0: E,
    pub l1: E,
}

/// PyTorch's `compute_scales_value`: `1 / scale_factor` when a factor was given, else
/// `input / output`.
fn scale_value<E: Float>(scale: Option<f64>, input: usize, output: usize) -> E {
    match scale {
        Some(s) if s > 0.0 => E::from_f64(1.0 / s),
        _ => E::from_f64(input as f64) / E::from_f64(output as f64),
    }
}

/// Nearest: `min(floor(dst * scale), input - 1)` with `scale` and the product in float32
/// whatever the element type (PyTorch's `nearest_idx`, which copies when the sizes are equal
/// and halves the index when the output is twice the input).
pub(crate) fn nearest_taps<E: Float>(
    input: usize,
    output: usize,
    scale: Option<f64>,
) -> Vec<Tap<E>> {
    let scale = match scale {
        Some(s) if s > 0.0 => (1.0 / s) as f32,
        _ => input as f32 / output as f32,
    };
    (0..output)
        .map(|dst| {
            let i = if output == input {
                dst
            } else if output == 2 * input {
                dst >> 1
            } else {
                ((dst as f32 * scale).floor() as usize).min(input - 1)
            };
            Tap {
                i0: i,
                i1: i,
                l0: E::ONE,
                l1: E::ZERO,
            }
        })
        .collect()
}

/// Linear (one axis of bilinear), PyTorch's `area_pixel_compute_scale`,
/// `area_pixel_compute_source_index` and `guard_index_and_lambda`, in the element type:
/// with `align_corners` the corners of input and output line up (`src = dst * (in-1)/(out-1)`);
/// without, pixel centres do (`src = (dst + 0.5) * scale - 0.5`, clamped below at 0).
pub(crate) fn linear_taps<E: Float>(
    input: usize,
    output: usize,
    align_corners: bool,
    scale: Option<f64>,
) -> Vec<Tap<E>> {
    let half = E::from_f64(0.5);
    let ratio = if align_corners {
        if output > 1 {
            E::from_f64((input - 1) as f64) / E::from_f64((output - 1) as f64)
        } else {
            E::ZERO
        }
    } else {
        scale_value(scale, input, output)
    };
    (0..output)
        .map(|dst| {
            if output == input {
                return Tap {
                    i0: dst,
                    i1: dst,
                    l0: E::ONE,
                    l1: E::ZERO,
                };
            }
            let d = E::from_f64(dst as f64);
            let real = if align_corners {
                ratio * d
            } else {
                let r = ratio * (d + half) - half;
                if r < E::ZERO { E::ZERO } else { r }
            };
            let i0 = (real.to_f64().floor() as usize).min(input - 1);
            let mut l1 = real - E::from_f64(i0 as f64);
            if l1 < E::ZERO {
                l1 = E::ZERO;
            }
            if l1 > E::ONE {
                l1 = E::ONE;
            }
            let i1 = if i0 < input - 1 { i0 + 1 } else { i0 };
            Tap {
                i0,
                i1,
                l0: E::ONE - l1,
                l1,
            }
        })
        .collect()
}

/// Resamples `planes` planes of `h x w` (`x`) onto the grid given by the row taps `ys` and
/// column taps `xs`. `linear` mixes the two taps of each axis; otherwise each output copies
/// `x[i0, j0]` (so an infinite input stays infinite instead of meeting a zero weight).
pub(crate) fn interpolate2d_forward<E: Float>(
    x: &[E],
    planes: usize,
    (h, w): (usize, usize),
    ys: &[Tap<E>],
    xs: &[Tap<E>],
    linear: bool,
) -> Vec<E> {
    let (oh, ow) = (ys.len(), xs.len());
    let mut y = vec![E::ZERO; planes * oh * ow];
    for (plane, out) in x.chunks_exact(h * w).zip(y.chunks_exact_mut(oh * ow)) {
        for (ty, row) in ys.iter().zip(out.chunks_exact_mut(ow)) {
            let r0 = &plane[ty.i0 * w..][..w];
            if linear {
                let r1 = &plane[ty.i1 * w..][..w];
                for (tx, v) in xs.iter().zip(row.iter_mut()) {
                    let top = tx.l0 * r0[tx.i0] + tx.l1 * r0[tx.i1];
                    let bottom = tx.l0 * r1[tx.i0] + tx.l1 * r1[tx.i1];
                    *v = ty.l0 * top + ty.l1 * bottom;
                }
            } else {
                for (tx, v) in xs.iter().zip(row.iter_mut()) {
                    *v = r0[tx.i0];
                }
            }
        }
    }
    debug_assert_eq!(y.len(), planes * oh * ow);
    y
}

/// The adjoint of [`interpolate2d_forward`]: adds each output gradient onto the inputs it
/// was read from, with the same weights (`gx += resample^T gy`).
pub(crate) fn interpolate2d_backward<E: Float>(
    gy: &[E],
    (h, w): (usize, usize),
    ys: &[Tap<E>],
    xs: &[Tap<E>],
    linear: bool,
    gx: &mut [E],
) {
    let (oh, ow) = (ys.len(), xs.len());
    for (gplane, gout) in gx.chunks_exact_mut(h * w).zip(gy.chunks_exact(oh * ow)) {
        for (ty, grow) in ys.iter().zip(gout.chunks_exact(ow)) {
            for (tx, &g) in xs.iter().zip(grow) {
                if linear {
                    let (g0, g1) = (ty.l0 * g, ty.l1 * g);
                    gplane[ty.i0 * w + tx.i0] += g0 * tx.l0;
                    gplane[ty.i0 * w + tx.i1] += g0 * tx.l1;
                    gplane[ty.i1 * w + tx.i0] += g1 * tx.l0;
                    gplane[ty.i1 * w + tx.i1] += g1 * tx.l1;
                } else {
                    gplane[ty.i0 * w + tx.i0] += g;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_uses_pytorch_floor_rule() {
        // 3 -> 7: scale 3/7 in float32; PyTorch reads 0,0,0,1,1,2,2.
        let t = nearest_taps::<f32>(3, 7, None);
        let idx: Vec<usize> = t.iter().map(|t| t.i0).collect();
        assert_eq!(idx, [0, 0, 0, 1, 1, 2, 2]);
        // Downsampling 5 -> 2 reads 0 and 2.
        let idx: Vec<usize> = nearest_taps::<f64>(5, 2, None)
            .iter()
            .map(|t| t.i0)
            .collect();
        assert_eq!(idx, [0, 2]);
    }

    #[test]
    fn linear_taps_follow_both_corner_rules() {
        // align_corners=false, 2 -> 4: src = (dst + 0.5)/2 - 0.5 = -0.25 (clamped), 0.25, 0.75, 1.25.
        let t = linear_taps::<f64>(2, 4, false, None);
        assert_eq!((t[0].i0, t[0].i1, t[0].l1), (0, 1, 0.0));
        assert_eq!((t[1].i0, t[1].l1), (0, 0.25));
        assert_eq!((t[3].i0, t[3].i1, t[3].l1), (1, 1, 0.25));
        // align_corners=true, 2 -> 4: src = dst / 3.
        let t = linear_taps::<f64>(2, 4, true, None);
        assert!((t[1].l1 - 1.0 / 3.0).abs() < 1e-15 && t[3].i0 == 1);
    }
}
