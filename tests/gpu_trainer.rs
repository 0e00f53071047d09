//! Training on the GPU as on the CPU: the `Trainer` with a GPU model and a `GpuOptimizer`
//! gives the CPU's history; optimizer state saved on one device continues on the other;
//! `Sgd` with `maximize`, parameter groups and schedulers step as on the CPU; gradient
//! clipping (`gpu::clip_grad_norm`, the Trainer's `clip_grad_norm`) as on the CPU; `train()` /
//! `eval()` switch a whole GPU model; L-BFGS steps a GPU model as on the CPU.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{assert_close, gpu};
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuStep, cross_entropy};
use shaped::nn::{BatchNorm1d, Dropout, Linear, Module, ReLU, Tanh};
use shaped::optim::{
    Adam, AdamW, Lbfgs, LineSearch, LrScheduler, Optimizer, ParamGroup, RmsProp, Sgd, StepLr,
};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};
use shaped::serialize::Checkpoint;
use shaped::train::{Step, Trainer};

type Mlp = (Linear<6, 16>, ReLU, Dropout, Linear<16, 3>);

fn mlp(seed: u64) -> Mlp {
    let mut rng = StdRng::seed_from_u64(seed);
    (
        Linear::new(&mut rng),
        ReLU,
        Dropout::with_seed(0.25, 7),
        Linear::new(&mut rng),
    )
}

type Batch = (Tensor<Rank2<8, 6>>, Indices<Rank1<8>>);

fn batches(n: usize, seed: u64) -> Vec<Batch> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|b| {
            let x = Tensor::<Rank2<8, 6>>::randn(&mut rng);
            let labels = x
                .as_slice()
                .chunks(6)
                .map(|r| ((r[0] + r[1] > 0.0) as usize + b) % 3)
                .collect();
            (x, Indices::from_vec(labels).unwrap())
        })
        .collect()
}

fn close_f64(what: &str, gpu: &[f64], cpu: &[f64]) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths");
    for (i, (g, c)) in gpu.iter().zip(cpu).enumerate() {
        assert!(
            (g - c).abs() <= 1e-5 + 1e-4 * c.abs(),
            "{what} {i}: GPU {g}, CPU {c}"
        );
    }
}

/// One loss against another (`f32`, or `f64` from L-BFGS), `|a - b| <= 1e-5 + 1e-4 |b|`.
#[track_caller]
fn close_loss<F: Into<f64>>(what: &str, a: F, b: F) {
    let (a, b): (f64, f64) = (a.into(), b.into());
    assert!((a - b).abs() <= 1e-5 + 1e-4 * b.abs(), "{what}: {a} vs {b}");
}

/// A parameter of one model against the same parameter of the other (`1e-5`, `1e-3`).
#[track_caller]
fn close_param<S: Shape>(what: &str, a: &Tensor<S>, b: &Tensor<S>) {
    assert_close(what, a.as_slice(), b.as_slice(), 1e-5, 1e-3);
}

