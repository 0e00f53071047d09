//! f64 on the GPU (adapters with `SHADER_F64`, lavapipe among them): every kernel that has an
//! f64 build against the CPU's f64 path, forward and backward, to near f64 precision, and the
//! f64 kernels' software `exp`/`log`/`tanh`/`sin`/`cos`/`pow`/`erfc` at hard arguments.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{F64_TOL, close64, gpu64, randn64};
use shaped::gpu::prelude::*;
use shaped::prelude::*;

#[test]
fn f64_round_trips_exactly() {
    let Some(g) = gpu64() else { return };
    let x = Tensor::<Rank1<6>, f64>::from_array([
        1.0 / 3.0,
        -2.5e-300,
        1.7976931348623157e308,
        f64::INFINITY,
        -0.0,
        core::f64::consts::PI,
    ]);
    let back = x.to_device(&g).unwrap().to_cpu().unwrap();
    assert_eq!(back.to_vec(), x.to_vec());
}

/// `f(a, b)` on both devices in f64, then the gradients of `sum(f(a, b) * r)`.
macro_rules! binary_vs_cpu64 {
    ($name:ident, $A:ty, $B:ty, $Y:ty, |$a:ident, $b:ident| $body:expr) => {
        #[test]
        fn $name() {
            let Some(g) = gpu64() else { return };
            let a = randn64::<$A>(1);
            let b = randn64::<$B>(2).abs() + 0.5;
            let r = randn64::<$Y>(3);
            let cy = {
                let ($a, $b) = (a.clone().trace(), b.clone().trace());
                $body
            };
            let (ga, gb) = (a.to_device(&g).unwrap(), b.to_device(&g).unwrap());
            let gy = {
                let ($a, $b) = (ga.clone().trace(), gb.clone().trace());
                $body
            };
            close64(
                "forward",
                &gy.to_cpu().unwrap().to_vec(),
                cy.as_slice(),
                F64_TOL,
            );
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
            let grad_a = gg.get_gpu(&ga).unwrap().to_cpu().unwrap();
            close64(
                "grad a",
                grad_a.as_slice(),
                cg.get_slice(&a).unwrap(),
                F64_TOL,
            );
            let grad_b = gg.get_gpu(&gb).unwrap().to_cpu().unwrap();
            close64(
                "grad b",
                grad_b.as_slice(),
                cg.get_slice(&b).unwrap(),
                F64_TOL,
            );
        }
    };
}

binary_vs_cpu64!(add_broadcast, Rank3<2, 3, 4>, Rank2<3, 1>, Rank3<2, 3, 4>, |a, b| a + b);
binary_vs_cpu64!(sub_rows, Rank2<5, 7>, Rank1<7>, Rank2<5, 7>, |a, b| a - b);
binary_vs_cpu64!(mul_column, Rank2<9, 30>, Rank2<9, 1>, Rank2<9, 30>, |a, b| a * b);
binary_vs_cpu64!(div_both, Rank2<1, 6>, Rank2<7, 1>, Rank2<7, 6>, |a, b| a / b);
binary_vs_cpu64!(matmul_tiles, Rank2<37, 53>, Rank2<53, 29>, Rank2<37, 29>, |a, b| a.matmul(b));
binary_vs_cpu64!(matmul_batched, Rank3<3, 17, 19>, Rank3<3, 19, 21>, Rank3<3, 17, 21>, |a, b| a.matmul(b));

/// A unary op in f64 on both devices over 1000 elements, value and gradient.
macro_rules! unary_vs_cpu64 {
    ($name:ident, |$x:ident| $body:expr, $pos:expr) => {
        #[test]
        fn $name() {
            let Some(g) = gpu64() else { return };
            let mut x = randn64::<Rank2<10, 100>>(4) * 3.0;
            if $pos {
                x = x.abs() + 1e-3;
            }
            let r = randn64::<Rank2<10, 100>>(5);
            let cy = {
                let $x = x.clone().trace();
                $body
            };
            let gx = x.to_device(&g).unwrap();
            let gy = {
                let $x = gx.clone().trace();
                $body
            };
            close64(
                "forward",
                &gy.to_cpu().unwrap().to_vec(),
                cy.as_slice(),
                F64_TOL,
            );
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
            let grad = gg.get_gpu(&gx).unwrap().to_cpu().unwrap();
            close64("grad", grad.as_slice(), cg.get_slice(&x).unwrap(), F64_TOL);
        }
    };
}

