//! The LSTM on the GPU: the cell and the sequence layer against the CPU on the same data
//! (every output and every gradient), the PyTorch golden cases they cover (same files and
//! tolerances as the CPU tests), and a small LSTM model trained on both devices.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{FWD, GRAD, assert_close, close, down, gpu, randn, up};
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuLSTM, GpuLSTMCell, cross_entropy};
use shaped::nn::{BiLSTM, LSTM, LSTMCell, LSTMDyn, Layout, Linear, Module, Params, SeqFirst};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};
use shaped::shape::DimEq;

/// The CPU model's parameter gradients against the GPU model's, by name.
fn check_param_grads<M: Params<f32>>(
    cpu: &M,
    cg: &Gradients<f32>,
    gpu: &[(&str, Option<Vec<f32>>)],
) {
    let mut n = 0;
    cpu.visit("", &mut |p| {
        let (_, gv) = gpu
            .iter()
            .find(|(name, _)| *name == p.name)
            .unwrap_or_else(|| panic!("no GPU parameter {}", p.name));
        let gv = gv
            .as_ref()
            .unwrap_or_else(|| panic!("no GPU grad for {}", p.name));
        close(p.name, gv, cg.get_id(p.id).unwrap(), GRAD);
        n += 1;
    });
    assert_eq!(n, gpu.len());
}

fn cell_grads<'a, I: Dim, H: Dim>(
    cell: &GpuLSTMCell<I, H>,
    gg: &Gradients<f32>,
    names: [&'a str; 4],
) -> Vec<(&'a str, Option<Vec<f32>>)> {
    fn g<S: Shape>(t: Option<GpuTensor<S>>) -> Option<Vec<f32>> {
        t.map(|t| down(&t))
    }
    vec![
        (names[0], g(gg.get_gpu(&cell.weight_ih))),
        (names[1], g(gg.get_gpu(&cell.weight_hh))),
        (
            names[2],
            g(cell.bias_ih.as_ref().and_then(|b| gg.get_gpu(b))),
        ),
        (
            names[3],
            g(cell.bias_hh.as_ref().and_then(|b| gg.get_gpu(b))),
        ),
    ]
}

const CELL_NAMES: [&str; 4] = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
const LAYER_NAMES: [&str; 4] = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"];

