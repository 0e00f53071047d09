//! Training f64 GPU models as the CPU trains f64 ones: every GPU optimizer (`Sgd<f64>`,
//! `Adam<f64>`, ... in every setting) steps f64 GPU parameters as the CPU optimizer steps the
//! same f64 parameters, to f64 precision; parameter groups and schedulers drive them; their
//! state goes GPU -> checkpoint file -> CPU -> GPU and continues as an uninterrupted run;
//! L-BFGS steps an f64 GPU model; the `Trainer` trains f64 GPU models (a regression, an MLP)
//! to the CPU's history.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{F64_TOL, close64, gpu64, randn64};
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuStep, GpuTensor};
use shaped::nn::{Dropout, Linear, Module, Tanh};
use shaped::optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Lbfgs, LineSearch, LrScheduler, NAdam, Optimizer,
    ParamGroup, RAdam, RmsProp, Sgd, StepLr,
};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};
use shaped::serialize::Checkpoint;
use shaped::train::{Step, Trainer};

/// The two-parameter model of the optimizer tests, on the CPU (parameters `0` and `1`).
type Pair = (Tensor<Rank2<3, 4>, f64>, Tensor<Rank1<5>, f64>);
type GpuPair = (
    GpuTensor<Rank2<3, 4>, NoTape, f64>,
    GpuTensor<Rank1<5>, NoTape, f64>,
);

fn pair() -> Pair {
    (randn64(91), randn64(92))
}

/// The gradients of step `k` (the same on both devices), for each device's model.
fn grads_k(g: &Wgpu, k: u64, cpu: &Pair, gpu: &GpuPair) -> (Gradients<f64>, Gradients<f64>) {
    let (g0, g1) = (
        randn64::<Rank2<3, 4>>(100 + k),
        randn64::<Rank1<5>>(200 + k),
    );
    let mut cg = Gradients::default();
    cg.set(&cpu.0, g0.clone());
    cg.set(&cpu.1, g1.clone());
    let mut gg = Gradients::default();
    gg.set_gpu(&gpu.0, g0.to_device(g).unwrap()).unwrap();
    gg.set_gpu(&gpu.1, g1.to_device(g).unwrap()).unwrap();
    (cg, gg)
}

/// Both devices' parameters agree to f64 precision.
#[track_caller]
fn same_params(what: &str, gpu: &GpuPair, cpu: &Pair) {
    close64(
        &format!("{what}: param 0"),
        &gpu.0.to_cpu().unwrap().to_vec(),
        cpu.0.as_slice(),
        F64_TOL,
    );
    close64(
        &format!("{what}: param 1"),
        &gpu.1.to_cpu().unwrap().to_vec(),
        cpu.1.as_slice(),
        F64_TOL,
    );
}

/// Both states have the same names in the same order and values to f64 precision.
#[track_caller]
fn same_state(what: &str, gpu: &[(String, Vec<f64>)], cpu: &[(String, Vec<f64>)]) {
    let names = |s: &[(String, Vec<f64>)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(gpu), names(cpu), "{what}: state names");
    for ((name, g), (_, c)) in gpu.iter().zip(cpu) {
        close64(&format!("{what}: {name}"), g, c, F64_TOL);
    }
}

/// `steps` steps of `opt` on f64 parameters on both devices with the same gradients: the
/// parameters after every step and the final state agree to f64 precision.
fn steps_vs_cpu<O: GpuStep<f64> + Optimizer<f64>>(what: &str, opt: O, steps: u64) {
    let Some(g) = gpu64() else { return };
    let mut cpu = pair();
    let mut gpu: GpuPair = cpu.to_device(&g).unwrap();
    let (mut copt, mut gopt) = (opt.clone(), GpuOptimizer::new(opt));
    for k in 0..steps {
        let (cg, gg) = grads_k(&g, k, &cpu, &gpu);
        copt.try_step(&mut cpu, &cg).unwrap();
        gopt.step(&mut gpu, &gg).unwrap();
        same_params(&format!("{what}, step {}", k + 1), &gpu, &cpu);
    }
    assert_eq!(gopt.steps(), steps);
    same_state(what, &gopt.state().unwrap(), &copt.state());
}

#[test]
fn sgd_f64_every_setting_vs_cpu() {
    steps_vs_cpu("plain", Sgd::<f64>::new(0.1), 4);
    steps_vs_cpu(
        "nesterov",
        Sgd::<f64>::new(0.05)
            .momentum(0.9)
            .nesterov(true)
            .weight_decay(0.01),
        5,
    );
    steps_vs_cpu(
        "dampened maximize",
        Sgd::<f64>::new(0.05)
            .momentum(0.8)
            .dampening(0.1)
            .maximize(true),
        5,
    );
}