#[test]
fn trainer_on_the_gpu_gives_the_cpu_history() {
    let Some(g) = gpu() else { return };
    let (train, val) = (batches(5, 1), batches(2, 2));
    let settings = || Adam::<f32>::new(0.02).with_param_group(ParamGroup::prefix("3.").lr(0.01));

    let mut cpu = mlp(0);
    let mut cpu_opt = settings();
    let mut cpu_batch_losses = Vec::new();
    let cpu_history = Trainer::new(&mut cpu, &mut cpu_opt)
        .epochs(4)
        .quiet(true)
        .accumulate(2)
        .lr_schedule(StepLr {
            step_size: 2,
            gamma: 0.5,
        })
        .restore_best(true)
        .on_batch_end(|b| cpu_batch_losses.push((b.batch, b.global_step, b.loss)))
        .validate(val.clone(), |m, (x, y)| {
            Step::cross_entropy(m.forward(x), &y)
        })
        .fit(train.clone(), |m, (x, y)| {
            Step::cross_entropy(m.forward_train(x.trace_constant()), &y)
        })
        .unwrap();

    let mut model = mlp(0).to_device(&g).unwrap();
    let mut opt = GpuOptimizer::new(settings());
    let mut gpu_batch_losses = Vec::new();
    let gpu_history = Trainer::new(&mut model, &mut opt)
        .epochs(4)
        .quiet(true)
        .accumulate(2)
        .lr_schedule(StepLr {
            step_size: 2,
            gamma: 0.5,
        })
        .restore_best(true)
        .on_batch_end(|b| gpu_batch_losses.push((b.batch, b.global_step, b.loss)))
        .validate(val, |m, (x, y)| {
            let loss = cross_entropy(m.forward(x.to_device(&g)?), &y);
            Ok(Step::new(loss, 8))
        })
        .fit(train, |m, (x, y)| {
            let logits = m.forward_train(x.to_device(&g)?.trace_constant());
            Ok(Step::new(cross_entropy(logits, &y), 8))
        })
        .unwrap();

    assert_eq!(gpu_history.epochs.len(), cpu_history.epochs.len());
    let col = |h: &shaped::train::History, f: fn(&shaped::train::EpochRecord) -> f64| {
        h.epochs.iter().map(f).collect::<Vec<_>>()
    };
    close_f64(
        "train loss",
        &col(&gpu_history, |r| r.train_loss),
        &col(&cpu_history, |r| r.train_loss),
    );
    close_f64(
        "val loss",
        &col(&gpu_history, |r| r.val_loss.unwrap()),
        &col(&cpu_history, |r| r.val_loss.unwrap()),
    );
    assert_eq!(col(&gpu_history, |r| r.lr), col(&cpu_history, |r| r.lr));
    // Batch callbacks run in order with the same steps and losses, read back in intervals.
    assert_eq!(gpu_batch_losses.len(), cpu_batch_losses.len());
    for (gb, cb) in gpu_batch_losses.iter().zip(&cpu_batch_losses) {
        assert_eq!((gb.0, gb.1), (cb.0, cb.1));
        close_f64("batch loss", &[gb.2], &[cb.2]);
    }
    // The best epoch's parameters were put back on both.
    let back = model.to_cpu().unwrap();
    close_param("0.weight", &back.0.weight, &cpu.0.weight);
    close_param("3.weight", &back.3.weight, &cpu.3.weight);
}

#[test]
fn trainer_on_the_gpu_stops_on_a_nan_loss() {
    let Some(g) = gpu() else { return };
    let mut model = mlp(0).to_device(&g).unwrap();
    let mut opt = GpuOptimizer::new(Sgd::new(0.1));
    let err = Trainer::new(&mut model, &mut opt)
        .quiet(true)
        .fit(batches(2, 0), |m, (x, y)| {
            let logits = m.forward_train(x.to_device(&g)?.trace_constant());
            Ok(Step::new(cross_entropy(logits, &y) * f32::NAN, 8))
        })
        .unwrap_err();
    assert!(err.to_string().contains("not finite"), "{err}");
}

/// Steps `cpu` and `gpu` with one batch each, returning both losses.
fn step_both<O: GpuStep>(
    g: &Wgpu,
    cpu: &mut Mlp,
    cpu_opt: &mut O,
    gpu_model: &mut <Mlp as ToDevice>::Output,
    gpu_opt: &mut GpuOptimizer<O>,
    batch: &Batch,
) -> (f32, f32) {
    let (x, y) = batch;
    let cl = shaped::nn::loss::cross_entropy(cpu.forward(x.clone().trace_constant()), y);
    let gl = cross_entropy(
        gpu_model.forward(x.to_device(g).unwrap().trace_constant()),
        y,
    );
    let out = (cl.as_slice()[0], gl.to_cpu().unwrap().as_slice()[0]);
    cpu_opt.step(cpu, &cl.backward());
    gpu_opt.step(gpu_model, &gl.backward()).unwrap();
    out
}

/// `steps` steps of `opt` on the CPU and on the GPU give the same losses, state names and
/// parameters.
fn matches_cpu<O: GpuStep>(opt: O, steps: usize) {
    let Some(g) = gpu() else { return };
    let mut cpu = mlp(3);
    let mut gpu_model = mlp(3).to_device(&g).unwrap();
    let (mut cpu_opt, mut gpu_opt) = (opt.clone(), GpuOptimizer::new(opt));
    for (i, batch) in batches(steps, 4).iter().enumerate() {
        let (c, gv) = step_both(
            &g,
            &mut cpu,
            &mut cpu_opt,
            &mut gpu_model,
            &mut gpu_opt,
            batch,
        );
        close_loss(&format!("step {i}: GPU vs CPU"), gv, c);
    }
    let names = |s: Vec<(String, Vec<f32>)>| s.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(names(gpu_opt.state().unwrap()), names(cpu_opt.state()));
    let back = gpu_model.to_cpu().unwrap();
    close_param("0.weight", &back.0.weight, &cpu.0.weight);
    close_param(
        "3.bias",
        back.3.bias.as_ref().unwrap(),
        cpu.3.bias.as_ref().unwrap(),
    );
}

