//! The GPU margin and likelihood losses (hinge embedding, soft margin, multi-label soft
//! margin, margin ranking, Poisson and Gaussian NLL, cosine embedding; `GpuLoss` by `to_device` and the
//! `F`-style functions): the PyTorch golden cases of
//! the CPU tests, and the CPU on random data with every reduction, values and gradients (the
//! target's too where it takes one), in f32 and f64, and their `Err`s.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{F64_TOL, FWD, GRAD, gpu, gpu64};
use shaped::autograd::Gradients;
use shaped::device::Wgpu;
use shaped::dtype::Float;
use shaped::gpu::GpuTensor;
use shaped::gpu::prelude::*;
use shaped::nn::loss::*;
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};
use shaped::shape::BroadcastShapes;

type Tr<S, E> = Tensor<S, E, OwnedTape<E>>;
type GTr<S, E> = GpuTensor<S, OwnedTape<E>, E>;

/// `|a - b| <= atol + rtol * |b|` elementwise in f64, naming the first index that differs.
#[track_caller]
fn close<E: Float>(what: &str, gpu: &[E], cpu: &[E], tol: (f64, f64)) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    for (i, (x, y)) in gpu.iter().zip(cpu).enumerate() {
        let (x, y) = (x.to_f64(), y.to_f64());
        let same = (x.is_nan() && y.is_nan()) || x == y;
        assert!(
            same || (x - y).abs() <= tol.0 + tol.1 * y.abs(),
            "{what}: index {i}: GPU {x:e} vs CPU {y:e}"
        );
    }
}

/// The tolerances of outputs and gradients for the element type `E`.
fn tols<E: Float>() -> ((f64, f64), (f64, f64)) {
    if E::DTYPE == "f64" {
        (F64_TOL, F64_TOL)
    } else {
        let f = |t: (f32, f32)| (t.0 as f64, t.1 as f64);
        (f(FWD), f(GRAD))
    }
}

fn down<S: Shape, T, E: Float>(t: &GpuTensor<S, T, E>) -> Vec<E> {
    t.to_cpu().unwrap().to_vec()
}

fn up<S: Shape, E: Float>(g: &Wgpu, t: &Tensor<S, E>) -> GpuTensor<S, NoTape, E> {
    t.to_device(g).unwrap()
}

/// `Some(gradient)` of `t`, as a Vec, on the GPU.
fn grad<S: Shape, T, E: Float>(gg: &Gradients<E>, t: &GpuTensor<S, T, E>) -> Option<Vec<E>> {
    gg.get_gpu(t).map(|x| down(&x))
}

/// Standard-normal values of shape `S` in `E`.
fn randn<S: ConstShape, E: Float>(seed: u64) -> Tensor<S, E> {
    let x = Tensor::<S>::randn(&mut StdRng::seed_from_u64(seed));
    Tensor::from_vec(
        x.to_vec()
            .into_iter()
            .map(|v| E::from_f64(v as f64))
            .collect(),
    )
    .unwrap()
}

/// Labels of shape `S` drawn from `labels` by a seeded generator.
fn labels<S: ConstShape, E: Float>(seed: u64, labels: &[f64]) -> Tensor<S, E> {
    let x = Tensor::<S>::rand(&mut StdRng::seed_from_u64(seed));
    let pick = |u: f32| labels[((u * labels.len() as f32) as usize).min(labels.len() - 1)];
    Tensor::from_vec(
        x.to_vec()
            .into_iter()
            .map(|u| E::from_f64(pick(u)))
            .collect(),
    )
    .unwrap()
}

/// A loss of a prediction and a target on both devices, both traced: the output (of shape
/// `$SO`, by the reduction), the prediction's gradient of `sum(y * r)`, and the target's
/// (or that both devices give it none).
macro_rules! check_pair {
    ($g:expr, $what:expr, $E:ty, $p:expr, $t:expr, $SO:ty, |$x:ident, $y:ident| $cpu:expr, $gpu:expr) => {{
        let (g, p, t, what) = ($g, &$p, &$t, $what);
        let (fwd, gtol) = tols::<$E>();
        let cy: Tr<$SO, $E> = {
            let ($x, $y) = (p.clone().trace(), t.clone().trace());
            $cpu
        };
        let (gp, gt) = (up(g, p), up(g, t));
        let gy: GTr<$SO, $E> = {
            let ($x, $y) = (gp.clone().trace(), gt.clone().trace());
            $gpu
        };
        close(&format!("{what}: loss"), &down(&gy), cy.as_slice(), fwd);
        let r: Tensor<$SO, $E> = randn_like(*cy.shape(), 99);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up(g, &r)).sum().backward();
        let cp = cg.get_slice(p).unwrap();
        close(
            &format!("{what}: grad pred"),
            &grad(&gg, &gp).unwrap(),
            cp,
            gtol,
        );
        match (grad(&gg, &gt), cg.get_slice(t)) {
            (Some(a), Some(b)) => close(&format!("{what}: grad target"), &a, b, gtol),
            (None, None) => {}
            (a, b) => panic!("{what}: target gradient on the GPU {a:?}, on the CPU {b:?}"),
        }
    }};
}

