//! The GPU losses with every reduction and option (`GpuLoss`: the loss structs moved with
//! `to_device`, and the `F`-style functions): the PyTorch golden cases they cover with the CPU
//! tests' files and tolerances, PyTorch's answers at infinite and NaN inputs, and the CPU on
//! other shapes and settings, values and gradients (the target's too where it is traced).
//! The reductions are in `gpu_reductions.rs`.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::{Golden, check_close};
use gpu_support::{FWD, GRAD, close, down, gpu, randn, up};
use safetensors::SafeTensors;
use shaped::device::Wgpu;
use shaped::gpu::GpuTensor;
use shaped::gpu::prelude::*;
use shaped::nn::loss::*;
use shaped::prelude::*;
use std::collections::HashMap;

type P = Rank2<4, 5>;
type L = Rank2<5, 4>;

/// A golden pair case (`x`, `target` of shape `S`) through `f` on the GPU: `y` and `grad.x`.
fn pair_golden<S: ConstShape>(
    dev: &Wgpu,
    case: &str,
    f: impl Fn(&Golden, GpuTensor<S, OwnedTape<f32>>, GpuTensor<S>) -> GpuTensor<(), OwnedTape<f32>>,
) {
    let g = Golden::load(case);
    let x = up(dev, &Tensor::<S>::from_vec(g.f("x")).unwrap());
    let t = up(dev, &Tensor::<S>::from_vec(g.f("target")).unwrap());
    let y = f(&g, x.clone().trace(), t);
    g.check_forward("y", &down(&y));
    g.check_grad("x", &down(&y.backward().get_gpu(&x).unwrap()));
}

/// A golden label case (logits `x` `(N, C)`, `labels`) through `f` on the GPU.
fn label_golden<const N: usize, const C: usize>(
    dev: &Wgpu,
    case: &str,
    f: impl Fn(
        &Golden,
        GpuTensor<Rank2<N, C>, OwnedTape<f32>>,
        &Indices<Rank1<N>>,
    ) -> GpuTensor<(), OwnedTape<f32>>,
) {
    let g = Golden::load(case);
    let x = up(dev, &Tensor::<Rank2<N, C>>::from_vec(g.f("x")).unwrap());
    let labels = Indices::<Rank1<N>>::from_vec(g.idx("labels")).unwrap();
    let y = f(&g, x.clone().trace(), &labels);
    g.check_forward("y", &down(&y));
    g.check_grad("x", &down(&y.backward().get_gpu(&x).unwrap()));
}

// ---- golden losses -----------------------------------------------------------------------

#[test]
fn golden_loss_mse_sum() {
    let Some(dev) = gpu() else { return };
    let loss = MSELoss::new()
        .reduction(Reduction::Sum)
        .to_device(&dev)
        .unwrap();
    pair_golden::<P>(&dev, "loss_mse_sum", |_, x, t| loss.forward(x, t));
}

#[test]
fn golden_loss_smooth_l1() {
    let Some(dev) = gpu() else { return };
    pair_golden::<P>(&dev, "loss_smooth_l1", |g, x, t| {
        shaped::gpu::smooth_l1_loss(x, t, g.hp("beta"))
    });
    pair_golden::<P>(&dev, "loss_smooth_l1", |g, x, t| {
        let loss = SmoothL1Loss::new().beta(g.hp("beta"));
        loss.to_device(&dev).unwrap().forward(x, t)
    });
}

#[test]
fn golden_loss_huber() {
    let Some(dev) = gpu() else { return };
    pair_golden::<P>(&dev, "loss_huber", |g, x, t| {
        shaped::gpu::huber_loss(x, t, g.hp("delta"))
    });
    pair_golden::<P>(&dev, "loss_huber", |g, x, t| {
        let loss = HuberLoss::new().delta(g.hp("delta"));
        loss.to_device(&dev).unwrap().forward(x, t)
    });
}

#[test]
fn golden_loss_kl_div() {
    let Some(dev) = gpu() else { return };
    assert_eq!(
        Golden::load("loss_kl_div").hp_str("reduction"),
        "\"batchmean\""
    );
    pair_golden::<P>(&dev, "loss_kl_div", |_, x, t| {
        shaped::gpu::kl_div(x, t, Reduction::BatchMean)
    });
    // The same with the target given as log-probabilities.
    let loss = KLDivLoss::new()
        .log_target(true)
        .reduction(Reduction::BatchMean)
        .to_device(&dev)
        .unwrap();
    pair_golden::<P>(&dev, "loss_kl_div", |_, x, t| loss.forward(x, t.ln()));
}