#[test]
fn sgd_maximize_matches_cpu() {
    matches_cpu(
        Sgd::new(0.05)
            .momentum(0.9)
            .weight_decay(1e-3)
            .maximize(true),
        4,
    );
    matches_cpu(Sgd::new(0.05).maximize(true), 3);
}

#[test]
fn param_groups_match_cpu() {
    matches_cpu(
        Sgd::new(0.05)
            .momentum(0.9)
            .with_param_group(ParamGroup::prefix("3.").lr(0.2).momentum(0.5))
            .with_param_group(ParamGroup::matching(|n| n.ends_with("bias")).weight_decay(0.1)),
        4,
    );
    matches_cpu(
        AdamW::new(1e-2)
            .with_param_group(ParamGroup::names(["0.weight"]).betas(0.8, 0.99).lr(0.05)),
        4,
    );
    matches_cpu(
        RmsProp::new(1e-2)
            .centered(true)
            .momentum(0.5)
            .with_param_group(ParamGroup::prefix("0.").momentum(0.9)),
        4,
    );
}

#[test]
fn a_scheduler_drives_the_gpu_optimizer() {
    let Some(g) = gpu() else { return };
    let settings = Sgd::<f32>::new(0.1).with_param_group(ParamGroup::prefix("3.").lr(0.4));
    let mut cpu = mlp(5);
    let mut gpu_model = mlp(5).to_device(&g).unwrap();
    let (mut cpu_opt, mut gpu_opt) = (settings.clone(), GpuOptimizer::new(settings));
    let schedule = StepLr {
        step_size: 1,
        gamma: 0.5,
    };
    let mut cpu_sched = LrScheduler::new(&mut cpu_opt, schedule);
    let mut gpu_sched = LrScheduler::new(&mut gpu_opt.opt, schedule);
    for batch in &batches(4, 6) {
        let (c, gv) = step_both(
            &g,
            &mut cpu,
            &mut cpu_opt,
            &mut gpu_model,
            &mut gpu_opt,
            batch,
        );
        close_loss("GPU vs CPU", gv, c);
        cpu_sched.step(&mut cpu_opt);
        gpu_sched.step(&mut gpu_opt.opt);
    }
    assert_eq!(gpu_opt.group_lrs(), cpu_opt.group_lrs());
    assert_eq!(gpu_opt.group_lrs(), vec![0.1 / 16.0, 0.4 / 16.0]);
    let back = gpu_model.to_cpu().unwrap();
    close_param("3.weight", &back.3.weight, &cpu.3.weight);
}

