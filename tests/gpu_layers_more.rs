//! GLU, PReLU (one slope and per channel), RMSNorm and InstanceNorm on the GPU: against the
//! PyTorch golden files of the CPU tests (tests/golden_extra/layer_glu_*, layer_prelu*,
//! layer_rmsnorm*, layer_instancenorm*) and against the CPU layers on other shapes and
//! settings, forward and backward, f32 and f64; run-time sizes that do not fit are errors.
//! InstanceNorm with running statistics: the layer_instancenorm*_running golden files
//! (training steps, then evaluation with gradients) and the CPU layer in f64.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{FWD, GRAD, close, down, gpu, gpu64, randn, up};
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuChannelPReLU, GpuTensor};
use shaped::nn::{
    ChannelPReLU, ChannelPReLUDyn, GLU, InstanceNorm1d, InstanceNorm2d, InstanceNorm2dDyn,
    InstanceNorm3d, Module, PReLU, Params, RMSNorm, RMSNormDyn,
};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

/// `values` as a CPU tensor of `like`'s (static) shape.
fn shaped_like<S: ConstShape, T>(_like: &GpuTensor<S, T>, values: Vec<f32>) -> Tensor<S> {
    Tensor::from_vec(values).unwrap()
}

/// A golden case of a layer on the GPU: `y`, and the gradients of `sum(y * gy)` for `x` and
/// for each named parameter (a GPU tensor of the layer).
macro_rules! check_golden {
    ($g:expr, $dev:expr, $sx:ty, $forward:expr $(, $name:literal => $param:expr)*) => {{
        let (g, dev) = (&$g, &$dev);
        let x = up(dev, &Tensor::<$sx>::from_vec(g.f("x")).unwrap());
        let y = $forward(x.clone().trace());
        g.check_forward("y", &down(&y));
        let gy = up(dev, &shaped_like(&y, g.f("gy")));
        let grads = (y * gy).sum().backward();
        g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
        $(g.check_grad($name, &down(&grads.get_gpu($param).unwrap()));)*
    }};
}

#[test]
fn golden_glu() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_glu_dim1");
    check_golden!(g, dev, Rank3<2, 6, 5>, |x| GLU::<1>.forward(x));
    let g = Golden::load("layer_glu_last");
    check_golden!(g, dev, Rank3<3, 4, 10>, |x: GpuTensor<_, _>| x.glu::<2>());
}

#[test]
fn glu_on_a_run_time_axis_vs_cpu_and_odd_is_an_error() {
    let Some(dev) = gpu() else { return };
    let x = randn::<Rank3<2, 8, 3>>(1);
    let xd = Tensor::from_vec_with_shape(x.to_vec(), (2usize, 8usize, 3usize)).unwrap();
    let cy = xd.clone().trace().glu::<1>();
    let gx = xd.to_device(&dev).unwrap();
    let gy = gx.clone().trace().glu::<1>();
    assert_eq!(gy.to_cpu().unwrap().dims().as_slice(), &[2, 4, 3]);
    close("glu forward", &down(&gy), cy.as_slice(), FWD);
    let r = Tensor::from_vec_with_shape(
        randn::<Rank3<2, 4, 3>>(2).to_vec(),
        (2usize, 4usize, 3usize),
    )
    .unwrap();
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(&dev).unwrap()).sum().backward();
    close(
        "glu grad",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&xd).unwrap(),
        GRAD,
    );
    let odd = Tensor::from_vec_with_shape(vec![1.0f32; 10], (2usize, 5usize)).unwrap();
    let err = odd
        .to_device(&dev)
        .unwrap()
        .try_glu::<1>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("odd size 5"), "{err}");
}

