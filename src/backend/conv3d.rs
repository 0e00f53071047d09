//! 3-D convolution kernels on row-major `(N, C, D, H, W)` buffers.
//!
//! The same scheme as the 2-D path in [`super::conv`], one axis up: each sample's volume is
//! unfolded (vol2col) into a `(C*KD*KH*KW) x (OD*OH*OW)` matrix `cols`, so `y = W cols`,
//! `gW += gy cols^T` and `gcols = W^T gy`, folded back with col2vol. The unfolding is made a
//! block of output depth slices at a time, so that it stays near the cache for the product
//! that reads it instead of growing with the volume (27 taps of a 64-channel 32^3 volume
//! would be 230 MB of `f32`). Samples are independent, so large batches are split over
//! threads ([`super::conv::split_samples`]).

use super::conv::{add_gy_cols_t, split_backward, split_samples, wt_gy};
use super::gemm::gemm;
use super::im2col::valid_range;
use crate::dtype::Float;
use core::ops::Range;

/// One sample's 3-D convolution geometry: `c` input channels of `input = [d, h, w]`, a
/// kernel of `kernel = [kd, kh, kw]` taps with stride, padding and dilation per axis, and the
/// `out = [od, oh, ow]` output grid (computed by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conv3dGeom {
    pub c: usize,
    pub input: [usize; 3],
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    pub padding: [usize; 3],
    pub dilation: [usize; 3],
    pub out: [usize; 3],
}

impl Conv3dGeom {
    /// Rows of the unfolded input: one per (channel, kernel depth, row, column).
    pub fn col_rows(&self) -> usize {
        self.c * self.kernel.iter().product::<usize>()
    }
    /// Columns of the unfolded input: one per output position.
    pub fn col_cols(&self) -> usize {
        self.out.iter().product()
    }
    /// Elements of one input channel.
    fn volume(&self) -> usize {
        self.input.iter().product()
    }
    /// Output positions in one output depth slice.
    fn slice_cols(&self) -> usize {
        self.out[1] * self.out[2]
    }
    /// A 1x1x1 kernel with unit stride and no padding: the sample is its own unfolding.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1; 3] && self.stride == [1; 3] && self.padding == [0; 3]
    }
    /// Output depth slices unfolded at a time: whole slices of about `budget` unfolded
    /// values at most (at least one slice).
    fn slices_per_block(&self, budget: usize) -> usize {
        let per_slice = self.col_rows() * self.slice_cols();
        (budget / per_slice.max(1)).clamp(1, self.out[0].max(1))
    }
    /// For kernel tap `t` along `axis`, the outputs whose input falls inside the volume and
    /// the input index of output 0 (negative in the padding).
    fn tap_range(&self, axis: usize, t: usize) -> ((usize, usize), isize) {
        let offset = (t * self.dilation[axis]) as isize - self.padding[axis] as isize;
        let range = valid_range(self.out[axis], self.stride[axis], offset, self.input[axis]);
        (range, offset)
    }
}

/// About 1 MiB of `f32` unfolding per block, as the 2-D backward pass uses.
const BLOCK_BUDGET: usize = 1 << 18;

/// Visits every entry of the unfolding of output depth slices `slices` of sample `x`: for
/// each unfolded row (channel and tap) and each output row `(od, oh)` of the block, calls
/// `f(row_in_cols, input_row_or_none, lo..hi, first_input_index, stride)`, where the entries
/// `lo..hi` of that output row read input `first + ow * stride` of the given input row, and
/// every other entry reads padding (the input row is `None` when the whole output row does).
fn for_each_row(
    g: &Conv3dGeom,
    slices: Range<usize>,
    mut f: impl FnMut(usize, Option<usize>, (usize, usize), isize),
) {
    let [kd, kh, kw] = g.kernel;
    let [_, ih, iw] = g.input;
    let [_, oh, _] = g.out;
    let (vol, plane) = (g.volume(), ih * iw);
    let width = slices.len() * oh;
    for c in 0..g.c {
        for td in 0..kd {
            let (d_range, d_off) = g.tap_range(0, td);
            for th in 0..kh {
                let (h_range, h_off) = g.tap_range(1, th);
                for tw in 0..kw {
                    let (w_range, w_off) = g.tap_range(2, tw);
                    let row = ((c * kd + td) * kh + th) * kw + tw;
                    for (i, od) in slices.clone().enumerate() {
                        let inside_d = (d_range.0..d_range.1).contains(&od);
                        let id = od as isize * g.stride[0] as isize + d_off;
                        for y in 0..oh {
                            let out_row = row * width + i * oh + y;
                            let inside_h = (h_range.0..h_range.1).contains(&y);
                            let input = (inside_d && inside_h).then(|| {
                                let ihh = y as isize * g.stride[1] as isize + h_off;
                                c * vol + id as usize * plane + ihh as usize * iw
                            });
                            f(out_row, input, w_range, w_off);
                        }
                    }
                }
            }
        }
    }
}

