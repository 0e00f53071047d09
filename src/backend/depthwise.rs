//! Direct kernels for grouped convolutions with one input channel per group (depthwise:
//! MobileNet's 3x3, ConvNeXt's 7x7). Through the unfolding path each group is a product of
//! one row (or `o / groups` rows) by `kh * kw` unfolded rows: nine copies of the plane for
//! one multiply-add each, (32, 64, 56, 56) 3x3 took 17 ms on one thread against PyTorch's 6.5.
//! Here each output row adds `kh * kw` shifted input rows times one weight, a vector loop
//! over the row for unit strides.

use super::im2col::ConvGeom;
use super::parallel::{PARALLEL_ELEMS, for_row_blocks, for_row_blocks_from};
use super::reduce::sum_lanes;
use super::uninit::{filled, written};
use crate::dtype::Float;

/// Whether the direct kernels take a grouped convolution: one input channel per group.
pub(crate) fn applies(groups: usize, g: &ConvGeom) -> bool {
    groups > 1 && g.c == 1
}

/// Output positions `lo..hi` along an axis of `out` positions whose input position
/// `pos * stride + tap * dilation - pad` falls inside `0..len`, and that offset
/// `tap * dilation - pad`.
#[inline(always)]
fn span(
    out: usize,
    len: usize,
    stride: usize,
    tap: usize,
    dilation: usize,
    pad: usize,
) -> (usize, usize, isize) {
    let off = (tap * dilation) as isize - pad as isize;
    // First pos with pos * stride + off >= 0, and one past the last with < len.
    let lo = if off >= 0 { 0 } else { (-off) as usize }.div_ceil(stride);
    let last = len as isize - 1 - off;
    let hi = if last < 0 {
        0
    } else {
        (last as usize / stride + 1).min(out)
    };
    (lo.min(hi), hi, off)
}

