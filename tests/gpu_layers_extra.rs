//! MaxPool1d / AvgPool1d, AdaptiveMaxPool1d/2d, ConvTranspose1d, the distances (`normalize`, `cosine_similarity`,
//! `pairwise_distance` and their layers), PixelShuffle / PixelUnshuffle and Unflatten on the
//! GPU: against the PyTorch golden files of the CPU tests (tests/golden_extra/layer_*pool1d*,
//! layer_adaptive_maxpool*, layer_conv_transpose1d*,
//! dist_*, layer_pixel_*, layer_unflatten*) with the CPU tolerances, and against the CPU on
//! other shapes and settings, forward and backward, f32 and f64; run-time sizes that do not
//! fit are errors.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{F64_TOL, FWD, GRAD, close, close64, down, gpu, gpu64, randn, up};
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuTensor, try_cosine_similarity, try_normalize, try_pairwise_distance};
use shaped::nn::{
    AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, ConvTranspose1d, CosineSimilarity, MaxPool1d,
    MaxPool2d, Module, PairwiseDistance, PixelShuffle, PixelUnshuffle, Unflatten, UnflattenDyn,
};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

/// Deterministic weights for `sum(y * r)`, of `y`'s shape.
fn weights<S: Shape, E: Float>(shape: S) -> Tensor<S, E> {
    let n = shape.numel();
    let r = (0..n)
        .map(|i| E::from_f64(((i * 7 % 11) as f64 - 5.0) / 3.0))
        .collect();
    Tensor::from_vec_with_shape(r, shape).unwrap()
}

/// A golden case of a one-input op on the GPU: `y`, and the gradient of `sum(y * gy)` for
/// `x`; `x` is loaded as `$sx`.
macro_rules! check_golden {
    ($g:expr, $dev:expr, $sx:ty, |$x:ident| $forward:expr $(, $name:literal => $param:expr)*) => {{
        let (g, dev) = (&$g, &$dev);
        let x = up(dev, &Tensor::<$sx>::from_vec(g.f("x")).unwrap());
        let y = {
            let $x = x.clone().trace();
            $forward
        };
        let yc = y.to_cpu().unwrap();
        assert_eq!(g.shape("y"), yc.dims().as_slice(), "{}: shape of y", g.case);
        g.check_forward("y", yc.as_slice());
        let gy = Tensor::from_vec_with_shape(g.f("gy"), *yc.shape()).unwrap();
        let grads = (y * up(dev, &gy)).sum().backward();
        g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
        $(g.check_grad($name, &down(&grads.get_gpu($param).unwrap()));)*
    }};
}

/// The same op on the CPU and on the GPU (`$body` with `$v` the traced input), forward and
/// the gradient of `sum(y * r)`, f32 (`close`, `FWD`/`GRAD`) or f64 (`close64`, `F64_TOL`).
macro_rules! vs_cpu {
    ($what:literal, $dev:expr, $x:expr, |$v:ident| $body:expr) => {
        vs_cpu!(@run close, FWD, GRAD, $what, $dev, $x, |$v| $body)
    };
    (f64 $what:literal, $dev:expr, $x:expr, |$v:ident| $body:expr) => {
        vs_cpu!(@run close64, F64_TOL, F64_TOL, $what, $dev, $x, |$v| $body)
    };
    (@run $close:ident, $fwd:expr, $grad:expr, $what:literal, $dev:expr, $x:expr, |$v:ident| $body:expr) => {{
        let x = $x;
        let cy = {
            let $v = x.clone().trace();
            $body
        };
        let gx = x.to_device(&$dev).unwrap();
        let gy = {
            let $v = gx.clone().trace();
            $body
        };
        let gyc = gy.to_cpu().unwrap();
        assert_eq!(gyc.dims(), cy.dims(), "{}: shape", $what);
        $close(
            concat!($what, " forward"),
            gyc.as_slice(),
            cy.as_slice(),
            $fwd,
        );
        let r = weights(*cy.shape());
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * r.to_device(&$dev).unwrap()).sum().backward();
        $close(
            concat!($what, " grad"),
            &gg.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec(),
            cg.get_slice(&x).unwrap(),
            $grad,
        );
    }};
}

