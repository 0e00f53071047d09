//! The GPU layer kernels: the other activations, average pooling, LayerNorm / BatchNorm /
//! GroupNorm, the losses and RMSprop / Adagrad / Adam-amsgrad. Each against the PyTorch golden
//! files with the CPU tests' tolerances where a case exists, and against the CPU on the same
//! data (other shapes, settings and ranks) forward and backward.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{FWD, GRAD, close, down, gpu, randn, up};
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuStep, GpuTensor};
use shaped::nn::{
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, BatchNorm2dDyn, GELU, GroupNorm,
    LayerNorm, LeakyReLU, Linear, Module, Params, SiLU, Softplus,
};
use shaped::optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

// ---- activations -------------------------------------------------------------------------

type X = Rank2<4, 7>;

/// The golden unary case: `y` and the gradient of `sum(y * gy)`.
fn unary_golden(
    case: &str,
    f: impl Fn(GpuTensor<X, OwnedTape<f32>>) -> GpuTensor<X, OwnedTape<f32>>,
) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let x = up(&dev, &Tensor::<X>::from_vec(g.f("x")).unwrap());
    let gy = up(&dev, &Tensor::<X>::from_vec(g.f("gy")).unwrap());
    let y = f(x.clone().trace());
    g.check_forward("y", &down(&y));
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
}

#[test]
fn golden_unary_abs() {
    unary_golden("unary_abs", |x| x.abs());
}
#[test]
fn golden_unary_sqrt() {
    unary_golden("unary_sqrt", |x| x.sqrt());
}
#[test]
fn golden_unary_leaky_relu() {
    let s = Golden::load("unary_leaky_relu").hp("negative_slope") as f32;
    unary_golden("unary_leaky_relu", |x| x.leaky_relu(s));
}
#[test]
fn golden_unary_gelu_erf() {
    unary_golden("unary_gelu_erf", |x| x.gelu());
}
#[test]
fn golden_unary_gelu_tanh() {
    unary_golden("unary_gelu_tanh", |x| x.gelu_tanh());
}
#[test]
fn golden_unary_silu() {
    unary_golden("unary_silu", |x| x.silu());
}
#[test]
fn golden_unary_softplus() {
    let g = Golden::load("unary_softplus");
    let (b, t) = (g.hp("beta") as f32, g.hp("threshold") as f32);
    unary_golden("unary_softplus", |x| x.softplus(b, t));
}
#[test]
fn golden_unary_clamp() {
    let g = Golden::load("unary_clamp");
    let (lo, hi) = (g.hp("min") as f32, g.hp("max") as f32);
    unary_golden("unary_clamp", |x| x.clamp(lo, hi));
}
#[test]
fn golden_unary_pow() {
    let e = Golden::load("unary_pow").hp("exponent") as f32;
    unary_golden("unary_pow", |x| x.powf(e));
}

/// `f` on both devices over a wide range (saturating regions included), then the gradients
/// of `sum(f(x) * r)`.
macro_rules! unary_vs_cpu {
    ($name:ident, |$x:ident| $body:expr) => {
        #[test]
        fn $name() {
            let Some(g) = gpu() else { return };
            let x = randn::<Rank2<6, 11>>(7) * 4.0;
            let r = randn::<Rank2<6, 11>>(8);
            let cy = {
                let $x = x.clone().trace();
                $body
            };
            let gx = up(&g, &x);
            let gy = {
                let $x = gx.clone().trace();
                $body
            };
            close("forward", &down(&gy), cy.as_slice(), FWD);
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * up(&g, &r)).sum().backward();
            close(
                "grad",
                &down(&gg.get_gpu(&gx).unwrap()),
                cg.get_slice(&x).unwrap(),
                GRAD,
            );
        }
    };
}