/// [`conv2d_grouped_forward`](super::conv::conv2d_grouped_forward) for one input channel
/// per group ([`applies`]): `x` is `n x groups x h x w`, `w` is `o x kh x kw`, `y` is
/// `n x o x oh x ow` (output channel `oc` reads input channel `oc / (o / groups)`).
/// Output planes over the threads.
pub(crate) fn forward<E: Float>(
    x: &[E],
    w: &[E],
    bias: Option<&[E]>,
    n: usize,
    o: usize,
    groups: usize,
    g: &ConvGeom,
) -> Vec<E> {
    let (og, hw, ohw, taps) = (o / groups, g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    let len = n * o * ohw;
    if len == 0 {
        return Vec::new();
    }
    let (x, w) = (&x[..n * groups * hw], &w[..o * taps]);
    // SAFETY: every output plane of a block is filled (the bias or zero) before the taps
    // are added into it.
    unsafe {
        written(len, |y| {
            for_row_blocks(
                y,
                ohw,
                #[inline(always)]
                |first, block| {
                    for (plane, out) in (first..).zip(block.chunks_exact_mut(ohw)) {
                        let (b, oc) = (plane / o, plane % o);
                        let src = &x[(b * groups + oc / og) * hw..][..hw];
                        let out = filled(out, bias.map_or(E::ZERO, |b| b[oc]));
                        add_taps(out, src, &w[oc * taps..][..taps], g);
                    }
                },
            )
        })
    }
}

/// Adds the convolution of one input plane `src` with one kernel `k` (`kh x kw`) to `out`.
#[inline(always)]
fn add_taps<E: Float>(out: &mut [E], src: &[E], k: &[E], g: &ConvGeom) {
    if (g.kw, g.sw, g.dw, g.sh, g.pw) == (3, 1, 1, 1, 1) && g.ow == g.w && g.w >= 2 {
        return add_taps_same_width(out, src, k, g);
    }
    for ky in 0..g.kh {
        let (y_lo, y_hi, y_off) = span(g.oh, g.h, g.sh, ky, g.dh, g.ph);
        for kx in 0..g.kw {
            let (x_lo, x_hi, x_off) = span(g.ow, g.w, g.sw, kx, g.dw, g.pw);
            let wv = k[ky * g.kw + kx];
            for oy in y_lo..y_hi {
                let iy = (oy * g.sh) as isize + y_off;
                let row = &src[iy as usize * g.w..][..g.w];
                let dst = &mut out[oy * g.ow..][..g.ow];
                if g.sw == 1 {
                    let from = (x_lo as isize + x_off) as usize;
                    let run = &row[from..][..x_hi - x_lo];
                    for (d, &v) in dst[x_lo..x_hi].iter_mut().zip(run) {
                        *d += wv * v;
                    }
                } else {
                    for (ox, d) in dst.iter_mut().enumerate().take(x_hi).skip(x_lo) {
                        *d += wv * row[((ox * g.sw) as isize + x_off) as usize];
                    }
                }
            }
        }
    }
}

/// [`add_taps`] for three kernel columns at unit stride and padding 1 (output rows as wide
/// as input rows, the usual depthwise 3x3): then output `i` of the flattened plane reads
/// input `i + shift` for every tap, so each kernel row is one pass over all its output rows
/// at once, its three taps together (rows of 56 left the vector loops a third in their
/// tails: (32, 64, 56, 56) forward, one thread, 6.9 -> 3.6 ms).
/// The first and last column of each row, where one tap falls outside the row (into the
/// next or previous one), are recomputed from their values before the pass.
#[inline(always)]
fn add_taps_same_width<E: Float>(out: &mut [E], src: &[E], k: &[E], g: &ConvGeom) {
    const CHUNK_ROWS: usize = 64;
    let w = g.w;
    for ky in 0..g.kh {
        let (y_lo, y_hi, y_off) = span(g.oh, g.h, 1, ky, g.dh, g.ph);
        let [k0, k1, k2] = [0, 1, 2].map(|kx| k[ky * 3 + kx]);
        for first in (y_lo..y_hi).step_by(CHUNK_ROWS) {
            let rows = CHUNK_ROWS.min(y_hi - first);
            let len = rows * w;
            let base = (first as isize + y_off) as usize * w;
            let s = &src[base..][..len];
            let d = &mut out[first * w..][..len];
            let mut edges = [[E::ZERO; 2]; CHUNK_ROWS];
            for (r, e) in edges.iter_mut().enumerate().take(rows) {
                *e = [d[r * w], d[r * w + w - 1]];
            }
            let (left, mid, right) = (&s[..len - 2], &s[1..len - 1], &s[2..]);
            for (((o, &a), &b), &c) in d[1..len - 1].iter_mut().zip(left).zip(mid).zip(right) {
                *o += k0 * a + k1 * b + k2 * c;
            }
            for (r, e) in edges.iter().enumerate().take(rows) {
                let (i, j) = (r * w, r * w + w - 1);
                d[i] = e[0] + (k1 * s[i] + k2 * s[i + 1]);
                d[j] = e[1] + (k0 * s[j - 1] + k1 * s[j]);
            }
        }
    }
}

/// The gradients of [`forward`] from `gy`, added into whichever of `gx`, `gw`, `gb` are
/// given. `gx` by input planes over the threads (each gathers its output planes); `gw`
/// and `gb` from per-plane sums, computed over the threads and added over the batch in
/// order (the same totals whatever the split).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<E: Float>(
    x: &[E],
    w: &[E],
    gy: &[E],
    n: usize,
    o: usize,
    groups: usize,
    g: &ConvGeom,
    gx: Option<&mut [E]>,
    gw: Option<&mut [E]>,
    gb: Option<&mut [E]>,
) {
    let (og, hw, ohw, taps) = (o / groups, g.h * g.w, g.oh * g.ow, g.kh * g.kw);
    let (x, w, gy) = (&x[..n * groups * hw], &w[..o * taps], &gy[..n * o * ohw]);
    if let Some(gx) = gx {
        for_row_blocks(
            &mut gx[..n * groups * hw],
            hw,
            #[inline(always)]
            |first, block| {
                for (plane, dst) in (first..).zip(block.chunks_exact_mut(hw)) {
                    let (b, gi) = (plane / groups, plane % groups);
                    for oc in gi * og..(gi + 1) * og {
                        let src = &gy[(b * o + oc) * ohw..][..ohw];
                        spread_taps(dst, src, &w[oc * taps..][..taps], g);
                    }
                }
            },
        );
    }
    if gw.is_none() && gb.is_none() {
        return;
    }
    // Per output plane: one sum per tap (gy times the input it read), then the sum of gy.
    let per = taps + 1;
    let mut sums = vec![E::ZERO; n * o * per];
    // Split by the planes' work, not by the length of `sums`.
    for_row_blocks_from(
        &mut sums,
        per,
        (PARALLEL_ELEMS / ohw.max(1)).max(1) * per,
        #[inline(always)]
        |first, block| {
            let mut lanes = vec![E::ZERO; g.ow];
            for (plane, out) in (first..).zip(block.chunks_exact_mut(per)) {
                let (b, oc) = (plane / o, plane % o);
                let src = &x[(b * groups + oc / og) * hw..][..hw];
                let gyp = &gy[plane * ohw..][..ohw];
                tap_sums(&mut out[..taps], gyp, src, g, &mut lanes);
                out[taps] = sum_lanes(gyp);
            }
        },
    );
    if let Some(gw) = gw {
        for b in 0..n {
            let part = &sums[b * o * per..][..o * per];
            for (kern, s) in gw[..o * taps]
                .chunks_exact_mut(taps)
                .zip(part.chunks_exact(per))
            {
                for (a, &v) in kern.iter_mut().zip(&s[..taps]) {
                    *a += v;
                }
            }
        }
    }
    if let Some(gb) = gb {
        for b in 0..n {
            let part = &sums[b * o * per..][..o * per];
            for (a, s) in gb[..o].iter_mut().zip(part.chunks_exact(per)) {
                *a += s[taps];
            }
        }
    }
}

