//! The PyTorch golden cases the GPU covers (tests/golden/), checked on the GPU with the same
//! files and tolerances as the CPU tests.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::gpu;
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuStep, cross_entropy};
use shaped::nn::{Linear, Module, ReLU};
use shaped::optim::{Adam, AdamW, Sgd};
use shaped::prelude::*;

fn up<S: Shape>(g: &Wgpu, t: Tensor<S>) -> GpuTensor<S> {
    t.to_device(g).unwrap()
}

fn cpu<S: Shape, T>(t: &GpuTensor<S, T>) -> Vec<f32> {
    t.to_cpu().unwrap().to_vec()
}

type A = Rank3<3, 1, 5>;
type B = Rank2<4, 5>;
type Y = Rank3<3, 4, 5>;

fn binary_case(
    case: &str,
    f: impl Fn(
        GpuTensor<A, OwnedTape<f32>>,
        GpuTensor<B, OwnedTape<f32>>,
    ) -> GpuTensor<Y, OwnedTape<f32>>,
) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let a = up(&dev, Tensor::<A>::from_vec(g.f("x")).unwrap());
    let b = up(&dev, Tensor::<B>::from_vec(g.f("x2")).unwrap());
    let gy = up(&dev, Tensor::<Y>::from_vec(g.f("gy")).unwrap());
    let y = f(a.clone().trace(), b.clone().trace());
    g.check_forward("y", &cpu(&y));
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &cpu(&grads.get_gpu(&a).unwrap()));
    g.check_grad("x2", &cpu(&grads.get_gpu(&b).unwrap()));
}

#[test]
fn binary_add() {
    binary_case("binary_add", |a, b| a + b);
}
#[test]
fn binary_sub() {
    binary_case("binary_sub", |a, b| a - b);
}
#[test]
fn binary_mul() {
    binary_case("binary_mul", |a, b| a * b);
}
#[test]
fn binary_div() {
    binary_case("binary_div", |a, b| a / b);
}

type X = Rank2<4, 7>;

fn unary_case(
    case: &str,
    f: impl Fn(GpuTensor<X, OwnedTape<f32>>) -> GpuTensor<X, OwnedTape<f32>>,
) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let x = up(&dev, Tensor::<X>::from_vec(g.f("x")).unwrap());
    let gy = up(&dev, Tensor::<X>::from_vec(g.f("gy")).unwrap());
    let y = f(x.clone().trace());
    g.check_forward("y", &cpu(&y));
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &cpu(&grads.get_gpu(&x).unwrap()));
}

#[test]
fn unary_relu() {
    unary_case("unary_relu", |x| x.relu());
}
#[test]
fn unary_sigmoid() {
    unary_case("unary_sigmoid", |x| x.sigmoid());
}
#[test]
fn unary_tanh() {
    unary_case("unary_tanh", |x| x.tanh());
}
#[test]
fn unary_exp() {
    unary_case("unary_exp", |x| x.exp());
}
#[test]
fn unary_log() {
    unary_case("unary_log", |x| x.ln());
}

type R = Rank3<3, 4, 5>;

#[test]
fn reduce_sum_all() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("reduce_sum_all");
    let x = up(&dev, Tensor::<R>::from_vec(g.f("x")).unwrap());
    let y = x.clone().trace().sum();
    g.check_forward("y", &cpu(&y));
    let gy = g.f("gy")[0];
    let grads = (y * gy).backward();
    g.check_grad("x", &cpu(&grads.get_gpu(&x).unwrap()));
}

fn log_softmax_case<const I: usize>(case: &str)
where
    R: shaped::shape::HasAxis<I>,
{
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let x = up(&dev, Tensor::<R>::from_vec(g.f("x")).unwrap());
    let gy = up(&dev, Tensor::<R>::from_vec(g.f("gy")).unwrap());
    let y = x.clone().trace().log_softmax::<I>();
    g.check_forward("y", &cpu(&y));
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &cpu(&grads.get_gpu(&x).unwrap()));
}

#[test]
fn reduce_log_softmax_last() {
    log_softmax_case::<2>("reduce_log_softmax_last");
}
#[test]
fn reduce_log_softmax_dim1() {
    log_softmax_case::<1>("reduce_log_softmax_dim1");
}

fn matmul_case<SA, SB: ConstShape, SY>(case: &str)
where
    SA: ConstShape + shaped::shape::MatMulShape<SB, Output = SY>,
    SY: ConstShape + shaped::shape::BroadcastShapes<SY, Output = SY>,
{
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let a = up(&dev, Tensor::<SA>::from_vec(g.f("x")).unwrap());
    let b = up(&dev, Tensor::<SB>::from_vec(g.f("x2")).unwrap());
    let gy = up(&dev, Tensor::<SY>::from_vec(g.f("gy")).unwrap());
    let y = a.clone().trace().matmul(b.clone().trace());
    g.check_forward("y", &cpu(&y));
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &cpu(&grads.get_gpu(&a).unwrap()));
    g.check_grad("x2", &cpu(&grads.get_gpu(&b).unwrap()));
}

