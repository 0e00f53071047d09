//! f64 on the GPU for the losses, the reductions and the shape ops (adapters with
//! `SHADER_F64`, lavapipe among them): every one against the CPU's f64 path, values and
//! gradients (the target's too where it is traced), within `F64_TOL`.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{F64_TOL, close64, gpu64, randn64};
use shaped::autograd::Gradients;
use shaped::device::Wgpu;
use shaped::gpu::GpuTensor;
use shaped::gpu::prelude::*;
use shaped::nn::loss::*;
use shaped::ops::pad::PadMode;
use shaped::prelude::*;

type Tr<S> = Tensor<S, f64, OwnedTape<f64>>;
type GTr<S> = GpuTensor<S, OwnedTape<f64>, f64>;

fn down<S: Shape, T>(t: &GpuTensor<S, T, f64>) -> Vec<f64> {
    t.to_cpu().unwrap().to_vec()
}

fn up<S: Shape>(g: &Wgpu, t: &Tensor<S, f64>) -> GpuTensor<S, NoTape, f64> {
    t.to_device(g).unwrap()
}

fn grad<S: Shape, T>(gg: &Gradients<f64>, t: &GpuTensor<S, T, f64>) -> Vec<f64> {
    down(&gg.get_gpu(t).expect("a GPU gradient"))
}

/// Random f64 values in the shape `shape` (for the weights of `sum(y * r)`).
fn r_like<S: Shape>(shape: S, seed: u64) -> Tensor<S, f64> {
    let n = shape.numel();
    let v = randn64::<Rank1<512>>(seed).as_slice()[..n].to_vec();
    Tensor::from_vec_with_shape(v, shape).unwrap()
}

/// A traced f64 op on both devices (the same expression `$op`, or `$cpu` and `$gpu`): the
/// values, then the input's gradient of `sum(y * r)`.
macro_rules! op_vs_cpu64 {
    ($dev:expr, $x:expr, $seed:expr, |$v:ident| $op:expr) => {
        op_vs_cpu64!($dev, $x, $seed, |$v| $op, |$v| $op)
    };
    ($dev:expr, $x:expr, $seed:expr, |$v:ident| $cpu:expr, |$w:ident| $gpu:expr) => {{
        let x = $x;
        let cy = {
            let $v = x.clone().trace();
            $cpu
        };
        let gx = up($dev, &x);
        let gy = {
            let $w = gx.clone().trace();
            $gpu
        };
        assert_eq!(gy.to_cpu().unwrap().dims(), cy.dims());
        close64("y", &down(&gy), cy.as_slice(), F64_TOL);
        let r = r_like(*cy.shape(), $seed);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up($dev, &r)).sum().backward();
        close64(
            "grad x",
            &grad(&gg, &gx),
            cg.get_slice(&x).unwrap(),
            F64_TOL,
        );
    }};
}

// ---- reductions --------------------------------------------------------------------------

#[test]
fn axis_reductions_f64() {
    let Some(g) = gpu64() else { return };
    let g = &g;
    let x = || randn64::<Rank3<3, 5, 4>>(1) * 2.0;
    op_vs_cpu64!(g, x(), 2, |x| x.sum_dim::<1>());
    op_vs_cpu64!(g, x(), 3, |x| x.sum_dim_keepdim::<2>());
    op_vs_cpu64!(g, x(), 4, |x| x.mean_dim::<0>());
    op_vs_cpu64!(g, x(), 5, |x| x.mean_dim_keepdim::<1>());
    op_vs_cpu64!(g, x(), 6, |x| x.max_dim::<1>());
    op_vs_cpu64!(g, x(), 7, |x| x.max_dim_keepdim::<2>());
    op_vs_cpu64!(g, x(), 8, |x| x.min_dim::<0>());
    op_vs_cpu64!(g, x(), 9, |x| x.min_dim_keepdim::<1>());
    op_vs_cpu64!(g, x(), 10, |x| x.softmax::<1>());
    op_vs_cpu64!(g, x(), 11, |x| x.softmax::<2>());
    op_vs_cpu64!(g, x(), 12, |x| x.log_softmax::<0>());
    op_vs_cpu64!(g, x(), 13, |x| x.sum());
    op_vs_cpu64!(g, x(), 14, |x| x.mean());
}