/// [`vs_cpu!`] for ops of two inputs: `$body` with `$a`, `$b` the traced inputs; both
/// gradients compared.
macro_rules! vs_cpu2 {
    ($what:literal, $dev:expr, $x1:expr, $x2:expr, |$a:ident, $b:ident| $body:expr) => {
        vs_cpu2!(@run close, FWD, GRAD, $what, $dev, $x1, $x2, |$a, $b| $body)
    };
    (f64 $what:literal, $dev:expr, $x1:expr, $x2:expr, |$a:ident, $b:ident| $body:expr) => {
        vs_cpu2!(@run close64, F64_TOL, F64_TOL, $what, $dev, $x1, $x2, |$a, $b| $body)
    };
    (@run $close:ident, $fwd:expr, $grad:expr, $what:literal, $dev:expr, $x1:expr, $x2:expr, |$a:ident, $b:ident| $body:expr) => {{
        let (x1, x2) = ($x1, $x2);
        let cy = {
            let ($a, $b) = (x1.clone().trace(), x2.clone().trace());
            $body
        };
        let (g1, g2) = (x1.to_device(&$dev).unwrap(), x2.to_device(&$dev).unwrap());
        let gy = {
            let ($a, $b) = (g1.clone().trace(), g2.clone().trace());
            $body
        };
        let gyc = gy.to_cpu().unwrap();
        assert_eq!(gyc.dims(), cy.dims(), "{}: shape", $what);
        $close(
            concat!($what, " forward"),
            gyc.as_slice(),
            cy.as_slice(),
            $fwd,
        );
        let r = weights(*cy.shape());
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * r.to_device(&$dev).unwrap()).sum().backward();
        $close(
            concat!($what, " grad x1"),
            &gg.get_gpu(&g1).unwrap().to_cpu().unwrap().to_vec(),
            cg.get_slice(&x1).unwrap(),
            $grad,
        );
        $close(
            concat!($what, " grad x2"),
            &gg.get_gpu(&g2).unwrap().to_cpu().unwrap().to_vec(),
            cg.get_slice(&x2).unwrap(),
            $grad,
        );
    }};
}

/// `x`'s values under run-time sizes.
fn dynamic<S: ConstShape, S2: Shape>(x: Tensor<S>, shape: S2) -> Tensor<S2> {
    Tensor::from_vec_with_shape(x.to_vec(), shape).unwrap()
}

#[test]
fn golden_pool1d() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_maxpool1d");
    check_golden!(g, dev, Rank3<2, 3, 11>, |x| MaxPool1d::<3, 2, 1>.forward(x));
    let g = Golden::load("layer_maxpool1d_unbatched");
    check_golden!(g, dev, Rank2<4, 9>, |x| MaxPool1d::<2>.forward(x));
    let g = Golden::load("layer_avgpool1d");
    check_golden!(g, dev, Rank3<2, 3, 11>, |x| AvgPool1d::<3, 2, 1>.forward(x));
}