/// Saves on one device, loads on the other, and checks the next steps agree with an
/// uninterrupted run.
fn round_trip<O: GpuStep>(opt: O) {
    let Some(g) = gpu() else { return };
    let data = batches(6, 8);
    let dir = std::env::temp_dir().join(format!("shaped_gpu_trainer_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.ckpt", std::any::type_name::<O>().len()));

    // GPU for 3 steps, saved; the CPU continues from the file.
    let mut cpu = mlp(9);
    let mut cpu_opt = opt.clone();
    let mut gpu_model = mlp(9).to_device(&g).unwrap();
    let mut gpu_opt = GpuOptimizer::new(opt.clone());
    for batch in &data[..3] {
        step_both(
            &g,
            &mut cpu,
            &mut cpu_opt,
            &mut gpu_model,
            &mut gpu_opt,
            batch,
        );
    }
    let mut c = Checkpoint::new(&gpu_model.to_cpu().unwrap());
    c.optimizer = gpu_opt.state().unwrap();
    c.save(&path).unwrap();
    let loaded = Checkpoint::<f32>::load(&path).unwrap();
    let mut resumed = mlp(100);
    loaded.restore_model(&mut resumed).unwrap();
    let mut resumed_opt = opt.clone();
    loaded.restore_optimizer(&mut resumed_opt).unwrap();
    // And back onto the GPU from the CPU's state.
    let mut gpu_again = resumed.to_device(&g).unwrap();
    let mut gpu_again_opt = GpuOptimizer::new(opt.clone());
    gpu_again_opt.load_state(resumed_opt.state()).unwrap();
    for batch in &data[3..] {
        let (x, y) = batch;
        let (c1, g1) = step_both(
            &g,
            &mut cpu,
            &mut cpu_opt,
            &mut gpu_model,
            &mut gpu_opt,
            batch,
        );
        let rl = shaped::nn::loss::cross_entropy(resumed.forward(x.clone().trace_constant()), y);
        let r1 = rl.as_slice()[0];
        resumed_opt.step(&mut resumed, &rl.backward());
        let al = cross_entropy(
            gpu_again.forward(x.to_device(&g).unwrap().trace_constant()),
            y,
        );
        let a1 = al.to_cpu().unwrap().as_slice()[0];
        gpu_again_opt.step(&mut gpu_again, &al.backward()).unwrap();
        for (what, v) in [("GPU", g1), ("CPU resumed", r1), ("GPU resumed", a1)] {
            close_loss(&format!("{what} vs uninterrupted CPU"), v, c1);
        }
    }
    let names = |s: Vec<(String, Vec<f32>)>| s.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(
        names(gpu_again_opt.state().unwrap()),
        names(resumed_opt.state())
    );
    let back = gpu_again.to_cpu().unwrap();
    close_param("0.weight", &back.0.weight, &cpu.0.weight);
    std::fs::remove_file(&path).ok();
}

#[test]
fn optimizer_state_round_trips_across_devices() {
    round_trip(Sgd::new(0.05).momentum(0.9).nesterov(true));
    round_trip(Adam::new(1e-2).amsgrad(true));
    round_trip(RmsProp::new(1e-2).centered(true).momentum(0.5));
    round_trip(AdamW::new(1e-2).with_param_group(ParamGroup::prefix("3.").lr(0.03)));
}

#[test]
fn a_bad_state_is_refused_and_changes_nothing() {
    let Some(g) = gpu() else { return };
    let mut opt = GpuOptimizer::new(Sgd::new(0.1).momentum(0.9));
    assert!(
        opt.load_state(vec![("0.weight.bogus".into(), vec![1.0])])
            .is_err()
    );
    assert!(opt.load_state(vec![("step".into(), vec![0.5])]).is_err());
    // A state for another model's shapes fails the next step, before any change.
    opt.load_state(vec![("0.weight.momentum_buffer".into(), vec![1.0; 3])])
        .unwrap();
    let mut model = mlp(0).to_device(&g).unwrap();
    let before = model.to_cpu().unwrap().0.weight.to_vec();
    let x = Tensor::<Rank2<8, 6>>::ones().to_device(&g).unwrap();
    let loss = model.forward(x.trace_constant()).sum();
    let err = opt.step(&mut model, &loss.backward()).unwrap_err();
    assert!(
        err.to_string().contains("0.weight.momentum_buffer"),
        "{err}"
    );
    assert_eq!(model.to_cpu().unwrap().0.weight.to_vec(), before);
}

#[test]
fn train_and_eval_switch_a_whole_gpu_model() {
    let Some(g) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(0);
    let cpu = (
        Linear::<4, 8>::new(&mut rng),
        BatchNorm1d::<8>::new(),
        Tanh,
        Dropout::with_seed(0.5, 3),
    );
    let mut model = cpu.to_device(&g).unwrap();
    assert!(!model.is_training());
    let x = Tensor::<Rank2<6, 4>>::randn(&mut rng)
        .to_device(&g)
        .unwrap();
    let eval = model.forward(x.clone()).to_cpu().unwrap().to_vec();
    model.train();
    assert!(model.is_training() && model.1.is_training());
    let trained = model.forward(x.clone()).to_cpu().unwrap().to_vec();
    assert!(
        trained.contains(&0.0),
        "dropout dropped nothing in training mode"
    );
    assert_ne!(trained, eval);
    model.eval();
    assert!(!model.is_training());
    // Evaluation again: dropout off, BatchNorm on its (updated) running statistics.
    let again = model.forward(x.clone()).to_cpu().unwrap().to_vec();
    assert_eq!(again, model.forward(x).to_cpu().unwrap().to_vec());
    assert!(!again.contains(&0.0));
}