/// Random values in the shape `shape`.
fn randn_like<S: Shape, E: Float>(shape: S, seed: u64) -> Tensor<S, E> {
    let n = shape.numel();
    let v = randn::<Rank1<256>, E>(seed).to_vec()[..n].to_vec();
    Tensor::from_vec_with_shape(v, shape).unwrap()
}

fn hinge_on<E: Float>(g: &Wgpu) {
    type S = Rank2<4, 6>;
    let x: Tensor<S, E> = randn(1);
    let t: Tensor<S, E> = labels(2, &[1.0, -1.0, 1.0, -1.0, 0.0, 0.5]);
    for margin in [1.0, 0.3] {
        let l = HingeEmbeddingLoss::new().margin(margin);
        let gl = l.to_device(g).unwrap();
        check_pair!(
            g,
            "hinge mean",
            E,
            x,
            t,
            (),
            |a, b| l.forward(a, b),
            gl.forward(a, b)
        );
        let l = l.reduction(Reduction::Sum);
        let gl = l.to_device(g).unwrap();
        check_pair!(
            g,
            "hinge sum",
            E,
            x,
            t,
            (),
            |a, b| l.forward(a, b),
            gl.forward(a, b)
        );
        let l = l.reduction(Reduction::None);
        let gl = l.to_device(g).unwrap();
        check_pair!(
            g,
            "hinge none",
            E,
            x,
            t,
            S,
            |a, b| l.forward(a, b),
            gl.forward(a, b)
        );
    }
    let f = |a, b| shaped::nn::loss::hinge_embedding_loss(a, b, 0.7);
    check_pair!(g, "hinge fn", E, x, t, (), |a, b| f(a, b), {
        shaped::gpu::hinge_embedding_loss(a, b, 0.7)
    });
}

fn soft_margin_on<E: Float>(g: &Wgpu) {
    type S = Rank2<3, 5>;
    let x: Tensor<S, E> = randn(3);
    let t: Tensor<S, E> = labels(4, &[1.0, -1.0]);
    let l = SoftMarginLoss::new();
    let gl = l.to_device(g).unwrap();
    check_pair!(
        g,
        "soft mean",
        E,
        x,
        t,
        (),
        |a, b| l.forward(a, b),
        gl.forward(a, b)
    );
    let l = l.reduction(Reduction::Sum);
    let gl = l.to_device(g).unwrap();
    check_pair!(
        g,
        "soft sum",
        E,
        x,
        t,
        (),
        |a, b| l.forward(a, b),
        gl.forward(a, b)
    );
    let l = l.reduction(Reduction::None);
    let gl = l.to_device(g).unwrap();
    check_pair!(
        g,
        "soft none",
        E,
        x,
        t,
        S,
        |a, b| l.forward(a, b),
        gl.forward(a, b)
    );
    check_pair!(g, "soft fn", E, x, t, (), |a, b| soft_margin_loss(a, b), {
        shaped::gpu::soft_margin_loss(a, b)
    });
}

