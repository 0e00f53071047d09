//! Schedules in the Trainer: per-epoch rates and momentum, ReduceLROnPlateau fed the
//! monitored loss, per-batch schedules (OneCycleLR's usage), and the new optimizers
//! training a small model.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::nn::{Linear, Module, ReLU, loss::mse_loss};
use shaped::optim::{
    Adadelta, Adagrad, Adamax, CosineAnnealingLr, CyclicLr, LinearLr, LrSchedule, NAdam,
    OneCycleLr, Optimizer, RAdam, ReduceLrOnPlateau, SequentialLr, Sgd,
};
use shaped::prelude::*;
use shaped::train::{Step, Trainer};

type Mlp = (Linear<2, 8>, ReLU, Linear<8, 1>);
type Batch = (Tensor<Rank2<8, 2>>, Tensor<Rank2<8, 1>>);

fn mlp() -> Mlp {
    let mut rng = StdRng::seed_from_u64(1);
    (Linear::new(&mut rng), ReLU, Linear::new(&mut rng))
}

/// Four batches of `y = x0 - 2 x1`.
fn batches() -> Vec<Batch> {
    let mut rng = StdRng::seed_from_u64(2);
    (0..4)
        .map(|_| {
            let x = Tensor::<Rank2<8, 2>>::randn(&mut rng);
            let y = Tensor::from_vec(x.as_slice().chunks(2).map(|r| r[0] - 2.0 * r[1]).collect())
                .unwrap();
            (x, y)
        })
        .collect()
}

fn step(m: &mut Mlp, (x, y): Batch) -> shaped::error::Result<Step<f32>> {
    Ok(Step::new(
        mse_loss(m.forward_train(x.trace_constant()), y),
        8,
    ))
}

#[test]
fn epoch_schedule_sets_rate_and_momentum_each_epoch() {
    let mut model = mlp();
    let mut opt = Sgd::new(0.1).momentum(0.5);
    let schedule = OneCycleLr::new(0.2, 5);
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(5)
        .quiet(true)
        .lr_schedule(schedule)
        .fit(batches(), step)
        .unwrap();
    let lrs: Vec<f64> = history.epochs.iter().map(|r| r.lr).collect();
    let expected: Vec<f64> = (0..5).map(|e| schedule.lr_at(0.1, e)).collect();
    assert_eq!(lrs, expected);
    // The momentum of the last epoch is the schedule's.
    assert_eq!(Some(opt.momentum), schedule.momentum_at(4));
}

#[test]
fn plateau_schedule_sees_the_monitored_loss() {
    let mut model = mlp();
    let mut opt = Sgd::new(0.1);
    // A loss that never changes: every epoch after the first is a bad one.
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(4)
        .quiet(true)
        .lr_schedule(ReduceLrOnPlateau::new().patience(0))
        .fit(batches(), |m: &mut Mlp, (x, _y): Batch| {
            let out = m.forward_train(x.trace_constant());
            Ok(Step::new(out.sum().mul_scalar(0.0).add_scalar(1.0), 8))
        })
        .unwrap();
    let lrs: Vec<f64> = history.epochs.iter().map(|r| r.lr).collect();
    let expected = [0.1, 0.1, 0.01, 0.001];
    for (a, b) in lrs.iter().zip(expected) {
        assert!((a - b).abs() < 1e-12, "{lrs:?}");
    }
}

#[test]
fn batch_schedule_steps_after_every_update() {
    let mut model = mlp();
    let mut opt = Sgd::new(0.1).momentum(0.9);
    // Warm-up over 6 optimizer steps, then cosine over the rest of 3 epochs x 4 batches.
    let schedule = || {
        SequentialLr::new(LinearLr {
            start_factor: 0.1,
            end_factor: 1.0,
            total_iters: 6,
        })
        .then(
            6,
            CosineAnnealingLr {
                t_max: 6,
                eta_min: 0.0,
            },
        )
    };
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(3)
        .quiet(true)
        .lr_schedule_per_batch(schedule())
        .fit(batches(), step)
        .unwrap();
    let s = schedule();
    // Each epoch's record holds the rate of its first batch: optimizer steps 0, 4, 8.
    let lrs: Vec<f64> = history.epochs.iter().map(|r| r.lr).collect();
    assert_eq!(lrs, [s.lr_at(0.1, 0), s.lr_at(0.1, 4), s.lr_at(0.1, 8)]);
    // The last of the 12 updates used step 11's rate.
    assert_eq!(opt.lr, s.lr_at(0.1, 11));
}

/// Each new optimizer lowers the loss of a small regression in the Trainer.
#[test]
fn new_optimizers_train_a_model() {
    fn final_loss(mut opt: impl Optimizer<f32>) -> (f64, f64) {
        let mut model = mlp();
        let h = Trainer::new(&mut model, &mut opt)
            .epochs(30)
            .quiet(true)
            .fit(batches(), step)
            .unwrap();
        (h.epochs[0].train_loss, h.last().unwrap().train_loss)
    }
    let runs = [
        ("Adagrad", final_loss(Adagrad::new(0.05))),
        ("Adadelta", final_loss(Adadelta::new(1.0))),
        ("Adamax", final_loss(Adamax::new(0.02))),
        ("NAdam", final_loss(NAdam::new(0.01))),
        ("RAdam", final_loss(RAdam::new(0.05))),
    ];
    for (name, (first, last)) in runs {
        assert!(last < first * 0.5, "{name}: {first} -> {last}");
    }
}

/// A schedule whose per-group settings do not fit the optimizer stops `fit` before any step,
/// with the error naming the sizes.
#[test]
fn a_schedule_that_does_not_fit_the_groups_stops_fit() {
    let mut model = mlp();
    let mut opt = Sgd::new(0.1);
    let err = Trainer::new(&mut model, &mut opt)
        .epochs(1)
        .quiet(true)
        .lr_schedule(CyclicLr::new(0.01, 0.1).group_max_lrs(vec![0.1, 0.2]))
        .fit(batches(), step)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 values for `max_lr`") && err.contains("1 parameter groups"),
        "{err}"
    );
}
