//! 3-D max and average pooling over planes of `d x h x w` volumes (PyTorch's floor mode),
//! separably: a cubic window is a square window in each depth slice, then a window along
//! depth. So each depth slice goes through the 2-D kernels of [`super::pooling`] once
//! (vectorised, threaded, shared by the depth windows that overlap), and only the short
//! combination along depth is new here. The max pooling's backward pass is the 2-D one's
//! scatter ([`super::pooling::max_pool2d_backward`]): it only needs each maximum's flat
//! index in its volume.

use super::pooling::{PoolGeom, avg_pool2d_backward, avg_pool2d_forward, max_pool2d_forward};
use crate::dtype::Float;
/// One plane's 3-D pooling geometry: an `input = [d, h, w]` volume, a cubic window of `k`
/// with stride `s` and padding `p` along every axis, and the `out = [od, oh, ow]` grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pool3dGeom {
    pub input: [usize; 3],
    pub k: usize,
    pub s: usize,
    pub p: usize,
    pub out: [usize; 3],
}

impl Pool3dGeom {
    /// Elements of one input plane.
    pub fn volume(&self) -> usize {
        self.input.iter().product()
    }
    /// Elements of one output plane.
    pub fn out_volume(&self) -> usize {
        self.out.iter().product()
    }
    /// The square window of one depth slice (`h x w` to `oh x ow`).
    fn slice_geom(&self) -> PoolGeom {
        let [_, h, w] = self.input;
        let [_, oh, ow] = self.out;
        PoolGeom::square((h, w), (self.k, self.s, self.p), (oh, ow))
    }
    /// The input indices the window of output `o` covers along `axis`, clipped to the input.
    fn window(&self, axis: usize, o: usize) -> core::ops::Range<usize> {
        let start = (o * self.s) as isize - self.p as isize;
        let end = (start + self.k as isize).min(self.input[axis] as isize);
        start.max(0) as usize..end.max(0) as usize
    }
    /// Calls `f(output_index, depths, rows, columns)` for every output of one plane in order.
    #[cfg(test)]
    fn for_each_window(
        &self,
        mut f: impl FnMut(
            usize,
            core::ops::Range<usize>,
            core::ops::Range<usize>,
            core::ops::Range<usize>,
        ),
    ) {
        let [od, oh, ow] = self.out;
        let mut at = 0;
        for z in 0..od {
            for y in 0..oh {
                for x in 0..ow {
                    f(at, self.window(0, z), self.window(1, y), self.window(2, x));
                    at += 1;
                }
            }
        }
    }
}

/// Max pooling over `planes` planes; padding counts as `-inf`. Returns the maxima and, for
/// each, its flat index within the plane: the first maximum in the window's (depth, row,
/// column) order, or the last NaN, as PyTorch's CPU kernel picks them. The 2-D kernel
/// applies that rule within each depth slice, and merging the slices' results in depth
/// order with the same rule continues the same scan, so the answer is the 3-D window's.
/// (`MaxPool3d(2)` over `(4, 32, 16, 32, 32)` f32, two threads: 11.1 ms a window at a
/// time, 1.6 ms this way, PyTorch 4.4.)
pub(crate) fn max_pool3d_forward<E: Float>(
    x: &[E],
    planes: usize,
    g: &Pool3dGeom,
) -> (Vec<E>, Vec<u32>) {
    let [d, h, w] = g.input;
    let [od, oh, ow] = g.out;
    let slice = oh * ow;
    if planes * g.out_volume() == 0 {
        return (Vec::new(), Vec::new());
    }
    let (y2, idx2) = max_pool2d_forward(x, planes * d, &g.slice_geom());
    let mut y = Vec::with_capacity(planes * g.out_volume());
    let mut idx = Vec::with_capacity(planes * g.out_volume());
    for (ys, is) in y2.chunks_exact(d * slice).zip(idx2.chunks_exact(d * slice)) {
        for z in 0..od {
            let depths = g.window(0, z);
            let first = depths.start;
            let (at, len) = (y.len(), slice);
            y.extend_from_slice(&ys[first * slice..][..slice]);
            idx.extend(
                is[first * slice..][..slice]
                    .iter()
                    .map(|&i| i + (first * h * w) as u32),
            );
            let (best, pos) = (&mut y[at..][..len], &mut idx[at..][..len]);
            for dz in depths.skip(1) {
                let lane = &ys[dz * slice..][..slice];
                let lane_at = &is[dz * slice..][..slice];
                let shift = (dz * h * w) as u32;
                for (((b, p), &v), &i) in best.iter_mut().zip(pos.iter_mut()).zip(lane).zip(lane_at)
                {
                    let take = (v > *b) | v.is_nan();
                    *b = if take { v } else { *b };
                    *p = if take { i + shift } else { *p };
                }
            }
        }
    }
    (y, idx)
}

