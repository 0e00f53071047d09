//! The GRU on the GPU: the cell and the layer against the CPU on the same data, and the
//! PyTorch golden cases they cover (same files and tolerances as the CPU tests).
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{FWD, GRAD, close, down, gpu, randn, up};
use shaped::autograd::Gradients;
use shaped::gpu::GpuGRUCell;
use shaped::gpu::prelude::*;
use shaped::nn::{BiGRU, GRU, GRUCell, Module, Params, SeqFirst};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

/// The gradients of a GPU cell's parameters, named `{weight_ih, ...}{suffix}`.
fn cell_grads<I: Dim, H: Dim>(
    cell: &GpuGRUCell<I, H>,
    gg: &Gradients<f32>,
    suffix: &str,
) -> Vec<(String, Option<Vec<f32>>)> {
    fn g<S: Shape>(t: Option<GpuTensor<S>>) -> Option<Vec<f32>> {
        t.map(|t| down(&t))
    }
    vec![
        (format!("weight_ih{suffix}"), g(gg.get_gpu(&cell.weight_ih))),
        (format!("weight_hh{suffix}"), g(gg.get_gpu(&cell.weight_hh))),
        (
            format!("bias_ih{suffix}"),
            g(cell.bias_ih.as_ref().and_then(|b| gg.get_gpu(b))),
        ),
        (
            format!("bias_hh{suffix}"),
            g(cell.bias_hh.as_ref().and_then(|b| gg.get_gpu(b))),
        ),
    ]
}

/// Every CPU parameter's gradient against the GPU one of the same name.
fn check_param_grads<M: Params<f32>>(
    cpu: &M,
    cg: &Gradients<f32>,
    gpu: &[(String, Option<Vec<f32>>)],
) {
    let mut n = 0;
    cpu.visit("", &mut |p| {
        let (_, gv) = gpu
            .iter()
            .find(|(name, _)| name == p.name)
            .unwrap_or_else(|| panic!("no GPU parameter {}", p.name));
        let gv = gv
            .as_ref()
            .unwrap_or_else(|| panic!("no GPU grad for {}", p.name));
        close(p.name, gv, cg.get_id(p.id).unwrap(), GRAD);
        n += 1;
    });
    assert_eq!(n, gpu.len());
}

#[test]
fn gru_cell_matches_cpu() {
    let Some(g) = gpu() else { return };
    let cell = GRUCell::<5, 7>::new(&mut StdRng::seed_from_u64(1));
    let gcell = cell.to_device(&g).unwrap();
    let (x, h0, r) = (
        randn::<Rank2<3, 5>>(2),
        randn::<Rank2<3, 7>>(3),
        randn::<Rank2<3, 7>>(4),
    );
    let ch = cell.forward((x.clone().trace(), h0.clone().trace()));
    let (gx, gh0) = (up(&g, &x), up(&g, &h0));
    let gh = gcell.forward((gx.clone().trace(), gh0.clone().trace()));
    close("h'", &down(&gh), ch.as_slice(), FWD);
    let cg = (ch * r.clone()).sum().backward();
    let gg = (gh * up(&g, &r)).sum().backward();
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
    check_param_grads(&cell, &cg, &cell_grads(&gcell, &gg, ""));
    // From a zero state, untraced.
    let ch = cell.forward(x.clone());
    let gh = gcell.forward(up(&g, &x));
    close("h' from zeros", &down(&gh), ch.as_slice(), FWD);
    assert_eq!(gcell.to_cpu().unwrap().param_names(), cell.param_names());
}

