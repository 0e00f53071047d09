//! f64 layers on the GPU (adapters with `SHADER_F64`, lavapipe among them): `Linear`,
//! `Conv2d`, grouped and transposed convolution, pooling, `Flatten`, BatchNorm / LayerNorm /
//! GroupNorm, `Embedding`, the activations (functions and layers), `Dropout` and tuple models,
//! moved with `to_device` from their CPU f64 layers; forward values and the gradients of the
//! input and of every parameter against the CPU's f64 path, to near f64 precision
//! (`F64_TOL`), `to_cpu` back, and a few SGD steps of a small MLP on both devices.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{F64_TOL, close64, gpu64, randn64};
use shaped::autograd::Gradients;
use shaped::gpu::GpuTensor;
use shaped::gpu::prelude::*;
use shaped::nn::{
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dropout,
    Embedding, Flatten, GELU, GELUTanh, GroupNorm, GroupedConv2d, LayerNorm, LeakyReLU, Linear,
    MaxPool2d, Module, Params, ReLU, SiLU, Sigmoid, Softplus, Tanh, TracedIndices,
};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A GPU f64 tensor's values, read back.
fn down64<S: Shape, T>(t: &GpuTensor<S, T, f64>) -> Vec<f64> {
    t.to_cpu().unwrap().to_vec()
}

/// The GPU gradient of `t`, read back.
fn grad64<S: Shape, T>(gg: &Gradients<f64>, t: &GpuTensor<S, T, f64>) -> Vec<f64> {
    down64(&gg.get_gpu(t).expect("a GPU gradient"))
}

// ---- activations -------------------------------------------------------------------------

/// An activation function in f64 on both devices over a wide range (saturating regions of
/// GELU, SiLU, softplus included), value and the gradient of `sum(f(x) * r)`.
macro_rules! activation_vs_cpu64 {
    ($name:ident, |$x:ident| $body:expr, $pos:expr) => {
        #[test]
        fn $name() {
            let Some(g) = gpu64() else { return };
            let mut x = randn64::<Rank2<8, 25>>(11) * 4.0;
            if $pos {
                x = x.abs() + 1e-2;
            }
            let r = randn64::<Rank2<8, 25>>(12);
            let cy = {
                let $x = x.clone().trace();
                $body
            };
            let gx = x.to_device(&g).unwrap();
            let gy = {
                let $x = gx.clone().trace();
                $body
            };
            close64("forward", &down64(&gy), cy.as_slice(), F64_TOL);
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
            close64(
                "grad",
                &grad64(&gg, &gx),
                cg.get_slice(&x).unwrap(),
                F64_TOL,
            );
        }
    };
}

activation_vs_cpu64!(abs64, |x| x.abs(), false);
activation_vs_cpu64!(sqrt64, |x| x.sqrt(), true);
activation_vs_cpu64!(sin64, |x| x.sin(), false);
activation_vs_cpu64!(cos64, |x| x.cos(), false);
activation_vs_cpu64!(leaky_relu64, |x| x.leaky_relu(0.07), false);
activation_vs_cpu64!(gelu_erf64, |x| x.gelu(), false);
activation_vs_cpu64!(gelu_tanh64, |x| x.gelu_tanh(), false);
activation_vs_cpu64!(silu64, |x| x.silu(), false);
activation_vs_cpu64!(softplus64, |x| x.softplus(1.5, 10.0), false);
activation_vs_cpu64!(clamp64, |x| x.clamp(-1.0, 1.5), false);
activation_vs_cpu64!(powf_fractional64, |x| x.powf(2.5), true);
// Negative bases with an integral exponent, as Rust's powf.
activation_vs_cpu64!(powf_integral64, |x| x.powf(3.0), false);
activation_vs_cpu64!(elu64, |x| x.elu(1.3), false);
activation_vs_cpu64!(selu64, |x| x.selu(), false);
activation_vs_cpu64!(celu64, |x| x.celu(0.6), false);
activation_vs_cpu64!(hardtanh64, |x| x.hardtanh(-1.5, 2.0), false);
activation_vs_cpu64!(relu6_64, |x| x.relu6(), false);
activation_vs_cpu64!(hardsigmoid64, |x| x.hardsigmoid(), false);
activation_vs_cpu64!(hardswish64, |x| x.hardswish(), false);
activation_vs_cpu64!(mish64, |x| x.mish(), false);
activation_vs_cpu64!(softsign64, |x| x.softsign(), false);
activation_vs_cpu64!(logsigmoid64, |x| x.logsigmoid(), false);
activation_vs_cpu64!(tanhshrink64, |x| x.tanhshrink(), false);
activation_vs_cpu64!(hardshrink64, |x| x.hardshrink(0.8), false);
activation_vs_cpu64!(softshrink64, |x| x.softshrink(0.8), false);
activation_vs_cpu64!(threshold64, |x| x.threshold(-0.5, 2.0), false);
activation_vs_cpu64!(
    relu_sigmoid_tanh64,
    |x| x.clone().relu() + x.clone().sigmoid() * x.tanh(),
    false
);

