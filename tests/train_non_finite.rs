//! Issue 14 item 8: the Trainer stops at the first non-finite buffer, gradient or parameter,
//! names it, and leaves the last good best-model file (and, with `restore_best`, model).

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::nn::loss::mse_loss;
use shaped::nn::{BatchNorm1d, Linear, Module, ReLU};
use shaped::optim::Sgd;
use shaped::prelude::*;
use shaped::serialize::load_safetensors;
use shaped::train::{Step, Trainer, from_fn};

type X = Tensor<Rank2<8, 3>>;
type Net = (Linear<3, 4>, BatchNorm1d<4>, ReLU, Linear<4, 1>);

fn net(seed: u64) -> Net {
    let mut rng = StdRng::seed_from_u64(seed);
    (
        Linear::new(&mut rng),
        BatchNorm1d::new(),
        ReLU,
        Linear::new(&mut rng),
    )
}

fn batch(seed: u64) -> (X, Tensor<Rank2<8, 1>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = X::randn(&mut rng);
    let y = Tensor::randn(&mut rng);
    (x, y)
}

fn all_finite(m: &Net) -> bool {
    use shaped::nn::Params;
    let mut ok = true;
    m.visit("", &mut |p| ok &= p.data.iter().all(|v| v.is_finite()));
    ok
}

/// Three good epochs, then every batch of epoch 4 holds a NaN (the relu(NaN) case).
fn poisoned_source(
    nan_at: usize,
) -> impl shaped::train::BatchSource<Batch = (X, Tensor<Rank2<8, 1>>)> {
    from_fn(move |epoch, _rng| {
        let (mut x, y) = batch(epoch as u64 % 2);
        if epoch >= nan_at {
            x.as_mut_slice()[5] = f32::NAN;
        }
        vec![(x, y)]
    })
}

#[test]
fn a_nan_batch_stops_training_naming_what_went_bad() {
    let dir = std::env::temp_dir().join(format!("shaped_non_finite_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let best = dir.join("best.safetensors");
    let mut model = net(0);
    let mut opt = Sgd::new(0.05);
    let err = Trainer::new(&mut model, &mut opt)
        .epochs(10)
        .quiet(true)
        .save_best(&best)
        .restore_best(true)
        .fit(poisoned_source(3), |m: &mut Net, (x, y)| {
            Ok(Step::new(
                mse_loss(m.forward_train(x.trace_constant()), y),
                8,
            ))
        })
        .unwrap_err()
        .to_string();
    // The forward pass poisoned BatchNorm's running statistics first.
    assert!(err.contains("epoch 4"), "{err}");
    assert!(
        err.contains("`1.running_mean`") && err.contains("NaN"),
        "{err}"
    );
    // The model is back at its best epoch, and the file on disk holds finite values.
    assert!(all_finite(&model));
    let mut from_disk = net(1);
    load_safetensors(&mut from_disk, &best).unwrap();
    assert!(all_finite(&from_disk));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_nan_gradient_is_named_and_the_step_not_taken() {
    // No BatchNorm: the NaN reaches the first layer's gradient.
    type Mlp = (Linear<3, 4>, ReLU, Linear<4, 1>);
    let mut rng = StdRng::seed_from_u64(2);
    let mut model: Mlp = (Linear::new(&mut rng), ReLU, Linear::new(&mut rng));
    let before = model.0.weight.to_vec();
    let err = Trainer::new(&mut model, &mut Sgd::new(0.05))
        .epochs(3)
        .quiet(true)
        .fit(poisoned_source(0), |m: &mut Mlp, (x, y)| {
            Ok(Step::new(
                mse_loss(m.forward_train(x.trace_constant()), y),
                8,
            ))
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("gradient of parameter `0.weight`"), "{err}");
    assert!(err.contains("step was not taken"), "{err}");
    assert_eq!(model.0.weight.to_vec(), before);
}

#[test]
fn a_parameter_that_overflows_in_the_step_is_named() {
    // Finite gradients, but a learning rate beyond f32's range: the update overflows.
    type Lin = Linear<3, 1>;
    let mut model: Lin = Linear::new(&mut StdRng::seed_from_u64(3));
    let err = Trainer::new(&mut model, &mut Sgd::new(1e39))
        .epochs(3)
        .quiet(true)
        .fit(poisoned_source(usize::MAX), |m: &mut Lin, (x, y)| {
            Ok(Step::new(
                mse_loss(m.forward_train(x.trace_constant()), y),
                8,
            ))
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("parameter `weight`") && err.contains("after the optimizer step"),
        "{err}"
    );
}