#[test]
fn adam_f64_every_setting_vs_cpu() {
    steps_vs_cpu("adam", Adam::<f64>::new(0.01), 5);
    steps_vs_cpu(
        "adam amsgrad",
        Adam::<f64>::new(0.02)
            .betas(0.8, 0.99)
            .eps(1e-6)
            .weight_decay(0.05)
            .amsgrad(true),
        6,
    );
    steps_vs_cpu("adam maximize", Adam::<f64>::new(0.01).maximize(true), 5);
    steps_vs_cpu("adamw", AdamW::<f64>::new(0.01), 5);
    steps_vs_cpu(
        "adamw amsgrad maximize",
        AdamW(AdamW::<f64>::new(0.03).0.amsgrad(true).maximize(true)),
        5,
    );
}

#[test]
fn rmsprop_and_adagrad_f64_vs_cpu() {
    steps_vs_cpu("rmsprop", RmsProp::<f64>::new(0.01), 5);
    steps_vs_cpu(
        "rmsprop centered momentum",
        RmsProp::<f64>::new(0.01)
            .alpha(0.9)
            .centered(true)
            .momentum(0.5)
            .weight_decay(0.1)
            .maximize(true),
        5,
    );
    steps_vs_cpu("adagrad", Adagrad::<f64>::new(0.1), 5);
    steps_vs_cpu(
        "adagrad decayed",
        Adagrad::<f64>::new(0.1)
            .lr_decay(0.05)
            .initial_accumulator_value(0.1)
            .weight_decay(0.01)
            .maximize(true),
        5,
    );
}

#[test]
fn adamax_nadam_radam_adadelta_f64_vs_cpu() {
    steps_vs_cpu(
        "adamax",
        Adamax::<f64>::new(0.02)
            .betas(0.8, 0.99)
            .weight_decay(0.1)
            .maximize(true),
        5,
    );
    steps_vs_cpu("nadam", NAdam::<f64>::new(0.01).weight_decay(0.01), 5);
    steps_vs_cpu(
        "nadam decoupled",
        NAdam::<f64>::new(0.01)
            .weight_decay(0.05)
            .decoupled_weight_decay(true)
            .maximize(true),
        5,
    );
    // Eight steps: the rectified update starts once rho_t > 5 (step 6 with beta2 = 0.999).
    steps_vs_cpu("radam", RAdam::<f64>::new(0.01).weight_decay(0.01), 8);
    steps_vs_cpu(
        "radam decoupled",
        RAdam::<f64>::new(0.01)
            .weight_decay(0.1)
            .decoupled_weight_decay(true)
            .maximize(true),
        8,
    );
    steps_vs_cpu(
        "adadelta",
        Adadelta::<f64>::new(1.0).rho(0.8).weight_decay(0.01),
        5,
    );
}

#[test]
fn param_groups_f64_vs_cpu() {
    steps_vs_cpu(
        "sgd groups",
        Sgd::<f64>::new(0.05).momentum(0.9).with_param_group(
            ParamGroup::names(["1"])
                .lr(0.2)
                .momentum(0.5)
                .weight_decay(0.1),
        ),
        4,
    );
    steps_vs_cpu(
        "adamw groups",
        AdamW::<f64>::new(1e-2)
            .with_param_group(ParamGroup::names(["0"]).betas(0.8, 0.99).lr(0.05)),
        4,
    );
}

#[test]
fn a_scheduler_drives_an_f64_gpu_optimizer() {
    let Some(g) = gpu64() else { return };
    let settings = Adam::<f64>::new(0.1).with_param_group(ParamGroup::names(["1"]).lr(0.4));
    let mut cpu = pair();
    let mut gpu: GpuPair = cpu.to_device(&g).unwrap();
    let (mut copt, mut gopt) = (settings.clone(), GpuOptimizer::new(settings));
    let schedule = StepLr {
        step_size: 1,
        gamma: 0.5,
    };
    let mut cpu_sched = LrScheduler::new(&mut copt, schedule);
    let mut gpu_sched = LrScheduler::new(&mut gopt.opt, schedule);
    for k in 0..4 {
        let (cg, gg) = grads_k(&g, k, &cpu, &gpu);
        copt.try_step(&mut cpu, &cg).unwrap();
        gopt.step(&mut gpu, &gg).unwrap();
        cpu_sched.step(&mut copt);
        gpu_sched.step(&mut gopt.opt);
    }
    assert_eq!(gopt.group_lrs(), copt.group_lrs());
    assert_eq!(gopt.group_lrs(), vec![0.1 / 16.0, 0.4 / 16.0]);
    same_params("scheduled", &gpu, &cpu);
}