/// Windows, strides and paddings the golden cases do not cover, run-time lengths, NaN, and
/// a length shorter than the window as an error.
#[test]
fn pool1d_vs_cpu_and_short_input_is_an_error() {
    let Some(dev) = gpu() else { return };
    let x = randn::<Rank3<3, 4, 17>>(1);
    vs_cpu!("max 5/1/2", dev, x.clone(), |v| MaxPool1d::<5, 1, 2>
        .forward(v));
    vs_cpu!("max 4/3/2", dev, x.clone(), |v| MaxPool1d::<4, 3, 2>
        .forward(v));
    vs_cpu!("avg 2/1/1", dev, x.clone(), |v| AvgPool1d::<2, 1, 1>
        .forward(v));
    vs_cpu!("avg 5/2/2", dev, x.clone(), |v| AvgPool1d::<5, 2, 2>
        .forward(v));
    vs_cpu!("avg 4 unbatched", dev, randn::<Rank2<5, 12>>(2), |v| {
        AvgPool1d::<4>.forward(v)
    });
    let xd = dynamic(x, (3usize, 4usize, 17usize));
    vs_cpu!("max run-time", dev, xd.clone(), |v| MaxPool1d::<3, 2, 1>
        .forward(v));
    vs_cpu!("avg run-time", dev, xd, |v| AvgPool1d::<3, 2, 1>.forward(v));

    // A NaN wins its windows, as on the CPU (and in PyTorch).
    let nan = Tensor::<Rank2<1, 6>>::from_array([[1.0, f32::NAN, 0.5, 2.0, -1.0, 3.0]]);
    let y = MaxPool1d::<2, 1, 0>
        .forward(up(&dev, &nan))
        .to_cpu()
        .unwrap();
    let c = MaxPool1d::<2, 1, 0>.forward(nan).to_vec();
    let y = y.to_vec();
    assert!(
        y[0].is_nan() && y[1].is_nan() && c[0].is_nan() && c[1].is_nan(),
        "{y:?} {c:?}"
    );
    assert_eq!(&y[2..], &c[2..]);
    // The kernel is MaxPool2d's: a NaN after a number wins there too.
    let nan2 = Tensor::<Rank4<1, 1, 2, 2>>::from_array([[[[1.0, f32::NAN], [0.0, 0.0]]]]);
    let y = MaxPool2d::<2>.forward(up(&dev, &nan2)).to_cpu().unwrap();
    assert!(y.to_vec()[0].is_nan());

    let short = Tensor::from_vec_with_shape(vec![1.0f32; 4], (2usize, 2usize)).unwrap();
    let err = MaxPool1d::<3>
        .try_forward(short.clone().to_device(&dev).unwrap())
        .unwrap_err()
        .to_string();
    let cpu_err = MaxPool1d::<3>
        .try_forward(short.clone())
        .unwrap_err()
        .to_string();
    assert_eq!(err, cpu_err);
    assert!(err.contains('2') && err.contains('3'), "{err}");
    assert!(
        AvgPool1d::<3>
            .try_forward(short.to_device(&dev).unwrap())
            .is_err()
    );
}

#[test]
fn golden_adaptive_max_pool() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_adaptive_maxpool1d");
    check_golden!(g, dev, Rank3<2, 3, 10>, |x| AdaptiveMaxPool1d::<4>.forward(x));
    let g = Golden::load("layer_adaptive_maxpool1d_overlap");
    check_golden!(g, dev, Rank2<3, 7>, |x| AdaptiveMaxPool1d::<3>.forward(x));
    let g = Golden::load("layer_adaptive_maxpool1d_grow");
    check_golden!(g, dev, Rank3<1, 2, 3>, |x| AdaptiveMaxPool1d::<5>.forward(x));
    let g = Golden::load("layer_adaptive_maxpool2d");
    check_golden!(g, dev, Rank4<2, 3, 7, 9>, |x| AdaptiveMaxPool2d::<3, 4>.forward(x));
    let g = Golden::load("layer_adaptive_maxpool2d_unbatched");
    check_golden!(g, dev, Rank3<3, 5, 6>, |x| AdaptiveMaxPool2d::<2>.forward(x));
}

