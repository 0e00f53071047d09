//! Optimizers and schedulers chosen at run time (issue 12): every optimizer works as a
//! `Box<dyn Optimizer<f32>>` (a `&mut dyn Optimizer` too), every schedule as a
//! `Box<dyn LrSchedule>`, in a plain loop, with `LrScheduler`, with the `Trainer` and
//! through a checkpoint.

use rand::SeedableRng;
use shaped::nn::loss::mse_loss;
use shaped::nn::{Linear, Params, ReLU};
use shaped::optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Constant, CosineAnnealingLr, LinearLr, LrSchedule,
    LrScheduler, NAdam, OneCycleLr, Optimizer, ParamGroup, RAdam, ReduceLrOnPlateau, RmsProp,
    SequentialLr, Sgd, StepLr,
};
use shaped::prelude::*;
use shaped::serialize::Checkpoint;
use shaped::train::{Step, Trainer};

type Mlp = (Linear<2, 8>, ReLU, Linear<8, 1>);

fn mlp(seed: u64) -> Mlp {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (Linear::new(&mut rng), ReLU, Linear::new(&mut rng))
}

/// An optimizer by name, as a command-line flag or config file would give it.
fn optimizer(name: &str) -> Option<Box<dyn Optimizer<f32>>> {
    Some(match name {
        "sgd" => Box::new(Sgd::new(0.05).momentum(0.9)),
        "adam" => Box::new(Adam::new(1e-2)),
        "adamw" => Box::new(AdamW::new(1e-2)),
        "rmsprop" => Box::new(RmsProp::new(1e-2)),
        "adagrad" => Box::new(Adagrad::new(0.1)),
        "adadelta" => Box::new(Adadelta::new(1.0)),
        "adamax" => Box::new(Adamax::new(2e-2)),
        "nadam" => Box::new(NAdam::new(1e-2)),
        "radam" => Box::new(RAdam::new(5e-2)),
        _ => return None,
    })
}

/// A schedule by name, over `total` steps.
fn schedule(name: &str, total: u64) -> Option<Box<dyn LrSchedule + Send + Sync>> {
    Some(match name {
        "constant" => Box::new(Constant),
        "step" => Box::new(StepLr {
            step_size: total / 3,
            gamma: 0.5,
        }),
        "cosine" => Box::new(CosineAnnealingLr {
            t_max: total,
            eta_min: 0.0,
        }),
        "warmup_cosine" => Box::new(
            SequentialLr::new(LinearLr {
                start_factor: 0.1,
                end_factor: 1.0,
                total_iters: 10,
            })
            .then(
                10,
                CosineAnnealingLr {
                    t_max: total - 10,
                    eta_min: 0.0,
                },
            ),
        ),
        "plateau" => Box::new(ReduceLrOnPlateau::new().patience(5)),
        _ => return None,
    })
}

const NAMES: [&str; 9] = [
    "sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "radam",
];

/// y = x0 - 2 x1 on a fixed batch.
fn data() -> (Tensor<Rank2<8, 2>>, Tensor<Rank2<8, 1>>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let x = Tensor::<Rank2<8, 2>>::randn(&mut rng);
    let v = x.as_slice();
    let y: Vec<f32> = (0..8).map(|i| v[2 * i] - 2.0 * v[2 * i + 1]).collect();
    (x, Tensor::from_vec(y).unwrap())
}

fn loss_of(m: &Mlp) -> f32 {
    let (x, y) = data();
    mse_loss(m.forward(x), y).as_slice()[0]
}

/// Trains with a boxed optimizer and a boxed schedule in a plain loop; returns
/// (first loss, last loss).
fn train(
    opt: &mut Box<dyn Optimizer<f32>>,
    sched: Box<dyn LrSchedule + Send + Sync>,
) -> (f32, f32) {
    let mut m = mlp(1);
    let first = loss_of(&m);
    let steps = 60;
    let mut sched = LrScheduler::new(opt, sched);
    let (x, y) = data();
    for _ in 0..steps {
        let loss = mse_loss(m.forward_train(x.clone().trace_constant()), y.clone());
        let value = loss.as_slice()[0] as f64;
        opt.step(&mut m, &loss.backward());
        sched.step_with_metric(opt, value);
    }
    (first, loss_of(&m))
}

#[test]
fn every_optimizer_chosen_at_run_time_trains_as_a_box() {
    for name in NAMES {
        let mut opt = optimizer(name).unwrap();
        let (first, last) = train(&mut opt, schedule("constant", 60).unwrap());
        assert!(
            last < 0.5 * first,
            "{name}: loss {first} -> {last} did not halve"
        );
    }
    assert!(optimizer("lion").is_none());
}