fn multilabel_on<E: Float>(g: &Wgpu) {
    type S = Rank3<2, 3, 5>;
    let x: Tensor<S, E> = randn(5);
    let t: Tensor<S, E> = labels(6, &[0.0, 1.0]);
    let w: Tensor<Rank1<5>, E> = randn(7);
    let l = MultiLabelSoftMarginLoss::new();
    let gl = l.to_device(g).unwrap();
    check_pair!(
        g,
        "multilabel mean",
        E,
        x,
        t,
        (),
        |a, b| l.forward(a, b),
        gl.forward(a, b)
    );
    let l = l.weight(w.clone()).reduction(Reduction::Sum);
    let gl = l.to_device(g).unwrap();
    check_pair!(
        g,
        "multilabel w sum",
        E,
        x,
        t,
        (),
        |a, b| l.forward(a, b),
        gl.forward(a, b)
    );
    let l = l.reduction(Reduction::None);
    let gl = l.to_device(g).unwrap();
    check_pair!(g, "multilabel w none", E, x, t, Rank2<2, 3>, |a, b| l.forward(a, b), {
        gl.forward(a, b)
    });
    // One sample, `(C,)`, and a weight of shape `(N, 1, C)`.
    let x1: Tensor<Rank1<5>, E> = randn(8);
    let t1: Tensor<Rank1<5>, E> = labels(9, &[0.0, 1.0]);
    let l = MultiLabelSoftMarginLoss::new().reduction(Reduction::None);
    let gl = l.to_device(g).unwrap();
    check_pair!(
        g,
        "multilabel 1d",
        E,
        x1,
        t1,
        (),
        |a, b| l.forward(a, b),
        gl.forward(a, b)
    );
    let w3: Tensor<Rank3<2, 1, 5>, E> = randn(10);
    let l = MultiLabelSoftMarginLoss::new().weight(w3);
    let gl = l.to_device(g).unwrap();
    check_pair!(
        g,
        "multilabel w3",
        E,
        x,
        t,
        (),
        |a, b| l.forward(a, b),
        gl.forward(a, b)
    );
    check_pair!(
        g,
        "multilabel fn",
        E,
        x,
        t,
        (),
        |a, b| multilabel_soft_margin_loss(a, b),
        shaped::gpu::multilabel_soft_margin_loss(a, b)
    );
}

/// Margin ranking on both devices, all three traced: values and the three gradients.
fn ranking_case<S: ConstShape, SO: Shape + BroadcastShapes<SO, Output = SO>, E: Float>(
    g: &Wgpu,
    what: &str,
    cpu: impl Fn(Tr<S, E>, Tr<S, E>, Tr<S, E>) -> Tr<SO, E>,
    gpu: impl Fn(GTr<S, E>, GTr<S, E>, GTr<S, E>) -> GTr<SO, E>,
) {
    let (a, b): (Tensor<S, E>, Tensor<S, E>) = (randn(11), randn(12));
    let t: Tensor<S, E> = labels(13, &[1.0, -1.0]);
    let (fwd, gtol) = tols::<E>();
    let cy = cpu(a.clone().trace(), b.clone().trace(), t.clone().trace());
    let (ga, gb, gt) = (up(g, &a), up(g, &b), up(g, &t));
    let gy = gpu(ga.clone().trace(), gb.clone().trace(), gt.clone().trace());
    close(&format!("{what}: loss"), &down(&gy), cy.as_slice(), fwd);
    let r: Tensor<SO, E> = randn_like(*cy.shape(), 98);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(g, &r)).sum().backward();
    for (name, gx, cx) in [("x1", &ga, &a), ("x2", &gb, &b), ("target", &gt, &t)] {
        let c = cg.get_slice(cx).unwrap();
        close(
            &format!("{what}: grad {name}"),
            &grad(&gg, gx).unwrap(),
            c,
            gtol,
        );
    }
}

fn ranking_on<E: Float>(g: &Wgpu) {
    type S = Rank2<3, 4>;
    for margin in [0.0, 0.5] {
        let l = MarginRankingLoss::new().margin(margin);
        let gl = l.to_device(g).unwrap();
        ranking_case::<S, (), E>(
            g,
            "ranking mean",
            |a, b, t| l.forward(a, b, t),
            |a, b, t| gl.forward(a, b, t),
        );
        let l = l.reduction(Reduction::Sum);
        let gl = l.to_device(g).unwrap();
        ranking_case::<S, (), E>(
            g,
            "ranking sum",
            |a, b, t| l.forward(a, b, t),
            |a, b, t| gl.forward(a, b, t),
        );
        let l = l.reduction(Reduction::None);
        let gl = l.to_device(g).unwrap();
        ranking_case::<S, S, E>(
            g,
            "ranking none",
            |a, b, t| l.forward(a, b, t),
            |a, b, t| gl.forward(a, b, t),
        );
    }
    ranking_case::<S, (), E>(
        g,
        "ranking fn",
        |a, b, t| margin_ranking_loss(a, b, t, 0.2),
        |a, b, t| shaped::gpu::margin_ranking_loss(a, b, t, 0.2),
    );
}