/// Shrinking, growing and global windows, run-time sizes, ties and NaN as on the CPU; an
/// empty input is an error.
#[test]
fn adaptive_max_pool_vs_cpu_and_empty_is_an_error() {
    let Some(dev) = gpu() else { return };
    let x = randn::<Rank4<2, 3, 11, 6>>(12);
    vs_cpu!("adaptive 2d 4x4", dev, x.clone(), |v| {
        AdaptiveMaxPool2d::<4>.forward(v)
    });
    vs_cpu!("adaptive 2d 3x9", dev, x.clone(), |v| AdaptiveMaxPool2d::<
        3,
        9,
    >
        .forward(v));
    vs_cpu!("adaptive 2d global", dev, x.clone(), |v| {
        AdaptiveMaxPool2d::<1>.forward(v)
    });
    let xd = dynamic(x, (2usize, 3usize, 11usize, 6usize));
    vs_cpu!("adaptive 2d run-time", dev, xd, |v| {
        AdaptiveMaxPool2d::<5, 2>.forward(v)
    });
    let l = randn::<Rank3<2, 3, 13>>(13);
    vs_cpu!("adaptive 1d 5", dev, l.clone(), |v| AdaptiveMaxPool1d::<5>
        .forward(v));
    vs_cpu!("adaptive 1d 20", dev, l, |v| AdaptiveMaxPool1d::<20>
        .forward(v));
    // Ties go to the first maximum, a NaN wins, as on the CPU.
    let t = Tensor::<Rank2<2, 4>>::from_array([[2.0, 2.0, 1.0, 2.0], [1.0, f32::NAN, 3.0, 0.0]]);
    let gt = up(&dev, &t);
    let y = AdaptiveMaxPool1d::<2>.forward(gt.clone().trace());
    let c = AdaptiveMaxPool1d::<2>.forward(t.clone().trace());
    let yv = down(&y);
    assert_eq!((yv[0], yv[1], yv[3]), (2.0, 2.0, 3.0));
    assert!(yv[2].is_nan());
    let (gg, cg) = (y.sum().backward(), c.sum().backward());
    assert_eq!(down(&gg.get_gpu(&gt).unwrap()), cg.get_slice(&t).unwrap());
    let empty = Tensor::<(usize, usize)>::zeros_with_shape((3, 0));
    let err = AdaptiveMaxPool1d::<2>
        .try_forward(empty.clone().to_device(&dev).unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        AdaptiveMaxPool1d::<2>
            .try_forward(empty)
            .unwrap_err()
            .to_string()
    );
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn golden_conv_transpose1d() {
    let Some(dev) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(0);
    let g = Golden::load("layer_conv_transpose1d");
    let mut cpu = ConvTranspose1d::<4, 3, 3, 2, 1, 1>::new(&mut rng);
    cpu.weight = Tensor::from_vec(g.f("weight")).unwrap();
    cpu.bias = Some(Tensor::from_vec(g.f("bias")).unwrap());
    let layer = cpu.to_device(&dev).unwrap();
    let bias = layer.bias.as_ref().unwrap();
    check_golden!(g, dev, Rank3<2, 4, 5>, |x| layer.forward(x), "weight" => &layer.weight, "bias" => bias);
    assert_eq!(layer.clone().gpu_param_names(), ["weight", "bias"]);

    let g = Golden::load("layer_conv_transpose1d_dilated_unbatched");
    let mut cpu = ConvTranspose1d::<2, 3, 2, 1, 0, 0, 2>::new(&mut rng);
    cpu.weight = Tensor::from_vec(g.f("weight")).unwrap();
    cpu.bias = Some(Tensor::from_vec(g.f("bias")).unwrap());
    let layer = cpu.to_device(&dev).unwrap();
    let bias = layer.bias.as_ref().unwrap();
    check_golden!(g, dev, Rank2<2, 6>, |x| layer.forward(x), "weight" => &layer.weight, "bias" => bias);
    assert_eq!(layer.to_cpu().unwrap().weight.to_vec(), g.f("weight"));
}

/// Strides, paddings, output paddings and dilations the golden cases do not cover, without
/// bias, run-time sizes; the weight's gradient too; wrong channels are an error.
#[test]
fn conv_transpose1d_vs_cpu_and_wrong_channels_is_an_error() {
    let Some(dev) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(1);
    let x = randn::<Rank3<2, 3, 7>>(14);
    macro_rules! case {
        ($what:literal, $cpu:expr, $x:expr) => {{
            let cpu = $cpu;
            let layer = cpu.to_device(&dev).unwrap();
            let x = $x;
            let cy = cpu.forward(x.clone().trace());
            let gx = x.to_device(&dev).unwrap();
            let gy = layer.forward(gx.clone().trace());
            let gyc = gy.to_cpu().unwrap();
            assert_eq!(gyc.dims(), cy.dims(), "{}", $what);
            close(
                concat!($what, " forward"),
                gyc.as_slice(),
                cy.as_slice(),
                FWD,
            );
            let r = weights(*cy.shape());
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * r.to_device(&dev).unwrap()).sum().backward();
            close(
                concat!($what, " grad x"),
                &down(&gg.get_gpu(&gx).unwrap()),
                cg.get_slice(&x).unwrap(),
                GRAD,
            );
            close(
                concat!($what, " grad weight"),
                &down(&gg.get_gpu(&layer.weight).unwrap()),
                cg.get_slice(&cpu.weight).unwrap(),
                GRAD,
            );
        }};
    }
    case!("k3", ConvTranspose1d::<3, 5, 3>::new(&mut rng), x.clone());
    case!(
        "s3 p2 op1",
        ConvTranspose1d::<3, 2, 4, 3, 2, 1>::new(&mut rng),
        x.clone()
    );
    case!(
        "d3 p1",
        ConvTranspose1d::<3, 4, 3, 1, 1, 0, 3>::new(&mut rng),
        x.clone()
    );
    case!(
        "s2 d2 op1 no bias",
        ConvTranspose1d::<3, 4, 2, 2, 0, 1, 2>::new_no_bias(&mut rng),
        x.clone()
    );
    case!(
        "run-time",
        ConvTranspose1d::<3, 2, 3, 2, 1, 1>::new(&mut rng),
        dynamic(x, (2usize, 3usize, 7usize))
    );
    let layer = ConvTranspose1d::<4, 2, 3>::new(&mut rng)
        .to_device(&dev)
        .unwrap();
    let wrong = Tensor::<(usize, usize, usize)>::zeros_with_shape((2, 3, 5));
    let err = layer
        .try_forward(wrong.to_device(&dev).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("3 channels") && err.contains("takes 4"),
        "{err}"
    );
}