#[test]
fn lstm_cell_matches_cpu() {
    let Some(g) = gpu() else { return };
    let cell = LSTMCell::<5, 7>::new(&mut StdRng::seed_from_u64(1));
    let gcell = cell.to_device(&g).unwrap();
    let (x, h0, c0) = (
        randn::<Rank2<3, 5>>(2),
        randn::<Rank2<3, 7>>(3),
        randn::<Rank2<3, 7>>(4),
    );
    let (rh, rc) = (randn::<Rank2<3, 7>>(5), randn::<Rank2<3, 7>>(6));
    let (ch, cc) = cell.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    let (gx, gh0, gc0) = (up(&g, &x), up(&g, &h0), up(&g, &c0));
    let (gh, gc) = gcell.forward((
        gx.clone().trace(),
        (gh0.clone().trace(), gc0.clone().trace()),
    ));
    close("h'", &down(&gh), ch.as_slice(), FWD);
    close("c'", &down(&gc), cc.as_slice(), FWD);
    let cg = ((ch * rh.clone()).sum() + (cc * rc.clone()).sum()).backward();
    let gg = ((gh * up(&g, &rh)).sum() + (gc * up(&g, &rc)).sum()).backward();
    close(
        "x",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
    close(
        "h0",
        &down(&gg.get_gpu(&gh0).unwrap()),
        cg.get_slice(&h0).unwrap(),
        GRAD,
    );
    close(
        "c0",
        &down(&gg.get_gpu(&gc0).unwrap()),
        cg.get_slice(&c0).unwrap(),
        GRAD,
    );
    check_param_grads(&cell, &cg, &cell_grads(&gcell, &gg, CELL_NAMES));
}

#[test]
fn lstm_cell_zero_state_untraced_and_only_h_used() {
    let Some(g) = gpu() else { return };
    let mut cell = LSTMCell::<4, 6>::new(&mut StdRng::seed_from_u64(7));
    let x = randn::<Rank2<2, 4>>(8);
    let (ch, cc) = cell.forward(x.clone());
    let gcell = cell.to_device(&g).unwrap();
    let (gh, gc) = gcell.forward(up(&g, &x));
    close("h'", &down(&gh), ch.as_slice(), FWD);
    close("c'", &down(&gc), cc.as_slice(), FWD);
    // Only h' reaches the loss; run-time batch; parameters traced through the input.
    let xd = x.clone().try_realize::<(usize, Const<4>)>().unwrap();
    let (ch, _) = cell.forward(xd.clone().trace());
    let cg = ch.square().sum().backward();
    let gxd = up(&g, &xd);
    let (gh, _) = gcell.forward(gxd.clone().trace());
    let gg = gh.square().sum().backward();
    close(
        "x",
        &down(&gg.get_gpu(&gxd).unwrap()),
        cg.get_slice(&xd).unwrap(),
        GRAD,
    );
    check_param_grads(&cell, &cg, &cell_grads(&gcell, &gg, CELL_NAMES));
    // No biases (bias=False).
    cell.bias_ih = None;
    cell.bias_hh = None;
    let (ch, _) = cell.forward(x.clone());
    let (gh, _) = cell.to_device(&g).unwrap().forward(up(&g, &x));
    close("h' without biases", &down(&gh), ch.as_slice(), FWD);
    // Back to the CPU: the same cell.
    let back = gcell.to_cpu().unwrap();
    assert_eq!(back.param_names(), CELL_NAMES);
}

/// A batch-first or sequence-first LSTM with `(h0, c0)` on both devices: outputs and every
/// gradient, cotangents on `y`, `h_n` and `c_n`.
fn lstm_layer_vs_cpu<F: Layout>(seed: u64)
where
    usize: DimEq<<F as Layout>::Batch<Const<3>, Const<5>>>,
{
    let Some(g) = gpu() else { return };
    let lstm = LSTM::<4, 6, 1, f32, F>::new(&mut StdRng::seed_from_u64(seed));
    let glstm: GpuLSTM<_, _, _, F> = lstm.to_device(&g).unwrap();
    // (A0, A1) = (batch 3, seq 5) batch-first, (seq 3, batch 5) sequence-first.
    let x = randn::<Rank3<3, 5, 4>>(seed + 1);
    let b = if F::BATCH_FIRST { 3 } else { 5 };
    let h0 = Tensor::<(Const<1>, usize, Const<6>)>::from_vec_with_shape(
        randn::<Rank2<5, 6>>(seed + 2).to_vec()[..b * 6].to_vec(),
        (Const, b, Const),
    )
    .unwrap();
    let c0 = Tensor::<(Const<1>, usize, Const<6>)>::from_vec_with_shape(
        randn::<Rank2<5, 6>>(seed + 3).to_vec()[..b * 6].to_vec(),
        (Const, b, Const),
    )
    .unwrap();
    let (cy, (chn, ccn)) = lstm
        .try_forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())))
        .unwrap();
    let (gx, gh0, gc0) = (up(&g, &x), up(&g, &h0), up(&g, &c0));
    let (gy, (ghn, gcn)) = glstm
        .try_forward((
            gx.clone().trace(),
            (gh0.clone().trace(), gc0.clone().trace()),
        ))
        .unwrap();
    assert_eq!(gy.to_cpu().unwrap().dims(), cy.dims());
    assert_eq!(ghn.to_cpu().unwrap().dims(), chn.dims());
    let st = (Const::<1>, b, Const::<6>);
    let (chn, ccn) = (chn.reshape_dyn(st), ccn.reshape_dyn(st));
    let (ghn, gcn) = (ghn.reshape_dyn(st), gcn.reshape_dyn(st));
    close("y", &down(&gy), cy.as_slice(), FWD);
    close("h_n", &down(&ghn), chn.as_slice(), FWD);
    close("c_n", &down(&gcn), ccn.as_slice(), FWD);
    let ry = randn::<Rank3<3, 5, 6>>(seed + 4);
    let rs: Vec<f32> = (0..b * 6).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
    let rs =
        Tensor::<(Const<1>, usize, Const<6>)>::from_vec_with_shape(rs, (Const, b, Const)).unwrap();
    let cl = (cy * ry.clone()).sum() + (chn * rs.clone()).sum() + (ccn * rs.clone()).sum();
    let cg = cl.backward();
    let gl = (gy * up(&g, &ry)).sum() + (ghn * up(&g, &rs)).sum() + (gcn * up(&g, &rs)).sum();
    let gg = gl.backward();
    close(
        "x",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
    close(
        "h0",
        &down(&gg.get_gpu(&gh0).unwrap()),
        cg.get_slice(&h0).unwrap(),
        GRAD,
    );
    close(
        "c0",
        &down(&gg.get_gpu(&gc0).unwrap()),
        cg.get_slice(&c0).unwrap(),
        GRAD,
    );
    check_param_grads(&lstm, &cg, &cell_grads(&glstm.cell, &gg, LAYER_NAMES));
}