#[test]
fn golden_loss_bce_with_logits_pos_weight() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("loss_bce_with_logits_pos_weight");
    let pw = Tensor::<Rank1<3>>::from_vec(g.f("pos_weight")).unwrap();
    let loss = BCEWithLogitsLoss::new()
        .pos_weight(pw)
        .to_device(&dev)
        .unwrap();
    pair_golden::<Rank2<5, 3>>(&dev, "loss_bce_with_logits_pos_weight", |_, x, t| {
        loss.forward(x, t)
    });
}

#[test]
fn golden_loss_ce_mean_and_sum() {
    let Some(dev) = gpu() else { return };
    let mean = CrossEntropyLoss::new().to_device(&dev).unwrap();
    label_golden::<5, 4>(&dev, "loss_ce_mean", |_, x, l| mean.forward(x, l));
    let sum = CrossEntropyLoss::new()
        .reduction(Reduction::Sum)
        .to_device(&dev)
        .unwrap();
    label_golden::<5, 4>(&dev, "loss_ce_sum", |_, x, l| sum.forward(x, l));
}

#[test]
fn golden_loss_ce_label_smoothing() {
    let Some(dev) = gpu() else { return };
    label_golden::<5, 4>(&dev, "loss_ce_label_smoothing", |g, x, l| {
        let loss = CrossEntropyLoss::new().label_smoothing(g.hp("label_smoothing"));
        loss.to_device(&dev).unwrap().forward(x, l)
    });
}

#[test]
fn golden_loss_ce_prob_targets() {
    let Some(dev) = gpu() else { return };
    pair_golden::<L>(&dev, "loss_ce_prob_targets", |_, x, t| {
        shaped::gpu::cross_entropy_probs(x, t)
    });
}

#[test]
fn golden_loss_ce_weight_ignore_index() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("loss_ce_weight_ignore_index");
    let weight = Tensor::<Rank1<5>>::from_vec(g.f("weight")).unwrap();
    let ignore = g.hp("ignore_index") as usize;
    let ce = CrossEntropyLoss::new()
        .weight(weight.clone())
        .ignore_index(ignore)
        .to_device(&dev)
        .unwrap();
    label_golden::<7, 5>(&dev, "loss_ce_weight_ignore_index", |_, x, l| {
        ce.forward(x, l)
    });
    // NLL of log_softmax is the same loss, weights and ignored labels included.
    let nll = NLLLoss::new()
        .weight(weight)
        .ignore_index(ignore)
        .to_device(&dev)
        .unwrap();
    label_golden::<7, 5>(&dev, "loss_ce_weight_ignore_index", |_, x, l| {
        nll.forward(x.log_softmax::<1>(), l)
    });
}

// ---- PyTorch's answers at infinite and NaN inputs ----------------------------------------

/// One case of tests/golden_extra/loss_nonfinite.safetensors: tensors named `<case>.<name>`.
struct Extra {
    case: &'static str,
    floats: HashMap<String, Vec<f32>>,
    ints: HashMap<String, Vec<usize>>,
}

impl Extra {
    fn load(case: &'static str) -> Extra {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden_extra/loss_nonfinite.safetensors"
        );
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let st = SafeTensors::deserialize(&bytes).expect("safetensors");
        let (mut floats, mut ints) = (HashMap::new(), HashMap::new());
        for (name, view) in st.tensors() {
            let Some(name) = name.strip_prefix(&format!("{case}.")) else {
                continue;
            };
            let data = view.data();
            match view.dtype() {
                safetensors::Dtype::F32 => {
                    let v = data.chunks_exact(4);
                    let v = v.map(|c| f32::from_le_bytes(c.try_into().unwrap()));
                    floats.insert(name.to_string(), v.collect());
                }
                safetensors::Dtype::I64 => {
                    let v = data.chunks_exact(8);
                    let v = v.map(|c| i64::from_le_bytes(c.try_into().unwrap()) as usize);
                    ints.insert(name.to_string(), v.collect());
                }
                d => panic!("{case}.{name}: unexpected dtype {d:?}"),
            }
        }
        assert!(!floats.is_empty(), "no case {case}");
        Extra { case, floats, ints }
    }

    fn f(&self, name: &str) -> Vec<f32> {
        self.floats[name].clone()
    }

    /// Equal to PyTorch: NaN where it gives NaN, the same infinity, else within `atol`/`rtol`
    /// (the CPU test's rule and tolerances).
    fn check(&self, name: &str, actual: &[f32], atol: f32, rtol: f32) {
        let expected = &self.floats[name];
        let what = format!("{}.{name}", self.case);
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            assert_eq!(a.is_nan(), e.is_nan(), "{what}[{i}]: got {a}, PyTorch {e}");
        }
        let finite = |v: &[f32]| {
            v.iter()
                .map(|v| if v.is_nan() { 0.0 } else { *v })
                .collect()
        };
        let (a, e): (Vec<f32>, Vec<f32>) = (finite(actual), finite(expected));
        check_close(&what, &a, &e, atol, rtol);
    }
}

