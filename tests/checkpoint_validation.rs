//! Issue 14 item 3: checkpoints whose checksum is valid but whose contents lie are refused
//! at load with an error naming the entry, instead of panicking or poisoning the next step.

use rand::SeedableRng;
use shaped::nn::Linear;
use shaped::optim::{Adam, Optimizer, Sgd};
use shaped::prelude::*;
use shaped::serialize::Checkpoint;

type Model = Linear<3, 2>;

fn trained() -> (Model, Adam<f32>, Checkpoint<f32>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut model = Model::new(&mut rng);
    let mut opt = Adam::new(1e-2);
    for _ in 0..2 {
        let x = Tensor::<Rank2<4, 3>>::randn(&mut rng);
        let loss = model.forward_train(x.trace_constant()).square().mean();
        opt.step(&mut model, &loss.backward());
    }
    let ckpt = Checkpoint::new(&model).with_optimizer(&opt).with_step(2);
    (model, opt, ckpt)
}

/// Encodes `c` (a valid header and checksum) and decodes it again.
fn round_trip(c: &Checkpoint<f32>) -> Result<Checkpoint<f32>> {
    Checkpoint::<f32>::from_bytes(&c.to_bytes().unwrap())
}

fn set_entry(c: &mut Checkpoint<f32>, name: &str, values: Vec<f32>) {
    let e = c.optimizer.iter_mut().find(|(n, _)| n == name).unwrap();
    e.1 = values;
}

#[test]
fn a_valid_checkpoint_round_trips() {
    let (_, _, c) = trained();
    assert_eq!(round_trip(&c).unwrap(), c);
}

#[test]
fn optimizer_buffers_of_the_wrong_length_are_refused_naming_the_entry() {
    let (model, _, mut c) = trained();
    set_entry(&mut c, "weight.exp_avg", vec![0.0; 5]);
    let err = round_trip(&c).unwrap_err().to_string();
    assert!(err.contains("weight.exp_avg") && err.contains('5'), "{err}");
    // A checkpoint built in memory is checked when restored, and the optimizer is untouched.
    let mut opt = Adam::<f32>::new(1e-2);
    assert!(c.restore_optimizer(&mut opt).is_err());
    assert_eq!(opt.steps(), 0);
    // Restoring the good parts and stepping never panics.
    let mut m = model;
    let x = Tensor::<Rank2<4, 3>>::ones();
    let loss = m.forward_train(x.trace_constant()).square().mean();
    opt.step(&mut m, &loss.backward());
}

#[test]
fn optimizer_entries_for_no_model_tensor_are_refused() {
    let (_, _, mut c) = trained();
    c.optimizer.push(("ghost.exp_avg".into(), vec![0.0; 6]));
    let err = round_trip(&c).unwrap_err().to_string();
    assert!(err.contains("ghost.exp_avg"), "{err}");
}

#[test]
fn buffers_of_one_parameter_need_one_length() {
    // Checked by the optimizer itself, for state that does not come from a checkpoint.
    let (_, opt, _) = trained();
    let mut state = opt.state();
    let e = state
        .iter_mut()
        .find(|(n, _)| n == "bias.exp_avg_sq")
        .unwrap();
    e.1.push(1.0);
    let mut fresh = Adam::<f32>::new(1e-2);
    let err = fresh.load_state(state).unwrap_err().to_string();
    assert!(err.contains("bias.exp_avg_sq"), "{err}");
}

#[test]
fn step_counts_must_be_whole_finite_and_in_range() {
    for bad in [f32::NAN, -1.0, 2.5, 1e30, f32::INFINITY] {
        let (_, _, mut c) = trained();
        set_entry(&mut c, "step", vec![bad]);
        let err = round_trip(&c).unwrap_err().to_string();
        assert!(err.contains("`step`"), "{bad}: {err}");
    }
    let (_, _, mut c) = trained();
    set_entry(&mut c, "step", vec![1.0, 2.0]);
    assert!(round_trip(&c).is_err());
}

#[test]
fn a_large_step_count_keeps_the_weights_finite() {
    // 3e9 steps overflowed `steps as i32` in Adam's bias correction: every weight became NaN.
    let (mut model, _, mut c) = trained();
    set_entry(&mut c, "step", vec![3e9]);
    let c = round_trip(&c).unwrap();
    let mut opt = Adam::<f32>::new(1.0);
    c.restore_optimizer(&mut opt).unwrap();
    assert_eq!(opt.steps(), 3_000_000_000);
    let x = Tensor::<Rank2<4, 3>>::ones();
    let loss = model.forward_train(x.trace_constant()).square().mean();
    opt.step(&mut model, &loss.backward());
    assert!(model.weight.as_slice().iter().all(|v| v.is_finite()));
}

#[test]
fn learning_rates_must_be_finite_and_non_negative() {
    for bad in [f64::NAN, f64::INFINITY, -0.1] {
        let (_, _, mut c) = trained();
        c.lr = Some(bad);
        let err = round_trip(&c).unwrap_err().to_string();
        assert!(err.contains("`lr`"), "{bad}: {err}");
        let mut opt = Sgd::<f32>::new(0.1);
        assert!(c.restore_optimizer(&mut opt).is_err());
        assert_eq!(opt.lr(), 0.1);
    }
}