/// Unfolds output depth slices `slices` of one sample `x` (`c x d x h x w`) into `cols`
/// (`col_rows x (slices.len() * oh * ow)`), writing zeros where the kernel reads padding.
fn vol2col<E: Float>(x: &[E], g: &Conv3dGeom, slices: Range<usize>, cols: &mut [E]) {
    let (ow, sw) = (g.out[2], g.stride[2] as isize);
    for_each_row(g, slices, |out_row, input, (lo, hi), off| {
        let dst = &mut cols[out_row * ow..][..ow];
        let Some(start) = input else {
            dst.fill(E::ZERO);
            return;
        };
        dst[..lo].fill(E::ZERO);
        dst[hi..].fill(E::ZERO);
        for (o, v) in dst[lo..hi].iter_mut().enumerate() {
            let iw = (lo + o) as isize * sw + off;
            *v = x[start + iw as usize];
        }
    });
}

/// The adjoint of [`vol2col`]: adds every entry of the block's unfolding back onto the input
/// element it was read from (`gx += fold(cols)`); padding entries are dropped.
fn col2vol<E: Float>(cols: &[E], g: &Conv3dGeom, slices: Range<usize>, gx: &mut [E]) {
    let (ow, sw) = (g.out[2], g.stride[2] as isize);
    for_each_row(g, slices, |out_row, input, (lo, hi), off| {
        let Some(start) = input else { return };
        let src = &cols[out_row * ow..][..ow];
        for (o, &v) in src[lo..hi].iter().enumerate() {
            let iw = (lo + o) as isize * sw + off;
            gx[start + iw as usize] += v;
        }
    });
}

/// `y = conv3d(x, w) + b` for `n` samples: `x` is `n x (c d h w)`, `w` is `o x (c kd kh kw)`,
/// `bias` `o` values, and the result `n x (o od oh ow)`.
pub(crate) fn conv3d_forward<E: Float>(
    x: &[E],
    w: &[E],
    bias: Option<&[E]>,
    n: usize,
    o: usize,
    g: &Conv3dGeom,
) -> Vec<E> {
    let (k, p, chw) = (g.col_rows(), g.col_cols(), g.c * g.volume());
    let mut y = vec![E::ZERO; n * o * p];
    if y.is_empty() {
        return y;
    }
    let pointwise = g.is_pointwise();
    let slices = g.slices_per_block(BLOCK_BUDGET);
    let scratch = if pointwise {
        0
    } else {
        k * slices * g.slice_cols()
    };
    let beta = if bias.is_some() { E::ONE } else { E::ZERO };
    split_samples(
        n,
        o * p,
        o * k * p,
        scratch,
        &mut y,
        &mut [],
        |samples, yblock, _, buf| {
            for (b, yb) in samples.zip(yblock.chunks_exact_mut(o * p)) {
                if let Some(bias) = bias {
                    for (row, &v) in yb.chunks_exact_mut(p).zip(bias) {
                        row.fill(v);
                    }
                }
                let xb = &x[b * chw..][..chw];
                if pointwise {
                    let ld = (p as isize, 1);
                    gemm(o, k, p, E::ONE, w, (k as isize, 1), xb, ld, beta, yb, ld);
                    continue;
                }
                for first in (0..g.out[0]).step_by(slices) {
                    let block = first..(first + slices).min(g.out[0]);
                    let (p0, width) = (first * g.slice_cols(), block.len() * g.slice_cols());
                    let cols = &mut buf[..k * width];
                    vol2col(xb, g, block, cols);
                    gemm(
                        o,
                        k,
                        width,
                        E::ONE,
                        w,
                        (k as isize, 1),
                        cols,
                        (width as isize, 1),
                        beta,
                        &mut yb[p0..][..(o - 1) * p + width],
                        (p as isize, 1),
                    );
                }
            }
        },
    );
    y
}