fn poisson_on<E: Float>(g: &Wgpu) {
    type S = Rank2<3, 5>;
    let x: Tensor<S, E> = randn(21);
    let rate: Tensor<S, E> =
        Tensor::from_vec(x.to_vec().iter().map(|v| v.exp()).collect()).unwrap();
    let t: Tensor<S, E> = labels(22, &[0.0, 1.0, 2.0, 3.0, 7.5]);
    for (log_input, full) in [(true, false), (true, true), (false, false), (false, true)] {
        let x = if log_input { x.clone() } else { rate.clone() };
        let l = PoissonNLLLoss::new().log_input(log_input).full(full);
        let gl = l.to_device(g).unwrap();
        check_pair!(
            g,
            "poisson mean",
            E,
            x,
            t,
            (),
            |a, b| l.forward(a, b),
            gl.forward(a, b)
        );
        let l = l.eps(0.5).reduction(Reduction::Sum);
        let gl = l.to_device(g).unwrap();
        check_pair!(
            g,
            "poisson sum",
            E,
            x,
            t,
            (),
            |a, b| l.forward(a, b),
            gl.forward(a, b)
        );
        let l = l.reduction(Reduction::None);
        let gl = l.to_device(g).unwrap();
        check_pair!(
            g,
            "poisson none",
            E,
            x,
            t,
            S,
            |a, b| l.forward(a, b),
            gl.forward(a, b)
        );
    }
    check_pair!(
        g,
        "poisson fn",
        E,
        x,
        t,
        (),
        |a, b| poisson_nll_loss(a, b),
        shaped::gpu::poisson_nll_loss(a, b)
    );
}

/// Gaussian NLL on both devices, all three traced: values and the three gradients.
fn gaussian_case<SV: ConstShape, SO: Shape + BroadcastShapes<SO, Output = SO>, E: Float>(
    g: &Wgpu,
    what: &str,
    cpu: impl Fn(Tr<Rank2<4, 3>, E>, Tr<Rank2<4, 3>, E>, Tr<SV, E>) -> Tr<SO, E>,
    gpu: impl Fn(GTr<Rank2<4, 3>, E>, GTr<Rank2<4, 3>, E>, GTr<SV, E>) -> GTr<SO, E>,
) {
    let (a, b): (Tensor<Rank2<4, 3>, E>, Tensor<Rank2<4, 3>, E>) = (randn(31), randn(32));
    let v: Tensor<SV, E> = randn(33);
    // Squares, one of them 0 and one below the default eps (clamped in value only).
    let mut vv: Vec<E> = v.to_vec().iter().map(|x| *x * *x).collect();
    vv[0] = E::ZERO;
    vv[1] = E::from_f64(1e-7);
    let v = Tensor::<SV, E>::from_vec(vv).unwrap();
    let (fwd, gtol) = tols::<E>();
    let cy = cpu(a.clone().trace(), b.clone().trace(), v.clone().trace());
    let (ga, gb, gv) = (up(g, &a), up(g, &b), up(g, &v));
    let gy = gpu(ga.clone().trace(), gb.clone().trace(), gv.clone().trace());
    close(&format!("{what}: loss"), &down(&gy), cy.as_slice(), fwd);
    let r: Tensor<SO, E> = randn_like(*cy.shape(), 97);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(g, &r)).sum().backward();
    close(
        &format!("{what}: grad x"),
        &grad(&gg, &ga).unwrap(),
        cg.get_slice(&a).unwrap(),
        gtol,
    );
    close(
        &format!("{what}: grad t"),
        &grad(&gg, &gb).unwrap(),
        cg.get_slice(&b).unwrap(),
        gtol,
    );
    close(
        &format!("{what}: grad var"),
        &grad(&gg, &gv).unwrap(),
        cg.get_slice(&v).unwrap(),
        gtol,
    );
}

fn gaussian_on<E: Float>(g: &Wgpu) {
    type S = Rank2<4, 3>;
    for full in [false, true] {
        let l = GaussianNLLLoss::new().full(full);
        let gl = l.to_device(g).unwrap();
        gaussian_case::<S, (), E>(
            g,
            "gauss mean",
            |a, b, v| l.forward(a, b, v),
            |a, b, v| gl.forward(a, b, v),
        );
        let l = l.eps(0.01).reduction(Reduction::Sum);
        let gl = l.to_device(g).unwrap();
        gaussian_case::<Rank2<4, 1>, (), E>(g, "gauss sum homo", |a, b, v| l.forward(a, b, v), {
            |a, b, v| gl.forward(a, b, v)
        });
        let l = l.reduction(Reduction::None);
        let gl = l.to_device(g).unwrap();
        gaussian_case::<Rank2<1, 3>, S, E>(g, "gauss none", |a, b, v| l.forward(a, b, v), {
            |a, b, v| gl.forward(a, b, v)
        });
    }
    gaussian_case::<S, (), E>(
        g,
        "gauss fn",
        |a, b, v| gaussian_nll_loss(a, b, v),
        |a, b, v| shaped::gpu::gaussian_nll_loss(a, b, v),
    );
}