/// Three steps on the GPU, its state through a checkpoint file onto the CPU, and the CPU's
/// state back onto the GPU: both resumed runs continue as the uninterrupted CPU run.
fn checkpoint_round_trip<O: GpuStep<f64> + Optimizer<f64>>(what: &str, opt: O) {
    let Some(g) = gpu64() else { return };
    let dir = std::env::temp_dir().join(format!("shaped_gpu_f64_train_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}.ckpt", what.replace(' ', "_")));

    let mut cpu = pair();
    let mut copt = opt.clone();
    let mut gpu: GpuPair = cpu.to_device(&g).unwrap();
    let mut gopt = GpuOptimizer::new(opt.clone());
    for k in 0..3 {
        let (cg, gg) = grads_k(&g, k, &cpu, &gpu);
        copt.try_step(&mut cpu, &cg).unwrap();
        gopt.step(&mut gpu, &gg).unwrap();
    }
    let mut c = Checkpoint::new(&gpu.to_cpu().unwrap());
    c.optimizer = gopt.state().unwrap();
    c.save(&path).unwrap();
    let loaded = Checkpoint::<f64>::load(&path).unwrap();
    let mut resumed: Pair = (Tensor::zeros(), Tensor::zeros());
    loaded.restore_model(&mut resumed).unwrap();
    let mut resumed_opt = opt.clone();
    loaded.restore_optimizer(&mut resumed_opt).unwrap();
    same_state(what, &resumed_opt.state(), &copt.state());
    // And back onto the GPU from the CPU's state.
    let mut gpu_again: GpuPair = resumed.to_device(&g).unwrap();
    let mut gopt_again = GpuOptimizer::new(opt);
    gopt_again.load_state(resumed_opt.state()).unwrap();
    for k in 3..6 {
        let (cg, gg) = grads_k(&g, k, &cpu, &gpu);
        copt.try_step(&mut cpu, &cg).unwrap();
        gopt.step(&mut gpu, &gg).unwrap();
        let (rg, ag) = grads_k(&g, k, &resumed, &gpu_again);
        resumed_opt.try_step(&mut resumed, &rg).unwrap();
        gopt_again.step(&mut gpu_again, &ag).unwrap();
        let step = format!("{what}, step {}", k + 1);
        same_params(&format!("{step}, GPU"), &gpu, &cpu);
        same_params(&format!("{step}, GPU resumed"), &gpu_again, &cpu);
        close64(
            &format!("{step}, CPU resumed"),
            resumed.0.as_slice(),
            cpu.0.as_slice(),
            F64_TOL,
        );
    }
    same_state(what, &gopt_again.state().unwrap(), &copt.state());
    std::fs::remove_file(&path).ok();
}

#[test]
fn f64_optimizer_state_round_trips_through_a_checkpoint() {
    checkpoint_round_trip("sgd", Sgd::<f64>::new(0.05).momentum(0.9).nesterov(true));
    checkpoint_round_trip("adam", Adam::<f64>::new(1e-2).amsgrad(true));
    checkpoint_round_trip(
        "rmsprop",
        RmsProp::<f64>::new(1e-2).centered(true).momentum(0.5),
    );
    checkpoint_round_trip(
        "adagrad",
        Adagrad::<f64>::new(0.1).initial_accumulator_value(0.2),
    );
    checkpoint_round_trip("nadam", NAdam::<f64>::new(1e-2));
    checkpoint_round_trip(
        "adamw groups",
        AdamW::<f64>::new(1e-2).with_param_group(ParamGroup::names(["1"]).lr(0.03)),
    );
}

/// The L-BFGS test problem `0.5 |A p - b|^2 + 0.05 sum p^4` with `A`, `b` and `p0` drawn.
fn lbfgs_problem() -> (
    Tensor<Rank2<6, 4>, f64>,
    Tensor<Rank2<6, 1>, f64>,
    Tensor<Rank2<4, 1>, f64>,
) {
    (randn64(31), randn64(32), randn64(33))
}

