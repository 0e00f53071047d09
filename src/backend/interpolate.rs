//! Nearest and bilinear resampling of `(planes, h, w)` buffers, PyTorch's
//! `upsample_nearest2d` and `upsample_bilinear2d` (CPU), index for index.
//!
//! Both modes are separable: each output row and column reads one or two input rows and
//! columns ([`Tap`]), computed once per axis with PyTorch's own formulas, including its
//! float32 arithmetic for nearest's source index.

use super::parallel::for_row_blocks;
use super::uninit::{assume_init, written};
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
/// Blocks of planes over the threads (serial before: nearest x2 upsampling of
/// (8, 64, 56, 56) took 4.1 ms on two threads, PyTorch 2.0).
pub(crate) fn interpolate2d_forward<E: Float>(
    x: &[E],
    planes: usize,
    (h, w): (usize, usize),
    ys: &[Tap<E>],
    xs: &[Tap<E>],
    linear: bool,
) -> Vec<E> {
    let (oh, ow) = (ys.len(), xs.len());
    let len = planes * oh * ow;
    if len == 0 {
        return Vec::new();
    }
    let x = &x[..planes * h * w];
    // SAFETY: every plane of a block is written whole: `oh` rows of `ow`, one value per
    // column tap.
    unsafe {
        written(len, |y| {
            for_row_blocks(
                y,
                oh * ow,
                #[inline(always)]
                |first, block| {
                    let planes_in = x[first * h * w..].chunks_exact(h * w);
                    for (plane, out) in planes_in.zip(block.chunks_exact_mut(oh * ow)) {
                        for (r, ty) in ys.iter().enumerate() {
                            let (done, rest) = out.split_at_mut(r * ow);
                            let row = &mut rest[..ow];
                            if !linear && r > 0 && ys[r - 1].i0 == ty.i0 {
                                // Nearest upsampling repeats rows: copy the one just written.
                                // SAFETY: row `r - 1` was written in full just before.
                                let prev = assume_init(&done[(r - 1) * ow..]);
                                for (v, &p) in row.iter_mut().zip(prev) {
                                    v.write(p);
                                }
                                continue;
                            }
                            let r0 = &plane[ty.i0 * w..][..w];
                            if linear {
                                let r1 = &plane[ty.i1 * w..][..w];
                                for (tx, v) in xs.iter().zip(row.iter_mut()) {
                                    let top = tx.l0 * r0[tx.i0] + tx.l1 * r0[tx.i1];
                                    let bottom = tx.l0 * r1[tx.i0] + tx.l1 * r1[tx.i1];
                                    v.write(ty.l0 * top + ty.l1 * bottom);
                                }
                            } else {
                                for (tx, v) in xs.iter().zip(row.iter_mut()) {
                                    v.write(r0[tx.i0]);
                                }
                            }
                        }
                    }
                },
            )
        })
    }
}

/// The adjoint of [`interpolate2d_forward`]: adds each output gradient onto the inputs it
/// was read from, with the same weights (`gx += resample^T gy`). Blocks of planes over the
/// threads.
pub(crate) fn interpolate2d_backward<E: Float>(
    gy: &[E],
    (h, w): (usize, usize),
    ys: &[Tap<E>],
    xs: &[Tap<E>],
    linear: bool,
    gx: &mut [E],
) {
    let (oh, ow) = (ys.len(), xs.len());
    if h * w == 0 || oh * ow == 0 {
        return;
    }
    for_row_blocks(
        gx,
        h * w,
        #[inline(always)]
        |first, block| {
            let planes_out = gy[first * oh * ow..].chunks_exact(oh * ow);
            // Bilinear, one axis at a time: each output row's gradient is first gathered
            // onto one input row's columns, then that row is added to the two input rows
            // with their weights (four scattered additions per output were bound by their
            // chains through memory: (8, 64, 112, 112) -> (56, 56) took 23.5 ms on one
            // thread, PyTorch 25.8).
            let mut cols = vec![E::ZERO; if linear { w } else { 0 }];
            for (gplane, gout) in block.chunks_exact_mut(h * w).zip(planes_out) {
                for (ty, grow) in ys.iter().zip(gout.chunks_exact(ow)) {
                    if !linear {
                        let row = &mut gplane[ty.i0 * w..][..w];
                        for (tx, &g) in xs.iter().zip(grow) {
                            row[tx.i0] += g;
                        }
                        continue;
                    }
                    cols.fill(E::ZERO);
                    for (tx, &g) in xs.iter().zip(grow) {
                        cols[tx.i0] += tx.l0 * g;
                        cols[tx.i1] += tx.l1 * g;
                    }
                    for (i, l) in [(ty.i0, ty.l0), (ty.i1, ty.l1)] {
                        for (v, &c) in gplane[i * w..][..w].iter_mut().zip(&cols) {
                            *v += l * c;
                        }
                    }
                }
            }
        },
    )
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

    /// Enough planes to be split over the threads: each plane equals the plane resampled
    /// alone, and the backward is the forward's adjoint (`<Ax, g> = <x, A^T g>`).
    #[test]
    fn planes_split_over_threads_resample_as_one_plane_alone() {
        let (planes, h, w) = (300, 9, 11);
        let x: Vec<f64> = (0..planes * h * w)
            .map(|i| ((i * 37) % 101) as f64)
            .collect();
        for linear in [false, true] {
            let (ys, xs) = if linear {
                (
                    linear_taps(h, 20, false, None),
                    linear_taps(w, 23, false, None),
                )
            } else {
                (nearest_taps(h, 20, None), nearest_taps(w, 23, None))
            };
            let y = interpolate2d_forward(&x, planes, (h, w), &ys, &xs, linear);
            for p in [0, 151, 299] {
                let alone =
                    interpolate2d_forward(&x[p * h * w..][..h * w], 1, (h, w), &ys, &xs, linear);
                assert_eq!(
                    &y[p * 460..][..460],
                    &alone[..],
                    "plane {p}, linear {linear}"
                );
            }
            let g: Vec<f64> = (0..y.len()).map(|i| (i % 7) as f64 - 3.0).collect();
            let mut gx = vec![0.0; x.len()];
            interpolate2d_backward(&g, (h, w), &ys, &xs, linear, &mut gx);
            let lhs: f64 = y.iter().zip(&g).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() <= 1e-9 * lhs.abs().max(1.0),
                "linear {linear}: {lhs} vs {rhs}"
            );
        }
    }
}