#[test]
fn lstm_batch_first_matches_cpu() {
    lstm_layer_vs_cpu::<shaped::nn::BatchFirst>(20);
}

#[test]
fn lstm_seq_first_matches_cpu() {
    lstm_layer_vs_cpu::<SeqFirst>(30);
}

#[test]
fn lstm_dyn_zero_state_and_errors() {
    let Some(g) = gpu() else { return };
    let lstm = LSTMDyn::<f32>::new_dyn(3, 4, 1, true, &mut StdRng::seed_from_u64(40));
    let x = Tensor::<(usize, usize, usize)>::from_vec_with_shape(
        randn::<Rank3<2, 7, 3>>(41).to_vec(),
        (2, 7, 3),
    )
    .unwrap();
    let (cy, (chn, ccn)) = lstm.forward(x.clone());
    let glstm = lstm.to_device(&g).unwrap();
    let (gy, (ghn, gcn)) = glstm.forward(up(&g, &x));
    close("y", &down(&gy), cy.as_slice(), FWD);
    close("h_n", &down(&ghn), chn.as_slice(), FWD);
    close("c_n", &down(&gcn), ccn.as_slice(), FWD);
    // A wrong input size is an Err naming the shape.
    let bad = Tensor::<(usize, usize, usize)>::zeros_with_shape((2, 7, 5))
        .to_device(&g)
        .unwrap();
    let err = glstm.try_forward(bad).unwrap_err().to_string();
    assert!(err.contains("[2, 7, 5]"), "{err}");
    // So is a state of the wrong batch.
    let h0 = Tensor::<(usize, usize, usize)>::zeros_with_shape((1, 3, 4))
        .to_device(&g)
        .unwrap();
    let err = glstm
        .try_forward((up(&g, &x), (h0.clone(), h0)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("h_0") && err.contains("[1, 3, 4]"), "{err}");
    // Back to the CPU with the same settings and names.
    let back = glstm.to_cpu().unwrap();
    assert_eq!(back.param_names(), LAYER_NAMES);
    assert_eq!(back.first.weight_hh.to_vec(), lstm.first.weight_hh.to_vec());
}

/// Loads the golden file's parameters into `model` (names checked).
fn load<M: Params<f32>>(model: &mut M, g: &Golden) {
    model.visit_mut("", &mut |p| {
        let v = g.f(p.name);
        assert_eq!(v.len(), p.data.len(), "{}", p.name);
        p.data.copy_from_slice(&v);
    });
}

fn t<S: ConstShape>(dev: &Wgpu, g: &Golden, name: &str) -> GpuTensor<S> {
    Tensor::<S>::from_vec(g.f(name))
        .unwrap()
        .to_device(dev)
        .unwrap()
}

fn check_golden_params<I: Dim, H: Dim>(
    g: &Golden,
    cell: &GpuLSTMCell<I, H>,
    grads: &Gradients<f32>,
    names: [&str; 4],
) {
    for (name, v) in cell_grads(cell, grads, names) {
        g.check_grad(name, &v.unwrap_or_else(|| panic!("no grad for {name}")));
    }
}

#[test]
fn layer_lstm_cell() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_lstm_cell");
    let mut cpu = LSTMCell::<4, 5>::new(&mut StdRng::seed_from_u64(0));
    load(&mut cpu, &g);
    let cell = cpu.to_device(&dev).unwrap();
    let x = t::<Rank2<3, 4>>(&dev, &g, "x");
    let h0 = t::<Rank2<3, 5>>(&dev, &g, "h0");
    let c0 = t::<Rank2<3, 5>>(&dev, &g, "c0");
    let (h1, c1) = cell.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    g.check_forward("h1", &down(&h1));
    g.check_forward("c1", &down(&c1));
    let loss = (h1 * t::<Rank2<3, 5>>(&dev, &g, "gh1")).sum()
        + (c1 * t::<Rank2<3, 5>>(&dev, &g, "gc1")).sum();
    let grads = loss.backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("h0", &down(&grads.get_gpu(&h0).unwrap()));
    g.check_grad("c0", &down(&grads.get_gpu(&c0).unwrap()));
    check_golden_params(&g, &cell, &grads, CELL_NAMES);
    let (h1, c1) = cell.forward((x, (h0, c0)));
    g.check_forward("h1", &down(&h1));
    g.check_forward("c1", &down(&c1));
}