/// Two bidirectional layers with dropout, in training mode, sequence-first: the CPU's masks,
/// outputs and every gradient.
#[test]
fn bigru_stack_with_dropout_matches_cpu() {
    let Some(g) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(10);
    let mut cpu = BiGRU::<4, 3, 2, f32, SeqFirst>::new(&mut rng).with_dropout(0.3, &mut rng);
    let mut gru = cpu.to_device(&g).unwrap();
    let x = randn::<Rank3<5, 2, 4>>(11);
    let h0 = randn::<Rank3<4, 2, 3>>(12);
    let r = randn::<Rank3<5, 2, 6>>(13);
    let (cy, chn) = cpu
        .try_forward_train((x.clone().trace(), h0.clone().trace()))
        .unwrap();
    let (gx, gh0) = (up(&g, &x), up(&g, &h0));
    let (gy, ghn) = gru
        .try_forward_train((gx.clone().trace(), gh0.clone().trace()))
        .unwrap();
    close("y", &down(&gy), cy.as_slice(), FWD);
    close("h_n", &down(&ghn), chn.as_slice(), FWD);
    let cy: Tensor<Rank3<5, 2, 6>, f32, OwnedTape<f32>> = cy.realize();
    let gy: GpuTensor<Rank3<5, 2, 6>, _> = gy.reshape_dyn(Default::default());
    let chn: Tensor<Rank3<4, 2, 3>, f32, OwnedTape<f32>> = chn.realize();
    let ghn: GpuTensor<Rank3<4, 2, 3>, _> = ghn.reshape_dyn(Default::default());
    let cg = ((cy * r.clone()).sum() + chn.square().sum()).backward();
    let gg = ((gy * up(&g, &r)).sum() + ghn.square().sum()).backward();
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
    let mut grads = cell_grads(&gru.cell, &gg, "_l0");
    grads.extend(cell_grads(
        gru.cell_reverse.as_ref().unwrap(),
        &gg,
        "_l0_reverse",
    ));
    grads.extend(cell_grads(&gru.rest[0], &gg, "_l1"));
    grads.extend(cell_grads(&gru.rest_reverse[0], &gg, "_l1_reverse"));
    check_param_grads(&cpu, &cg, &grads);
    // Evaluation, from zeros: no dropout on either device.
    let (cy, _) = cpu.forward(x.clone());
    let (gy, _) = gru.forward(up(&g, &x));
    close("eval y", &down(&gy), cy.as_slice(), FWD);
    let mut names = Vec::new();
    gru.visit_gpu("", &mut |p| names.push(p.name.to_string()));
    assert_eq!(names, cpu.param_names());
}

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

fn check_golden(g: &Golden, grads: &[(String, Option<Vec<f32>>)]) {
    for (name, v) in grads {
        g.check_grad(
            name,
            v.as_ref().unwrap_or_else(|| panic!("no grad for {name}")),
        );
    }
}

#[test]
fn layer_gru_cell() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_gru_cell");
    let mut cpu = GRUCell::<4, 5>::new(&mut StdRng::seed_from_u64(0));
    load(&mut cpu, &g);
    let cell = cpu.to_device(&dev).unwrap();
    let x = t::<Rank2<3, 4>>(&dev, &g, "x");
    let h0 = t::<Rank2<3, 5>>(&dev, &g, "h0");
    let h1 = cell.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("h1", &down(&h1));
    let grads = (h1 * t::<Rank2<3, 5>>(&dev, &g, "gh1")).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("h0", &down(&grads.get_gpu(&h0).unwrap()));
    check_golden(&g, &cell_grads(&cell, &grads, ""));
}

#[test]
fn layer_gru() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_gru");
    let mut cpu = GRU::<3, 5>::new(&mut StdRng::seed_from_u64(0));
    load(&mut cpu, &g);
    let gru = cpu.to_device(&dev).unwrap();
    let x = t::<Rank3<2, 4, 3>>(&dev, &g, "x");
    let h0 = t::<Rank3<1, 2, 5>>(&dev, &g, "h0");
    let (y, h_n) = gru.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("y", &down(&y));
    g.check_forward("h_n", &down(&h_n));
    let grads = (y * t::<Rank3<2, 4, 5>>(&dev, &g, "gy")).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("h0", &down(&grads.get_gpu(&h0).unwrap()));
    check_golden(&g, &cell_grads(&gru.cell, &grads, "_l0"));
}

#[test]
fn layer_gru_bidirectional() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_gru_bidirectional");
    let mut cpu = BiGRU::<3, 5>::new(&mut StdRng::seed_from_u64(0));
    load(&mut cpu, &g);
    let gru = cpu.to_device(&dev).unwrap();
    let x = t::<Rank3<2, 4, 3>>(&dev, &g, "x");
    let h0 = t::<Rank3<2, 2, 5>>(&dev, &g, "h0");
    let (y, h_n) = gru.forward((x.clone().trace(), h0.clone().trace()));
    g.check_forward("y", &down(&y));
    g.check_forward("h_n", &down(&h_n));
    let y: GpuTensor<Rank3<2, 4, 10>, _> = y.reshape_dyn(Default::default());
    let h_n: GpuTensor<Rank3<2, 2, 5>, _> = h_n.reshape_dyn(Default::default());
    let loss = (y * t::<Rank3<2, 4, 10>>(&dev, &g, "gy")).sum()
        + (h_n * t::<Rank3<2, 2, 5>>(&dev, &g, "gh_n")).sum();
    let grads = loss.backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("h0", &down(&grads.get_gpu(&h0).unwrap()));
    let mut all = cell_grads(&gru.cell, &grads, "_l0");
    all.extend(cell_grads(
        gru.cell_reverse.as_ref().unwrap(),
        &grads,
        "_l0_reverse",
    ));
    check_golden(&g, &all);
}
