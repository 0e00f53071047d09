//! Optimizer parameter groups (issue 12): per-group learning rate, weight decay and betas
//! against `torch.optim` with a scheduler acting on both groups
//! (tests/golden_extra/param_groups.safetensors, from the script next to it); state saved
//! and restored per group; a state restored into another grouping, or stepped on another
//! model, is an error.

mod common;
use common::check_close;
use safetensors::SafeTensors;
use shaped::nn::{LayerNorm, Linear, Params};
use shaped::optim::{
    Adagrad, AdamW, ExponentialLr, LrScheduler, Optimizer, ParamGroup, Sgd, StepLr,
};
use shaped::prelude::*;
use shaped::serialize::Checkpoint;
use std::collections::HashMap;

#[derive(Params)]
struct Net {
    fc: Linear<3, 4>,
    norm: LayerNorm<4>,
    head: Linear<4, 2>,
}

fn net() -> Net {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    Net {
        fc: Linear::new(&mut rng),
        norm: LayerNorm::new(),
        head: Linear::new(&mut rng),
    }
}

const STEPS: usize = 5;

fn no_decay(name: &str) -> bool {
    name.ends_with("bias") || name.contains("norm")
}

/// One case of the reference file: tensors named `<case>.<name>`.
struct Case(HashMap<String, Vec<f32>>);

impl Case {
    fn load(case: &str) -> Case {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden_extra/param_groups.safetensors"
        );
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let st = SafeTensors::deserialize(&bytes).expect("safetensors");
        let mut out = HashMap::new();
        for (name, view) in st.tensors() {
            if let Some(name) = name.strip_prefix(&format!("{case}.")) {
                let v = view.data().chunks_exact(4);
                let v = v.map(|c| f32::from_le_bytes(c.try_into().unwrap()));
                out.insert(name.to_string(), v.collect());
            }
        }
        assert!(!out.is_empty(), "no case `{case}` in {path}");
        Case(out)
    }
    fn f(&self, name: &str) -> &[f32] {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no tensor `{name}`"))
    }
    /// The model at the start values `p0.*`.
    fn start(&self) -> Net {
        let mut m = net();
        m.visit_mut("", &mut |p| {
            p.data.copy_from_slice(self.f(&format!("p0.{}", p.name)))
        });
        m
    }
    /// The gradients of step `k`, for every parameter of `m`.
    fn grads(&self, m: &Net, k: usize) -> Gradients<f32> {
        let g = |n: &str| self.f(&format!("g.{k}.{n}")).to_vec();
        let mut grads = Gradients::default();
        grads.set(&m.fc.weight, Tensor::from_vec(g("fc.weight")).unwrap());
        grads.set(
            m.fc.bias.as_ref().unwrap(),
            Tensor::from_vec(g("fc.bias")).unwrap(),
        );
        grads.set(&m.norm.weight, Tensor::from_vec(g("norm.weight")).unwrap());
        grads.set(&m.norm.bias, Tensor::from_vec(g("norm.bias")).unwrap());
        grads.set(&m.head.weight, Tensor::from_vec(g("head.weight")).unwrap());
        grads.set(
            m.head.bias.as_ref().unwrap(),
            Tensor::from_vec(g("head.bias")).unwrap(),
        );
        grads
    }
    fn check_params(&self, m: &Net, k: usize) {
        m.visit("", &mut |p| {
            let name = format!("p.{k}.{}", p.name);
            check_close(&name, p.data, self.f(&name), 1e-5, 1e-4);
        });
    }
}

fn sgd() -> Sgd<f32> {
    Sgd::new(0.1)
        .momentum(0.9)
        .weight_decay(0.01)
        .with_param_group(ParamGroup::matching(no_decay).lr(0.05).weight_decay(0.0))
}

fn adamw() -> AdamW<f32> {
    AdamW::new(0.01)
        .weight_decay(0.1)
        .betas(0.9, 0.999)
        .with_param_group(
            ParamGroup::matching(no_decay)
                .lr(0.003)
                .weight_decay(0.0)
                .betas(0.8, 0.99),
        )
}