#[test]
fn state_names_are_the_cpu_names() {
    let Some(g) = gpu() else { return };
    // A tuple of tensors: parameters `0` and `1`, as on the CPU (not `0.`).
    let cpu = (Tensor::<Rank1<3>>::ones(), Tensor::<Rank1<2>>::ones());
    let mut model = cpu.to_device(&g).unwrap();
    assert_eq!(model.gpu_param_names(), ["0", "1"]);
    let mut opt = GpuOptimizer::new(Adam::new(0.1));
    let loss = model.0.clone().trace().square().sum();
    opt.step(&mut model, &loss.backward()).unwrap();
    let names: Vec<String> = opt.state().unwrap().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["step", "0.exp_avg", "0.exp_avg_sq"]);
}

/// PyTorch's L-BFGS trajectories (tests/golden/optim_lbfgs*: `0.5 |A p - b|^2 + 0.05 sum p^4`)
/// with the closure on the GPU.
fn lbfgs_golden(case: &str) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let a = Tensor::<Rank2<6, 4>>::from_vec(g.f("A"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let b = Tensor::<Rank2<6, 1>>::from_vec(g.f("b"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let mut p = Tensor::<Rank2<4, 1>>::from_vec(g.f("p0"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let mut opt = Lbfgs::<f32>::new(g.hp("lr"))
        .max_iter(g.hp("max_iter") as usize)
        .history_size(g.hp("history_size") as usize)
        .tolerance_grad(g.hp("tolerance_grad"))
        .tolerance_change(g.hp("tolerance_change"));
    if g.hp_str("line_search_fn") != "null" {
        opt = opt.line_search(LineSearch::StrongWolfe);
    }
    for k in 0..g.hp("steps") as usize {
        let loss = opt
            .try_step_gpu(&mut p, |p| {
                let p = p.clone().trace();
                let r = a.clone().matmul(p.clone()) - b.clone();
                let fit = r.square().sum() * 0.5;
                Ok(fit + p.square().square().sum() * 0.05)
            })
            .unwrap();
        g.check_forward(&format!("loss.{k}"), &[loss as f32]);
        g.check_forward(&format!("p.{}", k + 1), &p.to_cpu().unwrap().to_vec());
    }
}

#[test]
fn lbfgs_golden_on_the_gpu() {
    lbfgs_golden("optim_lbfgs");
    lbfgs_golden("optim_lbfgs_strong_wolfe");
}

#[test]
fn lbfgs_on_a_gpu_model_matches_cpu_and_shares_its_state() {
    let Some(g) = gpu() else { return };
    let (x, y) = batches(1, 11).remove(0);
    let mut cpu = mlp(12);
    let mut gpu_model = mlp(12).to_device(&g).unwrap();
    let gx = x.to_device(&g).unwrap();
    let settings = Lbfgs::<f32>::new(0.5)
        .max_iter(4)
        .line_search(LineSearch::StrongWolfe);
    let (mut cpu_opt, mut gpu_opt) = (settings.clone(), settings.clone());
    let cpu_loss =
        |m: &mut Mlp| shaped::nn::loss::cross_entropy(m.forward(x.clone().trace_constant()), &y);
    let gpu_loss = |m: &mut <Mlp as ToDevice>::Output| {
        Ok(cross_entropy(m.forward(gx.clone().trace_constant()), &y))
    };
    for k in 0..2 {
        let c = cpu_opt.step(&mut cpu, cpu_loss);
        let gv = gpu_opt.try_step_gpu(&mut gpu_model, gpu_loss).unwrap();
        close_loss(&format!("step {k}: GPU vs CPU"), gv, c);
    }
    assert_eq!(gpu_opt.iterations(), cpu_opt.iterations());
    // Eight quasi-Newton iterations apart, the devices' f32 rounding has grown a little.
    let back = gpu_model.to_cpu().unwrap();
    assert_close(
        "0.weight",
        back.0.weight.as_slice(),
        cpu.0.weight.as_slice(),
        1e-4,
        1e-2,
    );
    // The GPU run's state and weights continue on the CPU as on the GPU.
    let mut resumed = settings;
    resumed.load_state(gpu_opt.state()).unwrap();
    let mut from_gpu = back;
    let r = resumed.step(&mut from_gpu, cpu_loss);
    let gv = gpu_opt.try_step_gpu(&mut gpu_model, gpu_loss).unwrap();
    close_loss("resumed CPU vs GPU", r, gv);
    assert_eq!(resumed.iterations(), gpu_opt.iterations());
    let back = gpu_model.to_cpu().unwrap();
    close_param("3.weight", &from_gpu.3.weight, &back.3.weight);
}

/// `gpu::clip_grad_norm` / `clip_grad_value` on the same gradients as the CPU's, clipping and
/// not clipping, and the Trainer's `clip_grad_norm` on the GPU giving the CPU's weights.
#[test]
fn gradient_clipping_as_on_the_cpu() {
    let Some(g) = gpu() else { return };
    type Net = (Linear<6, 16>, Tanh, Linear<16, 3>);
    let net = |seed| -> Net {
        let mut rng = StdRng::seed_from_u64(seed);
        (Linear::new(&mut rng), Tanh, Linear::new(&mut rng))
    };
    let (x, y) = batches(1, 5).remove(0);
    for (max_norm, clip) in [(0.05, 0.01), (1e3, 1e3)] {
        let cpu = net(3);
        let mut cpu_grads = cross_entropy_cpu(&cpu, &x, &y);
        let cpu_norm = shaped::optim::clip_grad_norm(&cpu, &mut cpu_grads, max_norm);
        assert_eq!(
            cpu_norm > max_norm,
            max_norm < 1.0,
            "the first case clips, the second not"
        );
        let mut model = net(3).to_device(&g).unwrap();
        let logits = model.forward(x.to_device(&g).unwrap().trace_constant());
        let mut grads = cross_entropy(logits, &y).backward();
        let norm = shaped::gpu::clip_grad_norm(&mut model, &mut grads, max_norm).unwrap();
        close_loss("norm", norm.to_cpu().unwrap().to_vec()[0] as f64, cpu_norm);
        let gw = grads.get_gpu(&model.0.weight).unwrap().to_cpu().unwrap();
        close_param(
            "clipped 0.weight grad",
            &gw,
            &cpu_grads.get(&cpu.0.weight).unwrap(),
        );
        shaped::optim::clip_grad_value(&cpu, &mut cpu_grads, clip);
        shaped::gpu::clip_grad_value(&mut model, &mut grads, clip);
        let gb = grads
            .get_gpu(model.2.bias.as_ref().unwrap())
            .unwrap()
            .to_cpu()
            .unwrap();
        close_param(
            "clamped 2.bias grad",
            &gb,
            &cpu_grads.get(cpu.2.bias.as_ref().unwrap()).unwrap(),
        );
    }

    let mut cpu = net(4);
    let mut cpu_opt = Sgd::new(0.5);
    Trainer::new(&mut cpu, &mut cpu_opt)
        .quiet(true)
        .clip_grad_norm(0.1)
        .fit(batches(4, 6), |m, (x, y)| {
            Step::cross_entropy(m.forward(x.trace_constant()), &y)
        })
        .unwrap();
    let mut model = net(4).to_device(&g).unwrap();
    let mut opt = GpuOptimizer::new(Sgd::new(0.5));
    Trainer::new(&mut model, &mut opt)
        .quiet(true)
        .clip_grad_norm(0.1)
        .fit(batches(4, 6), |m, (x, y)| {
            Ok(Step::new(
                cross_entropy(m.forward(x.to_device(&g)?.trace_constant()), &y),
                8,
            ))
        })
        .unwrap();
    let back = model.to_cpu().unwrap();
    close_param(
        "0.weight after clipped steps",
        &back.0.weight,
        &cpu.0.weight,
    );
    close_param(
        "2.weight after clipped steps",
        &back.2.weight,
        &cpu.2.weight,
    );
}

fn cross_entropy_cpu<
    M: Module<
            Tensor<Rank2<8, 6>, f32, shaped::autograd::OwnedTape<f32>>,
            Output = Tensor<Rank2<8, 3>, f32, shaped::autograd::OwnedTape<f32>>,
        >,
>(
    m: &M,
    x: &Tensor<Rank2<8, 6>>,
    y: &Indices<Rank1<8>>,
) -> shaped::autograd::Gradients<f32> {
    shaped::nn::loss::cross_entropy(m.forward(x.clone().trace_constant()), y).backward()
}