#[test]
fn bce_with_logits_matches_pytorch_at_non_finite_inputs() {
    let Some(dev) = gpu() else { return };
    type Grid = Rank2<10, 5>;
    for case in ["bce_logits", "bce_logits_pw"] {
        let g = Extra::load(case);
        let x = up(&dev, &Tensor::<Grid>::from_vec(g.f("x")).unwrap());
        let t = up(&dev, &Tensor::<Grid>::from_vec(g.f("target")).unwrap());
        let loss = BCEWithLogitsLoss::new().reduction(Reduction::None);
        let y = if case == "bce_logits" {
            let loss = loss.to_device(&dev).unwrap();
            loss.forward(x.clone().trace(), t.clone().trace())
        } else {
            let pw = Tensor::<Rank1<5>>::from_vec(g.f("pos_weight")).unwrap();
            let loss = loss.pos_weight(pw).to_device(&dev).unwrap();
            loss.forward(x.clone().trace(), t.clone().trace())
        };
        g.check("y", &down(&y), 1e-5, 1e-4);
        let grads = y.sum().backward();
        g.check("grad.x", &down(&grads.get_gpu(&x).unwrap()), 1e-4, 1e-3);
        g.check(
            "grad.target",
            &down(&grads.get_gpu(&t).unwrap()),
            1e-4,
            1e-3,
        );
    }
}

#[test]
fn cross_entropy_matches_pytorch_at_non_finite_logits() {
    let Some(dev) = gpu() else { return };
    for (case, eps) in [("ce", 0.0), ("ce_smooth", 0.2)] {
        let g = Extra::load(case);
        let x = up(&dev, &Tensor::<Rank2<6, 3>>::from_vec(g.f("x")).unwrap());
        let labels = Indices::<Rank1<6>>::from_vec(g.ints["labels"].clone()).unwrap();
        let loss = CrossEntropyLoss::new()
            .label_smoothing(eps)
            .reduction(Reduction::None)
            .to_device(&dev)
            .unwrap();
        let y = loss.forward(x.clone().trace(), &labels);
        g.check("y", &down(&y), 1e-5, 1e-4);
        let grads = y.sum().backward();
        g.check("grad.x", &down(&grads.get_gpu(&x).unwrap()), 1e-4, 1e-3);
    }
}

// ---- against the CPU ---------------------------------------------------------------------

/// A loss struct of a prediction and a target on both devices, both inputs traced: the
/// output (of shape `$SO`, by the reduction) and the gradients of `sum(y * r)` for the
/// prediction and the target.
macro_rules! check_pair {
    ($g:expr, $what:expr, $p:expr, $t:expr, $loss:expr, $SO:ty) => {{
        let (g, p, t, what) = ($g, &$p, &$t, $what);
        let loss = $loss;
        let gl = loss.to_device(g).unwrap();
        let cy: Tensor<$SO, f32, OwnedTape<f32>> =
            loss.forward(p.clone().trace(), t.clone().trace());
        let (gp, gt) = (up(g, p), up(g, t));
        let gy: GpuTensor<$SO, OwnedTape<f32>> = gl.forward(gp.clone().trace(), gt.clone().trace());
        close(&format!("{what}: loss"), &down(&gy), cy.as_slice(), FWD);
        let r = randn::<$SO>(99);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up(g, &r)).sum().backward();
        let (cp, ct) = (cg.get_slice(p).unwrap(), cg.get_slice(t).unwrap());
        close(
            &format!("{what}: grad pred"),
            &down(&gg.get_gpu(&gp).unwrap()),
            cp,
            GRAD,
        );
        close(
            &format!("{what}: grad target"),
            &down(&gg.get_gpu(&gt).unwrap()),
            ct,
            GRAD,
        );
    }};
}