/// Steps `opt` with a scheduler through the reference trajectory, checking parameters,
/// every group's rate and finally the per-parameter state.
fn check_trajectory<O: Optimizer<f32>, S: shaped::optim::LrSchedule>(
    case: &str,
    mut opt: O,
    schedule: S,
    buffers: &[&str],
) {
    let c = Case::load(case);
    let mut m = c.start();
    let mut sched = LrScheduler::new(&mut opt, schedule);
    for k in 0..STEPS {
        let grads = c.grads(&m, k);
        opt.step(&mut m, &grads);
        sched.step(&mut opt);
        c.check_params(&m, k);
        let lrs: Vec<f32> = opt.group_lrs().iter().map(|&l| l as f32).collect();
        check_close(
            &format!("lrs.{k}"),
            &lrs,
            c.f(&format!("lrs.{k}")),
            1e-7,
            1e-6,
        );
        let last: Vec<f32> = sched.last_lrs().iter().map(|&l| l as f32).collect();
        assert_eq!(last, lrs);
    }
    let state: HashMap<String, Vec<f32>> = opt.state().into_iter().collect();
    for name in m.param_names() {
        for b in buffers {
            let key = format!("{name}.{b}");
            let got = state
                .get(&key)
                .unwrap_or_else(|| panic!("no state `{key}`"));
            check_close(&key, got, c.f(&format!("state.{key}")), 1e-5, 1e-4);
        }
    }
}

#[test]
fn sgd_two_groups_with_step_lr_match_torch() {
    let opt = sgd();
    assert_eq!(opt.group_lrs(), vec![0.1, 0.05]);
    check_trajectory(
        "sgd",
        opt,
        StepLr {
            step_size: 2,
            gamma: 0.5,
        },
        &["momentum_buffer"],
    );
}

#[test]
fn adamw_two_groups_with_exponential_lr_match_torch() {
    check_trajectory(
        "adamw",
        adamw(),
        ExponentialLr { gamma: 0.8 },
        &["exp_avg", "exp_avg_sq"],
    );
}

/// `steps` reference steps of `opt` on the `sgd` case's model and gradients.
fn run_steps<O: Optimizer<f32>>(c: &Case, m: &mut Net, opt: &mut O, steps: std::ops::Range<usize>) {
    for k in steps {
        let grads = c.grads(m, k);
        opt.step(m, &grads);
    }
}

#[test]
fn state_saved_and_restored_per_group_resumes_identically() {
    for (case, fresh) in [
        ("sgd", Box::new(sgd()) as Box<dyn Optimizer<f32>>),
        ("adamw", Box::new(adamw())),
    ] {
        let c = Case::load(case);
        let make = || -> Box<dyn Optimizer<f32>> {
            if case == "sgd" {
                Box::new(sgd())
            } else {
                Box::new(adamw())
            }
        };
        // Straight through.
        let mut m1 = c.start();
        let mut opt1 = fresh;
        opt1.set_group_lrs(&[0.02, 0.007]);
        run_steps(&c, &mut m1, &mut opt1, 0..STEPS);

        // Two steps, a checkpoint through bytes, a fresh optimizer, three more steps.
        let mut m2 = c.start();
        let mut opt2 = make();
        opt2.set_group_lrs(&[0.02, 0.007]);
        run_steps(&c, &mut m2, &mut opt2, 0..2);
        let state = opt2.state();
        assert!(
            state
                .iter()
                .any(|(n, v)| n == "param_groups" && v == &[2.0])
        );
        assert!(
            state
                .iter()
                .any(|(n, _)| n == "param_groups.1.params.norm.weight")
        );
        let bytes = Checkpoint::new(&m2)
            .with_optimizer(&opt2)
            .to_bytes()
            .unwrap();
        let ckpt = Checkpoint::<f32>::from_bytes(&bytes).unwrap();
        let mut m3 = net();
        ckpt.restore_model(&mut m3).unwrap();
        let mut opt3 = make();
        assert_ne!(opt3.group_lrs(), vec![0.02, 0.007]);
        ckpt.restore_optimizer(&mut opt3).unwrap();
        // Each group's rate comes back exactly (not group 0's for all), through f32.
        assert_eq!(opt3.group_lrs(), vec![0.02, 0.007]);
        run_steps(&c, &mut m3, &mut opt3, 2..STEPS);

        let (mut a, mut b) = (Vec::new(), Vec::new());
        m1.visit("", &mut |p| a.push(p.data.to_vec()));
        m3.visit("", &mut |p| b.push(p.data.to_vec()));
        assert_eq!(a, b, "{case}: resumed run differs");
        assert_eq!(opt1.state(), opt3.state(), "{case}: resumed state differs");
    }
}