#[test]
fn shape_matmul_2d() {
    matmul_case::<Rank2<3, 4>, Rank2<4, 5>, Rank2<3, 5>>("shape_matmul_2d");
}
#[test]
fn shape_matmul_batched() {
    matmul_case::<Rank3<2, 3, 4>, Rank3<2, 4, 5>, Rank3<2, 3, 5>>("shape_matmul_batched");
}
#[test]
fn shape_matmul_broadcast() {
    matmul_case::<Rank3<2, 3, 4>, Rank2<4, 5>, Rank3<2, 3, 5>>("shape_matmul_broadcast");
}

#[test]
fn layer_linear() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_linear");
    let layer = Linear::<6, 5> {
        weight: Tensor::from_vec(g.f("weight")).unwrap(),
        bias: Some(Tensor::from_vec(g.f("bias")).unwrap()),
    }
    .to_device(&dev)
    .unwrap();
    let x = up(&dev, Tensor::<Rank3<2, 3, 6>>::from_vec(g.f("x")).unwrap());
    let y = layer.forward(x.clone().trace());
    g.check_forward("y", &cpu(&y));
    let gy = up(&dev, Tensor::<Rank3<2, 3, 5>>::from_vec(g.f("gy")).unwrap());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &cpu(&grads.get_gpu(&x).unwrap()));
    g.check_grad("weight", &cpu(&grads.get_gpu(&layer.weight).unwrap()));
    g.check_grad(
        "bias",
        &cpu(&grads.get_gpu(layer.bias.as_ref().unwrap()).unwrap()),
    );
    g.check_forward("y", &cpu(&layer.forward(x)));
}

#[test]
fn layer_linear_nobias() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_linear_nobias");
    let layer = Linear::<6, 5> {
        weight: Tensor::from_vec(g.f("weight")).unwrap(),
        bias: None,
    }
    .to_device(&dev)
    .unwrap();
    let x = up(&dev, Tensor::<Rank2<4, 6>>::from_vec(g.f("x")).unwrap());
    let y = layer.forward(x.clone().trace());
    g.check_forward("y", &cpu(&y));
    let gy = up(&dev, Tensor::<Rank2<4, 5>>::from_vec(g.f("gy")).unwrap());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &cpu(&grads.get_gpu(&x).unwrap()));
    g.check_grad("weight", &cpu(&grads.get_gpu(&layer.weight).unwrap()));
}

/// Five steps from p0 with the stored gradients; every p.k within the forward tolerance.
fn optim_case<O: GpuStep>(case: &str, opt: O) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let mut p = up(&dev, Tensor::<Rank2<4, 3>>::from_vec(g.f("p0")).unwrap());
    let mut opt = GpuOptimizer::new(opt);
    for k in 0..5 {
        let mut grads = Gradients::default();
        let gk = up(&dev, Tensor::from_vec(g.f(&format!("g.{k}"))).unwrap());
        grads.set_gpu(&p, gk).unwrap();
        opt.step(&mut p, &grads).unwrap();
        g.check_forward(&format!("p.{}", k + 1), &cpu(&p));
    }
}

fn betas(g: &Golden) -> (f64, f64) {
    let s = g.hp_str("betas");
    let v: Vec<f64> = s
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    (v[0], v[1])
}

#[test]
fn optim_sgd() {
    let g = Golden::load("optim_sgd");
    optim_case("optim_sgd", Sgd::new(g.hp("lr")));
}
#[test]
fn optim_sgd_momentum_dampening() {
    let g = Golden::load("optim_sgd_momentum_dampening");
    optim_case(
        "optim_sgd_momentum_dampening",
        Sgd::new(g.hp("lr"))
            .momentum(g.hp("momentum"))
            .dampening(g.hp("dampening")),
    );
}
#[test]
fn optim_sgd_nesterov_wd() {
    let g = Golden::load("optim_sgd_nesterov_wd");
    optim_case(
        "optim_sgd_nesterov_wd",
        Sgd::new(g.hp("lr"))
            .momentum(g.hp("momentum"))
            .weight_decay(g.hp("weight_decay"))
            .nesterov(true),
    );
}
#[test]
fn optim_adam() {
    let g = Golden::load("optim_adam");
    let (b1, b2) = betas(&g);
    optim_case(
        "optim_adam",
        Adam::new(g.hp("lr")).betas(b1, b2).eps(g.hp("eps")),
    );
}
#[test]
fn optim_adam_wd() {
    let g = Golden::load("optim_adam_wd");
    let (b1, b2) = betas(&g);
    optim_case(
        "optim_adam_wd",
        Adam::new(g.hp("lr"))
            .betas(b1, b2)
            .eps(g.hp("eps"))
            .weight_decay(g.hp("weight_decay")),
    );
}
#[test]
fn optim_adamw() {
    let g = Golden::load("optim_adamw");
    let (b1, b2) = betas(&g);
    optim_case(
        "optim_adamw",
        AdamW::new(g.hp("lr"))
            .betas(b1, b2)
            .weight_decay(g.hp("weight_decay")),
    );
}

