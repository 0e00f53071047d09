//! 3-D max and average pooling over planes of `d x h x w` volumes (PyTorch's floor mode),
//! a window at a time on the calling thread (not yet the gathered, vectorised and threaded
//! loops of the 2-D kernels in [`super::pooling`]). The max pooling's backward pass is the 2-D one's scatter
//! ([`super::pooling::max_pool2d_backward`]): it only needs each maximum's flat index in its
//! plane.

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
    /// The input indices the window of output `o` covers along `axis`, clipped to the input.
    fn window(&self, axis: usize, o: usize) -> core::ops::Range<usize> {
        let start = (o * self.s) as isize - self.p as isize;
        let end = (start + self.k as isize).min(self.input[axis] as isize);
        start.max(0) as usize..end.max(0) as usize
    }
    /// Calls `f(output_index, depths, rows, columns)` for every output of one plane in order.
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
/// column) order, or the last NaN, as PyTorch's CPU kernel picks them.
pub(crate) fn max_pool3d_forward<E: Float>(
    x: &[E],
    planes: usize,
    g: &Pool3dGeom,
) -> (Vec<E>, Vec<u32>) {
    let (vol, ovol) = (g.volume(), g.out_volume());
    let [_, h, w] = g.input;
    let mut y = vec![E::ZERO; planes * ovol];
    let mut idx = vec![0u32; planes * ovol];
    for ((plane, yp), ip) in x
        .chunks_exact(vol.max(1))
        .zip(y.chunks_exact_mut(ovol.max(1)))
        .zip(idx.chunks_exact_mut(ovol.max(1)))
        .take(planes)
    {
        g.for_each_window(|at, ds, rs, cs| {
            let mut best = E::NEG_INFINITY;
            // The window's first element inside the volume, as PyTorch starts.
            let mut best_at = (ds.start * h + rs.start) * w + cs.start;
            for d in ds {
                for r in rs.clone() {
                    let row = (d * h + r) * w;
                    for c in cs.clone() {
                        let v = plane[row + c];
                        if v > best || v.is_nan() {
                            best = v;
                            best_at = row + c;
                        }
                    }
                }
            }
            yp[at] = best;
            // In range: the op checks that a plane's indices fit in `u32`.
            ip[at] = best_at as u32;
        });
    }
    (y, idx)
}

/// Average pooling over `planes` planes, dividing by the whole window (`count_include_pad=True`:
/// in floor mode with padding at most half the window, every window lies inside the padded
/// input, so its size is always `k^3`).
pub(crate) fn avg_pool3d_forward<E: Float>(x: &[E], planes: usize, g: &Pool3dGeom) -> Vec<E> {
    let (vol, ovol) = (g.volume(), g.out_volume());
    let [_, h, w] = g.input;
    let scale = E::ONE / E::from_f64((g.k * g.k * g.k) as f64);
    let mut y = vec![E::ZERO; planes * ovol];
    for (plane, yp) in x
        .chunks_exact(vol.max(1))
        .zip(y.chunks_exact_mut(ovol.max(1)))
        .take(planes)
    {
        g.for_each_window(|at, ds, rs, cs| {
            let mut sum = E::ZERO;
            for d in ds {
                for r in rs.clone() {
                    let row = (d * h + r) * w;
                    for &v in &plane[row + cs.start..row + cs.end] {
                        sum += v;
                    }
                }
            }
            yp[at] = sum * scale;
        });
    }
    y
}

/// The gradient of [`avg_pool3d_forward`], accumulated into `gx`.
pub(crate) fn avg_pool3d_backward<E: Float>(gx: &mut [E], gy: &[E], g: &Pool3dGeom) {
    let (vol, ovol) = (g.volume(), g.out_volume());
    let [_, h, w] = g.input;
    let scale = E::ONE / E::from_f64((g.k * g.k * g.k) as f64);
    for (plane, gyp) in gx
        .chunks_exact_mut(vol.max(1))
        .zip(gy.chunks_exact(ovol.max(1)))
    {
        g.for_each_window(|at, ds, rs, cs| {
            let share = gyp[at] * scale;
            for d in ds {
                for r in rs.clone() {
                    let row = (d * h + r) * w;
                    for v in &mut plane[row + cs.start..row + cs.end] {
                        *v += share;
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