/// A stepped SGD with the two reference groups.
fn stepped_sgd() -> (Net, Sgd<f32>) {
    let c = Case::load("sgd");
    let mut m = c.start();
    let mut opt = sgd();
    run_steps(&c, &mut m, &mut opt, 0..2);
    (m, opt)
}

#[test]
fn restoring_into_another_grouping_is_an_error_and_changes_nothing() {
    let (_, opt) = stepped_sgd();
    let state = opt.state();
    let err = |mut other: Sgd<f32>, what: &str| {
        let before = other.state();
        let lrs = other.group_lrs();
        let e = other.load_state(state.clone()).expect_err(what).to_string();
        assert_eq!(other.state(), before, "{what}: state changed");
        assert_eq!(other.group_lrs(), lrs, "{what}: rates changed");
        e
    };
    // No groups at all.
    let e = err(Sgd::new(0.1).momentum(0.9), "ungrouped");
    assert!(
        e.contains("2 parameter groups") && e.contains("has 1"),
        "{e}"
    );
    // Three groups.
    let three = sgd().with_param_group(ParamGroup::prefix("head.").lr(0.5));
    let e = err(three, "three groups");
    assert!(
        e.contains("2 parameter groups") && e.contains("has 3"),
        "{e}"
    );
    // Two groups, another split: biases only.
    let other = Sgd::new(0.1)
        .momentum(0.9)
        .with_param_group(ParamGroup::matching(|n| n.ends_with("bias")));
    let e = err(other, "another split");
    assert!(
        e.contains("`norm.weight`") && e.contains("group 1") && e.contains("group 0"),
        "{e}"
    );
    // An ungrouped state into a grouped optimizer.
    let mut plain = Sgd::new(0.1).momentum(0.9);
    let c = Case::load("sgd");
    let mut m = c.start();
    run_steps(&c, &mut m, &mut plain, 0..1);
    let e = sgd().load_state(plain.state()).unwrap_err().to_string();
    assert!(e.contains("no parameter groups"), "{e}");
    // The same grouping by other means (listed names) loads.
    let listed = Sgd::new(0.1)
        .momentum(0.9)
        .with_param_group(ParamGroup::names([
            "fc.bias",
            "norm.weight",
            "norm.bias",
            "head.bias",
        ]));
    let mut listed = listed;
    listed.load_state(state).unwrap();
    assert_eq!(listed.group_lrs(), vec![0.1, 0.05]);
}

/// An optimizer state, as `Optimizer::state` gives it.
type State = Vec<(String, Vec<f32>)>;

#[test]
fn corrupt_group_entries_are_errors() {
    let (_, opt) = stepped_sgd();
    let edit = |f: &dyn Fn(&mut State)| {
        let mut s = opt.state();
        f(&mut s);
        sgd().load_state(s).unwrap_err().to_string()
    };
    let e = edit(&|s| s.retain(|(n, _)| n != "param_groups.1.lr"));
    assert!(e.contains("`param_groups.1.lr` is missing"), "{e}");
    let e = edit(&|s| s.push(("param_groups.7.lr".into(), vec![0.1])));
    assert!(e.contains("param_groups.7.lr"), "{e}");
    let e = edit(&|s| {
        for (n, v) in s.iter_mut() {
            if n == "param_groups.0.weight_decay" {
                *v = vec![f32::NAN];
            }
        }
    });
    assert!(e.contains("param_groups.0.weight_decay"), "{e}");
    let e = edit(&|s| {
        s.push((
            "param_groups.1.betas".into(),
            vec![0.9, 0.0, 0.0, 0.99, 0.0, 0.0],
        ))
    });
    assert!(e.contains("unknown entry `param_groups.1.betas`"), "{e}");
}