#[test]
fn more_reductions_f64() {
    let Some(g) = gpu64() else { return };
    let g = &g;
    let x = || randn64::<Rank3<3, 5, 4>>(21) * 3.0;
    op_vs_cpu64!(g, x(), 22, |x| x.var());
    op_vs_cpu64!(g, x(), 23, |x| x.std());
    op_vs_cpu64!(g, x(), 24, |x| x.var_dim::<1>());
    op_vs_cpu64!(g, x(), 25, |x| x.var_dim_keepdim::<2>());
    op_vs_cpu64!(g, x(), 26, |x| x.var_dim_correction::<1>(0));
    op_vs_cpu64!(g, x(), 27, |x| x.std_dim::<0>());
    op_vs_cpu64!(g, x(), 28, |x| x.std_dim_keepdim::<2>());
    op_vs_cpu64!(g, x(), 29, |x| x.logsumexp());
    op_vs_cpu64!(g, x(), 30, |x| x.logsumexp_dim::<1>());
    op_vs_cpu64!(g, x(), 31, |x| x.logsumexp_dim_keepdim::<2>());
    op_vs_cpu64!(g, x(), 32, |x| x.cumsum::<0>());
    op_vs_cpu64!(g, x(), 33, |x| x.cumsum::<2>());
    op_vs_cpu64!(g, x(), 34, |x| x.max());
    op_vs_cpu64!(g, x(), 35, |x| x.min());
    // Ties share the gradient of the whole max.
    let ties = Tensor::<Rank1<5>, f64>::from_array([1.0, 3.0, -2.0, 3.0, 0.5]);
    op_vs_cpu64!(g, ties, 36, |x| x.max());
    // A max beyond f32's range and a difference below f32's precision.
    let big = Tensor::<Rank1<3>, f64>::from_array([1e300, 1e300 * (1.0 + 1e-12), -1e300]);
    op_vs_cpu64!(g, big, 37, |x| x.max());
}