/// Cosine embedding on both devices (the target a CPU tensor): values, both gradients.
fn cosine_case<S: ConstShape, SO: Shape + BroadcastShapes<SO, Output = SO>, E: Float>(
    g: &Wgpu,
    what: &str,
    cpu: impl Fn(Tr<S, E>, Tr<S, E>) -> Tr<SO, E>,
    gpu: impl Fn(GTr<S, E>, GTr<S, E>) -> GTr<SO, E>,
) {
    let (a, b): (Tensor<S, E>, Tensor<S, E>) = (randn(41), randn(42));
    let (fwd, gtol) = tols::<E>();
    let cy = cpu(a.clone().trace(), b.clone().trace());
    let (ga, gb) = (up(g, &a), up(g, &b));
    let gy = gpu(ga.clone().trace(), gb.clone().trace());
    close(&format!("{what}: loss"), &down(&gy), cy.as_slice(), fwd);
    let r: Tensor<SO, E> = randn_like(*cy.shape(), 96);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(g, &r)).sum().backward();
    close(
        &format!("{what}: x1"),
        &grad(&gg, &ga).unwrap(),
        cg.get_slice(&a).unwrap(),
        gtol,
    );
    close(
        &format!("{what}: x2"),
        &grad(&gg, &gb).unwrap(),
        cg.get_slice(&b).unwrap(),
        gtol,
    );
}

fn cosine_on<E: Float>(g: &Wgpu) {
    type S = Rank2<6, 4>;
    let y: Tensor<Rank1<6>, E> = labels(43, &[1.0, -1.0, 0.0]);
    for margin in [0.0, 0.3] {
        let l = CosineEmbeddingLoss::new().margin(margin);
        let gl = l.to_device(g).unwrap();
        cosine_case::<S, (), E>(
            g,
            "cos mean",
            |a, b| l.forward(a, b, &y),
            |a, b| gl.forward(a, b, &y),
        );
        let l = l.reduction(Reduction::Sum);
        let gl = l.to_device(g).unwrap();
        cosine_case::<S, (), E>(
            g,
            "cos sum",
            |a, b| l.forward(a, b, &y),
            |a, b| gl.forward(a, b, &y),
        );
        let l = l.reduction(Reduction::None);
        let gl = l.to_device(g).unwrap();
        cosine_case::<S, Rank1<6>, E>(
            g,
            "cos none",
            |a, b| l.forward(a, b, &y),
            |a, b| gl.forward(a, b, &y),
        );
    }
    let y0 = Tensor::<Rank0, E>::from_vec(vec![E::from_f64(-1.0)]).unwrap();
    cosine_case::<Rank1<5>, (), E>(
        g,
        "cos 1d fn",
        |a, b| cosine_embedding_loss(a, b, &y0),
        |a, b| shaped::gpu::cosine_embedding_loss(a, b, &y0),
    );
}

#[test]
fn margin_and_nll_losses_match_the_cpu_f32() {
    let Some(g) = gpu() else { return };
    hinge_on::<f32>(&g);
    soft_margin_on::<f32>(&g);
    multilabel_on::<f32>(&g);
    ranking_on::<f32>(&g);
    poisson_on::<f32>(&g);
    gaussian_on::<f32>(&g);
    cosine_on::<f32>(&g);
}

#[test]
fn margin_and_nll_losses_match_the_cpu_f64() {
    let Some(g) = gpu64() else { return };
    hinge_on::<f64>(&g);
    soft_margin_on::<f64>(&g);
    multilabel_on::<f64>(&g);
    ranking_on::<f64>(&g);
    poisson_on::<f64>(&g);
    gaussian_on::<f64>(&g);
    cosine_on::<f64>(&g);
}

// ---- golden ------------------------------------------------------------------------------