#[test]
fn state_from_another_model_is_an_error_at_step_not_a_panic() {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let mut small = Linear::<2, 3>::new(&mut rng);
    for mut opt in [
        Box::new(Sgd::new(0.1).momentum(0.9)) as Box<dyn Optimizer<f32>>,
        Box::new(AdamW::new(1e-2)),
        Box::new(Adagrad::new(1e-2)),
    ] {
        let loss = small.forward(Tensor::<Rank2<1, 2>>::ones().trace()).sum();
        opt.step(&mut small, &loss.backward());
        let state = opt.state();

        let mut big = Linear::<4, 3>::new(&mut rng);
        let before = big.weight.as_slice().to_vec();
        opt.load_state(state).unwrap(); // the names fit; the lengths are only known at a step
        let loss = big.forward(Tensor::<Rank2<1, 4>>::ones().trace()).sum();
        let e = opt
            .try_step(&mut big, &loss.backward())
            .unwrap_err()
            .to_string();
        assert!(e.contains("`weight.") && e.contains("another model"), "{e}");
        assert_eq!(big.weight.as_slice(), &before[..], "the model changed");
    }
}

#[test]
fn lr_is_group_zero_and_set_lr_sets_every_group() {
    let mut opt = sgd();
    assert_eq!(Optimizer::<f32>::lr(&opt), 0.1);
    opt.set_lr(0.3);
    assert_eq!(opt.group_lrs(), vec![0.3, 0.3]);
    // Extra rates are ignored, missing ones keep the group's.
    opt.set_group_lrs(&[0.2]);
    assert_eq!(opt.group_lrs(), vec![0.2, 0.3]);
    opt.set_group_lrs(&[0.1, 0.4, 9.0]);
    assert_eq!(opt.group_lrs(), vec![0.1, 0.4]);
}

#[test]
fn unsupported_group_settings_are_errors() {
    let e = Adagrad::<f32>::new(0.1)
        .add_param_group(ParamGroup::prefix("a").momentum(0.9))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Adagrad") && e.contains("momentum"), "{e}");
    let e = Sgd::<f32>::new(0.1)
        .add_param_group(ParamGroup::prefix("a").betas(0.9, 0.99))
        .unwrap_err()
        .to_string();
    assert!(e.contains("SGD") && e.contains("betas"), "{e}");
    let e = Sgd::<f32>::new(0.1)
        .add_param_group(ParamGroup::prefix("a").lr(-1.0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("lr"), "{e}");
    let r = std::panic::catch_unwind(|| {
        Sgd::<f32>::new(0.1).with_param_group(ParamGroup::prefix("a").betas(0.9, 0.99))
    });
    assert!(r.is_err());
}

#[test]
fn grouped_rates_follow_a_trainer_schedule() {
    use shaped::nn::loss::mse_loss;
    use shaped::train::{Step, Trainer};
    let mut model =
        Linear::<1, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    let mut opt = Sgd::new(0.1).with_param_group(ParamGroup::names(["bias"]).lr(0.01));
    let x = Tensor::<Rank2<4, 1>>::from_array([[0.0], [1.0], [2.0], [3.0]]);
    let y = x.clone().mul_scalar(0.5);
    Trainer::new(&mut model, &mut opt)
        .epochs(3)
        .quiet(true)
        .lr_schedule(StepLr {
            step_size: 1,
            gamma: 0.5,
        })
        .fit(vec![(x, y)], |m, (x, y)| {
            Ok(Step::new(
                mse_loss(m.forward_train(x.trace_constant()), y),
                4,
            ))
        })
        .unwrap();
    // Epoch 3 (index 2) ran at base * 0.5^2, each group from its own base.
    assert_eq!(opt.group_lrs(), vec![0.025, 0.0025]);
}