/// `layer_lstm` / `layer_lstm_state_cotangents` / `layer_lstm_seq_first`: `x` `(A0, A1, 3)`,
/// states `(1, batch, 5)`; cotangents on `h_n` and `c_n` when the file has them.
fn lstm_golden<F: Layout, const A0: usize, const A1: usize, const B: usize>(case: &str)
where
    Const<B>: DimEq<<F as Layout>::Batch<Const<A0>, Const<A1>>>,
{
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let mut cpu = LSTM::<3, 5, 1, f32, F>::new(&mut StdRng::seed_from_u64(0));
    assert_eq!(cpu.param_names(), LAYER_NAMES);
    load(&mut cpu, &g);
    let lstm = cpu.to_device(&dev).unwrap();
    let x = t::<Rank3<A0, A1, 3>>(&dev, &g, "x");
    let h0 = t::<Rank3<1, B, 5>>(&dev, &g, "h0");
    let c0 = t::<Rank3<1, B, 5>>(&dev, &g, "c0");
    let (y, (h_n, c_n)) = lstm
        .try_forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())))
        .unwrap();
    if g.has("y") {
        g.check_forward("y", &down(&y));
        g.check_forward("h_n", &down(&h_n));
        g.check_forward("c_n", &down(&c_n));
    }
    let y: GpuTensor<Rank3<A0, A1, 5>, _> = y.reshape_dyn(Default::default());
    let h_n: GpuTensor<Rank3<1, B, 5>, _> = h_n.reshape_dyn(Default::default());
    let c_n: GpuTensor<Rank3<1, B, 5>, _> = c_n.reshape_dyn(Default::default());
    let mut loss = (y * t::<Rank3<A0, A1, 5>>(&dev, &g, "gy")).sum();
    if g.has("gh_n") {
        loss = loss
            + (h_n * t::<Rank3<1, B, 5>>(&dev, &g, "gh_n")).sum()
            + (c_n * t::<Rank3<1, B, 5>>(&dev, &g, "gc_n")).sum();
    }
    let grads = loss.backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("h0", &down(&grads.get_gpu(&h0).unwrap()));
    g.check_grad("c0", &down(&grads.get_gpu(&c0).unwrap()));
    check_golden_params(&g, &lstm.cell, &grads, LAYER_NAMES);
}

#[test]
fn layer_lstm() {
    lstm_golden::<shaped::nn::BatchFirst, 2, 4, 2>("layer_lstm");
}
#[test]
fn layer_lstm_state_cotangents() {
    lstm_golden::<shaped::nn::BatchFirst, 2, 4, 2>("layer_lstm_state_cotangents");
}
#[test]
fn layer_lstm_seq_first() {
    lstm_golden::<SeqFirst, 4, 2, 2>("layer_lstm_seq_first");
}