#[test]
fn indices_f64() {
    let Some(g) = gpu64() else { return };
    let x = randn64::<Rank3<3, 5, 4>>(41);
    let gx = up(&g, &x);
    assert_eq!(gx.argmax::<1>().to_vec(), x.argmax::<1>().to_vec());
    assert_eq!(gx.argmin::<2>().to_vec(), x.argmin::<2>().to_vec());
    // Two values one f64 ulp apart that are the same f32: the larger one's index.
    let near = Tensor::<Rank1<2>, f64>::from_array([1.0 + f64::EPSILON, 1.0]);
    let gn = up(&g, &near);
    assert_eq!(gn.argmin::<0>().to_vec(), vec![1]);
    assert_eq!(gn.argmax::<0>().to_vec(), vec![0]);

    let (cv, ci) = x.clone().trace().max_dim_with_indices::<1>();
    let (gv, gi) = gx.clone().trace().max_dim_with_indices::<1>();
    assert_eq!(gi.to_vec(), ci.to_vec());
    close64("max values", &down(&gv), cv.as_slice(), F64_TOL);
    let r = r_like(*cv.shape(), 42);
    let cg = (cv * r.clone()).sum().backward();
    let gg = (gv * up(&g, &r)).sum().backward();
    close64(
        "max grad",
        &grad(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );

    let (cv, ci) = x.clone().trace().min_dim_with_indices::<0>();
    let (gv, gi) = gx.clone().trace().min_dim_with_indices::<0>();
    assert_eq!(gi.to_vec(), ci.to_vec());
    close64("min values", &down(&gv), cv.as_slice(), F64_TOL);
}

// ---- shape ops ---------------------------------------------------------------------------

#[test]
fn picking_ops_f64() {
    let Some(g) = gpu64() else { return };
    let g = &g;
    op_vs_cpu64!(g, randn64::<Rank3<2, 5, 3>>(51), 52, |x| x
        .narrow::<1, 1, 3>());
    op_vs_cpu64!(g, randn64::<Rank3<2, 5, 3>>(51), 53, |x| x
        .narrow_dyn::<2>(1, 2));
    op_vs_cpu64!(g, randn64::<Rank2<7, 3>>(54), 55, |x| x
        .slice_step::<0>(1, 9, 2));
    op_vs_cpu64!(g, randn64::<Rank3<2, 4, 3>>(56), 57, |x| x.select::<1>(3));
    let idx = Indices::<Rank1<5>>::from_array([2, 0, 2, 3, 2]);
    op_vs_cpu64!(g, randn64::<Rank3<2, 4, 3>>(58), 59, |x| x
        .index_select::<1, _>(&idx));
    let idx =
        Indices::<Rank3<2, 2, 3>>::from_vec(vec![0, 3, 3, 1, 1, 1, 2, 0, 3, 3, 3, 0]).unwrap();
    op_vs_cpu64!(g, randn64::<Rank3<2, 4, 3>>(60), 61, |x| x
        .gather::<1, _>(&idx));
    op_vs_cpu64!(g, randn64::<Rank2<3, 1>>(62), 63, |x| x
        .broadcast_to::<Rank3<2, 3, 4>>());
    op_vs_cpu64!(g, randn64::<Rank2<3, 1>>(62), 64, |x| x
        .broadcast_to_dyn((2usize, Const::<3>, 2usize)));
}

#[test]
fn layout_ops_f64() {
    let Some(g) = gpu64() else { return };
    let g = &g;
    let x = || randn64::<Rank3<2, 3, 4>>(71);
    op_vs_cpu64!(g, x(), 72, |x| x.reshape::<Rank2<4, 6>>());
    op_vs_cpu64!(g, x(), 73, |x| x.transpose::<0, 2>());
    op_vs_cpu64!(g, x(), 74, |x| x.permute::<2, 0, 1>());
    op_vs_cpu64!(g, x(), 75, |x| x.flatten());
    op_vs_cpu64!(g, x(), 76, |x| x.unsqueeze::<1>());
    op_vs_cpu64!(g, randn64::<Rank2<3, 5>>(77), 78, |x| x.t());
    let b = randn64::<Rank3<2, 2, 4>>(79);
    let gb = up(g, &b);
    op_vs_cpu64!(g, x(), 80, |x| x.concat::<1, _, _>(b.clone()), |x| x
        .concat::<1, _, _>(gb.clone()));
}

#[test]
fn pad_f64() {
    let Some(g) = gpu64() else { return };
    let g = &g;
    // A constant that f32 cannot hold exactly.
    for mode in [PadMode::Constant(0.1), PadMode::Reflect, PadMode::Replicate] {
        op_vs_cpu64!(g, randn64::<Rank2<2, 4>>(81), 82, |x| x.pad::<2, 3>(mode));
        op_vs_cpu64!(g, randn64::<Rank3<2, 3, 4>>(83), 84, |x| x
            .pad2::<1, 2, 2, 1>(mode));
        op_vs_cpu64!(g, randn64::<Rank4<1, 3, 4, 3>>(85), 86, |x| x
            .pad3::<1, 0, 2, 1, 1, 2>(mode));
    }
}

#[test]
fn cat_stack_split_chunk_f64() {
    let Some(g) = gpu64() else { return };
    let (a, b) = (randn64::<Rank2<2, 3>>(91), randn64::<Rank2<2, 3>>(92));
    let (ga, gb) = (up(&g, &a), up(&g, &b));
    let cy = Tensor::cat::<1, _>(vec![a.clone().trace(), b.clone().trace()]);
    let gy = shaped::gpu::cat::<1, _>(vec![ga.clone().trace(), gb.clone().trace()]);
    close64("cat", &down(&gy), cy.as_slice(), F64_TOL);
    let r = r_like(*cy.shape(), 93);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&g, &r)).sum().backward();
    close64("cat a", &grad(&gg, &ga), cg.get_slice(&a).unwrap(), F64_TOL);
    close64("cat b", &grad(&gg, &gb), cg.get_slice(&b).unwrap(), F64_TOL);

    let cy = Tensor::stack::<1, _>([a.clone().trace(), b.clone().trace()]);
    let gy = shaped::gpu::stack::<1, _>([ga.clone().trace(), gb.clone().trace()]);
    close64("stack", &down(&gy), cy.as_slice(), F64_TOL);
    let r = r_like(*cy.shape(), 94);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&g, &r)).sum().backward();
    close64(
        "stack a",
        &grad(&gg, &ga),
        cg.get_slice(&a).unwrap(),
        F64_TOL,
    );
    close64(
        "stack b",
        &grad(&gg, &gb),
        cg.get_slice(&b).unwrap(),
        F64_TOL,
    );

    // Pieces weighted differently, so that each piece's gradient lands in its place.
    let x = randn64::<Rank3<2, 7, 3>>(95);
    let gx = up(&g, &x);
    let weigh_c = |p: Vec<Tr<(Const<2>, usize, Const<3>)>>| {
        p.into_iter()
            .enumerate()
            .map(|(k, p)| p.sum() * (k as f64 + 1.5))
            .reduce(|a, b| a + b)
            .unwrap()
    };
    let weigh_g = |p: Vec<GTr<(Const<2>, usize, Const<3>)>>| {
        p.into_iter()
            .enumerate()
            .map(|(k, p)| p.sum() * (k as f64 + 1.5))
            .reduce(|a, b| a + b)
            .unwrap()
    };
    let (cs, gs) = (
        x.clone().trace().split::<1>(3),
        gx.clone().trace().split::<1>(3),
    );
    assert_eq!(cs.len(), gs.len());
    for (c, p) in cs.iter().zip(&gs) {
        close64("split piece", &down(p), c.as_slice(), F64_TOL);
    }
    let (cl, gl) = (weigh_c(cs), weigh_g(gs));
    close64("split", &down(&gl), cl.as_slice(), F64_TOL);
    let (cg, gg) = (cl.backward(), gl.backward());
    close64(
        "split grad",
        &grad(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
    let (cl, gl) = (
        weigh_c(x.clone().trace().chunk::<1>(3)),
        weigh_g(gx.clone().trace().chunk::<1>(3)),
    );
    close64("chunk", &down(&gl), cl.as_slice(), F64_TOL);
    let (cg, gg) = (cl.backward(), gl.backward());
    close64(
        "chunk grad",
        &grad(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
}

#[test]
fn interpolate_and_upsample_f64() {
    use shaped::nn::Upsample;
    use shaped::ops::interpolate::{Interpolation, ScaleFactor};
    let Some(g) = gpu64() else { return };
    let g = &g;
    for mode in [
        Interpolation::Nearest,
        Interpolation::Bilinear {
            align_corners: false,
        },
        Interpolation::Bilinear {
            align_corners: true,
        },
    ] {
        op_vs_cpu64!(g, randn64::<Rank4<1, 2, 5, 4>>(101), 102, |x| x
            .interpolate((3usize, 7usize), mode));
        op_vs_cpu64!(g, randn64::<Rank4<2, 1, 3, 3>>(103), 104, |x| x
            .interpolate(ScaleFactor::<3>, mode));
    }
    let layer = Upsample::bilinear((Const::<6>, Const::<8>), false);
    let gl = layer.to_device(g).unwrap();
    op_vs_cpu64!(
        g,
        randn64::<Rank4<2, 2, 3, 4>>(105),
        106,
        |x| layer.forward(x),
        |x| gl.forward(x)
    );
}

// ---- losses ------------------------------------------------------------------------------

/// A loss struct of a prediction and a target on both devices in f64, both inputs traced:
/// the output (of shape `$SO`, by the reduction) and the gradients of `sum(y * r)` for the
/// prediction and the target.
macro_rules! check_pair64 {
    ($g:expr, $what:expr, $p:expr, $t:expr, $loss:expr, $SO:ty) => {{
        let (g, p, t, what) = ($g, &$p, &$t, $what);
        let loss = $loss;
        let gl = loss.to_device(g).unwrap();
        let cy: Tr<$SO> = loss.forward(p.clone().trace(), t.clone().trace());
        let (gp, gt) = (up(g, p), up(g, t));
        let gy: GTr<$SO> = gl.forward(gp.clone().trace(), gt.clone().trace());
        close64(&format!("{what}: loss"), &down(&gy), cy.as_slice(), F64_TOL);
        let r = r_like(*cy.shape(), 99);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up(g, &r)).sum().backward();
        let (cp, ct) = (cg.get_slice(p).unwrap(), cg.get_slice(t).unwrap());
        close64(&format!("{what}: grad pred"), &grad(&gg, &gp), cp, F64_TOL);
        close64(
            &format!("{what}: grad target"),
            &grad(&gg, &gt),
            ct,
            F64_TOL,
        );
    }};
}

/// A class-label loss struct on both devices in f64: the output and the logits' gradient.
macro_rules! check_labels64 {
    ($g:expr, $what:expr, $x:expr, $labels:expr, $loss:expr, $SO:ty) => {{
        let (g, x, labels, what) = ($g, &$x, &$labels, $what);
        let loss = $loss;
        let gl = loss.to_device(g).unwrap();
        let cy: Tr<$SO> = loss.forward(x.clone().trace(), labels);
        let gx = up(g, x);
        let gy: GTr<$SO> = gl.forward(gx.clone().trace(), labels);
        close64(&format!("{what}: loss"), &down(&gy), cy.as_slice(), F64_TOL);
        let r = r_like(*cy.shape(), 98);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up(g, &r)).sum().backward();
        let cx = cg.get_slice(x).unwrap();
        close64(&format!("{what}: grad"), &grad(&gg, &gx), cx, F64_TOL);
    }};
}

/// `$check` with the three reductions; `$S` is the unreduced shape.
macro_rules! reductions64 {
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

type Y = Rank3<2, 3, 7>;

#[test]
fn regression_losses_f64() {
    let Some(g) = gpu64() else { return };
    let (p, t) = (randn64::<Y>(111) * 2.0, randn64::<Y>(112));
    reductions64!(check_pair64, &g, "mse", p, t, MSELoss::new(), Y);
    reductions64!(check_pair64, &g, "l1", p, t, L1Loss::new(), Y);
    let sl1 = SmoothL1Loss::new().beta(0.6);
    reductions64!(check_pair64, &g, "smooth_l1", p, t, sl1, Y);
    let huber = HuberLoss::new().delta(0.7);
    reductions64!(check_pair64, &g, "huber", p, t, huber, Y);
}

#[test]
fn kl_div_f64() {
    let Some(g) = gpu64() else { return };
    let input = randn64::<Y>(113).log_softmax::<2>();
    let probs = randn64::<Y>(114).softmax::<2>();
    reductions64!(
        check_pair64,
        &g,
        "kl_div",
        input,
        probs,
        KLDivLoss::new(),
        Y
    );
    let log_t = randn64::<Y>(115).log_softmax::<2>();
    let lt = KLDivLoss::new().log_target(true);
    reductions64!(check_pair64, &g, "kl_div log_target", input, log_t, lt, Y);
    let bm = KLDivLoss::new().reduction(Reduction::BatchMean);
    check_pair64!(&g, "kl_div batchmean", input, probs, bm, ());
}

#[test]
fn bce_losses_f64() {
    let Some(g) = gpu64() else { return };
    let (p, t) = (
        randn64::<Y>(116).sigmoid(),
        (randn64::<Y>(117) * 3.0).sigmoid(),
    );
    reductions64!(check_pair64, &g, "bce", p, t, BCELoss::new(), Y);
    let w = randn64::<Rank2<3, 1>>(118).abs();
    let bce = BCELoss::new().weight(w);
    reductions64!(check_pair64, &g, "bce weight", p, t, bce, Y);
    let x = randn64::<Y>(119) * 6.0;
    reductions64!(
        check_pair64,
        &g,
        "bce logits",
        x,
        t,
        BCEWithLogitsLoss::new(),
        Y
    );
    let pw = randn64::<Rank1<7>>(120).abs() + 0.2;
    let w = randn64::<Rank1<7>>(121).abs();
    let loss = BCEWithLogitsLoss::new().weight(w).pos_weight(pw);
    reductions64!(
        check_pair64,
        &g,
        "bce logits weight pos_weight",
        x,
        t,
        loss,
        Y
    );
}

#[test]
fn class_losses_f64() {
    let Some(g) = gpu64() else { return };
    let x = randn64::<Rank2<9, 5>>(122) * 3.0;
    let labels = Indices::<Rank1<9>>::from_array([0, 4, 2, 7, 1, 3, 7, 4, 0]); // 7: ignored
    let clean = Indices::<Rank1<9>>::from_array([0, 4, 2, 2, 1, 3, 1, 4, 0]);
    let w = randn64::<Rank1<5>>(123).abs() + 0.1;
    type N = Rank1<9>;
    let ce = CrossEntropyLoss::new();
    reductions64!(check_labels64, &g, "ce", x, clean, ce, N);
    let ce = CrossEntropyLoss::new()
        .weight(w.clone())
        .ignore_index(7)
        .label_smoothing(0.3);
    reductions64!(
        check_labels64,
        &g,
        "ce weight ignore smoothing",
        x,
        labels,
        ce,
        N
    );
    let lp = x.clone().log_softmax::<1>();
    let nll = NLLLoss::new().weight(w.clone()).ignore_index(7);
    reductions64!(check_labels64, &g, "nll weight ignore", lp, labels, nll, N);

    // The F-style functions.
    let gx = up(&g, &x);
    let (cy, gy) = (
        cross_entropy(x.clone().trace(), &clean),
        shaped::gpu::cross_entropy(gx.clone().trace(), &clean),
    );
    close64("cross_entropy", &down(&gy), cy.as_slice(), F64_TOL);
    let (cg, gg) = (cy.backward(), gy.backward());
    close64(
        "cross_entropy grad",
        &grad(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
    let glp = up(&g, &lp);
    let (cy, gy) = (
        nll_loss(lp.clone().trace(), &clean),
        shaped::gpu::nll_loss(glp.clone().trace(), &clean),
    );
    close64("nll_loss", &down(&gy), cy.as_slice(), F64_TOL);
    let (cg, gg) = (cy.backward(), gy.backward());
    close64(
        "nll_loss grad",
        &grad(&gg, &glp),
        cg.get_slice(&lp).unwrap(),
        F64_TOL,
    );
}

#[test]
fn prob_targets_and_fn_losses_f64() {
    let Some(g) = gpu64() else { return };
    let x = randn64::<Rank2<6, 4>>(124) * 3.0;
    let t = randn64::<Rank2<6, 4>>(125).softmax::<1>();
    let w = randn64::<Rank1<4>>(126).abs() + 0.1;
    let (gx, gt) = (up(&g, &x), up(&g, &t));
    let loss = CrossEntropyLoss::new().weight(w).label_smoothing(0.25);
    let gl = loss.to_device(&g).unwrap();
    let cy = loss.forward_probs(x.clone().trace(), t.clone().trace());
    let gy = gl.forward_probs(gx.clone().trace(), gt.clone().trace());
    close64("ce probs", &down(&gy), cy.as_slice(), F64_TOL);
    let (cg, gg) = (cy.backward(), gy.backward());
    close64(
        "ce probs grad x",
        &grad(&gg, &gx),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
    close64(
        "ce probs grad t",
        &grad(&gg, &gt),
        cg.get_slice(&t).unwrap(),
        F64_TOL,
    );

    let cy = cross_entropy_probs(x.clone().trace(), t.clone().trace());
    let gy = shaped::gpu::cross_entropy_probs(gx.clone().trace(), gt.clone().trace());
    close64("ce probs fn", &down(&gy), cy.as_slice(), F64_TOL);

    // F-style pair losses, both inputs traced.
    let (p, q) = (randn64::<Y>(127), randn64::<Y>(128));
    let (gp, gq) = (up(&g, &p), up(&g, &q));
    type F<S> = fn(Tr<S>, Tr<S>) -> Tr<()>;
    type GF<S> = fn(GTr<S>, GTr<S>) -> GTr<()>;
    let cases: [(&str, F<Y>, GF<Y>); 7] = [
        ("mse_loss", mse_loss, shaped::gpu::mse_loss),
        ("l1_loss", l1_loss, shaped::gpu::l1_loss),
        (
            "smooth_l1_loss",
            |a, b| smooth_l1_loss(a, b, 0.3),
            |a, b| shaped::gpu::smooth_l1_loss(a, b, 0.3),
        ),
        (
            "huber_loss",
            |a, b| huber_loss(a, b, 1.3),
            |a, b| shaped::gpu::huber_loss(a, b, 1.3),
        ),
        (
            "bce_with_logits",
            |a, b| binary_cross_entropy_with_logits(a, b.sigmoid()),
            |a, b| shaped::gpu::binary_cross_entropy_with_logits(a, b.sigmoid()),
        ),
        (
            "binary_cross_entropy",
            |a, b| binary_cross_entropy(a.sigmoid(), b.sigmoid()),
            |a, b| shaped::gpu::binary_cross_entropy(a.sigmoid(), b.sigmoid()),
        ),
        (
            "kl_div",
            |a, b| kl_div(a.log_softmax::<2>(), b.softmax::<2>(), Reduction::BatchMean),
            |a, b| {
                shaped::gpu::kl_div(a.log_softmax::<2>(), b.softmax::<2>(), Reduction::BatchMean)
            },
        ),
    ];
    for (what, cf, gf) in cases {
        let cy = cf(p.clone().trace(), q.clone().trace());
        let gy = gf(gp.clone().trace(), gq.clone().trace());
        close64(what, &down(&gy), cy.as_slice(), F64_TOL);
        let (cg, gg) = (cy.backward(), gy.backward());
        close64(what, &grad(&gg, &gp), cg.get_slice(&p).unwrap(), F64_TOL);
        close64(what, &grad(&gg, &gq), cg.get_slice(&q).unwrap(), F64_TOL);
    }
}

/// Infinite and NaN inputs give the CPU's f64 answers (values and gradients, NaN where the
/// CPU has NaN): BCE on logits with and without a positive weight, Smooth L1, KL divergence,
/// cross-entropy, `logsumexp` and `max`.
#[test]
fn non_finite_inputs_f64() {
    let Some(g) = gpu64() else { return };
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let xs = [
        -inf, -800.0, -30.0, -1.0, 0.0, 1e-300, 2.5, 40.0, 800.0, inf, nan, -0.0,
    ];
    let ts = [0.0, 0.3, 1.0];
    let (mut xv, mut tv) = (Vec::new(), Vec::new());
    for &x in &xs {
        for &t in &ts {
            xv.push(x);
            tv.push(t);
        }
    }
    type G = Rank2<12, 3>;
    let x = Tensor::<G, f64>::from_vec(xv).unwrap();
    let t = Tensor::<G, f64>::from_vec(tv).unwrap();
    let pw = Tensor::<Rank1<3>, f64>::from_array([0.5, 1.0, 3.0]);
    let none = BCEWithLogitsLoss::new().reduction(Reduction::None);
    check_pair64!(&g, "bce logits", x, t, none.clone(), G);
    let pwl = none.pos_weight(pw);
    check_pair64!(&g, "bce logits pos_weight", x, t, pwl, G);
    let sl1 = SmoothL1Loss::new().beta(0.5).reduction(Reduction::None);
    check_pair64!(&g, "smooth_l1", x, t, sl1, G);
    let kl = KLDivLoss::new().reduction(Reduction::None);
    check_pair64!(&g, "kl_div", x, t, kl, G);

    let labels = Indices::<Rank1<12>>::from_array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
    let ce = CrossEntropyLoss::new()
        .label_smoothing(0.2)
        .reduction(Reduction::None);
    check_labels64!(&g, "ce", x, labels, ce, Rank1<12>);
    let g = &g;
    op_vs_cpu64!(g, x.clone(), 131, |x| x.logsumexp_dim::<1>());
    op_vs_cpu64!(g, x.clone(), 132, |x| x.max_dim::<1>());
    op_vs_cpu64!(g, x.clone(), 133, |x| x.max());
}