#[test]
fn every_schedule_chosen_at_run_time_drives_a_boxed_optimizer() {
    for s in ["constant", "step", "cosine", "warmup_cosine", "plateau"] {
        let mut opt = optimizer("adam").unwrap();
        let (first, last) = train(&mut opt, schedule(s, 60).unwrap());
        assert!(last < 0.5 * first, "{s}: loss {first} -> {last}");
        // The boxed schedule set the boxed optimizer's rate as the bare schedule says.
        let bare = schedule(s, 60).unwrap();
        if s != "plateau" {
            assert_eq!(opt.lr(), bare.lr_at(1e-2, 60), "{s}");
        }
    }
}

#[test]
fn a_boxed_optimizer_gives_the_same_numbers_as_the_concrete_one() {
    for name in NAMES {
        let mut boxed = optimizer(name).unwrap();
        let mut concrete = optimizer(name).unwrap(); // stepped through &mut dyn
        let concrete: &mut dyn Optimizer<f32> = &mut *concrete;
        let (mut a, mut b) = (mlp(3), mlp(3));
        let (x, y) = data();
        for _ in 0..3 {
            let la = mse_loss(a.forward_train(x.clone().trace_constant()), y.clone());
            boxed.step(&mut a, &la.backward());
            let lb = mse_loss(b.forward_train(x.clone().trace_constant()), y.clone());
            concrete.try_step(&mut b, &lb.backward()).unwrap();
        }
        let (mut va, mut vb) = (Vec::new(), Vec::new());
        a.visit("", &mut |p| va.push(p.data.to_vec()));
        b.visit("", &mut |p| vb.push(p.data.to_vec()));
        assert_eq!(va, vb, "{name}");
        assert_eq!(boxed.state(), concrete.state(), "{name}");
    }
    // And the same as the plain struct, for one of them.
    let mut plain = Adam::<f32>::new(1e-2);
    let mut boxed = optimizer("adam").unwrap();
    let (mut a, mut b) = (mlp(4), mlp(4));
    let (x, y) = data();
    let la = mse_loss(a.forward_train(x.clone().trace_constant()), y.clone());
    plain.step(&mut a, &la.backward());
    let lb = mse_loss(b.forward_train(x.trace_constant()), y);
    boxed.step(&mut b, &lb.backward());
    assert_eq!(a.0.weight.as_slice(), b.0.weight.as_slice());
}

#[test]
fn one_cycle_through_boxes_cycles_momentum() {
    let mut opt = optimizer("sgd").unwrap();
    let sched: Box<dyn LrSchedule> = Box::new(OneCycleLr::new(0.5, 20));
    let mut s = LrScheduler::new(&mut opt, sched);
    assert_eq!(opt.momentum(), Some(0.95));
    for _ in 0..6 {
        s.step(&mut opt);
    }
    assert!(opt.momentum().unwrap() < 0.95);
    assert!((opt.lr() - s.lr()).abs() < 1e-15);
}

#[test]
fn trainer_takes_a_boxed_optimizer_and_schedule_and_checkpoints_it() {
    let mut model = mlp(2);
    let mut opt = optimizer("adamw").unwrap();
    opt.add_param_group(ParamGroup::matching(|n| n.ends_with("bias")).weight_decay(0.0))
        .unwrap();
    let (x, y) = data();
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(40)
        .quiet(true)
        .lr_schedule(schedule("step", 40).unwrap())
        .fit(vec![(x, y)], |m, (x, y)| {
            Ok(Step::new(
                mse_loss(m.forward_train(x.trace_constant()), y),
                8,
            ))
        })
        .unwrap();
    let (first, last) = (&history.epochs[0], history.epochs.last().unwrap());
    assert!(last.train_loss < 0.5 * first.train_loss);
    assert_eq!(opt.group_lrs(), vec![1e-2 * 0.125; 2]); // epoch 39: three decays (step 13)

    let ckpt = Checkpoint::new(&model).with_optimizer(&opt);
    let ckpt = Checkpoint::<f32>::from_bytes(&ckpt.to_bytes().unwrap()).unwrap();
    let mut again = optimizer("adamw").unwrap();
    again
        .add_param_group(ParamGroup::matching(|n| n.ends_with("bias")).weight_decay(0.0))
        .unwrap();
    ckpt.restore_optimizer(&mut again).unwrap();
    assert_eq!(again.state(), opt.state());
    // A box of another kind refuses the state.
    let mut sgd = optimizer("sgd").unwrap();
    assert!(ckpt.restore_optimizer(&mut sgd).is_err());
}