#[test]
fn golden_normalize() {
    let Some(dev) = gpu() else { return };
    for (case, p) in [("dist_normalize", 2.0), ("dist_normalize_p1", 1.0)] {
        let g = Golden::load(case);
        assert_eq!((g.hp("p"), g.hp("eps")), (p, 1e-12));
        let (rows, d) = (g.shape("x")[0], g.shape("x")[1]);
        let x = Tensor::from_vec_with_shape(g.f("x"), (rows, d)).unwrap();
        let gx = x.to_device(&dev).unwrap();
        let gy = Tensor::from_vec_with_shape(g.f("gy"), (rows, d)).unwrap();
        let gy = gy.to_device(&dev).unwrap();
        let y = shaped::gpu::normalize(gx.clone().trace(), p, 1e-12);
        g.check_forward("y", &down(&y));
        let grads = (y * gy.clone()).sum().backward();
        g.check_grad("x", &down(&grads.get_gpu(&gx).unwrap()));
        // The method along axis 1 is the same op.
        let y = gx.clone().trace().normalize::<1>(p, 1e-12);
        g.check_forward("y", &down(&y));
        let grads = (y * gy).sum().backward();
        g.check_grad("x", &down(&grads.get_gpu(&gx).unwrap()));
    }
}

#[test]
fn golden_cosine_similarity() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("dist_cosine_similarity");
    assert_eq!(g.hp("eps"), 1e-8);
    let x1 = up(&dev, &Tensor::<Rank2<6, 8>>::from_vec(g.f("x1")).unwrap());
    let x2 = up(&dev, &Tensor::<Rank2<6, 8>>::from_vec(g.f("x2")).unwrap());
    let gy = up(&dev, &Tensor::<Rank1<6>>::from_vec(g.f("gy")).unwrap());
    let y = shaped::gpu::cosine_similarity(x1.clone().trace(), x2.clone().trace(), 1e-8);
    g.check_forward("y", &down(&y));
    let grads = (y * gy.clone()).sum().backward();
    g.check_grad("x1", &down(&grads.get_gpu(&x1).unwrap()));
    g.check_grad("x2", &down(&grads.get_gpu(&x2).unwrap()));
    // The layer (PyTorch's default dim = 1), and x2 untraced: x1's gradient alone.
    let y = CosineSimilarity::new().forward((x1.clone().trace(), x2.clone()));
    g.check_forward("y", &down(&y));
    let grads = (y * gy).sum().backward();
    g.check_grad("x1", &down(&grads.get_gpu(&x1).unwrap()));
    assert!(grads.get_gpu(&x2).is_none());
}