/// `$check!` (`check_pair` or `check_labels`) with the three reductions; `$S` is the
/// unreduced shape.
macro_rules! check_reductions {
    ($check:ident, $g:expr, $what:expr, $a:expr, $b:expr, $loss:expr, $S:ty) => {{
        let base = $loss;
        let mean = base.clone().reduction(Reduction::Mean);
        $check!($g, concat!($what, " mean"), $a, $b, mean, ());
        let sum = base.clone().reduction(Reduction::Sum);
        $check!($g, concat!($what, " sum"), $a, $b, sum, ());
        let none = base.reduction(Reduction::None);
        $check!($g, concat!($what, " none"), $a, $b, none, $S);
    }};
}

macro_rules! check_pair_reductions {
    ($($args:tt)*) => { check_reductions!(check_pair, $($args)*) };
}

type Y = Rank3<2, 3, 7>;

#[test]
fn regression_losses_vs_cpu() {
    let Some(g) = gpu() else { return };
    let (p, t) = (randn::<Y>(71) * 2.0, randn::<Y>(72));
    check_pair_reductions!(&g, "mse", p, t, MSELoss::new(), Y);
    check_pair_reductions!(&g, "l1", p, t, L1Loss::new(), Y);
    check_pair_reductions!(&g, "smooth_l1", p, t, SmoothL1Loss::new().beta(0.6), Y);
    check_pair_reductions!(
        &g,
        "smooth_l1 beta 0",
        p,
        t,
        SmoothL1Loss::new().beta(0.0),
        Y
    );
    check_pair_reductions!(&g, "huber", p, t, HuberLoss::new().delta(0.7), Y);
    check_pair_reductions!(&g, "huber delta 3", p, t, HuberLoss::new().delta(3.0), Y);
}

#[test]
fn kl_div_vs_cpu() {
    let Some(g) = gpu() else { return };
    let input = randn::<Y>(73).log_softmax::<2>();
    let probs = randn::<Y>(74).softmax::<2>();
    check_pair_reductions!(&g, "kl_div", input, probs, KLDivLoss::new(), Y);
    let log_t = randn::<Y>(75).log_softmax::<2>();
    let lt = KLDivLoss::new().log_target(true);
    check_pair_reductions!(&g, "kl_div log_target", input, log_t, lt, Y);
    let bm = KLDivLoss::new().reduction(Reduction::BatchMean);
    check_pair!(&g, "kl_div batchmean", input, probs, bm, ());
    let bm = lt.reduction(Reduction::BatchMean);
    check_pair!(&g, "kl_div log_target batchmean", input, log_t, bm, ());
    // The F-style function takes the reduction as its last argument.
    let (gi, gp) = (up(&g, &input), up(&g, &probs));
    let y = shaped::gpu::kl_div(gi, gp, Reduction::Sum);
    let cy = kl_div(input, probs, Reduction::Sum);
    close("kl_div sum", &down(&y), cy.as_slice(), FWD);
}

#[test]
fn bce_losses_with_weights_vs_cpu() {
    let Some(g) = gpu() else { return };
    let (p, t) = (randn::<Y>(76).sigmoid(), (randn::<Y>(77) * 3.0).sigmoid());
    check_pair_reductions!(&g, "bce", p, t, BCELoss::new(), Y);
    let w = randn::<Rank2<3, 1>>(78).abs();
    check_pair_reductions!(&g, "bce weight", p, t, BCELoss::new().weight(w), Y);

    let x = randn::<Y>(79) * 6.0;
    check_pair_reductions!(&g, "bce logits", x, t, BCEWithLogitsLoss::new(), Y);
    let pw = randn::<Rank1<7>>(80).abs() + 0.2;
    let loss = BCEWithLogitsLoss::new().pos_weight(pw.clone());
    check_pair_reductions!(&g, "bce logits pos_weight", x, t, loss, Y);
    let one = Tensor::<Rank1<1>>::from_array([2.5]);
    let loss = BCEWithLogitsLoss::new().pos_weight(one);
    check_pair_reductions!(&g, "bce logits pos_weight (1,)", x, t, loss, Y);
    let w = randn::<Rank1<7>>(81).abs();
    let loss = BCEWithLogitsLoss::new().weight(w).pos_weight(pw);
    check_pair_reductions!(&g, "bce logits weight pos_weight", x, t, loss, Y);
}