#[test]
fn lbfgs_steps_an_f64_gpu_model_as_the_cpu() {
    let Some(g) = gpu64() else { return };
    for line_search in [false, true] {
        let (a, b, p0) = lbfgs_problem();
        let mut settings = Lbfgs::<f64>::new(0.5).max_iter(5).history_size(4);
        if line_search {
            settings = settings.line_search(LineSearch::StrongWolfe);
        }
        let (mut copt, mut gopt) = (settings.clone(), settings);
        let mut cp = p0.clone();
        let mut gp = p0.to_device(&g).unwrap();
        let (ga, gb) = (a.to_device(&g).unwrap(), b.to_device(&g).unwrap());
        for k in 0..3 {
            let c = copt.step(&mut cp, |p: &mut Tensor<Rank2<4, 1>, f64>| {
                let p = p.clone().trace();
                let r = a.clone().matmul(p.clone()) - b.clone();
                r.square().sum() * 0.5 + p.square().square().sum() * 0.05
            });
            let gv = gopt
                .try_step_gpu(&mut gp, |p| {
                    let p = p.clone().trace();
                    let r = ga.clone().matmul(p.clone()) - gb.clone();
                    Ok(r.square().sum() * 0.5 + p.square().square().sum() * 0.05)
                })
                .unwrap();
            let what = format!("line search {line_search}, step {k}");
            close64(&format!("{what}: loss"), &[gv], &[c], F64_TOL);
            close64(
                &format!("{what}: p"),
                &gp.to_cpu().unwrap().to_vec(),
                cp.as_slice(),
                F64_TOL,
            );
        }
        assert_eq!(gopt.iterations(), copt.iterations());
        same_state("lbfgs", &gopt.state(), &copt.state());
    }
}

/// A linear regression `x w` (a lone f64 parameter) trained by the `Trainer` on both devices
/// with a scheduled, grouped Adam and gradient accumulation: the same history to f64
/// precision.
#[test]
fn trainer_trains_an_f64_gpu_model_as_the_cpu() {
    let Some(g) = gpu64() else { return };
    let truth = Tensor::<Rank2<3, 1>, f64>::from_array([[1.0], [-2.0], [0.5]]);
    let data: Vec<(Tensor<Rank2<8, 3>, f64>, Tensor<Rank2<8, 1>, f64>)> = (0..5)
        .map(|k| {
            let x = randn64::<Rank2<8, 3>>(40 + k);
            let y = x.clone().matmul(truth.clone()) + randn64::<Rank2<8, 1>>(50 + k) * 0.1;
            (x, y)
        })
        .collect();
    let settings = || Adam::<f64>::new(0.05);
    let schedule = StepLr {
        step_size: 2,
        gamma: 0.5,
    };

    let mut cpu = randn64::<Rank2<3, 1>>(60);
    let mut cpu_opt = settings();
    let cpu_history = Trainer::new(&mut cpu, &mut cpu_opt)
        .epochs(4)
        .quiet(true)
        .accumulate(2)
        .lr_schedule(schedule)
        .fit(data.clone(), |w, (x, y)| {
            let loss = (x.matmul(w.clone().trace()) - y).square().mean();
            Ok(Step::new(loss, 8))
        })
        .unwrap();

    let mut gpu = randn64::<Rank2<3, 1>>(60).to_device(&g).unwrap();
    let mut gpu_opt = GpuOptimizer::new(settings());
    let gpu_history = Trainer::new(&mut gpu, &mut gpu_opt)
        .epochs(4)
        .quiet(true)
        .accumulate(2)
        .lr_schedule(schedule)
        .fit(data, |w, (x, y)| {
            let (x, y) = (x.to_device(&g)?, y.to_device(&g)?);
            let loss = (x.matmul(w.clone().trace()) - y).square().mean();
            Ok(Step::new(loss, 8))
        })
        .unwrap();

    let col = |h: &shaped::train::History, f: fn(&shaped::train::EpochRecord) -> f64| {
        h.epochs.iter().map(f).collect::<Vec<_>>()
    };
    let losses = col(&cpu_history, |r| r.train_loss);
    assert!(
        losses[3] < losses[0],
        "the CPU run did not learn: {losses:?}"
    );
    close64(
        "train loss",
        &col(&gpu_history, |r| r.train_loss),
        &losses,
        F64_TOL,
    );
    assert_eq!(col(&gpu_history, |r| r.lr), col(&cpu_history, |r| r.lr));
    close64(
        "w",
        &gpu.to_cpu().unwrap().to_vec(),
        cpu.as_slice(),
        F64_TOL,
    );
    same_state("trainer", &gpu_opt.state().unwrap(), &cpu_opt.state());
}

/// The f64 MLP of the Trainer test.
type Mlp64 = (Linear<4, 8, f64>, Tanh, Dropout, Linear<8, 2, f64>);