/// A golden case's `x` and `target` of shape `S` on the GPU, `x` traced, through `f`: `y` and
/// the gradients of `x` and (where the case has one) of the target.
fn golden_pair<S: ConstShape, SO: Shape + BroadcastShapes<SO, Output = SO>>(
    g: &Wgpu,
    case: &str,
    f: impl Fn(&Golden, GTr<S, f32>, GTr<S, f32>) -> GTr<SO, f32>,
) {
    let gd = Golden::load(case);
    let x = up(g, &Tensor::<S>::from_vec(gd.f("x")).unwrap());
    let t = up(g, &Tensor::<S>::from_vec(gd.f("target")).unwrap());
    let y = f(&gd, x.clone().trace(), t.clone().trace());
    gd.check_forward("y", &down(&y));
    let grads = golden_backward(g, &gd, y);
    gd.check_grad("x", &grad(&grads, &x).unwrap());
    if gd.has("grad.target") {
        gd.check_grad("target", &grad(&grads, &t).unwrap());
    }
}

/// The backward of a golden case's `y`: of `sum(y * gy)` where the case has `gy`, else of
/// `sum(y)`.
fn golden_backward<SO: Shape + BroadcastShapes<SO, Output = SO>>(
    g: &Wgpu,
    gd: &Golden,
    y: GTr<SO, f32>,
) -> Gradients<f32> {
    if gd.has("gy") {
        let shape = *y.to_cpu().unwrap().shape();
        let gy = Tensor::from_vec_with_shape(gd.f("gy"), shape).unwrap();
        (y * up(g, &gy)).sum().backward()
    } else {
        y.sum().backward()
    }
}

#[test]
fn golden_hinge_embedding() {
    let Some(g) = gpu() else { return };
    golden_pair::<Rank2<4, 5>, ()>(&g, "loss_hinge_embedding", |_, x, t| {
        shaped::gpu::hinge_embedding_loss(x, t, 1.0)
    });
    golden_pair::<Rank2<6, 3>, Rank2<6, 3>>(&g, "loss_hinge_embedding_margin_none", |gd, x, t| {
        let l = HingeEmbeddingLoss::new().margin(gd.hp("margin"));
        let gl = l.reduction(Reduction::None).to_device(&g).unwrap();
        gl.forward(x, t)
    });
    golden_pair::<Rank1<7>, ()>(&g, "loss_hinge_embedding_margin_sum", |gd, x, t| {
        let l = HingeEmbeddingLoss::new().margin(gd.hp("margin"));
        l.reduction(Reduction::Sum)
            .to_device(&g)
            .unwrap()
            .forward(x, t)
    });
}

#[test]
fn golden_soft_margin() {
    let Some(g) = gpu() else { return };
    golden_pair::<Rank2<3, 4>, ()>(&g, "loss_soft_margin", |_, x, t| {
        shaped::gpu::soft_margin_loss(x, t)
    });
    golden_pair::<Rank1<8>, Rank1<8>>(&g, "loss_soft_margin_large_none", |_, x, t| {
        let l = SoftMarginLoss::new().reduction(Reduction::None);
        l.to_device(&g).unwrap().forward(x, t)
    });
    golden_pair::<Rank1<5>, ()>(&g, "loss_soft_margin_sum", |_, x, t| {
        let l = SoftMarginLoss::new().reduction(Reduction::Sum);
        l.to_device(&g).unwrap().forward(x, t)
    });
}

#[test]
fn golden_multilabel_soft_margin() {
    let Some(g) = gpu() else { return };
    golden_pair::<Rank2<4, 5>, ()>(&g, "loss_multilabel_soft_margin", |_, x, t| {
        shaped::gpu::multilabel_soft_margin_loss(x, t)
    });
    golden_pair::<Rank2<3, 4>, Rank1<3>>(
        &g,
        "loss_multilabel_soft_margin_weight_none",
        |gd, x, t| {
            let w = Tensor::<Rank1<4>>::from_vec(gd.f("weight")).unwrap();
            let l = MultiLabelSoftMarginLoss::new().weight(w);
            l.reduction(Reduction::None)
                .to_device(&g)
                .unwrap()
                .forward(x, t)
        },
    );
    golden_pair::<Rank1<6>, ()>(&g, "loss_multilabel_soft_margin_1d_sum", |_, x, t| {
        let l = MultiLabelSoftMarginLoss::new().reduction(Reduction::Sum);
        l.to_device(&g).unwrap().forward(x, t)
    });
}