#[test]
fn golden_prelu() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_prelu");
    let mut cpu = PReLU::<f32>::new();
    cpu.weight = Tensor::from_vec(g.f("weight")).unwrap();
    let layer = cpu.to_device(&dev).unwrap();
    check_golden!(g, dev, Rank3<3, 4, 5>, |x| layer.forward(x), "weight" => &layer.weight);
    assert_eq!(layer.to_cpu().unwrap().weight.to_vec(), g.f("weight"));

    let g = Golden::load("layer_prelu_channels");
    let mut cpu = ChannelPReLU::<3>::new();
    cpu.weight = Tensor::from_vec(g.f("weight")).unwrap();
    let layer = cpu.to_device(&dev).unwrap();
    check_golden!(g, dev, Rank4<2, 3, 4, 5>, |x| layer.forward(x), "weight" => &layer.weight);

    let g = Golden::load("layer_prelu_channels_2d");
    let mut cpu = ChannelPReLU::<4>::new();
    cpu.weight = Tensor::from_vec(g.f("weight")).unwrap();
    let layer = cpu.to_device(&dev).unwrap();
    check_golden!(g, dev, Rank2<5, 4>, |x| layer.forward(x), "weight" => &layer.weight);
}

/// PyTorch's PReLU gradient at exactly 0 is the slope (the CPU kernel's rule too), and
/// NaN stays NaN.
#[test]
fn prelu_at_zero_and_nan_as_the_cpu() {
    let Some(dev) = gpu() else { return };
    let mut cpu = ChannelPReLU::<2>::new();
    cpu.weight = Tensor::from_array([0.5, 0.1]);
    let layer: GpuChannelPReLU<Const<2>> = cpu.to_device(&dev).unwrap();
    let x = Tensor::<Rank3<1, 2, 3>>::from_array([[[0.0, -2.0, f32::NAN], [0.0, 3.0, -1.0]]]);
    let cy = cpu.forward(x.clone().trace());
    let gx = up(&dev, &x);
    let gy = layer.forward(gx.clone().trace());
    let (c, g) = (cy.to_vec(), down(&gy));
    assert!(g[2].is_nan() && c[2].is_nan());
    close(
        "finite outputs",
        &[g[0], g[1], g[3], g[4], g[5]],
        &[c[0], c[1], c[3], c[4], c[5]],
        FWD,
    );
    let cg = cy.sum().backward();
    let gg = gy.sum().backward();
    let (cgx, ggx) = (
        cg.get_slice(&x).unwrap().to_vec(),
        down(&gg.get_gpu(&gx).unwrap()),
    );
    assert_eq!(ggx[0], 0.5);
    assert_eq!(ggx[3], 0.1);
    close(
        "grad x",
        &[ggx[0], ggx[1], ggx[3], ggx[4], ggx[5]],
        &[cgx[0], cgx[1], cgx[3], cgx[4], cgx[5]],
        GRAD,
    );
}