/// A class-label loss struct on both devices: the output (shape `$SO`) and the logits'
/// gradient of `sum(y * r)`.
macro_rules! check_labels {
    ($g:expr, $what:expr, $x:expr, $labels:expr, $loss:expr, $SO:ty) => {{
        let (g, x, labels, what) = ($g, &$x, &$labels, $what);
        let loss = $loss;
        let gl = loss.to_device(g).unwrap();
        let cy: Tensor<$SO, f32, OwnedTape<f32>> = loss.forward(x.clone().trace(), labels);
        let gx = up(g, x);
        let gy: GpuTensor<$SO, OwnedTape<f32>> = gl.forward(gx.clone().trace(), labels);
        let (gv, cv) = (down(&gy), cy.as_slice().to_vec());
        if cv.iter().all(|v| v.is_nan()) {
            assert!(gv.iter().all(|v| v.is_nan()), "{what}: {gv:?}, CPU NaN");
        } else {
            close(&format!("{what}: loss"), &gv, &cv, FWD);
        }
        let r = randn::<$SO>(98);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up(g, &r)).sum().backward();
        let cx = cg.get_slice(x).unwrap();
        close(
            &format!("{what}: grad"),
            &down(&gg.get_gpu(&gx).unwrap()),
            cx,
            GRAD,
        );
    }};
}

macro_rules! check_labels_reductions {
    ($($args:tt)*) => { check_reductions!(check_labels, $($args)*) };
}

#[test]
fn class_losses_vs_cpu() {
    let Some(g) = gpu() else { return };
    let x = randn::<Rank2<9, 5>>(82) * 3.0;
    let labels = Indices::<Rank1<9>>::from_array([0, 4, 2, 7, 1, 3, 7, 4, 0]); // 7: ignored
    let clean = Indices::<Rank1<9>>::from_array([0, 4, 2, 2, 1, 3, 1, 4, 0]);
    let w = randn::<Rank1<5>>(83).abs() + 0.1;
    type N = Rank1<9>;
    check_labels_reductions!(&g, "ce", x, clean, CrossEntropyLoss::new(), N);
    let ce = CrossEntropyLoss::new().weight(w.clone());
    check_labels_reductions!(&g, "ce weight", x, clean, ce, N);
    let ce = CrossEntropyLoss::new().ignore_index(7);
    check_labels_reductions!(&g, "ce ignore", x, labels, ce, N);
    let ce = CrossEntropyLoss::new().label_smoothing(0.15);
    check_labels_reductions!(&g, "ce smoothing", x, clean, ce, N);
    let ce = CrossEntropyLoss::new()
        .weight(w.clone())
        .ignore_index(7)
        .label_smoothing(0.3);
    check_labels_reductions!(&g, "ce weight ignore smoothing", x, labels, ce, N);

    let lp = x.clone().log_softmax::<1>();
    check_labels_reductions!(&g, "nll", lp, clean, NLLLoss::new(), N);
    let nll = NLLLoss::new().weight(w.clone()).ignore_index(7);
    check_labels_reductions!(&g, "nll weight ignore", lp, labels, nll, N);

    // Every label ignored: PyTorch's NaN mean, zero gradients.
    let all = Indices::<Rank1<9>>::from_array([7; 9]);
    let ce = CrossEntropyLoss::new().ignore_index(7);
    check_labels!(&g, "ce all ignored", x, all, ce, ());
}