/// Average pooling over `planes` planes, dividing by the whole window (`count_include_pad=True`:
/// in floor mode with padding at most half the window, every window lies inside the padded
/// input, so its size is always `k^3`): the 2-D averages of the depth slices (each over
/// `k^2`), summed over the depth window and divided by `k`.
pub(crate) fn avg_pool3d_forward<E: Float>(x: &[E], planes: usize, g: &Pool3dGeom) -> Vec<E> {
    let [d, ..] = g.input;
    let [od, oh, ow] = g.out;
    let slice = oh * ow;
    if planes * g.out_volume() == 0 {
        return Vec::new();
    }
    let means = avg_pool2d_forward(x, planes * d, &g.slice_geom());
    let scale = E::ONE / E::from_usize(g.k);
    let mut y = vec![E::ZERO; planes * g.out_volume()];
    for (ms, yp) in means
        .chunks_exact(d * slice)
        .zip(y.chunks_exact_mut(od * slice))
    {
        for (z, out) in yp.chunks_exact_mut(slice).enumerate() {
            for dz in g.window(0, z) {
                for (o, &m) in out.iter_mut().zip(&ms[dz * slice..][..slice]) {
                    *o += m;
                }
            }
            out.iter_mut().for_each(|o| *o *= scale);
        }
    }
    y
}