/// GELU in f64 where the f64 erfc switches from its series to its continued fraction
/// (|x| / sqrt 2 = 2.5) and deep in both tails.
#[test]
fn gelu_erf64_at_hard_arguments() {
    let Some(g) = gpu64() else { return };
    let x = Tensor::<Rank1<8>, f64>::from_array([
        -12.0, -7.5, -3.5355, -3.5356, 3.5355, 3.5356, 9.0, 1e-8,
    ]);
    let cy = x.clone().trace().gelu();
    let gx = x.to_device(&g).unwrap();
    let gy = gx.clone().trace().gelu();
    close64("forward", &down64(&gy), cy.as_slice(), F64_TOL);
    let cg = cy.sum().backward();
    let gg = gy.sum().backward();
    close64(
        "grad",
        &grad64(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
}

// ---- tuple models of activation layers and Linear ------------------------------------------

#[test]
fn sequential_mlp_of_every_activation_layer64() {
    let Some(g) = gpu64() else { return };
    let mut r = rng(1);
    let cpu = (
        Linear::<5, 8, f64>::new(&mut r),
        ReLU,
        Linear::<8, 8, f64>::new(&mut r),
        GELU,
        Linear::<8, 8, f64>::new(&mut r),
        GELUTanh,
        Linear::<8, 8, f64>::new(&mut r),
        SiLU,
        LeakyReLU(0.2),
        Softplus {
            beta: 2.0,
            threshold: 5.0,
        },
        Tanh,
        Sigmoid,
    );
    let mut model = cpu.to_device(&g).unwrap();
    assert_eq!(
        GpuParams::<f64>::gpu_param_names(&mut model),
        Params::<f64>::param_names(&cpu)
    );
    let x = randn64::<Rank3<2, 3, 5>>(2) * 2.0;
    let r = randn64::<Rank3<2, 3, 8>>(3);
    let cy = cpu.forward(x.clone().trace());
    let gx = x.to_device(&g).unwrap();
    let gy = model.forward(gx.clone().trace());
    close64("forward", &down64(&gy), cy.as_slice(), F64_TOL);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
    close64(
        "grad x",
        &grad64(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
    macro_rules! grad_weight {
        ($i:tt) => {
            close64(
                concat!("grad weight ", $i),
                &grad64(&gg, &model.$i.weight),
                cg.get_slice(&cpu.$i.weight).unwrap(),
                F64_TOL,
            )
        };
    }
    grad_weight!(0);
    grad_weight!(2);
    grad_weight!(4);
    grad_weight!(6);
    for (gb, cb) in [(&model.0.bias, &cpu.0.bias), (&model.6.bias, &cpu.6.bias)] {
        let (gb, cb) = (gb.as_ref().unwrap(), cb.as_ref().unwrap());
        close64(
            "grad bias",
            &grad64(&gg, gb),
            cg.get_slice(cb).unwrap(),
            F64_TOL,
        );
    }
    // Untraced, and back to the CPU unchanged.
    close64(
        "untraced",
        &down64(&model.forward(gx)),
        cpu.forward(x).as_slice(),
        F64_TOL,
    );
    let back = model.to_cpu().unwrap();
    assert_eq!(back.4.weight.to_vec(), cpu.4.weight.to_vec());
    assert_eq!(back.9, cpu.9);
}

// ---- convolutions ------------------------------------------------------------------------

/// A layer of `weight` and optional `bias` on both devices with the loss `sum(y * r)`: the
/// output and the gradients of the input and the parameters, then `to_cpu` back.
macro_rules! weight_layer_vs_cpu64 {
    ($layer:expr, $x:ty, $seed:expr) => {{
        let Some(dev) = gpu64() else { return };
        let layer = $layer;
        let glayer = layer.to_device(&dev).unwrap();
        let x = randn64::<$x>($seed);
        let cy = layer.forward(x.clone().trace());
        let gx = x.to_device(&dev).unwrap();
        let gy = glayer.forward(gx.clone().trace());
        assert_eq!(gy.to_cpu().unwrap().dims(), cy.dims());
        close64("y", &down64(&gy), cy.as_slice(), F64_TOL);
        let cg = cy.square().sum().backward();
        let gg = gy.square().sum().backward();
        close64("x", &grad64(&gg, &gx), cg.get_slice(&x).unwrap(), F64_TOL);
        close64(
            "weight",
            &grad64(&gg, &glayer.weight),
            cg.get_slice(&layer.weight).unwrap(),
            F64_TOL,
        );
        assert_eq!(layer.bias.is_some(), glayer.bias.is_some());
        if let (Some(cb), Some(gb)) = (&layer.bias, &glayer.bias) {
            close64("bias", &grad64(&gg, gb), cg.get_slice(cb).unwrap(), F64_TOL);
        }
        close64(
            "y untraced",
            &down64(&glayer.forward(gx)),
            layer.forward(x).as_slice(),
            F64_TOL,
        );
        let back = glayer.to_cpu().unwrap();
        assert_eq!(back.weight.to_vec(), layer.weight.to_vec());
    }};
}

#[test]
fn linear64_rank3_input() {
    weight_layer_vs_cpu64!(Linear::<7, 5, f64>::new(&mut rng(3)), Rank3<2, 3, 7>, 30);
}

#[test]
fn linear64_no_bias() {
    weight_layer_vs_cpu64!(Linear::<6, 9, f64>::new_no_bias(&mut rng(4)), Rank2<5, 6>, 40);
}

#[test]
fn conv2d64_stride_padding() {
    weight_layer_vs_cpu64!(
        Conv2d::<3, 4, 3, 2, 1, 1, f64>::new(&mut rng(5)),
        Rank4<2, 3, 7, 6>,
        50
    );
}

#[test]
fn conv2d64_dilated_no_bias() {
    weight_layer_vs_cpu64!(
        Conv2d::<2, 3, 2, 1, 1, 2, f64>::new_no_bias(&mut rng(6)),
        Rank4<1, 2, 6, 5>,
        60
    );
}

#[test]
fn grouped_conv2d64() {
    weight_layer_vs_cpu64!(
        GroupedConv2d::<4, 6, 3, 2, 1, 1, 1, f64>::new(&mut rng(7)),
        Rank4<2, 4, 5, 5>,
        70
    );
}

#[test]
fn conv_transpose2d64() {
    weight_layer_vs_cpu64!(
        ConvTranspose2d::<3, 2, 3, 2, 1, 1, 1, f64>::new(&mut rng(8)),
        Rank4<2, 3, 4, 3>,
        80
    );
}

// ---- pooling and Flatten -------------------------------------------------------------------

/// A layer without parameters on both devices: the output and the input gradient of
/// `sum(y^2)`.
macro_rules! no_param_layer_vs_cpu64 {
    ($name:ident, $layer:expr, $x:ty) => {
        #[test]
        fn $name() {
            let Some(dev) = gpu64() else { return };
            let layer = $layer;
            let glayer = layer.to_device(&dev).unwrap();
            let x = randn64::<$x>(90) * 3.0;
            let cy = layer.forward(x.clone().trace());
            let gx = x.to_device(&dev).unwrap();
            let gy = glayer.forward(gx.clone().trace());
            assert_eq!(gy.to_cpu().unwrap().dims(), cy.dims());
            close64("y", &down64(&gy), cy.as_slice(), F64_TOL);
            let cg = cy.square().sum().backward();
            let gg = gy.square().sum().backward();
            close64("x", &grad64(&gg, &gx), cg.get_slice(&x).unwrap(), F64_TOL);
        }
    };
}

no_param_layer_vs_cpu64!(max_pool2d64, MaxPool2d::<2, 2, 0>, Rank4<2, 3, 6, 5>);
no_param_layer_vs_cpu64!(max_pool2d64_padded, MaxPool2d::<3, 2, 1>, Rank4<1, 2, 5, 7>);
no_param_layer_vs_cpu64!(avg_pool2d64, AvgPool2d::<3, 2, 1>, Rank4<2, 3, 7, 6>);
no_param_layer_vs_cpu64!(avg_pool2d64_rank3, AvgPool2d::<2, 2, 0>, Rank3<3, 6, 4>);
no_param_layer_vs_cpu64!(adaptive_avg_pool2d64, AdaptiveAvgPool2d::<3, 2>, Rank4<2, 2, 7, 5>);
no_param_layer_vs_cpu64!(
    pool_then_flatten64,
    (MaxPool2d::<2, 2, 0>, Flatten),
    Rank4<2, 3, 4, 4>
);

// ---- normalisations ----------------------------------------------------------------------

/// A random `(C,)` weight and bias for a normalisation layer.
fn affine64<const C: usize>(seed: u64) -> (Tensor<Rank1<C>, f64>, Tensor<Rank1<C>, f64>) {
    (
        randn64::<Rank1<C>>(seed) + 1.0,
        randn64::<Rank1<C>>(seed + 1),
    )
}

/// A normalisation layer (`weight`, `bias`) on both devices through `$fwd`, with the loss
/// `sum(y * r)`: the output and the gradients of the input, weight and bias; the layers are
/// returned for further steps.
macro_rules! norm_vs_cpu64 {
    ($cpu:expr, $gpu:expr, $x:expr, $r:expr, $dev:expr, $fwd:ident) => {{
        #[allow(unused_mut)]
        let (mut cpu, mut gpu_layer, x, r) = ($cpu, $gpu, $x, $r);
        let cy = cpu.$fwd(x.clone().trace());
        let gx = x.to_device($dev).unwrap();
        let gy = gpu_layer.$fwd(gx.clone().trace());
        close64("forward", &down64(&gy), cy.as_slice(), F64_TOL);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * r.to_device($dev).unwrap()).sum().backward();
        close64(
            "grad x",
            &grad64(&gg, &gx),
            cg.get_slice(&x).unwrap(),
            F64_TOL,
        );
        close64(
            "grad weight",
            &grad64(&gg, &gpu_layer.weight),
            cg.get_slice(&cpu.weight).unwrap(),
            F64_TOL,
        );
        close64(
            "grad bias",
            &grad64(&gg, &gpu_layer.bias),
            cg.get_slice(&cpu.bias).unwrap(),
            F64_TOL,
        );
        (cpu, gpu_layer)
    }};
}

#[test]
fn layernorm64_rank4() {
    let Some(g) = gpu64() else { return };
    let mut ln = LayerNorm::<13, f64>::new();
    (ln.weight, ln.bias) = affine64(21);
    ln.eps = 1e-3;
    let gln = ln.to_device(&g).unwrap();
    let x = randn64::<Rank4<2, 3, 2, 13>>(22) * 3.0 + 1.0;
    let r = randn64::<Rank4<2, 3, 2, 13>>(23);
    let (ln, gln) = norm_vs_cpu64!(ln, gln, x, r, &g, forward);
    let back = gln.to_cpu().unwrap();
    assert_eq!(back.weight.to_vec(), ln.weight.to_vec());
    assert_eq!(back.eps, ln.eps);
}

#[test]
fn groupnorm64_rank4() {
    let Some(g) = gpu64() else { return };
    let mut gn = GroupNorm::<3, 6, f64>::new();
    (gn.weight, gn.bias) = affine64(31);
    let ggn = gn.to_device(&g).unwrap();
    let x = randn64::<Rank4<2, 6, 3, 4>>(32) * 2.0 - 0.5;
    let r = randn64::<Rank4<2, 6, 3, 4>>(33);
    let _ = norm_vs_cpu64!(gn, ggn, x, r, &g, forward);
}

#[test]
fn batchnorm2d64_train_then_eval() {
    let Some(g) = gpu64() else { return };
    let mut bn = BatchNorm2d::<4, f64>::new();
    (bn.weight, bn.bias) = affine64(41);
    bn.momentum = 0.3;
    let gbn = bn.to_device(&g).unwrap();
    let x = randn64::<Rank4<3, 4, 3, 5>>(42) * 2.0 + 0.5;
    let r = randn64::<Rank4<3, 4, 3, 5>>(43);
    let (mut bn, mut gbn) = norm_vs_cpu64!(bn, gbn, x, r.clone(), &g, forward_train);
    // A second training step from the updated running statistics, through `forward` after
    // `train()`; then evaluation with the running statistics.
    Params::<f64>::train(&mut bn);
    gbn.train();
    let x2 = randn64::<Rank4<3, 4, 3, 5>>(44);
    let (mut bn, mut gbn) = norm_vs_cpu64!(bn, gbn, x2, r.clone(), &g, forward);
    Params::<f64>::eval(&mut bn);
    gbn.eval();
    let back = gbn.to_cpu().unwrap();
    close64(
        "running_mean",
        back.running_mean.as_slice(),
        bn.running_mean.as_slice(),
        F64_TOL,
    );
    close64(
        "running_var",
        back.running_var.as_slice(),
        bn.running_var.as_slice(),
        F64_TOL,
    );
    let x3 = randn64::<Rank4<3, 4, 3, 5>>(45);
    let _ = norm_vs_cpu64!(bn, gbn, x3, r, &g, forward);
}

#[test]
fn batchnorm1d64_rank2_training() {
    let Some(g) = gpu64() else { return };
    let mut bn = BatchNorm1d::<5, f64>::new();
    (bn.weight, bn.bias) = affine64(51);
    let gbn = bn.to_device(&g).unwrap();
    let x = randn64::<Rank2<7, 5>>(52) * 3.0;
    let r = randn64::<Rank2<7, 5>>(53);
    let (bn, gbn) = norm_vs_cpu64!(bn, gbn, x, r, &g, forward_train);
    let back = gbn.to_cpu().unwrap();
    close64(
        "running_var",
        back.running_var.as_slice(),
        bn.running_var.as_slice(),
        F64_TOL,
    );
}

// ---- Embedding ---------------------------------------------------------------------------

#[test]
fn embedding64_with_padding_idx() {
    let Some(g) = gpu64() else { return };
    let mut emb = Embedding::<8, 3, f64>::new(&mut rng(9));
    emb.padding_idx = Some(2);
    let gemb = emb.to_device(&g).unwrap();
    let idx = Indices::<Rank2<2, 5>>::from_vec(vec![1, 2, 7, 1, 0, 2, 5, 5, 1, 6]).unwrap();
    let r = randn64::<Rank3<2, 5, 3>>(91);
    let cy = emb.forward(TracedIndices(idx.clone()));
    let gy = gemb.forward(TracedIndices(idx.clone()));
    close64("forward", &down64(&gy), cy.as_slice(), F64_TOL);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
    let gw = grad64(&gg, &gemb.weight);
    close64(
        "grad weight",
        &gw,
        cg.get_slice(&emb.weight).unwrap(),
        F64_TOL,
    );
    assert_eq!(gw[2 * 3..][..3], [0.0; 3]);
    close64(
        "untraced",
        &down64(&gemb.forward(idx.clone())),
        emb.forward(idx).as_slice(),
        F64_TOL,
    );
    let back = gemb.to_cpu().unwrap();
    assert_eq!(back.weight.to_vec(), emb.weight.to_vec());
    assert_eq!(back.padding_idx, Some(2));
}

// ---- Dropout and training ----------------------------------------------------------------

/// Dropout in training mode draws the same masks on both devices (from the layer's own
/// generator), in f64 as in f32.
#[test]
fn dropout64_in_a_model_trains_like_the_cpu() {
    let Some(g) = gpu64() else { return };
    let mut r = rng(10);
    let mut cpu = (
        Linear::<6, 10, f64>::new(&mut r),
        ReLU,
        Dropout::with_seed(0.4, 17),
        Linear::<10, 3, f64>::new(&mut r),
    );
    let mut model = cpu.to_device(&g).unwrap();
    let x = randn64::<Rank2<5, 6>>(11);
    for _ in 0..2 {
        let cy = cpu.forward_train(x.clone().trace_constant());
        let gy = model.forward_train(x.to_device(&g).unwrap().trace_constant());
        close64("forward", &down64(&gy), cy.as_slice(), F64_TOL);
        let cg = cy.square().sum().backward();
        let gg = gy.square().sum().backward();
        close64(
            "grad weight 0",
            &grad64(&gg, &model.0.weight),
            cg.get_slice(&cpu.0.weight).unwrap(),
            F64_TOL,
        );
        close64(
            "grad weight 3",
            &grad64(&gg, &model.3.weight),
            cg.get_slice(&cpu.3.weight).unwrap(),
            F64_TOL,
        );
    }
    // Evaluation mode: no dropping on either device.
    Params::<f64>::eval(&mut cpu);
    model.eval();
    assert!(!model.is_training());
    close64(
        "eval",
        &down64(&model.forward(x.to_device(&g).unwrap())),
        cpu.forward(x).as_slice(),
        F64_TOL,
    );
}

/// Three SGD steps of a small f64 MLP with the MSE loss on both devices: the losses, and the
/// parameters brought back with `to_cpu`, agree to near f64 precision.
#[test]
fn mlp64_sgd_steps_match_the_cpu() {
    let Some(g) = gpu64() else { return };
    let mut r = rng(12);
    let mut cpu = (
        Linear::<4, 16, f64>::new(&mut r),
        Tanh,
        Linear::<16, 3, f64>::new(&mut r),
    );
    let mut model = cpu.to_device(&g).unwrap();
    let x = randn64::<Rank2<8, 4>>(13);
    let t = randn64::<Rank2<8, 3>>(14);
    let (gx, gt) = (x.to_device(&g).unwrap(), t.to_device(&g).unwrap());
    let lr = 0.1;
    let mut losses = Vec::new();
    for _ in 0..3 {
        let cl = (cpu.forward(x.clone().trace_constant()) - t.clone())
            .square()
            .mean();
        let gl = (model.forward(gx.clone().trace_constant()) - gt.clone())
            .square()
            .mean();
        close64("loss", &down64(&gl), cl.as_slice(), F64_TOL);
        losses.push(cl.as_slice()[0]);
        let cg = cl.backward();
        let gg = gl.backward();
        macro_rules! step {
            ($($p:tt)+) => {{
                let cw = cg.get(&cpu.$($p)+).unwrap();
                let gw = gg.get_gpu(&model.$($p)+).unwrap();
                cpu.$($p)+ = cpu.$($p)+.clone() - cw * lr;
                model.$($p)+ = model.$($p)+.clone() - gw * lr;
            }};
        }
        step!(0.weight);
        step!(2.weight);
        let (cb0, gb0) = (
            cg.get(cpu.0.bias.as_ref().unwrap()).unwrap(),
            gg.get_gpu(model.0.bias.as_ref().unwrap()).unwrap(),
        );
        cpu.0.bias = Some(cpu.0.bias.take().unwrap() - cb0 * lr);
        model.0.bias = Some(model.0.bias.take().unwrap() - gb0 * lr);
    }
    assert!(losses[2] < losses[0], "the loss falls: {losses:?}");
    let back = model.to_cpu().unwrap();
    close64(
        "weight 0",
        back.0.weight.as_slice(),
        cpu.0.weight.as_slice(),
        F64_TOL,
    );
    close64(
        "weight 2",
        back.2.weight.as_slice(),
        cpu.2.weight.as_slice(),
        F64_TOL,
    );
    close64(
        "bias 0",
        back.0.bias.unwrap().as_slice(),
        cpu.0.bias.unwrap().as_slice(),
        F64_TOL,
    );
}

/// A small f64 CNN (Conv2d, BatchNorm2d in training mode, ReLU, max pooling, Flatten,
/// Linear) trained three steps with Adam on both devices (`GpuOptimizer` on the GPU): the
/// losses, every parameter and the BatchNorm running statistics agree to near f64 precision.
#[test]
fn cnn64_adam_steps_match_the_cpu() {
    use shaped::optim::{Adam, Optimizer};
    let Some(g) = gpu64() else { return };
    let mut r = rng(20);
    // No conv bias: BatchNorm cancels it, so its gradient is rounding noise (~1e-17) that
    // Adam's division by sqrt(v) + eps would turn into steps that differ between devices.
    let mut cpu = (
        Conv2d::<2, 4, 3, 1, 1, 1, f64>::new_no_bias(&mut r),
        BatchNorm2d::<4, f64>::new(),
        ReLU,
        MaxPool2d::<2, 2, 0>,
        Flatten,
        Linear::<36, 3, f64>::new(&mut r),
    );
    let mut model = cpu.to_device(&g).unwrap();
    let x = randn64::<Rank4<4, 2, 6, 6>>(21);
    let t = randn64::<Rank2<4, 3>>(22);
    let (gx, gt) = (x.to_device(&g).unwrap(), t.to_device(&g).unwrap());
    let mut copt = Adam::<f64>::new(0.01);
    let mut gopt = GpuOptimizer::new(Adam::<f64>::new(0.01));
    for _ in 0..3 {
        let cl = (cpu.forward_train(x.clone().trace_constant()) - t.clone())
            .square()
            .mean();
        let gl = (model.forward_train(gx.clone().trace_constant()) - gt.clone())
            .square()
            .mean();
        close64("loss", &down64(&gl), cl.as_slice(), F64_TOL);
        let cg = cl.backward();
        let gg = gl.backward();
        copt.try_step(&mut cpu, &cg).unwrap();
        gopt.step(&mut model, &gg).unwrap();
    }
    // Every parameter and buffer (the running statistics included), by name.
    let back = model.to_cpu().unwrap();
    let mut want = Vec::new();
    Params::<f64>::visit(&cpu, "", &mut |p| {
        want.push((p.name.to_string(), p.data.to_vec()))
    });
    let mut got = Vec::new();
    Params::<f64>::visit(&back, "", &mut |p| {
        got.push((p.name.to_string(), p.data.to_vec()))
    });
    assert_eq!(got.len(), want.len());
    assert!(want.iter().any(|(n, _)| n == "1.running_var"));
    for ((gn, gv), (cn, cv)) in got.iter().zip(&want) {
        assert_eq!(gn, cn);
        close64(gn, gv, cv, F64_TOL);
    }
}

/// Run-time sizes in f64: `LinearDyn`, `LayerNormDyn` and `BatchNorm2dDyn` (training mode) on
/// an input whose batch and feature sizes are `usize`, forward and gradients.
#[test]
fn dynamic_size_layers64() {
    use shaped::nn::{BatchNorm1dDyn, LayerNormDyn, LinearDyn};
    let Some(g) = gpu64() else { return };
    let cpu = (
        LinearDyn::<f64>::new_dyn(6, 5, true, &mut rng(30)),
        LayerNormDyn::<f64>::new_dyn(5),
        BatchNorm1dDyn::<f64>::new_dyn(5),
    );
    let mut model = cpu.to_device(&g).unwrap();
    let x = Tensor::<(usize, usize), f64>::randn_with_shape((7, 6), &mut rng(31));
    let cy = {
        let mut cpu = cpu.clone();
        cpu.forward_train(x.clone().trace())
    };
    let gx = x.to_device(&g).unwrap();
    let gy = model.forward_train(gx.clone().trace());
    close64("forward", &down64(&gy), cy.as_slice(), F64_TOL);
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    close64(
        "grad x",
        &grad64(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
    close64(
        "grad linear weight",
        &grad64(&gg, &model.0.weight),
        cg.get_slice(&cpu.0.weight).unwrap(),
        F64_TOL,
    );
    close64(
        "grad layernorm weight",
        &grad64(&gg, &model.1.weight),
        cg.get_slice(&cpu.1.weight).unwrap(),
        F64_TOL,
    );
}