#[test]
fn cross_entropy_probs_vs_cpu() {
    let Some(g) = gpu() else { return };
    let x = randn::<Rank2<6, 4>>(84) * 3.0;
    let t = randn::<Rank2<6, 4>>(85).softmax::<1>();
    let w = randn::<Rank1<4>>(86).abs() + 0.1;
    for eps in [0.0, 0.25] {
        for weighted in [false, true] {
            let what = format!("ce probs eps {eps} weighted {weighted}");
            let run = |r: &str| format!("{what} {r}");
            if weighted {
                let base = CrossEntropyLoss::new()
                    .weight(w.clone())
                    .label_smoothing(eps);
                probs_case(
                    &g,
                    &run("mean"),
                    &x,
                    &t,
                    base.clone(),
                    |l, a, b| l.forward_probs(a, b),
                    |l, a, b| l.forward_probs(a, b),
                );
                let sum = base.clone().reduction(Reduction::Sum);
                probs_case(
                    &g,
                    &run("sum"),
                    &x,
                    &t,
                    sum,
                    |l, a, b| l.forward_probs(a, b),
                    |l, a, b| l.forward_probs(a, b),
                );
            } else {
                let base = CrossEntropyLoss::new().label_smoothing(eps);
                probs_case(
                    &g,
                    &run("mean"),
                    &x,
                    &t,
                    base.clone(),
                    |l, a, b| l.forward_probs(a, b),
                    |l, a, b| l.forward_probs(a, b),
                );
                let none = base.reduction(Reduction::None);
                probs_none(&g, &run("none"), &x, &t, none);
            }
        }
    }
    // The F-style function with a traced target.
    let (gx, gt) = (up(&g, &x), up(&g, &t));
    let gy = shaped::gpu::cross_entropy_probs(gx.clone().trace(), gt.clone().trace());
    let cy = cross_entropy_probs(x.clone().trace(), t.clone().trace());
    close("ce probs fn", &down(&gy), cy.as_slice(), FWD);
    let (gg, cg) = (gy.backward(), cy.backward());
    close(
        "ce probs fn grad x",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
    close(
        "ce probs fn grad t",
        &down(&gg.get_gpu(&gt).unwrap()),
        cg.get_slice(&t).unwrap(),
        GRAD,
    );
}

type Pr = Rank2<6, 4>;
type Traced<S> = Tensor<S, f32, OwnedTape<f32>>;
type GTraced<S> = GpuTensor<S, OwnedTape<f32>>;

/// A scalar probability-target cross-entropy on both devices, both inputs traced.
fn probs_case<Lo: ToDevice>(
    g: &Wgpu,
    what: &str,
    x: &Tensor<Pr>,
    t: &Tensor<Pr>,
    loss: Lo,
    cpu: impl Fn(&Lo, Traced<Pr>, Traced<Pr>) -> Traced<()>,
    gpu_f: impl Fn(&Lo::Output, GTraced<Pr>, GTraced<Pr>) -> GTraced<()>,
) {
    let gl = loss.to_device(g).unwrap();
    let cy = cpu(&loss, x.clone().trace(), t.clone().trace());
    let (gx, gt) = (up(g, x), up(g, t));
    let gy = gpu_f(&gl, gx.clone().trace(), gt.clone().trace());
    close(&format!("{what}: loss"), &down(&gy), cy.as_slice(), FWD);
    let (gg, cg) = (gy.backward(), cy.backward());
    close(
        &format!("{what}: grad x"),
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(x).unwrap(),
        GRAD,
    );
    close(
        &format!("{what}: grad t"),
        &down(&gg.get_gpu(&gt).unwrap()),
        cg.get_slice(t).unwrap(),
        GRAD,
    );
}

fn probs_none(
    g: &Wgpu,
    what: &str,
    x: &Tensor<Pr>,
    t: &Tensor<Pr>,
    loss: CrossEntropyLoss<NoWeight, NoReduction>,
) {
    let gl = loss.to_device(g).unwrap();
    let cy = loss.forward_probs(x.clone().trace(), t.clone());
    let gx = up(g, x);
    let gy = gl.forward_probs(gx.clone().trace(), up(g, t));
    close(&format!("{what}: loss"), &down(&gy), cy.as_slice(), FWD);
    let r = randn::<Rank1<6>>(97);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(g, &r)).sum().backward();
    close(
        &format!("{what}: grad x"),
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(x).unwrap(),
        GRAD,
    );
}

#[test]
fn gpu_loss_back_to_cpu() {
    let Some(g) = gpu() else { return };
    let w = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    let loss = CrossEntropyLoss::new()
        .weight(w)
        .ignore_index(4)
        .label_smoothing(0.1);
    let back = loss.to_device(&g).unwrap().to_cpu().unwrap();
    assert_eq!(back.weight.to_vec(), loss.weight.to_vec());
    assert_eq!(back.ignore_index, Some(4));
    assert_eq!(back.label_smoothing, 0.1);
}

