//! The kernels against the direct convolution in f64.

use super::*;

/// The direct convolution, in f64.
#[allow(clippy::too_many_arguments)]
fn direct(
    x: &[f64],
    w: &[f64],
    c: usize,
    h: usize,
    wd: usize,
    o: usize,
    p: (usize, usize),
) -> Vec<f64> {
    let (oh, ow) = (h + 2 * p.0 - 2, wd + 2 * p.1 - 2);
    let mut y = vec![0.0; o * oh * ow];
    for oc in 0..o {
        for yy in 0..oh {
            for xx in 0..ow {
                let mut s = 0.0;
                for ic in 0..c {
                    for r in 0..3 {
                        for q in 0..3 {
                            let (iy, ix) = (
                                (yy + r) as isize - p.0 as isize,
                                (xx + q) as isize - p.1 as isize,
                            );
                            if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                s += x[(ic * h + iy as usize) * wd + ix as usize]
                                    * w[((oc * c + ic) * 3 + r) * 3 + q];
                            }
                        }
                    }
                }
                y[(oc * oh + yy) * ow + xx] = s;
            }
        }
    }
    y
}

fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 40) as f64 / (1u64 << 23) as f64 - 1.0
        })
        .collect()
}

fn geom(c: usize, h: usize, w: usize, p: (usize, usize)) -> ConvGeom {
    ConvGeom {
        c,
        h,
        w,
        kh: 3,
        kw: 3,
        sh: 1,
        sw: 1,
        ph: p.0,
        pw: p.1,
        dh: 1,
        dw: 1,
        oh: h + 2 * p.0 - 2,
        ow: w + 2 * p.1 - 2,
    }
}

/// Forward, input and weight gradients against the direct formulas, over plane sizes
/// that do and do not fill the last tile, paddings 0-2 and several bands.
#[test]
fn forward_and_gradients_match_the_direct_convolution() {
    for (c, o, h, wd, p) in [
        (3, 2, 6, 6, (0, 0)),
        (2, 3, 7, 9, (1, 1)),
        (4, 5, 13, 11, (2, 1)),
        (3, 2, 9, 70, (1, 0)),
        (2, 2, 40, 6, (0, 2)),
    ] {
        let n = 2;
        let g = geom(c, h, wd, p);
        let x = values(n * c * h * wd, 1);
        let w = values(o * c * 9, 2);
        let bias = values(o, 3);
        let y = forward(&x, &w, Some(&bias), n, o, &g);
        let per = o * g.oh * g.ow;
        for b in 0..n {
            let want = direct(&x[b * c * h * wd..][..c * h * wd], &w, c, h, wd, o, p);
            for (i, (&got, &want)) in y[b * per..][..per].iter().zip(&want).enumerate() {
                let want = want + bias[i / (g.oh * g.ow)];
                assert!(
                    (got - want).abs() < 1e-11,
                    "y {c} {o} {h} {wd} {p:?} [{b}, {i}]: {got} vs {want}"
                );
            }
        }
        // gx = sum over outputs of gy * dy/dx: the direct convolution's adjoint.
        let gy = values(n * per, 4);
        let mut gx = vec![0.5; n * c * h * wd];
        add_input_grad(&gy, &w, n, o, &g, &mut gx);
        for b in 0..n {
            let mut want = vec![0.5; c * h * wd];
            for oc in 0..o {
                for yy in 0..g.oh {
                    for xx in 0..g.ow {
                        let gv = gy[b * per + (oc * g.oh + yy) * g.ow + xx];
                        for ic in 0..c {
                            for r in 0..3 {
                                for q in 0..3 {
                                    let (iy, ix) = (
                                        (yy + r) as isize - p.0 as isize,
                                        (xx + q) as isize - p.1 as isize,
                                    );
                                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd
                                    {
                                        want[(ic * h + iy as usize) * wd + ix as usize] +=
                                            gv * w[((oc * c + ic) * 3 + r) * 3 + q];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for (i, (&got, &want)) in gx[b * c * h * wd..][..c * h * wd]
                .iter()
                .zip(&want)
                .enumerate()
            {
                assert!(
                    (got - want).abs() < 1e-11,
                    "gx {c} {o} {h} {wd} {p:?} [{b}, {i}]: {got} vs {want}"
                );
            }
        }
        // gw[oc, ic, r, q] = sum over samples and outputs of gy * x at the tap.
        let mut gw = vec![0.25; o * c * 9];
        add_weight_grad(&x, &gy, n, o, &g, &mut gw);
        let mut want = vec![0.25; o * c * 9];
        for b in 0..n {
            for oc in 0..o {
                for yy in 0..g.oh {
                    for xx in 0..g.ow {
                        let gv = gy[b * per + (oc * g.oh + yy) * g.ow + xx];
                        for ic in 0..c {
                            for r in 0..3 {
                                for q in 0..3 {
                                    let (iy, ix) = (yy + r, xx + q);
                                    if iy < p.0 || ix < p.1 || iy - p.0 >= h || ix - p.1 >= wd {
                                        continue;
                                    }
                                    let xi = ((b * c + ic) * h + iy - p.0) * wd + ix - p.1;
                                    want[((oc * c + ic) * 3 + r) * 3 + q] += gv * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        for (i, (&got, &want)) in gw.iter().zip(&want).enumerate() {
            assert!(
                (got - want).abs() < 1e-10,
                "gw {c} {o} {h} {wd} {p:?} [{i}]: {got} vs {want}"
            );
        }
    }
}