#[test]
fn channel_prelu_dyn_vs_cpu_and_wrong_channels_is_an_error() {
    let Some(dev) = gpu() else { return };
    let mut cpu = ChannelPReLUDyn::<f32>::new_dyn(3);
    cpu.weight = Tensor::from_vec_with_shape(vec![0.1, -0.3, 0.7], (3,)).unwrap();
    let layer = cpu.to_device(&dev).unwrap();
    let x = Tensor::from_vec_with_shape(
        randn::<Rank3<4, 3, 6>>(5).to_vec(),
        (4usize, 3usize, 6usize),
    )
    .unwrap();
    let cy = cpu.forward(x.clone().trace());
    let gx = x.to_device(&dev).unwrap();
    let gy = layer.forward(gx.clone().trace());
    close("forward", &down(&gy), cy.as_slice(), FWD);
    let cg = (cy * 2.0).sum().backward();
    let gg = (gy * 2.0).sum().backward();
    close(
        "grad x",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
    close(
        "grad weight",
        &down(&gg.get_gpu(&layer.weight).unwrap()),
        cg.get_slice(&cpu.weight).unwrap(),
        GRAD,
    );
    let wrong = Tensor::from_vec_with_shape(vec![1.0f32; 8], (2usize, 4usize)).unwrap();
    let err = layer
        .try_forward(wrong.to_device(&dev).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("4 channels") && err.contains("has 3"), "{err}");
}

#[test]
fn golden_rmsnorm() {
    let Some(dev) = gpu() else { return };
    for case in ["layer_rmsnorm", "layer_rmsnorm_eps"] {
        let g = Golden::load(case);
        let d = g.shape("weight")[0];
        let mut cpu = RMSNormDyn::<f32>::new_dyn(d);
        cpu.weight = Tensor::from_vec_with_shape(g.f("weight"), (d,)).unwrap();
        if g.hp_str("eps_default") == "false" {
            cpu.eps = Some(g.hp("eps"));
        }
        let layer = cpu.to_device(&dev).unwrap();
        let dims = g.shape("x");
        let rows = dims[..dims.len() - 1].iter().product::<usize>();
        let x = Tensor::from_vec_with_shape(g.f("x"), (rows, d)).unwrap();
        let gx = x.to_device(&dev).unwrap();
        let y = layer.forward(gx.clone().trace());
        g.check_forward("y", &down(&y));
        let gy = Tensor::from_vec_with_shape(g.f("gy"), (rows, d)).unwrap();
        let grads = (y * gy.to_device(&dev).unwrap()).sum().backward();
        g.check_grad("x", &down(&grads.get_gpu(&gx).unwrap()));
        g.check_grad("weight", &down(&grads.get_gpu(&layer.weight).unwrap()));
        assert_eq!(layer.to_cpu().unwrap().eps, cpu.eps);
    }
}

#[test]
fn rmsnorm_rank4_vs_cpu_and_wrong_width_is_an_error() {
    let Some(dev) = gpu() else { return };
    let mut cpu = RMSNorm::<9>::new();
    cpu.weight = randn::<Rank1<9>>(7) + 1.0;
    cpu.eps = Some(1e-3);
    let layer = cpu.to_device(&dev).unwrap();
    let x = randn::<Rank4<2, 3, 2, 9>>(8) * 2.0;
    let r = randn::<Rank4<2, 3, 2, 9>>(9);
    let cy = cpu.forward(x.clone().trace());
    let gx = up(&dev, &x);
    let gy = layer.forward(gx.clone().trace());
    close("forward", &down(&gy), cy.as_slice(), FWD);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&dev, &r)).sum().backward();
    close(
        "grad x",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
    close(
        "grad weight",
        &down(&gg.get_gpu(&layer.weight).unwrap()),
        cg.get_slice(&cpu.weight).unwrap(),
        GRAD,
    );
    let dynamic = RMSNormDyn::<f32>::new_dyn(4).to_device(&dev).unwrap();
    let wrong = Tensor::from_vec_with_shape(vec![1.0f32; 10], (2usize, 5usize)).unwrap();
    let err = dynamic
        .try_forward(wrong.to_device(&dev).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("last dimension 5") && err.contains("normalises 4"),
        "{err}"
    );
}

#[test]
fn golden_instancenorm() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_instancenorm1d");
    let layer = InstanceNorm1d::<3>::new().to_device(&dev).unwrap();
    assert!(layer.weight.is_none());
    check_golden!(g, dev, Rank3<2, 3, 7>, |x| layer.forward(x));

    let g = Golden::load("layer_instancenorm2d_affine");
    let mut cpu = InstanceNorm2d::<4>::new_affine();
    cpu.weight = Some(Tensor::from_vec(g.f("weight")).unwrap());
    cpu.bias = Some(Tensor::from_vec(g.f("bias")).unwrap());
    cpu.eps = g.hp("eps");
    let layer = cpu.to_device(&dev).unwrap();
    check_golden!(
        g,
        dev,
        Rank4<2, 4, 5, 5>,
        |x| layer.forward(x),
        "weight" => layer.weight.as_ref().unwrap(),
        "bias" => layer.bias.as_ref().unwrap()
    );
    let back = layer.to_cpu().unwrap();
    assert_eq!(back.weight.as_ref().unwrap().to_vec(), g.f("weight"));
    assert_eq!(back.num_features(), 4);
    assert_eq!(layer.clone().gpu_param_names(), ["weight", "bias"]);
}