#[test]
fn golden_margin_ranking() {
    let Some(g) = gpu() else { return };
    fn case<S: ConstShape + BroadcastShapes<S, Output = S>>(g: &Wgpu, name: &str, none: bool) {
        let gd = Golden::load(name);
        let ld = |k: &str| up(g, &Tensor::<S>::from_vec(gd.f(k)).unwrap());
        let (a, b, t) = (ld("x1"), ld("x2"), ld("target"));
        let (ta, tb, tt) = (a.clone().trace(), b.clone().trace(), t.clone().trace());
        let grads = if none {
            let l = MarginRankingLoss::new().margin(gd.hp("margin"));
            let y = l
                .reduction(Reduction::None)
                .to_device(g)
                .unwrap()
                .forward(ta, tb, tt);
            gd.check_forward("y", &down(&y));
            golden_backward(g, &gd, y)
        } else {
            let y = shaped::gpu::margin_ranking_loss(ta, tb, tt, 0.0);
            gd.check_forward("y", &down(&y));
            y.backward()
        };
        gd.check_grad("x1", &grad(&grads, &a).unwrap());
        gd.check_grad("x2", &grad(&grads, &b).unwrap());
        gd.check_grad("target", &grad(&grads, &t).unwrap());
    }
    case::<Rank1<8>>(&g, "loss_margin_ranking", false);
    case::<Rank2<3, 4>>(&g, "loss_margin_ranking_margin_none", true);
}

#[test]
fn golden_poisson_gaussian_nll() {
    let Some(g) = gpu() else { return };
    golden_pair::<Rank2<4, 5>, ()>(&g, "loss_poisson_nll", |_, x, t| {
        shaped::gpu::poisson_nll_loss(x, t)
    });
    golden_pair::<Rank2<3, 4>, Rank2<3, 4>>(&g, "loss_poisson_nll_rate_full_none", |gd, x, t| {
        let l = PoissonNLLLoss::new()
            .full(true)
            .log_input(false)
            .eps(gd.hp("eps"));
        l.reduction(Reduction::None)
            .to_device(&g)
            .unwrap()
            .forward(x, t)
    });
    golden_pair::<Rank2<3, 4>, ()>(&g, "loss_poisson_nll_full_sum", |_, x, t| {
        let l = PoissonNLLLoss::new().full(true).reduction(Reduction::Sum);
        l.to_device(&g).unwrap().forward(x, t)
    });
    fn gauss<S: ConstShape, SV: ConstShape, SO: Shape + BroadcastShapes<SO, Output = SO>>(
        g: &Wgpu,
        name: &str,
        f: impl Fn(&Golden, GTr<S, f32>, GTr<S, f32>, GTr<SV, f32>) -> GTr<SO, f32>,
    ) {
        let gd = Golden::load(name);
        let x = up(g, &Tensor::<S>::from_vec(gd.f("x")).unwrap());
        let t = up(g, &Tensor::<S>::from_vec(gd.f("target")).unwrap());
        let v = up(g, &Tensor::<SV>::from_vec(gd.f("var")).unwrap());
        let y = f(&gd, x.clone().trace(), t.clone().trace(), v.clone().trace());
        gd.check_forward("y", &down(&y));
        let grads = golden_backward(g, &gd, y);
        gd.check_grad("x", &grad(&grads, &x).unwrap());
        gd.check_grad("target", &grad(&grads, &t).unwrap());
        gd.check_grad("var", &grad(&grads, &v).unwrap());
    }
    gauss::<Rank2<4, 3>, Rank2<4, 3>, ()>(&g, "loss_gaussian_nll", |_, x, t, v| {
        shaped::gpu::gaussian_nll_loss(x, t, v)
    });
    gauss::<Rank2<5, 3>, Rank2<5, 1>, Rank2<5, 3>>(
        &g,
        "loss_gaussian_nll_full_homoscedastic_none",
        |_, x, t, v| {
            let l = GaussianNLLLoss::new().full(true).reduction(Reduction::None);
            l.to_device(&g).unwrap().forward(x, t, v)
        },
    );
    gauss::<Rank2<2, 4>, Rank2<2, 4>, ()>(&g, "loss_gaussian_nll_clamped_sum", |gd, x, t, v| {
        let l = GaussianNLLLoss::new()
            .eps(gd.hp("eps"))
            .reduction(Reduction::Sum);
        l.to_device(&g).unwrap().forward(x, t, v)
    });
}