#[test]
fn golden_pairwise_distance() {
    let Some(dev) = gpu() else { return };
    for (case, p, keepdim) in [
        ("dist_pairwise_p2", 2.0, false),
        ("dist_pairwise_p1", 1.0, false),
        ("dist_pairwise_p3", 3.0, false),
        ("dist_pairwise_keepdim", 2.0, true),
    ] {
        let g = Golden::load(case);
        assert_eq!((g.hp("p"), g.hp("eps")), (p, 1e-6));
        let x1 = up(&dev, &Tensor::<Rank2<5, 7>>::from_vec(g.f("x1")).unwrap());
        let x2 = up(&dev, &Tensor::<Rank2<5, 7>>::from_vec(g.f("x2")).unwrap());
        let gy = up(&dev, &Tensor::<Rank1<5>>::from_vec(g.f("gy")).unwrap());
        let (a, b) = (x1.clone().trace(), x2.clone().trace());
        let y = if keepdim {
            let y: GpuTensor<Rank2<5, 1>, _> =
                PairwiseDistance::new().p(p).keepdim().forward((a, b));
            y.reshape::<Rank1<5>>()
        } else {
            shaped::gpu::pairwise_distance(a, b, p, 1e-6)
        };
        g.check_forward("y", &down(&y));
        let grads = (y * gy).sum().backward();
        g.check_grad("x1", &down(&grads.get_gpu(&x1).unwrap()));
        g.check_grad("x2", &down(&grads.get_gpu(&x2).unwrap()));
    }
}

/// Settings the golden cases do not cover: p = infinity and 0.5, broadcasting, another
/// axis, zero and tiny rows (the eps rules), run-time sizes.
#[test]
fn distances_vs_cpu() {
    let Some(dev) = gpu() else { return };
    let x1 = randn::<Rank3<2, 5, 6>>(3);
    let x2 = randn::<Rank3<2, 5, 6>>(4);
    for p in [1.0, 2.0, 3.0, 0.5, f64::INFINITY] {
        vs_cpu2!("pairwise", dev, x1.clone(), x2.clone(), |a, b| {
            PairwiseDistance::new().p(p).forward((a, b))
        });
        vs_cpu!("normalize last", dev, x1.clone(), |v| v
            .normalize::<2>(p, 1e-12));
    }
    vs_cpu!("normalize axis 1", dev, x1.clone(), |v| v
        .normalize::<1>(2.0, 1e-12));
    vs_cpu2!("cosine", dev, x1.clone(), x2.clone(), |a, b| {
        CosineSimilarity::new().forward((a, b))
    });
    vs_cpu2!("cosine dim 0", dev, x1.clone(), x2.clone(), |a, b| {
        CosineSimilarity::new().dim::<0>().eps(1e-3).forward((a, b))
    });
    vs_cpu2!("pairwise keepdim", dev, x1.clone(), x2.clone(), |a, b| {
        PairwiseDistance::new()
            .p(1.5)
            .eps(0.1)
            .keepdim()
            .forward((a, b))
    });
    // Broadcasting: one row against many.
    let row = randn::<Rank3<1, 1, 6>>(5);
    vs_cpu2!("cosine broadcast", dev, x1.clone(), row.clone(), |a, b| {
        CosineSimilarity::<2>::default().forward((a, b))
    });
    vs_cpu2!("pairwise broadcast", dev, x1.clone(), row, |a, b| {
        PairwiseDistance::new().forward((a, b))
    });
    // Zero and tiny rows: normalize keeps 0 with the gradient gy / eps, cosine divides by
    // eps with the gradient through the clamp, the distance floor keeps gradients finite.
    let mut v = randn::<Rank2<4, 3>>(6).to_vec();
    v[..3].fill(0.0);
    v[3..6].copy_from_slice(&[1e-7, -2e-7, 1e-7]);
    let small = Tensor::<Rank2<4, 3>>::from_vec(v).unwrap();
    let other = randn::<Rank2<4, 3>>(7);
    vs_cpu!("normalize zero rows", dev, small.clone(), |v| v
        .normalize::<1>(2.0, 1e-6));
    vs_cpu2!(
        "cosine zero rows",
        dev,
        small.clone(),
        other.clone(),
        |a, b| CosineSimilarity::new().eps(1e-6).forward((a, b))
    );
    vs_cpu2!(
        "pairwise equal rows",
        dev,
        small.clone(),
        small.clone(),
        |a, b| PairwiseDistance::new().eps(0.0).forward((a, b))
    );
    // Run-time sizes.
    let (d1, d2) = (
        dynamic(x1, (2usize, 5usize, 6usize)),
        dynamic(x2, (2usize, 5usize, 6usize)),
    );
    vs_cpu2!("pairwise run-time", dev, d1.clone(), d2.clone(), |a, b| {
        PairwiseDistance::new().p(3.0).forward((a, b))
    });
    vs_cpu2!("cosine run-time", dev, d1, d2, |a, b| {
        CosineSimilarity::new().forward((a, b))
    });
}