unary_vs_cpu64!(relu64, |x| x.relu(), false);
unary_vs_cpu64!(sigmoid64, |x| x.sigmoid(), false);
unary_vs_cpu64!(tanh64, |x| x.tanh(), false);
unary_vs_cpu64!(exp64, |x| x.exp(), false);
unary_vs_cpu64!(ln64, |x| x.ln(), true);
unary_vs_cpu64!(square64, |x| x.square(), false);
unary_vs_cpu64!(scale_shift64, |x| -(x * 0.1 + 1.0 / 3.0), false);
unary_vs_cpu64!(log_softmax64, |x| x.log_softmax::<1>(), false);

#[test]
fn sum_and_mean64() {
    let Some(g) = gpu64() else { return };
    let x = randn64::<Rank2<33, 65>>(6);
    let gx = x.to_device(&g).unwrap();
    let s = gx.clone().sum().to_cpu().unwrap().to_vec()[0];
    close64("sum", &[s], &[x.clone().sum().to_vec()[0]], F64_TOL);
    let m = gx.clone().trace().mean();
    close64(
        "mean",
        &m.to_cpu().unwrap().to_vec(),
        &x.clone().mean().to_vec(),
        F64_TOL,
    );
    let grads = m.backward();
    let gm = grads.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec();
    assert!(gm.iter().all(|v| *v == 1.0 / (33.0 * 65.0)));
}

