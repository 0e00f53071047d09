//! Adamax, NAdam, RAdam and Adadelta on the GPU: the PyTorch golden cases with the CPU tests'
//! tolerance, and every setting (weight decay in both forms, maximize, other betas) against
//! the CPU optimizer stepping the same parameters with the same gradients.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{assert_close, gpu};
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuStep, GpuTensor};
use shaped::optim::{Adadelta, Adamax, NAdam, Optimizer, RAdam};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

fn up<S: Shape>(g: &Wgpu, t: &Tensor<S>) -> GpuTensor<S> {
    t.to_device(g).unwrap()
}

fn down<S: Shape, T>(t: &GpuTensor<S, T>) -> Vec<f32> {
    t.to_cpu().unwrap().to_vec()
}

fn randn<S: ConstShape>(seed: u64) -> Tensor<S> {
    Tensor::<S>::randn(&mut StdRng::seed_from_u64(seed))
}

// ---- golden ------------------------------------------------------------------------------

/// The golden case's steps from p0 with the stored gradients; every p.k within the forward
/// tolerance.
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
    assert_eq!(opt.steps(), steps as u64);
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

fn maximize(g: &Golden) -> bool {
    g.hp_str("maximize") == "true"
}

#[test]
fn golden_optim_adamax() {
    let g = Golden::load("optim_adamax");
    let (b1, b2) = betas(&g);
    optim_golden(
        "optim_adamax",
        Adamax::new(g.hp("lr"))
            .betas(b1, b2)
            .eps(g.hp("eps"))
            .weight_decay(g.hp("weight_decay"))
            .maximize(maximize(&g)),
    );
}
#[test]
fn golden_optim_nadam() {
    let g = Golden::load("optim_nadam");
    let (b1, b2) = betas(&g);
    optim_golden(
        "optim_nadam",
        NAdam::new(g.hp("lr"))
            .betas(b1, b2)
            .eps(g.hp("eps"))
            .weight_decay(g.hp("weight_decay"))
            .momentum_decay(g.hp("momentum_decay"))
            .maximize(maximize(&g)),
    );
}
#[test]
fn golden_optim_radam() {
    let g = Golden::load("optim_radam");
    let (b1, b2) = betas(&g);
    optim_golden(
        "optim_radam",
        RAdam::new(g.hp("lr"))
            .betas(b1, b2)
            .eps(g.hp("eps"))
            .weight_decay(g.hp("weight_decay"))
            .maximize(maximize(&g)),
    );
}
#[test]
fn golden_optim_adadelta() {
    let g = Golden::load("optim_adadelta");
    optim_golden(
        "optim_adadelta",
        Adadelta::new(g.hp("lr"))
            .rho(g.hp("rho"))
            .eps(g.hp("eps"))
            .weight_decay(g.hp("weight_decay"))
            .maximize(maximize(&g)),
    );
}

// ---- against the CPU ---------------------------------------------------------------------

const FWD: (f32, f32) = (1e-5, 1e-4);

/// `steps` steps of a two-parameter model on both devices with the same gradients: the
/// parameters after each step agree, and so does the state (same names, same order).
fn optim_vs_cpu<O: GpuStep + Optimizer<f32>>(
    cpu_opt: O,
    gpu_opt: O,
    steps: u64,
    buffers: [&str; 2],
) {
    let Some(g) = gpu() else { return };
    let mut cpu_model = (randn::<Rank2<3, 4>>(91), randn::<Rank1<5>>(92));
    let mut gpu_model = (up(&g, &cpu_model.0), up(&g, &cpu_model.1));
    let (mut copt, mut gopt) = (cpu_opt, GpuOptimizer::new(gpu_opt));
    for k in 0..steps {
        let (g0, g1) = (randn::<Rank2<3, 4>>(100 + k), randn::<Rank1<5>>(200 + k));
        let mut cg = Gradients::default();
        cg.set(&cpu_model.0, g0.clone());
        cg.set(&cpu_model.1, g1.clone());
        copt.step(&mut cpu_model, &cg);
        let mut gg = Gradients::default();
        gg.set_gpu(&gpu_model.0, up(&g, &g0)).unwrap();
        gg.set_gpu(&gpu_model.1, up(&g, &g1)).unwrap();
        gopt.step(&mut gpu_model, &gg).unwrap();
        let what = |i| format!("step {} param {i}", k + 1);
        assert_close(
            &what(0),
            &down(&gpu_model.0),
            cpu_model.0.as_slice(),
            FWD.0,
            FWD.1,
        );
        assert_close(
            &what(1),
            &down(&gpu_model.1),
            cpu_model.1.as_slice(),
            FWD.0,
            FWD.1,
        );
    }
    let cpu_state = copt.state();
    let find = |name: &str| cpu_state.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let params: Vec<&str> = cpu_state
        .iter()
        .filter_map(|(n, _)| n.strip_suffix(&format!(".{}", buffers[0])))
        .collect();
    assert_eq!(
        params.len(),
        2,
        "{:?}",
        cpu_state.iter().map(|s| &s.0).collect::<Vec<_>>()
    );
    for param in params {
        // A bare tensor in a tuple is "0" on the CPU, "0." on the GPU.
        let gpu_state = match gopt.state_of(param).unwrap() {
            Some(state) => state,
            None => gopt.state_of(&format!("{param}.")).unwrap().expect("state"),
        };
        assert_eq!(gpu_state.len(), buffers.len(), "state buffers of {param}");
        for (buf, gs) in buffers.iter().zip(&gpu_state) {
            let cs = find(&format!("{param}.{buf}")).expect("CPU buffer");
            assert_close(&format!("{param}.{buf}"), gs, cs, 1e-4, 1e-3);
        }
    }
}