/// The adjoint of [`add_taps`]: adds `src` (an output plane's gradient) through the kernel
/// `k` onto the input plane's gradient `dst`.
#[inline(always)]
fn spread_taps<E: Float>(dst: &mut [E], src: &[E], k: &[E], g: &ConvGeom) {
    for ky in 0..g.kh {
        let (y_lo, y_hi, y_off) = span(g.oh, g.h, g.sh, ky, g.dh, g.ph);
        for kx in 0..g.kw {
            let (x_lo, x_hi, x_off) = span(g.ow, g.w, g.sw, kx, g.dw, g.pw);
            let wv = k[ky * g.kw + kx];
            for oy in y_lo..y_hi {
                let iy = (oy * g.sh) as isize + y_off;
                let row = &mut dst[iy as usize * g.w..][..g.w];
                let grad = &src[oy * g.ow..][..g.ow];
                if g.sw == 1 {
                    let from = (x_lo as isize + x_off) as usize;
                    let run = &mut row[from..][..x_hi - x_lo];
                    for (d, &v) in run.iter_mut().zip(&grad[x_lo..x_hi]) {
                        *d += wv * v;
                    }
                } else {
                    for (ox, &v) in grad.iter().enumerate().take(x_hi).skip(x_lo) {
                        row[((ox * g.sw) as isize + x_off) as usize] += wv * v;
                    }
                }
            }
        }
    }
}

