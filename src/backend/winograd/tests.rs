//! The kernels against the direct convolution in f64.

use super::*;

/// Calls `f(output index, input index, weight index)` for every output of every sample and
/// every kernel tap that reads inside the input (`n x (c h w)` in, `n x (o oh ow)` out).
fn for_each_tap(n: usize, o: usize, g: &ConvGeom, mut f: impl FnMut(usize, usize, usize)) {
    let (c, h, w, (ph, pw)) = (g.c, g.h, g.w, (g.ph, g.pw));
    for b in 0..n {
        for oc in 0..o {
            for yy in 0..g.oh {
                for xx in 0..g.ow {
                    let out = ((b * o + oc) * g.oh + yy) * g.ow + xx;
                    for ic in 0..c {
                        for r in 0..3 {
                            for q in 0..3 {
                                let (iy, ix) = (yy + r, xx + q);
                                if iy < ph || ix < pw || iy - ph >= h || ix - pw >= w {
                                    continue;
                                }
                                let xi = ((b * c + ic) * h + iy - ph) * w + ix - pw;
                                f(out, xi, ((oc * c + ic) * 3 + r) * 3 + q);
                            }
                        }
                    }
                }
            }
        }
    }
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

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&a, &b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() < tol, "{what}[{i}]: {a} vs {b}");
    }
}

/// Forward, input and weight gradients against the direct formulas, over plane sizes
/// that do and do not fill the last tile, paddings 0-2 and several bands; two samples
/// (split over the threads, and sharing bands on small planes) and one (its output
/// channels split over the threads where the work is large enough).
#[test]
fn forward_and_gradients_match_the_direct_convolution() {
    for (n, c, o, h, wd, p) in [
        (2, 3, 2, 6, 6, (0, 0)),
        (2, 2, 3, 7, 9, (1, 1)),
        (2, 4, 5, 13, 11, (2, 1)),
        (2, 3, 2, 9, 70, (1, 0)),
        (2, 2, 2, 40, 6, (0, 2)),
        (1, 48, 64, 30, 31, (1, 1)),
    ] {
        let what = format!("n {n} c {c} o {o} {h}x{wd} p {p:?}");
        let g = geom(c, h, wd, p);
        let x = values(n * c * h * wd, 1);
        let w = values(o * c * 9, 2);
        let bias = values(o, 3);
        let gy = values(n * o * g.oh * g.ow, 4);
        let plane = g.oh * g.ow;
        let mut want_y: Vec<f64> = (0..gy.len()).map(|i| bias[(i / plane) % o]).collect();
        let (mut want_gx, mut want_gw) = (vec![0.5; x.len()], vec![0.25; w.len()]);
        for_each_tap(n, o, &g, |out, xi, wi| {
            want_y[out] += x[xi] * w[wi];
            want_gx[xi] += gy[out] * w[wi];
            want_gw[wi] += gy[out] * x[xi];
        });
        let y = forward(&x, &w, Some(&bias), n, o, &g);
        close(&y, &want_y, 1e-10, &format!("{what} y"));
        let mut gx = vec![0.5; x.len()];
        add_input_grad(&gy, &w, n, o, &g, &mut gx);
        close(&gx, &want_gx, 1e-10, &format!("{what} gx"));
        let mut gw = vec![0.25; w.len()];
        add_weight_grad(&x, &gy, n, o, &g, &mut gw);
        close(&gw, &want_gw, 1e-9, &format!("{what} gw"));
    }
}