// ---- errors ------------------------------------------------------------------------------

#[test]
fn loss_errors_match_the_cpu() {
    let Some(g) = gpu() else { return };
    let x = up(&g, &Tensor::<Rank2<2, 3>>::zeros());
    let err = shaped::gpu::try_smooth_l1_loss(x.clone(), x.clone(), -1.0).unwrap_err();
    assert!(err.to_string().contains("negative"), "{err}");
    let err = shaped::gpu::try_huber_loss(x.clone(), x.clone(), 0.0).unwrap_err();
    assert!(err.to_string().contains("not positive"), "{err}");

    let d = up(&g, &Tensor::<(usize, usize)>::zeros_with_shape((2, 3)));
    let pw = Tensor::<(usize,)>::ones_with_shape((2,));
    let loss = BCEWithLogitsLoss::new()
        .pos_weight(pw)
        .to_device(&g)
        .unwrap();
    let err = loss.try_forward(d.clone(), d.clone()).unwrap_err();
    assert!(
        err.to_string()
            .contains("2 positive weights for a last dimension of 3"),
        "{err}"
    );
    let w = Tensor::<(usize,)>::ones_with_shape((2,));
    let loss = BCELoss::new().weight(w).to_device(&g).unwrap();
    let err = loss.try_forward(d.clone(), d.clone()).unwrap_err();
    assert!(err.to_string().contains("does not broadcast"), "{err}");

    let labels = Indices::<Rank1<2>>::from_array([0, 3]);
    let ce = CrossEntropyLoss::new().to_device(&g).unwrap();
    let err = ce.try_forward(x.clone(), &labels).unwrap_err();
    assert!(
        err.to_string()
            .contains("label 3 at position 1 is out of range for 3 classes"),
        "{err}"
    );
    let ce = CrossEntropyLoss::new()
        .label_smoothing(1.5)
        .to_device(&g)
        .unwrap();
    let ok = Indices::<Rank1<2>>::from_array([0, 1]);
    assert!(ce.try_forward(x.clone(), &ok).is_err());
    let ce = CrossEntropyLoss::new()
        .ignore_index(0)
        .to_device(&g)
        .unwrap();
    assert!(ce.try_forward_probs(x.clone(), x.clone()).is_err());
    let w = Tensor::<(usize,)>::ones_with_shape((4,));
    let nll = NLLLoss::new().weight(w).to_device(&g).unwrap();
    let err = nll.try_forward(x, &ok).unwrap_err();
    assert!(
        err.to_string().contains("4 class weights for 3 classes"),
        "{err}"
    );
}

/// Every `Wgpu::new()` of one adapter is one device (as every `torch.device("cuda:0")`),
/// so a loss moved with one handle takes inputs uploaded through another. Weights on
/// another adapter's device are an `Err` (only checkable where two adapters exist).
#[test]
fn handles_of_one_adapter_are_one_device() {
    let (Some(a), Some(b)) = (gpu(), gpu()) else {
        return;
    };
    assert_eq!(a, b);
    let w = Tensor::<Rank1<3>>::ones();
    let loss = BCEWithLogitsLoss::new()
        .pos_weight(w.clone())
        .to_device(&a)
        .unwrap();
    let x = up(&b, &Tensor::<Rank2<2, 3>>::zeros());
    let y = loss.try_forward(x.clone(), x).unwrap();
    assert!((y.to_cpu().unwrap().to_vec()[0] - 2f32.ln()).abs() < 1e-6);
    let adapters = Wgpu::adapters();
    if let (Some(first), Some(second)) = (adapters.first(), adapters.get(1)) {
        let (Ok(c), Ok(d)) = (
            Wgpu::with_adapter(&first.name),
            Wgpu::with_adapter(&second.name),
        ) else {
            return;
        };
        if c == d {
            return; // one name contains the other
        }
        let loss = BCEWithLogitsLoss::new()
            .pos_weight(w)
            .to_device(&c)
            .unwrap();
        let x = up(&d, &Tensor::<Rank2<2, 3>>::zeros());
        let err = loss.try_forward(x.clone(), x).unwrap_err();
        assert!(err.to_string().contains("another GPU device"), "{err}");
    }
}