#[test]
fn e2e_mlp_adam() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("e2e_mlp_adam");
    let mut model = (
        Linear::<8, 16> {
            weight: Tensor::from_vec(g.f("0.weight")).unwrap(),
            bias: Some(Tensor::from_vec(g.f("0.bias")).unwrap()),
        },
        ReLU,
        Linear::<16, 3> {
            weight: Tensor::from_vec(g.f("2.weight")).unwrap(),
            bias: Some(Tensor::from_vec(g.f("2.bias")).unwrap()),
        },
    )
        .to_device(&dev)
        .unwrap();
    let x = up(&dev, Tensor::<Rank2<5, 8>>::from_vec(g.f("x")).unwrap());
    let labels = Indices::<Rank1<5>>::from_vec(g.idx("labels")).unwrap();
    let (b1, b2) = betas(&g);
    let mut opt = GpuOptimizer::new(Adam::new(g.hp("lr")).betas(b1, b2).eps(g.hp("eps")));
    for step in 0..3 {
        let logits = model.forward(x.clone().trace_constant());
        let loss = cross_entropy(logits, &labels);
        g.check_forward(&format!("loss.{step}"), &cpu(&loss));
        let grads = loss.backward();
        if step == 0 {
            g.check_grad("0.weight", &cpu(&grads.get_gpu(&model.0.weight).unwrap()));
            g.check_grad(
                "0.bias",
                &cpu(&grads.get_gpu(model.0.bias.as_ref().unwrap()).unwrap()),
            );
            g.check_grad("2.weight", &cpu(&grads.get_gpu(&model.2.weight).unwrap()));
            g.check_grad(
                "2.bias",
                &cpu(&grads.get_gpu(model.2.bias.as_ref().unwrap()).unwrap()),
            );
        }
        opt.step(&mut model, &grads).unwrap();
    }
    let back = model.to_cpu().unwrap();
    g.check_forward("final.0.weight", back.0.weight.as_slice());
    g.check_forward("final.0.bias", back.0.bias.as_ref().unwrap().as_slice());
    g.check_forward("final.2.weight", back.2.weight.as_slice());
    g.check_forward("final.2.bias", back.2.bias.as_ref().unwrap().as_slice());
}

#[test]
fn layer_embedding() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_embedding");
    let emb = shaped::nn::Embedding::<10, 4> {
        weight: Tensor::from_vec(g.f("weight")).unwrap(),
        padding_idx: None,
    }
    .to_device(&dev)
    .unwrap();
    let idx = Indices::<Rank2<2, 5>>::from_vec(g.idx("x")).unwrap();
    let y = emb.forward(shaped::nn::TracedIndices(idx.clone()));
    g.check_forward("y", &cpu(&y));
    let gy = up(&dev, Tensor::<Rank3<2, 5, 4>>::from_vec(g.f("gy")).unwrap());
    let grads = (y * gy).sum().backward();
    g.check_grad("weight", &cpu(&grads.get_gpu(&emb.weight).unwrap()));
    g.check_forward("y", &cpu(&emb.forward(idx)));
}

#[test]
fn layer_embedding_padding_idx() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_embedding_padding_idx");
    let padding_idx = g.hp("padding_idx") as usize;
    let emb = shaped::nn::Embedding::<8, 3> {
        weight: Tensor::from_vec(g.f("weight")).unwrap(),
        padding_idx: Some(padding_idx),
    }
    .to_device(&dev)
    .unwrap();
    let x = Indices::<Rank2<2, 6>>::from_vec(g.idx("x")).unwrap();
    assert!(x.as_slice().contains(&padding_idx));
    let y = emb.forward(shaped::nn::TracedIndices(x.clone()));
    g.check_forward("y", &cpu(&y));
    let gy = up(&dev, Tensor::<Rank3<2, 6, 3>>::from_vec(g.f("gy")).unwrap());
    let grads = (y * gy).sum().backward();
    let gw = cpu(&grads.get_gpu(&emb.weight).unwrap());
    g.check_grad("weight", &gw);
    assert_eq!(gw[padding_idx * 3..][..3], [0.0; 3]);
    let err = emb.try_lookup::<_, NoTape>(&Indices::<Rank1<2>>::from_vec(vec![1, 8]).unwrap());
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("index 8 at position 1")
    );
}