/// The f64 software functions at arguments where a naive version loses digits or overflows:
/// every value against Rust's `f64` within 4 ulp-ish (2e-15 relative), infinities and NaN equal.
#[test]
fn software_math_at_hard_arguments() {
    let Some(g) = gpu64() else { return };
    let xs: Vec<f64> = vec![
        0.0,
        -0.0,
        1e-300,
        1e-20,
        1e-8,
        0.34657,
        0.5,
        1.0,
        2.0,
        19.9,
        22.5,
        88.7,
        300.0,
        700.0,
        709.7,
        709.8,
        745.2,
        1e6,
        -1e-20,
        -0.5,
        -2.0,
        -30.0,
        -700.0,
        -745.0,
        -746.0,
        -1e6,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1.0 / 3.0,
        12345.678,
    ];
    let t = Tensor::<(usize,), f64>::from_vec_with_shape(xs.clone(), (xs.len(),)).unwrap();
    let gt = t.to_device(&g).unwrap();
    // Every mismatch is collected (with its relative error) before the test fails, so that one
    // run on a new driver shows the whole pattern, not the first value.
    let mut failures = Vec::new();
    let mut check = |what: &str, args: &[f64], got: Vec<f64>, want: &dyn Fn(f64) -> f64| {
        for (x, y) in args.iter().zip(&got) {
            let w = want(*x);
            let ok =
                (w.is_nan() && y.is_nan()) || w == *y || (w - y).abs() <= 2e-15 * w.abs() + 1e-300;
            if !ok {
                let rel = (w - y).abs() / w.abs();
                failures.push(format!(
                    "{what}({x:e}): GPU {y:e} vs {w:e} (relative {rel:.1e})"
                ));
            }
        }
    };
    check(
        "exp",
        &xs,
        gt.clone().exp().to_cpu().unwrap().to_vec(),
        &f64::exp,
    );
    check(
        "tanh",
        &xs,
        gt.clone().tanh().to_cpu().unwrap().to_vec(),
        &f64::tanh,
    );
    check(
        "sigmoid",
        &xs,
        gt.clone().sigmoid().to_cpu().unwrap().to_vec(),
        &|x| 1.0 / (1.0 + (-x).exp()),
    );
    let pos: Vec<f64> = xs.iter().map(|x| x.abs()).collect();
    let tp = Tensor::<(usize,), f64>::from_vec_with_shape(pos.clone(), (pos.len(),)).unwrap();
    let ln = tp.to_device(&g).unwrap().ln().to_cpu().unwrap().to_vec();
    check("ln", &pos, ln, &f64::ln);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// exp, ln and tanh in f64 over their whole ranges (2001 points each) against Rust's `f64`,
/// at the same 2e-15 relative tolerance; every value outside it is listed, with the worst.
#[test]
fn software_math_over_its_ranges() {
    let Some(g) = gpu64() else { return };
    let n = 2001;
    let spread = |lo: f64, hi: f64| -> Vec<f64> {
        (0..n)
            .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
            .collect()
    };
    type Column = GpuTensor<(usize,), NoTape, f64>;
    let on_gpu = |xs: &[f64], f: &dyn Fn(Column) -> Column| {
        let t = Tensor::<(usize,), f64>::from_vec_with_shape(xs.to_vec(), (xs.len(),)).unwrap();
        f(t.to_device(&g).unwrap()).to_cpu().unwrap().to_vec()
    };
    let mut failures = Vec::new();
    let mut worst = 0.0f64;
    let mut check = |what: &str, xs: &[f64], got: Vec<f64>, want: fn(f64) -> f64| {
        // The largest error in units of the last place of Rust's value, printed for the
        // record (a driver's figure shows with --nocapture).
        let mut worst_ulps = 0.0f64;
        for (x, y) in xs.iter().zip(&got) {
            let w = want(*x);
            let rel = if w == *y {
                0.0
            } else {
                (w - y).abs() / w.abs()
            };
            worst = worst.max(rel);
            let ulp = (f64::from_bits(w.abs().to_bits() + 1) - w.abs())
                .max(f64::MIN_POSITIVE * f64::EPSILON);
            worst_ulps = worst_ulps.max(if w == *y { 0.0 } else { (w - y).abs() / ulp });
            if rel > 2e-15 {
                failures.push(format!(
                    "{what}({x:e}): GPU {y:e} vs {w:e} (relative {rel:.1e})"
                ));
            }
        }
        eprintln!("{what}: worst {worst_ulps:.1} ulp over {} values", xs.len());
    };
    let xs = spread(-745.0, 709.7);
    check("exp", &xs, on_gpu(&xs, &|t| t.exp()), f64::exp);
    let xs: Vec<f64> = spread(-690.0, 690.0).into_iter().map(f64::exp).collect();
    check("ln", &xs, on_gpu(&xs, &|t| t.ln()), f64::ln);
    let xs = spread(-25.0, 25.0);
    check("tanh", &xs, on_gpu(&xs, &|t| t.tanh()), f64::tanh);
    let shown: Vec<&String> = failures.iter().take(30).collect();
    assert!(
        failures.is_empty(),
        "{} values outside 2e-15 (worst relative error {worst:.1e}):\n{}",
        failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Every kernel compiles for f32 and f64 (kernels compile on first use, so one that no test
/// runs in f64 would otherwise fail first in a user's program), and the list checked is the
/// whole set of `kernel!` declarations in the sources.
#[test]
fn every_kernel_compiles_for_both_element_types() {
    let sources = [
        include_str!("../src/device/wgpu/kernels.rs"),
        include_str!("../src/device/wgpu/compare_kernels.rs"),
        include_str!("../src/device/wgpu/layer_kernels.rs"),
        include_str!("../src/device/wgpu/loss_kernels.rs"),
        include_str!("../src/device/wgpu/optim_kernels.rs"),
        include_str!("../src/device/wgpu/rnn_kernels.rs"),
        include_str!("../src/device/wgpu/seq_kernels.rs"),
        include_str!("../src/device/wgpu/sort_kernels.rs"),
        include_str!("../src/device/wgpu/vol_kernels.rs"),
    ];
    let declared: usize = sources
        .iter()
        .map(|s| s.lines().filter(|l| l.starts_with("kernel!(")).count())
        .sum();
    assert_eq!(
        shaped::gpu::Wgpu::kernel_count(),
        declared,
        "registry.rs misses a kernel"
    );
    let Some(g) = gpu64() else { return };
    let errors = g.kernel_compile_errors();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