/// `out[t] = sum(gy * input read through tap t)` over one output plane: each tap's products
/// added into a row of lanes (one per output column, so the adds are independent), summed
/// at the end.
#[inline(always)]
fn tap_sums<E: Float>(out: &mut [E], gy: &[E], src: &[E], g: &ConvGeom, lanes: &mut [E]) {
    for ky in 0..g.kh {
        let (y_lo, y_hi, y_off) = span(g.oh, g.h, g.sh, ky, g.dh, g.ph);
        for kx in 0..g.kw {
            let (x_lo, x_hi, x_off) = span(g.ow, g.w, g.sw, kx, g.dw, g.pw);
            lanes.fill(E::ZERO);
            for oy in y_lo..y_hi {
                let iy = (oy * g.sh) as isize + y_off;
                let row = &src[iy as usize * g.w..][..g.w];
                let grad = &gy[oy * g.ow..][..g.ow];
                if g.sw == 1 {
                    let from = (x_lo as isize + x_off) as usize;
                    let run = &row[from..][..x_hi - x_lo];
                    for ((l, &d), &v) in
                        lanes[x_lo..x_hi].iter_mut().zip(&grad[x_lo..x_hi]).zip(run)
                    {
                        *l += d * v;
                    }
                } else {
                    for ox in x_lo..x_hi {
                        lanes[ox] += grad[ox] * row[((ox * g.sw) as isize + x_off) as usize];
                    }
                }
            }
            out[ky * g.kw + kx] = sum_lanes(lanes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output size along an axis, as PyTorch's.
    fn out_len(len: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
        (len + 2 * p - d * (k - 1) - 1) / s + 1
    }

    /// Against a naive direct convolution and its adjoints (integers, so exact in any
    /// order): unit and larger strides, padding, dilation, kernels not square, several
    /// output channels per group, and planes split over the threads.
    #[test]
    fn depthwise_matches_naive_convolution_and_adjoints() {
        // (n, groups, per group out, h, w, kh, kw, stride, pad, dilation)
        let cases = [
            (32, 16, 1, 14, 12, 3, 3, 1, 1, 1),
            (1, 2, 1, 70, 2, 3, 3, 1, 1, 1),
            (2, 2, 2, 3, 1, 3, 3, 1, 1, 1),
            (1, 1, 1, 5, 9, 3, 3, 1, 1, 2),
            (2, 3, 2, 9, 11, 3, 5, 2, 2, 1),
            (3, 4, 1, 10, 10, 7, 7, 1, 3, 1),
            (1, 2, 3, 13, 8, 3, 3, 1, 2, 2),
            (2, 5, 1, 6, 7, 2, 4, 3, 0, 1),
        ];
        for (n, groups, og, h, w, kh, kw, s, p, d) in cases {
            let (oh, ow) = (out_len(h, kh, s, p, d), out_len(w, kw, s, p, d));
            let g = ConvGeom {
                c: 1,
                h,
                w,
                kh,
                kw,
                sh: s,
                sw: s,
                ph: p,
                pw: p,
                dh: d,
                dw: d,
                oh,
                ow,
            };
            let o = groups * og;
            let x: Vec<f64> = (0..n * groups * h * w)
                .map(|i| ((i * 7) % 11) as f64 - 5.0)
                .collect();
            let k: Vec<f64> = (0..o * kh * kw)
                .map(|i| ((i * 5) % 7) as f64 - 3.0)
                .collect();
            let bias: Vec<f64> = (0..o).map(|i| i as f64).collect();
            let gy: Vec<f64> = (0..n * o * oh * ow)
                .map(|i| ((i * 3) % 5) as f64 - 2.0)
                .collect();
            let (mut want, mut want_gx) = (vec![0.0; n * o * oh * ow], vec![0.0; x.len()]);
            let (mut want_gw, mut want_gb) = (vec![0.0; k.len()], vec![0.0; o]);
            for b in 0..n {
                for oc in 0..o {
                    let plane = (b * groups + oc / og) * h * w;
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let at = ((b * o + oc) * oh + oy) * ow + ox;
                            want[at] = bias[oc];
                            want_gb[oc] += gy[at];
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * s + ky * d) as isize - p as isize;
                                    let ix = (ox * s + kx * d) as isize - p as isize;
                                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                        continue;
                                    }
                                    let xi = plane + iy as usize * w + ix as usize;
                                    let ki = (oc * kh + ky) * kw + kx;
                                    want[at] += k[ki] * x[xi];
                                    want_gx[xi] += k[ki] * gy[at];
                                    want_gw[ki] += x[xi] * gy[at];
                                }
                            }
                        }
                    }
                }
            }
            let what =
                format!("n {n} groups {groups} x {og}, {h}x{w}, k {kh}x{kw} s {s} p {p} d {d}");
            assert_eq!(
                forward(&x, &k, Some(&bias), n, o, groups, &g),
                want,
                "{what}"
            );
            let (mut gx, mut gw, mut gb) = (vec![0.5; x.len()], vec![0.5; k.len()], vec![0.5; o]);
            backward(
                &x,
                &k,
                &gy,
                n,
                o,
                groups,
                &g,
                Some(&mut gx),
                Some(&mut gw),
                Some(&mut gb),
            );
            let plus_half = |v: &[f64]| v.iter().map(|a| a + 0.5).collect::<Vec<_>>();
            assert_eq!(gx, plus_half(&want_gx), "gx {what}");
            assert_eq!(gw, plus_half(&want_gw), "gw {what}");
            assert_eq!(gb, plus_half(&want_gb), "gb {what}");
        }
    }
}