#[test]
fn golden_cosine_embedding() {
    let Some(g) = gpu() else { return };
    for case in [
        "loss_cosine_embedding",
        "loss_cosine_embedding_margin",
        "loss_cosine_embedding_none",
    ] {
        let gd = Golden::load(case);
        let ld = |k: &str| up(&g, &Tensor::<Rank2<8, 5>>::from_vec(gd.f(k)).unwrap());
        let (a, b) = (ld("x1"), ld("x2"));
        let target = Tensor::<Rank1<8>>::from_vec(gd.f("target")).unwrap();
        let loss = CosineEmbeddingLoss::new().margin(gd.hp("margin"));
        let (ta, tb) = (a.clone().trace(), b.clone().trace());
        let grads = match gd.hp_str("reduction").as_str() {
            "\"mean\"" => {
                let y = shaped::gpu::cosine_embedding_loss(ta, tb, &target);
                gd.check_forward("y", &down(&y));
                y.backward()
            }
            "\"sum\"" => {
                let y = loss
                    .reduction(Reduction::Sum)
                    .to_device(&g)
                    .unwrap()
                    .forward(ta, tb, &target);
                gd.check_forward("y", &down(&y));
                y.backward()
            }
            _ => {
                let l = loss.reduction(Reduction::None).to_device(&g).unwrap();
                let y: GTr<Rank1<8>, f32> = l.forward(ta, tb, &target);
                gd.check_forward("y", &down(&y));
                golden_backward(&g, &gd, y)
            }
        };
        gd.check_grad("x1", &grad(&grads, &a).unwrap());
        gd.check_grad("x2", &grad(&grads, &b).unwrap());
    }
}

// ---- errors ------------------------------------------------------------------------------

#[test]
fn margin_and_nll_loss_errors() {
    let Some(g) = gpu() else { return };
    let d = |n: usize| up(&g, &Tensor::<(usize,)>::zeros_with_shape((n,)));
    let err = shaped::gpu::try_hinge_embedding_loss(d(3), d(2), 1.0).unwrap_err();
    assert!(err.to_string().contains("hinge_embedding_loss"), "{err}");
    let err = shaped::gpu::try_soft_margin_loss(d(3), d(4)).unwrap_err();
    assert!(err.to_string().contains("soft_margin_loss"), "{err}");
    let err = shaped::gpu::try_margin_ranking_loss(d(3), d(3), d(2), 0.0).unwrap_err();
    assert!(err.to_string().contains("margin_ranking_loss"), "{err}");
    let err = shaped::gpu::try_margin_ranking_loss(d(3), d(2), d(3), 0.0).unwrap_err();
    assert!(err.to_string().contains("margin_ranking_loss"), "{err}");
    let m = |r: usize, c: usize| up(&g, &Tensor::<(usize, usize)>::zeros_with_shape((r, c)));
    let err = shaped::gpu::try_multilabel_soft_margin_loss(m(2, 3), m(2, 4)).unwrap_err();
    assert!(
        err.to_string().contains("multilabel_soft_margin_loss"),
        "{err}"
    );
    let w = Tensor::<(usize,)>::ones_with_shape((2,));
    let l = MultiLabelSoftMarginLoss::new()
        .weight(w)
        .to_device(&g)
        .unwrap();
    let err = l.try_forward(m(2, 3), m(2, 3)).unwrap_err();
    assert!(err.to_string().contains("does not broadcast"), "{err}");
    let err = shaped::gpu::try_poisson_nll_loss(d(3), d(2)).unwrap_err();
    assert!(err.to_string().contains("poisson_nll_loss"), "{err}");
    let err = shaped::gpu::try_gaussian_nll_loss(d(3), d(3), d(2)).unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
    let neg = up(
        &g,
        &Tensor::<(usize,)>::from_vec_with_shape(vec![1.0, -2.0, 1.0], (3,)).unwrap(),
    );
    let err = shaped::gpu::try_gaussian_nll_loss(d(3), d(3), neg).unwrap_err();
    assert!(
        err.to_string().contains("negative entry, -2 at position 1"),
        "{err}"
    );
    let y = Tensor::<(usize,)>::ones_with_shape((7,));
    let err = shaped::gpu::try_cosine_embedding_loss(m(8, 5), m(8, 5), &y).unwrap_err();
    assert!(err.to_string().contains("cosine_embedding_loss"), "{err}");
    let err = shaped::gpu::try_cosine_embedding_loss(m(7, 5), m(7, 4), &y).unwrap_err();
    assert!(err.to_string().contains("cosine_embedding_loss"), "{err}");
    // The struct comes back with its settings.
    let l = HingeEmbeddingLoss::new()
        .margin(0.25)
        .to_device(&g)
        .unwrap();
    assert_eq!(l.to_cpu().unwrap().margin, 0.25);
}