/// Sizes that do not broadcast and `p <= 0` give the CPU's errors.
#[test]
fn distance_errors() {
    let Some(dev) = gpu() else { return };
    let a = Tensor::<(usize, usize)>::ones_with_shape((4, 3));
    let b = Tensor::<(usize, usize)>::ones_with_shape((4, 5));
    let (ga, gb) = (a.to_device(&dev).unwrap(), b.to_device(&dev).unwrap());
    let err = try_cosine_similarity(ga.clone(), gb.clone(), 1e-8)
        .unwrap_err()
        .to_string();
    let cpu = shaped::ops::distance::try_cosine_similarity(a.clone(), b.clone(), 1e-8)
        .unwrap_err()
        .to_string();
    assert_eq!(err, cpu);
    assert!(err.contains("cosine_similarity") && err.contains('3') && err.contains('5'));
    let err = try_pairwise_distance(ga.clone(), gb.clone(), 2.0, 1e-6)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pairwise_distance") && err.contains('3') && err.contains('5'));
    let err = PairwiseDistance::new()
        .keepdim()
        .try_forward((ga.clone(), gb.clone()))
        .unwrap_err();
    assert!(err.to_string().contains("pairwise_distance"), "{err}");
    let err = CosineSimilarity::new()
        .try_forward((ga.clone(), gb))
        .unwrap_err();
    assert!(err.to_string().contains("cosine_similarity"), "{err}");
    for p in [0.0, -2.0, f64::NAN] {
        let err = try_pairwise_distance(ga.clone(), ga.clone(), p, 1e-6).unwrap_err();
        assert!(err.to_string().contains("p > 0"), "{err}");
        assert!(try_normalize(ga.clone(), p, 1e-12).is_err());
        assert!(ga.clone().try_normalize::<0>(p, 1e-12).is_err());
    }
}

#[test]
fn golden_pixel_shuffle() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_pixel_shuffle");
    check_golden!(g, dev, Rank4<2, 8, 3, 4>, |x| PixelShuffle::<2>.forward(x));
    let g = Golden::load("layer_pixel_shuffle_unbatched");
    check_golden!(g, dev, Rank3<9, 2, 3>, |x| PixelShuffle::<3>.forward(x));
    let g = Golden::load("layer_pixel_unshuffle");
    check_golden!(g, dev, Rank4<2, 3, 4, 6>, |x| PixelUnshuffle::<2>.forward(x));
}

#[test]
fn pixel_shuffle_vs_cpu_and_errors() {
    let Some(dev) = gpu() else { return };
    let x = randn::<Rank4<2, 12, 3, 5>>(8);
    vs_cpu!("shuffle 2", dev, x.clone(), |v| v.pixel_shuffle::<2>());
    vs_cpu!("unshuffle 3", dev, randn::<Rank3<2, 6, 9>>(9), |v| {
        v.pixel_unshuffle::<3>()
    });
    let xd = dynamic(x, (2usize, 12usize, 3usize, 5usize));
    vs_cpu!("shuffle run-time", dev, xd.clone(), |v| PixelShuffle::<2>
        .forward(v));
    // The round trip gives the input back.
    let gx = xd.clone().to_device(&dev).unwrap();
    let back = gx.pixel_shuffle::<2>().pixel_unshuffle::<2>();
    assert_eq!(back.to_cpu().unwrap().to_vec(), xd.to_vec());

    let odd = Tensor::<(usize, usize, usize)>::zeros_with_shape((6, 2, 2));
    let err = odd
        .clone()
        .to_device(&dev)
        .unwrap()
        .try_pixel_shuffle::<2>()
        .unwrap_err()
        .to_string();
    assert_eq!(err, odd.try_pixel_shuffle::<2>().unwrap_err().to_string());
    assert!(
        err.contains("6 channels") && err.contains("2^2 = 4"),
        "{err}"
    );
    let narrow = Tensor::<(usize, usize, usize)>::zeros_with_shape((1, 4, 5));
    let err = PixelUnshuffle::<2>
        .try_forward(narrow.to_device(&dev).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("width 5"), "{err}");
}