unary_vs_cpu!(abs_vs_cpu, |x| x.abs());
unary_vs_cpu!(sin_vs_cpu, |x| x.sin());
unary_vs_cpu!(cos_vs_cpu, |x| x.cos());
unary_vs_cpu!(gelu_vs_cpu, |x| x.gelu());
unary_vs_cpu!(gelu_tanh_vs_cpu, |x| x.gelu_tanh());
unary_vs_cpu!(silu_vs_cpu, |x| x.silu());
unary_vs_cpu!(leaky_relu_vs_cpu, |x| x.leaky_relu(0.2));
unary_vs_cpu!(softplus_vs_cpu, |x| x.softplus(2.0, 3.0));
unary_vs_cpu!(clamp_vs_cpu, |x| x.clamp(-1.5, 0.5));
unary_vs_cpu!(sqrt_vs_cpu, |x| (x.square() + 0.1).sqrt());
unary_vs_cpu!(powf_vs_cpu, |x| x.powf(3.0));
unary_vs_cpu!(elu_vs_cpu, |x| x.elu(0.7));
unary_vs_cpu!(selu_vs_cpu, |x| x.selu());
unary_vs_cpu!(celu_vs_cpu, |x| x.celu(1.8));
unary_vs_cpu!(hardtanh_vs_cpu, |x| x.hardtanh(-2.0, 1.5));
unary_vs_cpu!(relu6_vs_cpu, |x| x.relu6());
unary_vs_cpu!(hardsigmoid_vs_cpu, |x| x.hardsigmoid());
unary_vs_cpu!(hardswish_vs_cpu, |x| x.hardswish());
unary_vs_cpu!(mish_vs_cpu, |x| x.mish());
unary_vs_cpu!(softsign_vs_cpu, |x| x.softsign());
unary_vs_cpu!(logsigmoid_vs_cpu, |x| x.logsigmoid());
unary_vs_cpu!(tanhshrink_vs_cpu, |x| x.tanhshrink());
unary_vs_cpu!(hardshrink_vs_cpu, |x| x.hardshrink(1.2));
unary_vs_cpu!(softshrink_vs_cpu, |x| x.softshrink(0.9));
unary_vs_cpu!(threshold_vs_cpu, |x| x.threshold(0.4, -3.0));

/// The PyTorch cases of the activations beyond the shared golden set
/// (tests/golden_extra/activations.py), with their stored hyperparameters.
macro_rules! extra_unary_goldens {
    ($($name:ident $case:literal |$g:ident, $x:ident| $body:expr;)*) => {$(
        #[test]
        fn $name() {
            let $g = Golden::load($case);
            unary_golden($case, |$x| $body);
        }
    )*};
}

extra_unary_goldens! {
    golden_unary_elu "unary_elu" |g, x| x.elu(g.hp("alpha") as f32);
    golden_unary_selu "unary_selu" |_g, x| x.selu();
    golden_unary_celu "unary_celu" |g, x| x.celu(g.hp("alpha") as f32);
    golden_unary_hardtanh "unary_hardtanh"
        |g, x| x.hardtanh(g.hp("min_val") as f32, g.hp("max_val") as f32);
    golden_unary_relu6 "unary_relu6" |_g, x| x.relu6();
    golden_unary_hardsigmoid "unary_hardsigmoid" |_g, x| x.hardsigmoid();
    golden_unary_hardswish "unary_hardswish" |_g, x| x.hardswish();
    golden_unary_mish "unary_mish" |_g, x| x.mish();
    golden_unary_softsign "unary_softsign" |_g, x| x.softsign();
    golden_unary_logsigmoid "unary_logsigmoid" |_g, x| x.logsigmoid();
    golden_unary_tanhshrink "unary_tanhshrink" |_g, x| x.tanhshrink();
    golden_unary_hardshrink "unary_hardshrink" |g, x| x.hardshrink(g.hp("lambd") as f32);
    golden_unary_softshrink "unary_softshrink" |g, x| x.softshrink(g.hp("lambd") as f32);
    golden_unary_threshold "unary_threshold"
        |g, x| x.threshold(g.hp("threshold") as f32, g.hp("value") as f32);
}

#[test]
fn activation_layers_in_a_model() {
    let Some(g) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(3);
    let model = (
        Linear::<5, 8>::new(&mut rng),
        GELU,
        Linear::<8, 8>::new(&mut rng),
        SiLU,
        LeakyReLU(0.05),
        Softplus::default(),
        shaped::nn::GELUTanh,
        (
            shaped::nn::ELU { alpha: 0.5 },
            shaped::nn::SELU,
            shaped::nn::Hardswish,
            shaped::nn::Mish,
            shaped::nn::Hardtanh::default(),
            shaped::nn::Threshold {
                threshold: -0.2,
                value: 0.3,
            },
        ),
    );
    let gm = model.to_device(&g).unwrap();
    let x = randn::<Rank2<3, 5>>(4);
    let cy = model.forward(x.clone().trace_constant());
    let gy = gm.forward(up(&g, &x).trace_constant());
    close("forward", &down(&gy), cy.as_slice(), FWD);
    let cg = cy.sum().backward();
    let gg = gy.sum().backward();
    close(
        "grad 0.weight",
        &down(&gg.get_gpu(&gm.0.weight).unwrap()),
        cg.get_slice(&model.0.weight).unwrap(),
        GRAD,
    );
    let back = gm.to_cpu().unwrap();
    assert_eq!(back.4, LeakyReLU(0.05));
}

// ---- pooling -----------------------------------------------------------------------------