#[test]
fn instancenorm_dyn_vs_cpu_and_wrong_channels_is_an_error() {
    let Some(dev) = gpu() else { return };
    let mut cpu = InstanceNorm2dDyn::<f32>::new_dyn(3, true);
    cpu.weight = Some(Tensor::from_vec_with_shape(vec![1.5, -0.5, 2.0], (3,)).unwrap());
    cpu.bias = Some(Tensor::from_vec_with_shape(vec![0.1, 0.2, -0.3], (3,)).unwrap());
    let layer = cpu.to_device(&dev).unwrap();
    let shape = (2usize, 3usize, 4usize, 5usize);
    let x = Tensor::from_vec_with_shape(randn::<Rank4<2, 3, 4, 5>>(11).to_vec(), shape).unwrap();
    let r = Tensor::from_vec_with_shape(randn::<Rank4<2, 3, 4, 5>>(12).to_vec(), shape).unwrap();
    let cy = cpu.forward(x.clone().trace());
    let gx = x.to_device(&dev).unwrap();
    let gy = layer.forward(gx.clone().trace());
    close("forward", &down(&gy), cy.as_slice(), FWD);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(&dev).unwrap()).sum().backward();
    close(
        "grad x",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
    let (cw, cb) = (cpu.weight.as_ref().unwrap(), cpu.bias.as_ref().unwrap());
    let (lw, lb) = (layer.weight.as_ref().unwrap(), layer.bias.as_ref().unwrap());
    close(
        "grad weight",
        &down(&gg.get_gpu(lw).unwrap()),
        cg.get_slice(cw).unwrap(),
        GRAD,
    );
    close(
        "grad bias",
        &down(&gg.get_gpu(lb).unwrap()),
        cg.get_slice(cb).unwrap(),
        GRAD,
    );
    let wrong =
        Tensor::from_vec_with_shape(vec![1.0f32; 40], (2usize, 4usize, 5usize, 1usize)).unwrap();
    let err = layer
        .try_forward(wrong.to_device(&dev).unwrap())
        .unwrap_err()
        .to_string();
    assert!(err.contains("4 channels") && err.contains("has 3"), "{err}");
}

/// The f64 layers on the GPU (lavapipe has f64) against the f64 CPU layers.
#[test]
fn f64_layers_vs_cpu() {
    let Some(dev) = gpu64() else { return };
    let x = Tensor::<Rank3<2, 4, 6>, f64>::randn(&mut StdRng::seed_from_u64(3));
    let check = |what: &str, gpu: Vec<f64>, cpu: &[f64]| {
        for (i, (a, b)) in gpu.iter().zip(cpu).enumerate() {
            assert!(
                (a - b).abs() <= 1e-10 + 1e-9 * b.abs(),
                "{what} {i}: {a} vs {b}"
            );
        }
    };
    let gx = x.to_device(&dev).unwrap();

    let rms = RMSNorm::<6, f64>::new();
    let cy = rms.forward(x.clone().trace());
    let gy = rms.to_device(&dev).unwrap().forward(gx.clone().trace());
    check("rmsnorm", gy.to_cpu().unwrap().to_vec(), cy.as_slice());
    let (cg, gg) = (cy.sum().backward(), gy.sum().backward());
    check(
        "rmsnorm grad",
        gg.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec(),
        cg.get_slice(&x).unwrap(),
    );

    let inorm = InstanceNorm1d::<4, f64>::new_affine();
    let cy = inorm.forward(x.clone().trace());
    let gy = inorm.to_device(&dev).unwrap().forward(gx.clone().trace());
    check("instancenorm", gy.to_cpu().unwrap().to_vec(), cy.as_slice());

    let cy = x.clone().trace().glu::<2>();
    let gy = gx.clone().trace().glu::<2>();
    check("glu", gy.to_cpu().unwrap().to_vec(), cy.as_slice());

    let prelu = PReLU::<f64>::with_init(0.2);
    let cy = prelu.forward(x.clone().trace());
    let gy = prelu.to_device(&dev).unwrap().forward(gx.clone().trace());
    check("prelu", gy.to_cpu().unwrap().to_vec(), cy.as_slice());
    let (cg, gg) = (cy.sum().backward(), gy.sum().backward());
    check(
        "prelu grad",
        gg.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec(),
        cg.get_slice(&x).unwrap(),
    );
}