#[test]
fn golden_unflatten() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_unflatten");
    check_golden!(g, dev, Rank3<3, 10, 4>, |x| Unflatten::<1, 2, 5>.forward(x));
    let g = Golden::load("layer_unflatten_last");
    check_golden!(g, dev, Rank2<2, 12>, |x| Unflatten::<1, 3, 4>.forward(x));
}

#[test]
fn unflatten_vs_cpu_and_wrong_size_is_an_error() {
    let Some(dev) = gpu() else { return };
    let x = dynamic(randn::<Rank3<3, 10, 4>>(10), (3usize, 10usize, 4usize));
    vs_cpu!("unflatten dyn", dev, x.clone(), |v| UnflattenDyn::<1>::new(
        5, 2
    )
    .forward(v));
    vs_cpu!("unflatten static sizes", dev, x.clone(), |v| v
        .unflatten::<2, 2, 2>());
    let gy = UnflattenDyn::<0>::new(3, 1).forward(x.clone().to_device(&dev).unwrap());
    assert_eq!(gy.to_cpu().unwrap().dims().as_slice(), &[3, 1, 10, 4]);
    let err = UnflattenDyn::<1>::new(3, 4)
        .try_forward(x.clone().to_device(&dev).unwrap())
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        UnflattenDyn::<1>::new(3, 4)
            .try_forward(x)
            .unwrap_err()
            .to_string()
    );
    assert!(err.contains("size 10") && err.contains("(3, 4)"), "{err}");
}

/// The f64 forms on the GPU (lavapipe has f64) against the f64 CPU ops.
#[test]
fn f64_vs_cpu() {
    let Some(dev) = gpu64() else { return };
    let mut rng = StdRng::seed_from_u64(11);
    let x = Tensor::<Rank3<2, 4, 10>, f64>::randn(&mut rng);
    let x2 = Tensor::<Rank3<2, 4, 10>, f64>::randn(&mut rng);
    vs_cpu!(f64 "max pool 1d", dev, x.clone(), |v| MaxPool1d::<3, 2, 1>.forward(v));
    vs_cpu!(f64 "avg pool 1d", dev, x.clone(), |v| AvgPool1d::<4, 3, 2>.forward(v));
    vs_cpu!(f64 "adaptive max 1d", dev, x.clone(), |v| AdaptiveMaxPool1d::<3>.forward(v));
    let up = ConvTranspose1d::<4, 3, 3, 2, 1, 1, 2, f64>::new(&mut rng);
    let gpu_up = up.to_device(&dev).unwrap();
    let cy = up.forward(x.clone().trace());
    let gx = x.clone().to_device(&dev).unwrap();
    let gy = gpu_up.forward(gx.clone().trace());
    close64(
        "conv transpose 1d",
        &gy.to_cpu().unwrap().to_vec(),
        cy.as_slice(),
        F64_TOL,
    );
    let (cg, gg) = (cy.sum().backward(), gy.sum().backward());
    close64(
        "conv transpose 1d grad",
        &gg.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec(),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
    vs_cpu!(f64 "adaptive max 2d", dev, x.clone(), |v| AdaptiveMaxPool2d::<3, 4>.forward(v));
    vs_cpu!(f64 "normalize", dev, x.clone(), |v| v.normalize::<2>(3.0, 1e-12));
    vs_cpu2!(f64 "cosine", dev, x.clone(), x2.clone(), |a, b| {
        CosineSimilarity::new().forward((a, b))
    });
    vs_cpu2!(f64 "pairwise", dev, x.clone(), x2, |a, b| {
        PairwiseDistance::new().forward((a, b))
    });
    vs_cpu!(f64 "unflatten", dev, x.clone(), |v| v.unflatten::<2, 2, 5>());
    let img = Tensor::<Rank4<1, 8, 2, 3>, f64>::randn(&mut rng);
    vs_cpu!(f64 "pixel shuffle 2", dev, img, |v| v.pixel_shuffle::<2>());
}