macro_rules! pool_golden {
    ($name:ident, $case:literal, $layer:expr, $X:ty) => {
        #[test]
        fn $name() {
            let Some(dev) = gpu() else { return };
            let g = Golden::load($case);
            let layer = $layer.to_device(&dev).unwrap();
            let x = up(&dev, &Tensor::<$X>::from_vec(g.f("x")).unwrap());
            let y = layer.forward(x.clone().trace());
            let yc = y.to_cpu().unwrap();
            assert_eq!(g.shape("y"), yc.dims().as_slice());
            g.check_forward("y", yc.as_slice());
            let gy = Tensor::from_vec_with_shape(g.f("gy"), *yc.shape()).unwrap();
            let grads = (y * gy.to_device(&dev).unwrap()).sum().backward();
            g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
        }
    };
}

pool_golden!(golden_avgpool2d, "layer_avgpool2d", AvgPool2d::<2>, Rank4<2, 3, 8, 8>);
pool_golden!(
    golden_adaptive_avgpool2d,
    "layer_adaptive_avgpool2d",
    AdaptiveAvgPool2d::<1>,
    Rank4<2, 3, 5, 5>
);

/// A pooling layer on both devices, forward and the gradient of `sum(y * r)`.
macro_rules! pool_vs_cpu {
    ($name:ident, $layer:expr, $X:ty) => {
        #[test]
        fn $name() {
            let Some(g) = gpu() else { return };
            let layer = $layer;
            let x = randn::<$X>(11);
            let cy = layer.forward(x.clone().trace());
            let gx = up(&g, &x);
            let gy = layer.to_device(&g).unwrap().forward(gx.clone().trace());
            assert_eq!(gy.to_cpu().unwrap().dims(), cy.dims());
            close("forward", &down(&gy), cy.as_slice(), FWD);
            let r = Tensor::from_vec_with_shape(
                randn::<Rank1<512>>(12).to_vec()[..cy.numel()].to_vec(),
                *cy.shape(),
            )
            .unwrap();
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
            close(
                "grad",
                &down(&gg.get_gpu(&gx).unwrap()),
                cg.get_slice(&x).unwrap(),
                GRAD,
            );
        }
    };
}

pool_vs_cpu!(avgpool_padded_strided_vs_cpu, AvgPool2d::<3, 2, 1>, Rank4<2, 3, 7, 6>);
pool_vs_cpu!(avgpool_overlapping_vs_cpu, AvgPool2d::<3, 1, 1>, Rank3<2, 5, 5>);
pool_vs_cpu!(adaptive_avgpool_2x3_vs_cpu, AdaptiveAvgPool2d::<2, 3>, Rank4<2, 2, 7, 5>);
pool_vs_cpu!(adaptive_avgpool_upsampling_vs_cpu, AdaptiveAvgPool2d::<5, 4>, Rank3<3, 3, 3>);

// ---- normalisation -----------------------------------------------------------------------

fn channels<const C: usize>(g: &Golden, name: &str) -> Tensor<Rank1<C>> {
    Tensor::from_vec(g.f(name)).unwrap()
}

fn bn_golden<const C: usize, const K: usize, S: ConstShape>(case: &str, train: bool)
where
    shaped::gpu::GpuBatchNorm<Const<C>, K>:
        Module<GpuTensor<S, OwnedTape<f32>>, Output = GpuTensor<S, OwnedTape<f32>>>,
    GpuTensor<S, OwnedTape<f32>>:
        core::ops::Mul<GpuTensor<S>, Output = GpuTensor<S, OwnedTape<f32>>>,
{
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let mut bn = shaped::nn::BatchNormLayer::<Const<C>, K>::new();
    bn.weight = channels(&g, "weight");
    bn.bias = channels(&g, "bias");
    bn.running_mean = channels(&g, "running_mean");
    bn.running_var = channels(&g, "running_var");
    let mut gbn = bn.to_device(&dev).unwrap();
    let x = up(&dev, &Tensor::<S>::from_vec(g.f("x")).unwrap());
    let y = if train {
        gbn.forward_train(x.clone().trace())
    } else {
        gbn.forward(x.clone().trace())
    };
    g.check_forward("y", &down(&y));
    let gy = up(&dev, &Tensor::<S>::from_vec(g.f("gy")).unwrap());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("weight", &down(&grads.get_gpu(&gbn.weight).unwrap()));
    g.check_grad("bias", &down(&grads.get_gpu(&gbn.bias).unwrap()));
    let back = gbn.to_cpu().unwrap();
    let suffix = if train { ".after" } else { "" };
    g.check_forward(
        &format!("running_mean{suffix}"),
        back.running_mean.as_slice(),
    );
    g.check_forward(&format!("running_var{suffix}"), back.running_var.as_slice());
}