/// A `layer_instancenorm*_running*` case on the GPU, input type `$x`: the training steps
/// through `forward_train` (outputs and running statistics after each, against PyTorch and
/// the CPU layer), then evaluation by the running statistics with gradients, and `to_cpu`.
macro_rules! check_running_gpu {
    ($case:literal, $norm:expr, $x:ty) => {{
        let Some(dev) = gpu() else { return };
        let g = Golden::load($case);
        let mut cpu = $norm;
        cpu.eps = g.hp("eps");
        cpu.momentum = g.hp("momentum");
        if let Some(w) = &mut cpu.weight {
            w.as_mut_slice().copy_from_slice(&g.f("weight"));
        }
        if let Some(b) = &mut cpu.bias {
            b.as_mut_slice().copy_from_slice(&g.f("bias"));
        }
        let mut layer = cpu.to_device(&dev).unwrap();
        assert!(layer.tracks_running_stats());
        for k in 0..g.hp("train_steps") as usize {
            let x = Tensor::<$x>::from_vec(g.f(&format!("x.train.{k}"))).unwrap();
            let y = layer.forward_train(up(&dev, &x));
            g.check_forward(&format!("y.train.{k}"), &down(&y));
            let rm = down(&layer.running_mean().unwrap());
            let rv = down(&layer.running_var().unwrap());
            g.check_forward(&format!("running_mean.{k}"), &rm);
            g.check_forward(&format!("running_var.{k}"), &rv);
            let _ = cpu.forward_train(x);
            close("running_mean", &rm, cpu.running_mean.as_ref().unwrap().as_slice(), FWD);
            close("running_var", &rv, cpu.running_var.as_ref().unwrap().as_slice(), FWD);
        }
        layer.eval();
        let affine = layer.weight.clone().zip(layer.bias.clone());
        match &affine {
            Some((w, b)) => check_golden!(g, dev, $x, |x| layer.forward(x), "weight" => w, "bias" => b),
            None => check_golden!(g, dev, $x, |x| layer.forward(x)),
        }
        let back = layer.to_cpu().unwrap();
        assert!(back.tracks_running_stats() && !back.is_training());
        assert_eq!(back.momentum, cpu.momentum);
        assert_eq!(
            back.running_mean.as_ref().unwrap().to_vec(),
            down(&layer.running_mean().unwrap())
        );
    }};
}

#[test]
fn golden_instancenorm1d_running() {
    check_running_gpu!(
        "layer_instancenorm1d_running",
        InstanceNorm1d::<3>::new().track_running_stats(true),
        Rank3<2, 3, 7>
    );
}

#[test]
fn golden_instancenorm2d_running_affine() {
    check_running_gpu!(
        "layer_instancenorm2d_running_affine",
        InstanceNorm2d::<4>::new_affine().track_running_stats(true),
        Rank4<3, 4, 3, 5>
    );
}

#[test]
fn golden_instancenorm3d_running() {
    check_running_gpu!(
        "layer_instancenorm3d_running",
        InstanceNorm3d::<2>::new().track_running_stats(true),
        Rank5<2, 2, 2, 3, 3>
    );
}

