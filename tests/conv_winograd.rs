//! 3x3 convolutions at unit stride with 32 or more channels on planes of 14 or more go
//! through Winograd's F(2x2, 3x3) (`backend::winograd`; their weight gradients too, and
//! their input gradients at paddings up to 2): forward values, input, weight and
//! bias gradients against the direct sums in f64, for `f32` within the golden suite's
//! tolerances (forward 1e-5 + 1e-4 relative, gradients 1e-4 + 1e-3) and for `f64` within
//! 1e-10, over paddings 0-3 (3: the input gradient goes the direct way), planes that do
//! and do not fill the last tile, and batches whose tiles share a band.

use rand::SeedableRng;
use shaped::dtype::Float;
use shaped::nn::{Conv2d, Module};
use shaped::prelude::*;

/// `y`, `gx`, `gw`, `gb` of `sum(conv(x) * gy)` by the direct sums in f64.
#[allow(clippy::type_complexity)]
fn direct(
    x: &[f64],
    w: &[f64],
    b: &[f64],
    gy: &[f64],
    (n, c, h, wd): (usize, usize, usize, usize),
    o: usize,
    p: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
    let (oh, ow) = (h + 2 * p - 2, wd + 2 * p - 2);
    let mut y = vec![0.0; n * o * oh * ow];
    let (mut gx, mut gw, mut gb) = (vec![0.0; x.len()], vec![0.0; w.len()], vec![0.0; o]);
    for s in 0..n {
        for oc in 0..o {
            for yy in 0..oh {
                for xx in 0..ow {
                    let out = ((s * o + oc) * oh + yy) * ow + xx;
                    let mut acc = b[oc];
                    gb[oc] += gy[out];
                    for ic in 0..c {
                        for r in 0..3 {
                            for q in 0..3 {
                                let (iy, ix) = (yy + r, xx + q);
                                if iy < p || ix < p || iy - p >= h || ix - p >= wd {
                                    continue;
                                }
                                let xi = ((s * c + ic) * h + iy - p) * wd + ix - p;
                                let wi = ((oc * c + ic) * 3 + r) * 3 + q;
                                acc += x[xi] * w[wi];
                                gx[xi] += gy[out] * w[wi];
                                gw[wi] += gy[out] * x[xi];
                            }
                        }
                    }
                    y[out] = acc;
                }
            }
        }
    }
    (y, gx, gw, gb)
}

fn close(got: &[f64], want: &[f64], atol: f64, rtol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / (atol + rtol * w.abs()))
        .fold(0.0, f64::max);
    println!("{what}: worst error {worst:.3} of the tolerance");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

fn check<
    const C: usize,
    const O: usize,
    const P: usize,
    const N: usize,
    const H: usize,
    const W: usize,
    E: Float,
>(
    forward_tol: (f64, f64),
    grad_tol: (f64, f64),
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(C as u64 * 31 + P as u64);
    let conv = Conv2d::<C, O, 3, 1, P, 1, E>::new(&mut rng);
    let x = Tensor::<Rank4<N, C, H, W>, E>::randn(&mut rng);
    let xt = x.clone().trace();
    let y = conv.forward(xt.clone());
    let gy = Tensor::randn_with_shape(*y.shape(), &mut rng);
    let f64s = |v: &[E]| v.iter().map(|v| v.to_f64()).collect::<Vec<_>>();
    let Some(b) = conv.bias.as_ref() else {
        panic!("a bias")
    };
    let (wy, wgx, wgw, wgb) = direct(
        &f64s(x.as_slice()),
        &f64s(conv.weight.as_slice()),
        &f64s(b.as_slice()),
        &f64s(gy.as_slice()),
        (N, C, H, W),
        O,
        P,
    );
    let what = format!("c{C} o{O} p{P} n{N} {H}x{W}");
    close(
        &f64s(y.as_slice()),
        &wy,
        forward_tol.0,
        forward_tol.1,
        &format!("{what} y"),
    );
    let grads = (y * gy).sum().backward();
    let (Some(gx), Some(gw), Some(gb)) = (grads.get(&xt), grads.get(&conv.weight), grads.get(b))
    else {
        panic!("{what}: missing gradients")
    };
    close(
        &f64s(gx.as_slice()),
        &wgx,
        grad_tol.0,
        grad_tol.1,
        &format!("{what} gx"),
    );
    close(
        &f64s(gw.as_slice()),
        &wgw,
        grad_tol.0,
        grad_tol.1,
        &format!("{what} gw"),
    );
    close(
        &f64s(gb.as_slice()),
        &wgb,
        grad_tol.0,
        grad_tol.1,
        &format!("{what} gb"),
    );
    // Untraced, the same values.
    let untraced = conv.forward(x);
    close(
        &f64s(untraced.as_slice()),
        &wy,
        forward_tol.0,
        forward_tol.1,
        &format!("{what} y untraced"),
    );
}

const F32_FORWARD: (f64, f64) = (1e-5, 1e-4);
const F32_GRAD: (f64, f64) = (1e-4, 1e-3);
const F64_TOL: (f64, f64) = (1e-10, 1e-10);

#[test]
fn f32_matches_the_direct_sums() {
    check::<32, 32, 1, 2, 14, 14, f32>(F32_FORWARD, F32_GRAD);
    check::<32, 40, 1, 3, 15, 17, f32>(F32_FORWARD, F32_GRAD);
    check::<32, 32, 0, 2, 16, 19, f32>(F32_FORWARD, F32_GRAD);
    check::<40, 32, 2, 1, 13, 17, f32>(F32_FORWARD, F32_GRAD);
    check::<32, 32, 3, 2, 11, 12, f32>(F32_FORWARD, F32_GRAD);
    check::<64, 64, 1, 2, 28, 28, f32>(F32_FORWARD, F32_GRAD);
    check::<128, 160, 1, 1, 14, 14, f32>(F32_FORWARD, F32_GRAD);
    // Below the thresholds (the direct way): the same values.
    check::<16, 16, 1, 2, 12, 12, f32>(F32_FORWARD, F32_GRAD);
}

#[test]
fn f64_matches_the_direct_sums() {
    check::<32, 32, 1, 2, 14, 14, f64>(F64_TOL, F64_TOL);
    check::<40, 32, 2, 1, 13, 17, f64>(F64_TOL, F64_TOL);
    check::<32, 48, 0, 3, 17, 16, f64>(F64_TOL, F64_TOL);
}