/// The gradients of [`conv3d_forward`] from `gy`, accumulated into whichever of `gx`, `gw`,
/// `gb` are given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv3d_backward<E: Float>(
    x: &[E],
    w: &[E],
    gy: &[E],
    n: usize,
    o: usize,
    g: &Conv3dGeom,
    gx: Option<&mut [E]>,
    gw: Option<&mut [E]>,
    gb: Option<&mut [E]>,
) {
    let (k, p, chw) = (g.col_rows(), g.col_cols(), g.c * g.volume());
    // No outputs: every gradient is zero, nothing to add.
    if n * o * p == 0 || (gx.is_none() && gw.is_none() && gb.is_none()) {
        return;
    }
    let (want_x, want_w) = (gx.is_some(), gw.is_some());
    // `w^T` (`k x o`) row-major: the input gradient's product reads it by rows.
    let wt = if want_x {
        super::layout::permute(w, &[o, k], &[1, 0])
    } else {
        Vec::new()
    };
    let slices = g.slices_per_block(BLOCK_BUDGET);
    let scratch = k * slices * g.slice_cols();
    let cost = (want_x as usize + want_w as usize) * o * k * p;
    split_backward(
        (n, o, p),
        cost,
        scratch,
        gy,
        (gx, chw),
        gw,
        gb,
        |samples, gxblock, gw, buf| {
            for (i, b) in samples.enumerate() {
                let (xb, gyb) = (&x[b * chw..][..chw], &gy[b * o * p..][..o * p]);
                for first in (0..g.out[0]).step_by(slices) {
                    let block = first..(first + slices).min(g.out[0]);
                    let (p0, width) = (first * g.slice_cols(), block.len() * g.slice_cols());
                    let cols = &mut buf[..k * width];
                    let gy_block = &gyb[p0..][..(o - 1) * p + width];
                    if want_w {
                        vol2col(xb, g, block.clone(), cols);
                        add_gy_cols_t((o, k, width), gy_block, p, cols, gw);
                    }
                    if want_x {
                        wt_gy((o, k, width), &wt, gy_block, p, E::ZERO, cols);
                        col2vol(cols, g, block, &mut gxblock[i * chw..][..chw]);
                    }
                }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one output at a time.
    fn naive(x: &[f64], w: &[f64], n: usize, o: usize, g: &Conv3dGeom) -> Vec<f64> {
        let [kd, kh, kw] = g.kernel;
        let [d, h, wd] = g.input;
        let [od, oh, ow] = g.out;
        let mut y = vec![0.0; n * o * od * oh * ow];
        let mut at = 0;
        for b in 0..n {
            for oc in 0..o {
                for z in 0..od {
                    for r in 0..oh {
                        for q in 0..ow {
                            let mut s = 0.0;
                            for c in 0..g.c {
                                for (a, i, j) in (0..kd).flat_map(|a| {
                                    (0..kh).flat_map(move |i| (0..kw).map(move |j| (a, i, j)))
                                }) {
                                    let pos = |o: usize, t: usize, ax: usize| {
                                        (o * g.stride[ax] + t * g.dilation[ax]) as isize
                                            - g.padding[ax] as isize
                                    };
                                    let (zz, rr, qq) = (pos(z, a, 0), pos(r, i, 1), pos(q, j, 2));
                                    if zz < 0 || rr < 0 || qq < 0 {
                                        continue;
                                    }
                                    let (zz, rr, qq) = (zz as usize, rr as usize, qq as usize);
                                    if zz >= d || rr >= h || qq >= wd {
                                        continue;
                                    }
                                    let xv = x[(((b * g.c + c) * d + zz) * h + rr) * wd + qq];
                                    let wv = w[(((oc * g.c + c) * kd + a) * kh + i) * kw + j];
                                    s += xv * wv;
                                }
                            }
                            y[at] = s;
                            at += 1;
                        }
                    }
                }
            }
        }
        y
    }

    #[test]
    fn forward_matches_the_definition_in_blocks_too() {
        let g = Conv3dGeom {
            c: 2,
            input: [5, 6, 7],
            kernel: [3, 2, 3],
            stride: [2, 1, 2],
            padding: [1, 0, 1],
            dilation: [1, 2, 1],
            out: [3, 4, 4],
        };
        let (n, o) = (2, 3);
        let x: Vec<f64> = (0..n * g.c * 210)
            .map(|i| ((i * 37) % 11) as f64 - 5.0)
            .collect();
        let w: Vec<f64> = (0..o * g.col_rows())
            .map(|i| ((i * 13) % 7) as f64 - 3.0)
            .collect();
        let want = naive(&x, &w, n, o, &g);
        assert_eq!(conv3d_forward(&x, &w, None, n, o, &g), want);
        // One depth slice per block: the same products over a strided output.
        assert_eq!(g.slices_per_block(1), 1);
        let mut y = vec![0.0; want.len() / n];
        let mut cols = vec![0.0; g.col_rows() * g.slice_cols()];
        for z in 0..g.out[0] {
            vol2col(&x[..g.c * 210], &g, z..z + 1, &mut cols);
            let width = g.slice_cols();
            let p = g.col_cols();
            gemm(
                o,
                g.col_rows(),
                width,
                1.0,
                &w,
                (g.col_rows() as isize, 1),
                &cols,
                (width as isize, 1),
                0.0,
                &mut y[z * width..][..(o - 1) * p + width],
                (p as isize, 1),
            );
        }
        assert_eq!(y, want[..want.len() / n]);
    }
}