/// The gradient of [`avg_pool3d_forward`], accumulated into `gx`: each output's gradient
/// over `k` goes to the depth slices of its window, then through the 2-D backward pass.
pub(crate) fn avg_pool3d_backward<E: Float>(gx: &mut [E], gy: &[E], g: &Pool3dGeom) {
    let [d, ..] = g.input;
    let [od, oh, ow] = g.out;
    let slice = oh * ow;
    if gy.is_empty() || d == 0 {
        return;
    }
    let planes = gy.len() / (od * slice);
    let scale = E::ONE / E::from_usize(g.k);
    let mut g2 = vec![E::ZERO; planes * d * slice];
    for (gs, gyp) in g2
        .chunks_exact_mut(d * slice)
        .zip(gy.chunks_exact(od * slice))
    {
        for (z, gz) in gyp.chunks_exact(slice).enumerate() {
            for dz in g.window(0, z) {
                for (t, &v) in gs[dz * slice..][..slice].iter_mut().zip(gz) {
                    *t += v * scale;
                }
            }
        }
    }
    avg_pool2d_backward(gx, &g2, &g.slice_geom());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Window by window, in (depth, row, column) order: the definition.
    fn naive_max(x: &[f64], planes: usize, g: &Pool3dGeom) -> (Vec<f64>, Vec<u32>) {
        let (vol, ovol) = (g.volume(), g.out_volume());
        let [_, h, w] = g.input;
        let (mut y, mut idx) = (vec![0.0; planes * ovol], vec![0u32; planes * ovol]);
        for p in 0..planes {
            let plane = &x[p * vol..][..vol];
            g.for_each_window(|at, ds, rs, cs| {
                let (mut best, mut best_at) =
                    (f64::NEG_INFINITY, (ds.start * h + rs.start) * w + cs.start);
                for d in ds {
                    for r in rs.clone() {
                        for c in cs.clone() {
                            let v = plane[(d * h + r) * w + c];
                            if v > best || v.is_nan() {
                                (best, best_at) = (v, (d * h + r) * w + c);
                            }
                        }
                    }
                }
                y[p * ovol + at] = best;
                idx[p * ovol + at] = best_at as u32;
            });
        }
        (y, idx)
    }

    fn naive_avg(x: &[f64], planes: usize, g: &Pool3dGeom) -> Vec<f64> {
        let (vol, ovol) = (g.volume(), g.out_volume());
        let [_, h, w] = g.input;
        let mut y = vec![0.0; planes * ovol];
        for p in 0..planes {
            g.for_each_window(|at, ds, rs, cs| {
                let mut sum = 0.0;
                for d in ds {
                    for r in rs.clone() {
                        for c in cs.clone() {
                            sum += x[p * vol + (d * h + r) * w + c];
                        }
                    }
                }
                y[p * ovol + at] = sum / (g.k * g.k * g.k) as f64;
            });
        }
        y
    }

    #[test]
    fn separable_pooling_matches_window_by_window() {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % 17) as f64 - 8.0 // small integers: many ties
        };
        for (input, k, s, p, planes) in [
            ([5, 6, 7], 2, 2, 0, 3),
            ([5, 6, 7], 3, 2, 1, 2),
            ([4, 4, 4], 3, 1, 1, 2),
            ([6, 5, 9], 2, 1, 1, 1),
            ([3, 3, 3], 3, 3, 0, 4),
            ([9, 20, 24], 2, 2, 0, 40), // large enough to be split over threads
        ] {
            let out = input.map(|n| (n + 2 * p - k) / s + 1);
            let g = Pool3dGeom {
                input,
                k,
                s,
                p,
                out,
            };
            let vol = g.volume();
            let mut x: Vec<f64> = (0..planes * vol).map(|_| next()).collect();
            x[vol / 2] = f64::NAN;
            x[vol / 3] = f64::NAN;
            if planes > 1 {
                x[vol..2 * vol].fill(f64::NEG_INFINITY); // a plane of -inf
            }
            let (y, idx) = max_pool3d_forward(&x, planes, &g);
            let (want_y, want_idx) = naive_max(&x, planes, &g);
            assert_eq!(y.len(), want_y.len());
            for (a, b) in y.iter().zip(&want_y) {
                assert!(
                    a == b || (a.is_nan() && b.is_nan()),
                    "{input:?} {k} {s} {p}"
                );
            }
            assert_eq!(idx, want_idx, "{input:?} {k} {s} {p}");
            let x: Vec<f64> = x
                .iter()
                .map(|v| if v.is_finite() { *v } else { 1.5 })
                .collect();
            let y = avg_pool3d_forward(&x, planes, &g);
            let want = naive_avg(&x, planes, &g);
            for (a, b) in y.iter().zip(&want) {
                assert!((a - b).abs() < 1e-12, "{input:?} {k} {s} {p}: {a} {b}");
            }
            // The backward pass is the adjoint: <y, gy> = <x, gx>.
            let gy: Vec<f64> = (0..y.len()).map(|_| next()).collect();
            let mut gx = vec![0.0; x.len()];
            avg_pool3d_backward(&mut gx, &gy, &g);
            let lhs: f64 = y.iter().zip(&gy).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&gx).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9 * (1.0 + lhs.abs()), "{lhs} {rhs}");
        }
    }

    #[test]
    fn max_takes_the_first_maximum_and_nan() {
        let g = Pool3dGeom {
            input: [2, 2, 2],
            k: 2,
            s: 2,
            p: 0,
            out: [1, 1, 1],
        };
        let (y, idx) = max_pool3d_forward(&[1.0, 3.0, 3.0, 0.0, 2.0, 3.0, 1.0, 0.0], 1, &g);
        assert_eq!((y, idx), (vec![3.0], vec![1]));
        let (y, idx) = max_pool3d_forward(&[1.0, f64::NAN, 3.0, 0.0, 2.0, 3.0, 1.0, 0.0], 1, &g);
        assert!(y[0].is_nan());
        assert_eq!(idx, vec![1]);
    }

    #[test]
    fn average_counts_the_padding() {
        let g = Pool3dGeom {
            input: [2, 2, 2],
            k: 3,
            s: 1,
            p: 1,
            out: [2, 2, 2],
        };
        // Each window holds all 8 ones of the volume among its 27 places.
        let y = avg_pool3d_forward(&[1.0; 8], 1, &g);
        assert_eq!(y, vec![8.0 / 27.0; 8]);
        let mut gx = vec![0.0; 8];
        avg_pool3d_backward(&mut gx, &[27.0; 8], &g);
        assert_eq!(gx, vec![8.0; 8]);
    }
}