/// f64 against the CPU: training through `&self` (`train()` then `forward`), a pending CPU
/// update carried over by `to_device`, evaluation with gradients, `clone`, and the error of
/// training on slices of one value.
#[test]
fn instancenorm_running_f64_vs_cpu_and_errors() {
    let Some(dev) = gpu64() else { return };
    let tol = gpu_support::F64_TOL;
    let mut rng = StdRng::seed_from_u64(21);
    let mut cpu = InstanceNorm2d::<3, f64>::new_affine().track_running_stats(true);
    cpu.momentum = 0.3;
    cpu.weight = Some(Tensor::randn(&mut rng));
    cpu.bias = Some(Tensor::randn(&mut rng));
    cpu.train();
    // A training call through `&self` leaves the CPU update pending: to_device carries it.
    let x0 = Tensor::<Rank4<2, 3, 4, 5>, f64>::randn(&mut rng);
    let _ = cpu.forward(x0);
    let mut layer = cpu.to_device(&dev).unwrap();
    assert!(layer.is_training());
    for step in 0..3 {
        let x = Tensor::<Rank4<2, 3, 4, 5>, f64>::randn(&mut rng) * (step as f64 + 1.0);
        let gy = layer.forward(x.to_device(&dev).unwrap());
        let cy = cpu.forward(x);
        gpu_support::close64(
            "train y",
            &gy.to_cpu().unwrap().to_vec(),
            cy.as_slice(),
            tol,
        );
    }
    cpu.sync_running();
    let copy = layer.clone();
    for (what, g, c) in [
        ("running_mean", layer.running_mean(), &cpu.running_mean),
        ("running_var", copy.running_var(), &cpu.running_var),
    ] {
        let g = g.unwrap().to_cpu().unwrap().to_vec();
        gpu_support::close64(what, &g, c.as_ref().unwrap().as_slice(), tol);
    }
    layer.eval();
    cpu.eval();
    let x = Tensor::<Rank4<2, 3, 4, 5>, f64>::randn(&mut rng);
    let r = Tensor::<Rank4<2, 3, 4, 5>, f64>::randn(&mut rng);
    let gx = x.to_device(&dev).unwrap();
    let gy = layer.forward(gx.clone().trace());
    let cy = cpu.forward(x.clone().trace());
    gpu_support::close64("eval y", &gy.to_cpu().unwrap().to_vec(), cy.as_slice(), tol);
    let gg = (gy * r.to_device(&dev).unwrap()).sum().backward();
    let cg = (cy * r).sum().backward();
    let (lw, lb) = (layer.weight.as_ref().unwrap(), layer.bias.as_ref().unwrap());
    let (cw, cb) = (cpu.weight.as_ref().unwrap(), cpu.bias.as_ref().unwrap());
    for (what, g, c) in [
        (
            "grad x",
            gg.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec(),
            cg.get_slice(&x).unwrap(),
        ),
        (
            "grad weight",
            gg.get_gpu(lw).unwrap().to_cpu().unwrap().to_vec(),
            cg.get_slice(cw).unwrap(),
        ),
        (
            "grad bias",
            gg.get_gpu(lb).unwrap().to_cpu().unwrap().to_vec(),
            cg.get_slice(cb).unwrap(),
        ),
    ] {
        gpu_support::close64(what, &g, c, tol);
    }
    // Evaluation leaves the running statistics alone.
    let after = layer.running_mean().unwrap().to_cpu().unwrap().to_vec();
    gpu_support::close64(
        "eval keeps",
        &after,
        cpu.running_mean.as_ref().unwrap().as_slice(),
        tol,
    );

    // Training on slices of one value is an error, as on the CPU; evaluation is not.
    let mut one = InstanceNorm1d::<2>::new()
        .track_running_stats(true)
        .to_device(&dev)
        .unwrap();
    let x = up(&dev, &Tensor::<Rank3<3, 2, 1>>::ones());
    one.train();
    let err = one.try_forward(x.clone()).unwrap_err().to_string();
    assert!(err.contains("more than 1 value per channel"), "{err}");
    one.eval();
    assert!(one.try_forward(x).is_ok());
    // Without tracking, the GPU layer has no running statistics and ignores the mode.
    let plain = InstanceNorm1d::<2>::new().to_device(&dev).unwrap();
    assert!(!plain.tracks_running_stats() && plain.running_mean().is_none());
}