fn mlp64() -> Mlp64 {
    let mut rng = StdRng::seed_from_u64(70);
    (
        Linear::new(&mut rng),
        Tanh,
        Dropout::with_seed(0.25, 71),
        Linear::new(&mut rng),
    )
}

/// An f64 MLP (with Dropout) trained by the `Trainer` on both devices with AdamW, a
/// parameter group, a schedule, gradient accumulation, validation and `restore_best`: the
/// same batch and epoch losses and the same final weights to f64 precision.
#[test]
fn trainer_trains_an_f64_gpu_mlp_as_the_cpu() {
    let Some(g) = gpu64() else { return };
    type Batch = (Tensor<Rank2<8, 4>, f64>, Tensor<Rank2<8, 2>, f64>);
    let data = |seed: u64, n: u64| -> Vec<Batch> {
        (0..n)
            .map(|k| {
                let x = randn64::<Rank2<8, 4>>(seed + k);
                let y = randn64::<Rank2<8, 2>>(seed + 100 + k);
                (x, y)
            })
            .collect()
    };
    let (train, val) = (data(80, 6), data(90, 2));
    let settings = || AdamW::<f64>::new(0.02).with_param_group(ParamGroup::prefix("3.").lr(0.01));
    let schedule = StepLr {
        step_size: 1,
        gamma: 0.7,
    };

    let mut cpu = mlp64();
    let mut cpu_opt = settings();
    let mut cpu_batches = Vec::new();
    let cpu_history = Trainer::new(&mut cpu, &mut cpu_opt)
        .epochs(3)
        .quiet(true)
        .accumulate(2)
        .lr_schedule(schedule)
        .restore_best(true)
        .on_batch_end(|b| cpu_batches.push((b.batch, b.global_step, b.loss)))
        .validate(val.clone(), |m, (x, y)| {
            Ok(Step::new((m.forward(x) - y).square().mean(), 8))
        })
        .fit(train.clone(), |m, (x, y)| {
            let loss = (m.forward_train(x.trace_constant()) - y).square().mean();
            Ok(Step::new(loss, 8))
        })
        .unwrap();

    let mut gpu = mlp64().to_device(&g).unwrap();
    let mut gpu_opt = GpuOptimizer::new(settings());
    let mut gpu_batches = Vec::new();
    let gpu_history = Trainer::new(&mut gpu, &mut gpu_opt)
        .epochs(3)
        .quiet(true)
        .accumulate(2)
        .lr_schedule(schedule)
        .restore_best(true)
        .on_batch_end(|b| gpu_batches.push((b.batch, b.global_step, b.loss)))
        .validate(val, |m, (x, y)| {
            let (x, y) = (x.to_device(&g)?, y.to_device(&g)?);
            Ok(Step::new((m.forward(x) - y).square().mean(), 8))
        })
        .fit(train, |m, (x, y)| {
            let (x, y) = (x.to_device(&g)?, y.to_device(&g)?);
            let loss = (m.forward_train(x.trace_constant()) - y).square().mean();
            Ok(Step::new(loss, 8))
        })
        .unwrap();

    let col = |h: &shaped::train::History, f: fn(&shaped::train::EpochRecord) -> f64| {
        h.epochs.iter().map(f).collect::<Vec<_>>()
    };
    assert_eq!(gpu_history.epochs.len(), 3);
    close64(
        "train loss",
        &col(&gpu_history, |r| r.train_loss),
        &col(&cpu_history, |r| r.train_loss),
        F64_TOL,
    );
    close64(
        "val loss",
        &col(&gpu_history, |r| r.val_loss.unwrap()),
        &col(&cpu_history, |r| r.val_loss.unwrap()),
        F64_TOL,
    );
    assert_eq!(col(&gpu_history, |r| r.lr), col(&cpu_history, |r| r.lr));
    assert_eq!((gpu_batches.len(), cpu_batches.len()), (18, 18));
    for (gb, cb) in gpu_batches.iter().zip(&cpu_batches) {
        assert_eq!((gb.0, gb.1), (cb.0, cb.1));
        close64("batch loss", &[gb.2], &[cb.2], F64_TOL);
    }
    let back = gpu.to_cpu().unwrap();
    close64(
        "0.weight",
        back.0.weight.as_slice(),
        cpu.0.weight.as_slice(),
        F64_TOL,
    );
    close64(
        "3.bias",
        back.3.bias.as_ref().unwrap().as_slice(),
        cpu.3.bias.as_ref().unwrap().as_slice(),
        F64_TOL,
    );
    same_state("mlp", &gpu_opt.state().unwrap(), &cpu_opt.state());
}