#[test]
fn layer_lstm_2layer() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_lstm_2layer");
    let mut cpu = LSTM::<3, 4, 2>::new(&mut StdRng::seed_from_u64(0));
    load(&mut cpu, &g);
    let lstm = cpu.to_device(&dev).unwrap();
    let mut names = Vec::new();
    lstm.clone()
        .visit_gpu("", &mut |p| names.push(p.name.to_string()));
    assert_eq!(names, cpu.param_names());
    let x = t::<Rank3<2, 3, 3>>(&dev, &g, "x");
    let h0 = t::<Rank3<2, 2, 4>>(&dev, &g, "h0");
    let c0 = t::<Rank3<2, 2, 4>>(&dev, &g, "c0");
    let (y, (h_n, c_n)) =
        lstm.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    g.check_forward("y", &down(&y));
    g.check_forward("h_n", &down(&h_n));
    g.check_forward("c_n", &down(&c_n));
    let grads = (y * t::<Rank3<2, 3, 4>>(&dev, &g, "gy")).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("h0", &down(&grads.get_gpu(&h0).unwrap()));
    g.check_grad("c0", &down(&grads.get_gpu(&c0).unwrap()));
    check_golden_params(&g, &lstm.cell, &grads, LAYER_NAMES);
    let l1 = ["weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"];
    check_golden_params(&g, &lstm.rest[0], &grads, l1);
}

#[test]
fn layer_lstm_bidirectional() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_lstm_bidirectional");
    let mut cpu = BiLSTM::<3, 5, 2>::new(&mut StdRng::seed_from_u64(0));
    load(&mut cpu, &g);
    let mut lstm = cpu.to_device(&dev).unwrap();
    let mut names = Vec::new();
    lstm.visit_gpu("", &mut |p| names.push(p.name.to_string()));
    assert_eq!(names, cpu.param_names());
    let x = t::<Rank3<2, 4, 3>>(&dev, &g, "x");
    let h0 = t::<Rank3<4, 2, 5>>(&dev, &g, "h0");
    let c0 = t::<Rank3<4, 2, 5>>(&dev, &g, "c0");
    let (y, (h_n, c_n)) =
        lstm.forward((x.clone().trace(), (h0.clone().trace(), c0.clone().trace())));
    g.check_forward("y", &down(&y));
    g.check_forward("h_n", &down(&h_n));
    g.check_forward("c_n", &down(&c_n));
    let y: GpuTensor<Rank3<2, 4, 10>, _> = y.reshape_dyn(Default::default());
    let h_n: GpuTensor<Rank3<4, 2, 5>, _> = h_n.reshape_dyn(Default::default());
    let c_n: GpuTensor<Rank3<4, 2, 5>, _> = c_n.reshape_dyn(Default::default());
    let loss = (y * t::<Rank3<2, 4, 10>>(&dev, &g, "gy")).sum()
        + (h_n * t::<Rank3<4, 2, 5>>(&dev, &g, "gh_n")).sum()
        + (c_n * t::<Rank3<4, 2, 5>>(&dev, &g, "gc_n")).sum();
    let grads = loss.backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("h0", &down(&grads.get_gpu(&h0).unwrap()));
    g.check_grad("c0", &down(&grads.get_gpu(&c0).unwrap()));
    let named = |suffix: &str| CELL_NAMES.map(|n| format!("{n}{suffix}"));
    let (l0r, l1, l1r) = (named("_l0_reverse"), named("_l1"), named("_l1_reverse"));
    check_golden_params(&g, &lstm.cell, &grads, LAYER_NAMES);
    check_golden_params(
        &g,
        lstm.cell_reverse.as_ref().unwrap(),
        &grads,
        l0r.each_ref().map(|s| s.as_str()),
    );
    check_golden_params(&g, &lstm.rest[0], &grads, l1.each_ref().map(|s| s.as_str()));
    check_golden_params(
        &g,
        &lstm.rest_reverse[0],
        &grads,
        l1r.each_ref().map(|s| s.as_str()),
    );
    let back = lstm.to_cpu().unwrap();
    assert_eq!(back.param_names(), cpu.param_names());
}

/// A bidirectional sequence-first stack from zero states against the CPU, untraced.
#[test]
fn bilstm_seq_first_matches_cpu() {
    let Some(g) = gpu() else { return };
    let cpu = BiLSTM::<4, 3, 2, f32, SeqFirst>::new(&mut StdRng::seed_from_u64(70));
    let x = randn::<Rank3<5, 2, 4>>(71);
    let (cy, (chn, ccn)) = cpu.forward(x.clone());
    let (gy, (ghn, gcn)) = cpu.to_device(&g).unwrap().forward(up(&g, &x));
    close("y", &down(&gy), cy.as_slice(), FWD);
    close("h_n", &down(&ghn), chn.as_slice(), FWD);
    close("c_n", &down(&gcn), ccn.as_slice(), FWD);
}