#[test]
fn golden_batchnorm1d_eval() {
    bn_golden::<4, 1, Rank2<8, 4>>("layer_batchnorm1d_eval", false);
}
#[test]
fn golden_batchnorm1d_train() {
    bn_golden::<4, 1, Rank2<8, 4>>("layer_batchnorm1d_train", true);
}
#[test]
fn golden_batchnorm2d_eval() {
    bn_golden::<3, 2, Rank4<4, 3, 5, 5>>("layer_batchnorm2d_eval", false);
}
#[test]
fn golden_batchnorm2d_train() {
    bn_golden::<3, 2, Rank4<4, 3, 5, 5>>("layer_batchnorm2d_train", true);
}
/// BatchNorm1d on `(N, C, L)`, from the 2-D case viewed as `(N, C, H*W)`.
#[test]
fn golden_batchnorm1d_train_3d_input() {
    bn_golden::<3, 1, Rank3<4, 3, 25>>("layer_batchnorm2d_train", true);
}

#[test]
fn golden_layernorm() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_layernorm");
    let mut ln = LayerNorm::<8>::new();
    ln.weight = Tensor::from_vec(g.f("weight")).unwrap();
    ln.bias = Tensor::from_vec(g.f("bias")).unwrap();
    let gln = ln.to_device(&dev).unwrap();
    let x = up(&dev, &Tensor::<Rank3<2, 3, 8>>::from_vec(g.f("x")).unwrap());
    let y = gln.forward(x.clone().trace());
    g.check_forward("y", &down(&y));
    let gy = up(
        &dev,
        &Tensor::<Rank3<2, 3, 8>>::from_vec(g.f("gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("weight", &down(&grads.get_gpu(&gln.weight).unwrap()));
    g.check_grad("bias", &down(&grads.get_gpu(&gln.bias).unwrap()));
    assert_eq!(gln.to_cpu().unwrap().weight.to_vec(), ln.weight.to_vec());
}

#[test]
fn golden_groupnorm() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_groupnorm");
    let mut gn = GroupNorm::<3, 6>::new();
    gn.weight = Tensor::from_vec(g.f("weight")).unwrap();
    gn.bias = Tensor::from_vec(g.f("bias")).unwrap();
    let ggn = gn.to_device(&dev).unwrap();
    let x = up(
        &dev,
        &Tensor::<Rank4<2, 6, 4, 4>>::from_vec(g.f("x")).unwrap(),
    );
    let y = ggn.forward(x.clone().trace());
    g.check_forward("y", &down(&y));
    let gy = up(
        &dev,
        &Tensor::<Rank4<2, 6, 4, 4>>::from_vec(g.f("gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("weight", &down(&grads.get_gpu(&ggn.weight).unwrap()));
    g.check_grad("bias", &down(&grads.get_gpu(&ggn.bias).unwrap()));
}

/// Random affine parameters for a normalisation layer.
fn affine<const C: usize>(seed: u64) -> (Tensor<Rank1<C>>, Tensor<Rank1<C>>) {
    (randn::<Rank1<C>>(seed) + 1.0, randn::<Rank1<C>>(seed + 1))
}

/// A normalisation layer on both devices, forward and the gradients of `sum(y * r)` for the
/// input, weight and bias.
macro_rules! norm_vs_cpu {
    ($cpu:expr, $gpu:expr, $x:expr, $r:expr, $fwd:ident) => {{
        #[allow(unused_mut)]
        let (mut cpu, mut gpu_layer, x, r) = ($cpu, $gpu, $x, $r);
        let dev = r.0.clone();
        let cy = cpu.$fwd(x.clone().trace());
        let gx = up(&dev, &x);
        let gy = gpu_layer.$fwd(gx.clone().trace());
        close("forward", &down(&gy), cy.as_slice(), FWD);
        let cg = (cy * r.1.clone()).sum().backward();
        let gg = (gy * up(&dev, &r.1)).sum().backward();
        close(
            "grad x",
            &down(&gg.get_gpu(&gx).unwrap()),
            cg.get_slice(&x).unwrap(),
            GRAD,
        );
        close(
            "grad weight",
            &down(&gg.get_gpu(&gpu_layer.weight).unwrap()),
            cg.get_slice(&cpu.weight).unwrap(),
            GRAD,
        );
        close(
            "grad bias",
            &down(&gg.get_gpu(&gpu_layer.bias).unwrap()),
            cg.get_slice(&cpu.bias).unwrap(),
            GRAD,
        );
        (cpu, gpu_layer)
    }};
}

#[test]
fn layernorm_rank4_vs_cpu() {
    let Some(g) = gpu() else { return };
    let mut ln = LayerNorm::<13>::new();
    (ln.weight, ln.bias) = affine(21);
    ln.eps = 1e-3;
    let gln = ln.to_device(&g).unwrap();
    let x = randn::<Rank4<2, 3, 2, 13>>(22) * 3.0 + 1.0;
    let r = randn::<Rank4<2, 3, 2, 13>>(23);
    let _ = norm_vs_cpu!(ln, gln, x, (g, r), forward);
}

#[test]
fn groupnorm_rank3_vs_cpu() {
    let Some(g) = gpu() else { return };
    let mut gn = GroupNorm::<2, 6>::new();
    (gn.weight, gn.bias) = affine(31);
    let ggn = gn.to_device(&g).unwrap();
    let x = randn::<Rank3<3, 6, 5>>(32);
    let r = randn::<Rank3<3, 6, 5>>(33);
    let _ = norm_vs_cpu!(gn, ggn, x, (g, r), forward);
}

#[test]
fn batchnorm2d_train_then_eval_vs_cpu() {
    let Some(g) = gpu() else { return };
    let mut bn = BatchNorm2d::<4>::new();
    (bn.weight, bn.bias) = affine(41);
    bn.momentum = 0.3;
    let gbn = bn.to_device(&g).unwrap();
    let x = randn::<Rank4<3, 4, 3, 5>>(42) * 2.0 + 0.5;
    let r = randn::<Rank4<3, 4, 3, 5>>(43);
    let (mut bn, mut gbn) = norm_vs_cpu!(bn, gbn, x, (g.clone(), r.clone()), forward_train);
    // A second training step from the updated running statistics, through `forward`
    // after `train()`.
    bn.train();
    gbn.train();
    let x2 = randn::<Rank4<3, 4, 3, 5>>(44);
    let (mut bn, mut gbn) = norm_vs_cpu!(bn, gbn, x2, (g.clone(), r.clone()), forward);
    bn.eval();
    gbn.eval();
    let back = gbn.to_cpu().unwrap();
    close(
        "running_mean",
        back.running_mean.as_slice(),
        bn.running_mean.as_slice(),
        FWD,
    );
    close(
        "running_var",
        back.running_var.as_slice(),
        bn.running_var.as_slice(),
        FWD,
    );
    assert!(!back.is_training());
    // Evaluation uses the running statistics and leaves them alone.
    let x3 = randn::<Rank4<3, 4, 3, 5>>(45);
    let (_, gbn) = norm_vs_cpu!(bn, gbn, x3, (g, r), forward);
    close(
        "running_mean after eval",
        &down(&gbn.running_mean()),
        back.running_mean.as_slice(),
        (0.0, 0.0),
    );
}

#[test]
fn batchnorm1d_eval_from_trained_cpu_layer() {
    let Some(g) = gpu() else { return };
    let mut bn = BatchNorm1d::<3>::new();
    let _ = bn.forward_train(randn::<Rank2<6, 3>>(51) * 3.0);
    let gbn = bn.to_device(&g).unwrap();
    let x = randn::<Rank2<5, 3>>(52);
    let r = randn::<Rank2<5, 3>>(53);
    let _ = norm_vs_cpu!(bn, gbn, x, (g, r), forward);
}

#[test]
fn batchnorm_errors_match_the_cpu() {
    let Some(g) = gpu() else { return };
    let mut bn = BatchNorm2dDyn::<f32>::new_dyn(3).to_device(&g).unwrap();
    let one = Tensor::<(usize, usize, Const<1>, Const<1>)>::ones_with_shape((1, 3, Const, Const));
    let err = bn.try_forward_train(up(&g, &one)).unwrap_err().to_string();
    assert!(err.contains("more than 1 value per channel"), "{err}");
    let wrong = Tensor::<(usize, usize, Const<2>, Const<2>)>::ones_with_shape((2, 4, Const, Const));
    let err = bn.try_forward(up(&g, &wrong)).unwrap_err().to_string();
    assert!(err.contains("channels"), "{err}");
}

#[test]
fn norm_layers_step_with_an_optimizer() {
    let Some(g) = gpu() else { return };
    let mut model = (LayerNorm::<4>::new(), BatchNorm1d::<4>::new())
        .to_device(&g)
        .unwrap();
    let mut names = Vec::new();
    model.visit_gpu("", &mut |p| names.push(p.name.to_string()));
    assert_eq!(names, ["0.weight", "0.bias", "1.weight", "1.bias"]);
    let mut opt = GpuOptimizer::new(RmsProp::new(0.1));
    let x = up(&g, &randn::<Rank2<5, 4>>(61));
    let loss = model.forward_train(x.trace_constant()).powf(3.0).mean();
    opt.step(&mut model, &loss.backward()).unwrap();
    let w = model.1.to_cpu().unwrap().bias.to_vec();
    assert!(w.iter().any(|&v| v != 0.0), "{w:?}");
}

// ---- losses ------------------------------------------------------------------------------

type P = Rank2<4, 5>;

fn loss_golden(
    case: &str,
    f: impl Fn(GpuTensor<P, OwnedTape<f32>>, GpuTensor<P>) -> GpuTensor<(), OwnedTape<f32>>,
) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let x = up(&dev, &Tensor::<P>::from_vec(g.f("x")).unwrap());
    let t = up(&dev, &Tensor::<P>::from_vec(g.f("target")).unwrap());
    let y = f(x.clone().trace(), t);
    g.check_forward("y", &down(&y));
    g.check_grad("x", &down(&y.backward().get_gpu(&x).unwrap()));
}

#[test]
fn golden_loss_mse_mean() {
    loss_golden("loss_mse_mean", shaped::gpu::mse_loss);
}
#[test]
fn golden_loss_l1() {
    loss_golden("loss_l1", shaped::gpu::l1_loss);
}
#[test]
fn golden_loss_bce() {
    loss_golden("loss_bce", shaped::gpu::binary_cross_entropy);
}
#[test]
fn golden_loss_bce_with_logits() {
    loss_golden(
        "loss_bce_with_logits",
        shaped::gpu::binary_cross_entropy_with_logits,
    );
}
#[test]
fn golden_loss_nll() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("loss_nll");
    let x = up(&dev, &Tensor::<Rank2<5, 4>>::from_vec(g.f("x")).unwrap());
    let labels = Indices::<Rank1<5>>::from_vec(g.idx("labels")).unwrap();
    let y = shaped::gpu::nll_loss(x.clone().trace(), &labels);
    g.check_forward("y", &down(&y));
    g.check_grad("x", &down(&y.backward().get_gpu(&x).unwrap()));
}

/// A loss on both devices with both inputs traced: the value and both gradients.
macro_rules! loss_vs_cpu {
    ($name:ident, $cpu:path, $gpu:path, |$p:ident, $t:ident| ($pe:expr, $te:expr)) => {
        #[test]
        fn $name() {
            let Some(g) = gpu() else { return };
            let $p = randn::<Rank3<2, 3, 7>>(71);
            let $t = randn::<Rank3<2, 3, 7>>(72);
            let (p, t) = ($pe, $te);
            let cy = $cpu(p.clone().trace(), t.clone().trace());
            let (gp, gt) = (up(&g, &p), up(&g, &t));
            let gy = $gpu(gp.clone().trace(), gt.clone().trace());
            close("loss", &down(&gy), cy.as_slice(), FWD);
            let (cg, gg) = (cy.backward(), gy.backward());
            close(
                "grad pred",
                &down(&gg.get_gpu(&gp).unwrap()),
                cg.get_slice(&p).unwrap(),
                GRAD,
            );
            close(
                "grad target",
                &down(&gg.get_gpu(&gt).unwrap()),
                cg.get_slice(&t).unwrap(),
                GRAD,
            );
        }
    };
}

loss_vs_cpu!(
    mse_vs_cpu,
    shaped::nn::loss::mse_loss,
    shaped::gpu::mse_loss,
    |p, t| (p, t)
);
loss_vs_cpu!(
    l1_vs_cpu,
    shaped::nn::loss::l1_loss,
    shaped::gpu::l1_loss,
    |p, t| (p, t)
);
loss_vs_cpu!(
    bce_vs_cpu,
    shaped::nn::loss::binary_cross_entropy,
    shaped::gpu::binary_cross_entropy,
    |p, t| (p.sigmoid(), (t * 3.0).sigmoid())
);
loss_vs_cpu!(
    bce_with_logits_vs_cpu,
    shaped::nn::loss::binary_cross_entropy_with_logits,
    shaped::gpu::binary_cross_entropy_with_logits,
    |p, t| (p * 20.0, t.sigmoid())
);

#[test]
fn loss_errors() {
    let Some(g) = gpu() else { return };
    let a = Tensor::<(usize,)>::ones_with_shape((3,));
    let b = Tensor::<(usize,)>::ones_with_shape((4,));
    let err = shaped::gpu::try_mse_loss(up(&g, &a), up(&g, &b)).unwrap_err();
    assert!(err.to_string().contains("differ"), "{err}");
    let lp = up(&g, &randn::<Rank2<2, 3>>(81));
    let err = shaped::gpu::try_nll_loss(lp, &Indices::<Rank1<2>>::from_array([0, 3])).unwrap_err();
    assert!(err.to_string().contains("label 3 at position 1"), "{err}");
}

// ---- optimizers --------------------------------------------------------------------------

/// Five steps from p0 with the stored gradients; every p.k within the forward tolerance.
fn optim_golden<O: GpuStep>(case: &str, opt: O) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let mut p = up(&dev, &Tensor::<Rank2<4, 3>>::from_vec(g.f("p0")).unwrap());
    let mut opt = GpuOptimizer::new(opt);
    let steps = if g.has("steps") {
        g.hp("steps") as usize
    } else {
        5
    };
    for k in 0..steps {
        let mut grads = Gradients::default();
        let gk = up(&dev, &Tensor::from_vec(g.f(&format!("g.{k}"))).unwrap());
        grads.set_gpu(&p, gk).unwrap();
        opt.step(&mut p, &grads).unwrap();
        g.check_forward(&format!("p.{}", k + 1), &down(&p));
    }
}

fn betas(g: &Golden) -> (f64, f64) {
    let v: Vec<f64> = g
        .hp_str("betas")
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    (v[0], v[1])
}

#[test]
fn golden_optim_rmsprop() {
    let g = Golden::load("optim_rmsprop");
    optim_golden(
        "optim_rmsprop",
        RmsProp::new(g.hp("lr"))
            .alpha(g.hp("alpha"))
            .eps(g.hp("eps")),
    );
}
#[test]
fn golden_optim_rmsprop_centered_momentum() {
    let g = Golden::load("optim_rmsprop_centered_momentum");
    optim_golden(
        "optim_rmsprop_centered_momentum",
        RmsProp::new(g.hp("lr"))
            .alpha(g.hp("alpha"))
            .eps(g.hp("eps"))
            .momentum(g.hp("momentum"))
            .centered(true),
    );
}
#[test]
fn golden_optim_adagrad() {
    let g = Golden::load("optim_adagrad");
    optim_golden(
        "optim_adagrad",
        Adagrad::new(g.hp("lr"))
            .lr_decay(g.hp("lr_decay"))
            .weight_decay(g.hp("weight_decay"))
            .initial_accumulator_value(g.hp("initial_accumulator_value"))
            .eps(g.hp("eps"))
            .maximize(g.hp_str("maximize") == "true"),
    );
}
#[test]
fn golden_optim_adam_amsgrad() {
    let g = Golden::load("optim_adam_amsgrad");
    let (b1, b2) = betas(&g);
    optim_golden(
        "optim_adam_amsgrad",
        Adam::new(g.hp("lr"))
            .betas(b1, b2)
            .eps(g.hp("eps"))
            .amsgrad(true),
    );
}

/// Three steps of a two-parameter model on both devices with the same gradients: the
/// parameters after each step agree.
fn optim_vs_cpu<O: GpuStep + Optimizer<f32>>(cpu_opt: O, gpu_opt: O) {
    let Some(g) = gpu() else { return };
    let mut cpu_model = (randn::<Rank2<3, 4>>(91), randn::<Rank1<5>>(92));
    let mut gpu_model = (up(&g, &cpu_model.0), up(&g, &cpu_model.1));
    let (mut copt, mut gopt) = (cpu_opt, GpuOptimizer::new(gpu_opt));
    for k in 0..3 {
        let (g0, g1) = (randn::<Rank2<3, 4>>(100 + k), randn::<Rank1<5>>(200 + k));
        let mut cg = Gradients::default();
        cg.set(&cpu_model.0, g0.clone());
        cg.set(&cpu_model.1, g1.clone());
        copt.step(&mut cpu_model, &cg);
        let mut gg = Gradients::default();
        gg.set_gpu(&gpu_model.0, up(&g, &g0)).unwrap();
        gg.set_gpu(&gpu_model.1, up(&g, &g1)).unwrap();
        gopt.step(&mut gpu_model, &gg).unwrap();
        close("param 0", &down(&gpu_model.0), cpu_model.0.as_slice(), FWD);
        close("param 1", &down(&gpu_model.1), cpu_model.1.as_slice(), FWD);
    }
}

#[test]
fn rmsprop_every_setting_vs_cpu() {
    let make = || {
        RmsProp::<f32>::new(0.01)
            .alpha(0.9)
            .eps(1e-6)
            .weight_decay(0.1)
            .momentum(0.8)
            .centered(true)
            .maximize(true)
    };
    optim_vs_cpu(make(), make());
}
#[test]
fn rmsprop_plain_vs_cpu() {
    optim_vs_cpu(RmsProp::<f32>::new(0.05), RmsProp::<f32>::new(0.05));
}
#[test]
fn adagrad_every_setting_vs_cpu() {
    let make = || {
        Adagrad::<f32>::new(0.1)
            .lr_decay(0.05)
            .weight_decay(0.01)
            .initial_accumulator_value(0.2)
            .eps(1e-8)
    };
    optim_vs_cpu(make(), make());
}
#[test]
fn adam_amsgrad_maximize_vs_cpu() {
    let make = || {
        Adam::<f32>::new(0.01)
            .amsgrad(true)
            .maximize(true)
            .weight_decay(0.1)
    };
    optim_vs_cpu(make(), make());
}
#[test]
fn adamw_amsgrad_vs_cpu() {
    let make = || AdamW(AdamW::<f32>::new(0.01).0.amsgrad(true));
    optim_vs_cpu(make(), make());
}
#[test]
fn optimizer_state_is_readable() {
    let Some(g) = gpu() else { return };
    let mut p = up(&g, &Tensor::<Rank1<2>>::ones());
    let mut opt = GpuOptimizer::new(Adagrad::new(0.1).initial_accumulator_value(0.5));
    let mut grads = Gradients::default();
    grads
        .set_gpu(&p, up(&g, &Tensor::<Rank1<2>>::from_array([1.0, 2.0])))
        .unwrap();
    opt.step(&mut p, &grads).unwrap();
    let state = opt.state_of("").unwrap().unwrap();
    assert_eq!(state, vec![vec![1.5, 4.5]]);
}

// ---- a model of the new layers, trained on both devices ---------------------------------

type NormCnn = (
    shaped::nn::Conv2d<2, 4, 3>,
    BatchNorm2d<4>,
    GELU,
    AvgPool2d<2>,
    shaped::nn::Flatten,
    Linear<16, 8>,
    LayerNorm<8>,
    SiLU,
    Linear<8, 3>,
);

/// Conv, BatchNorm (training mode), GELU, average pooling, LayerNorm and SiLU trained three
/// RMSprop steps on both devices: the same losses, parameters and running statistics.
#[test]
fn norm_cnn_trains_like_the_cpu() {
    let Some(g) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(5);
    let mut cpu: NormCnn = (
        shaped::nn::Conv2d::new(&mut rng),
        BatchNorm2d::new(),
        GELU,
        AvgPool2d,
        shaped::nn::Flatten,
        Linear::new(&mut rng),
        LayerNorm::new(),
        SiLU,
        Linear::new(&mut rng),
    );
    // A bias before BatchNorm has a zero gradient up to rounding, which RMSprop's division
    // by its own scale would turn into steps of either sign: PyTorch models drop it too.
    cpu.0.bias = None;
    let mut gpu_model = cpu.to_device(&g).unwrap();
    let x = Tensor::<Rank4<5, 2, 6, 6>>::randn(&mut rng);
    let labels = Indices::<Rank1<5>>::from_array([0, 2, 1, 1, 0]);
    let gx = up(&g, &x);
    let make = || RmsProp::<f32>::new(0.01).momentum(0.5);
    let (mut cpu_opt, mut gpu_opt) = (make(), GpuOptimizer::new(make()));
    for step in 0..3 {
        let cl =
            shaped::nn::loss::cross_entropy(cpu.forward_train(x.clone().trace_constant()), &labels);
        let gl = shaped::gpu::cross_entropy(
            gpu_model.forward_train(gx.clone().trace_constant()),
            &labels,
        );
        close(
            &format!("loss at step {step}"),
            &down(&gl),
            cl.as_slice(),
            FWD,
        );
        cpu_opt.step(&mut cpu, &cl.backward());
        gpu_opt.step(&mut gpu_model, &gl.backward()).unwrap();
    }
    let back = gpu_model.to_cpu().unwrap();
    cpu.1.sync_running();
    let tol = (1e-5, 1e-3);
    close(
        "0.weight",
        back.0.weight.as_slice(),
        cpu.0.weight.as_slice(),
        tol,
    );
    close(
        "1.weight",
        back.1.weight.as_slice(),
        cpu.1.weight.as_slice(),
        tol,
    );
    close(
        "1.running_mean",
        back.1.running_mean.as_slice(),
        cpu.1.running_mean.as_slice(),
        tol,
    );
    close(
        "1.running_var",
        back.1.running_var.as_slice(),
        cpu.1.running_var.as_slice(),
        tol,
    );
    close("6.bias", back.6.bias.as_slice(), cpu.6.bias.as_slice(), tol);
    // Evaluation (running statistics) agrees too.
    let ce = cpu.forward(x);
    close("eval", &down(&gpu_model.forward(gx)), ce.as_slice(), FWD);
}