#[test]
fn adamax_every_setting_vs_cpu() {
    let make = || {
        Adamax::<f32>::new(0.02)
            .betas(0.8, 0.99)
            .eps(1e-6)
            .weight_decay(0.1)
            .maximize(true)
    };
    optim_vs_cpu(make(), make(), 4, ["exp_avg", "exp_inf"]);
}
#[test]
fn adamax_plain_vs_cpu() {
    optim_vs_cpu(
        Adamax::<f32>::new(2e-3),
        Adamax::<f32>::new(2e-3),
        3,
        ["exp_avg", "exp_inf"],
    );
}
#[test]
fn nadam_l2_maximize_vs_cpu() {
    let make = || {
        NAdam::<f32>::new(0.01)
            .betas(0.85, 0.99)
            .weight_decay(0.1)
            .momentum_decay(0.01)
            .maximize(true)
    };
    optim_vs_cpu(make(), make(), 4, ["exp_avg", "exp_avg_sq"]);
}
#[test]
fn nadam_decoupled_long_run_vs_cpu() {
    let make = || {
        NAdam::<f32>::new(0.01)
            .weight_decay(0.1)
            .decoupled_weight_decay(true)
    };
    optim_vs_cpu(make(), make(), 12, ["exp_avg", "exp_avg_sq"]);
}
/// Two NAdam optimizers interleaved at different step counts and settings each keep their
/// own momentum product.
#[test]
fn nadam_interleaved_optimizers_vs_cpu() {
    let Some(g) = gpu() else { return };
    let makes = [
        NAdam::<f32>::new(0.01),
        NAdam::<f32>::new(0.01).betas(0.7, 0.9),
    ];
    let mut cpu: Vec<_> = makes
        .iter()
        .map(|o| (o.clone(), randn::<Rank1<6>>(7)))
        .collect();
    let mut dev: Vec<_> = makes
        .iter()
        .map(|o| (GpuOptimizer::new(o.clone()), up(&g, &randn::<Rank1<6>>(7))))
        .collect();
    for (k, i) in [0, 0, 1, 0, 1, 1, 0, 0, 1].into_iter().enumerate() {
        let gk = randn::<Rank1<6>>(300 + k as u64);
        let (copt, cp) = &mut cpu[i];
        let mut cg = Gradients::default();
        cg.set(cp, gk.clone());
        copt.step(cp, &cg);
        let (gopt, gp) = &mut dev[i];
        let mut gg = Gradients::default();
        gg.set_gpu(gp, up(&g, &gk)).unwrap();
        gopt.step(gp, &gg).unwrap();
        assert_close(&format!("call {k}"), &down(gp), cp.as_slice(), FWD.0, FWD.1);
    }
}
/// Eight steps with beta2 = 0.999: the first five take the unrectified branch, the rest the
/// rectified one.
#[test]
fn radam_l2_maximize_vs_cpu() {
    let make = || {
        RAdam::<f32>::new(0.01)
            .eps(1e-6)
            .weight_decay(0.1)
            .maximize(true)
    };
    optim_vs_cpu(make(), make(), 8, ["exp_avg", "exp_avg_sq"]);
}
#[test]
fn radam_decoupled_vs_cpu() {
    let make = || {
        RAdam::<f32>::new(0.01)
            .betas(0.8, 0.9)
            .weight_decay(0.1)
            .decoupled_weight_decay(true)
    };
    optim_vs_cpu(make(), make(), 10, ["exp_avg", "exp_avg_sq"]);
}
#[test]
fn adadelta_every_setting_vs_cpu() {
    let make = || {
        Adadelta::<f32>::new(0.5)
            .rho(0.8)
            .eps(1e-5)
            .weight_decay(0.1)
            .maximize(true)
    };
    optim_vs_cpu(make(), make(), 4, ["square_avg", "acc_delta"]);
}
#[test]
fn adadelta_plain_vs_cpu() {
    optim_vs_cpu(
        Adadelta::<f32>::new(1.0),
        Adadelta::<f32>::new(1.0),
        3,
        ["square_avg", "acc_delta"],
    );
}