/// Three layers with dropout between them, in training mode: the CPU's masks (drawn from the
/// same generator state) on the same elements, so the same outputs and gradients.
#[test]
fn lstm_stack_with_dropout_matches_cpu() {
    let Some(g) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(60);
    let mut lstm = LSTM::<4, 5, 3>::new(&mut rng).with_dropout(0.4, &mut rng);
    let glstm = lstm.to_device(&g).unwrap();
    let x = randn::<Rank3<2, 6, 4>>(61);
    let r = randn::<Rank3<2, 6, 5>>(62);
    let (cy, (chn, _)) = lstm.forward_train(x.clone().trace());
    let gx = up(&g, &x);
    let mut gl = glstm.clone();
    let (gy, (ghn, _)) = gl.forward_train(gx.clone().trace());
    close("y", &down(&gy), cy.as_slice(), FWD);
    close("h_n", &down(&ghn), chn.as_slice(), FWD);
    let cg = ((cy * r.clone()).sum() + chn.sum()).backward();
    let gg = ((gy * up(&g, &r)).sum() + ghn.sum()).backward();
    close(
        "x",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
    let names: Vec<[String; 4]> = (0..3)
        .map(|k| CELL_NAMES.map(|n| format!("{n}_l{k}")))
        .collect();
    let name_refs: Vec<[&str; 4]> = names
        .iter()
        .map(|n| n.each_ref().map(|s| s.as_str()))
        .collect();
    let mut gpu_grads = cell_grads(&gl.cell, &gg, name_refs[0]);
    for (k, cell) in gl.rest.iter().enumerate() {
        gpu_grads.extend(cell_grads(cell, &gg, name_refs[k + 1]));
    }
    check_param_grads(&lstm, &cg, &gpu_grads);
    // Evaluation: no dropout, the same as the CPU's evaluation.
    let (cy, _) = lstm.forward(x.clone());
    let (gy, _) = glstm.forward(gx);
    close("eval y", &down(&gy), cy.as_slice(), FWD);
}

/// An LSTM classifier (`LSTM -> h_n -> Linear`) trained with Adam on both devices: the same
/// losses at every step and the same weights after.
#[test]
fn lstm_model_trains_like_cpu() {
    let Some(g) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(50);
    let mut cpu = (LSTM::<4, 8>::new(&mut rng), Linear::<8, 3>::new(&mut rng));
    let mut gpu_model = cpu.to_device(&g).unwrap();
    let x = Tensor::<Rank3<5, 6, 4>>::randn(&mut rng);
    let labels = Indices::<Rank1<5>>::from_vec(vec![0, 2, 1, 1, 0]).unwrap();
    let gx = up(&g, &x);
    let mut cpu_opt = Adam::new(2e-2);
    let mut gpu_opt = GpuOptimizer::new(Adam::new(2e-2));
    for step in 0..4 {
        let (_, (h_n, _)) = cpu.0.forward(x.clone().trace_constant());
        let logits = cpu.1.forward(h_n.reshape::<Rank2<5, 8>>());
        let cl = shaped::nn::loss::cross_entropy(logits, &labels);
        let (_, (h_n, _)) = gpu_model.0.forward(gx.clone().trace_constant());
        let logits = gpu_model.1.forward(h_n.reshape::<Rank2<5, 8>>());
        let gl = cross_entropy(logits, &labels);
        let (c, gv) = (cl.as_slice()[0], down(&gl)[0]);
        assert!(
            (c - gv).abs() <= 1e-5 + 1e-4 * c.abs(),
            "step {step}: CPU loss {c}, GPU loss {gv}"
        );
        cpu_opt.step(&mut cpu, &cl.backward());
        gpu_opt.step(&mut gpu_model, &gl.backward()).unwrap();
    }
    let back = gpu_model.to_cpu().unwrap();
    assert_close(
        "weight_hh_l0",
        back.0.first.weight_hh.as_slice(),
        cpu.0.first.weight_hh.as_slice(),
        1e-5,
        1e-3,
    );
    assert_close(
        "1.weight",
        back.1.weight.as_slice(),
        cpu.1.weight.as_slice(),
        1e-5,
        1e-3,
    );
}
