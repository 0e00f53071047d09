//! PyTorch reference trajectories for the optimizers (tests/golden/optim_*) and the
//! end-to-end MLP + Adam case (e2e_mlp_adam).

mod common;
use common::{Golden, check_close};
use shaped::nn::{Linear, Module, ReLU};
use shaped::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};
use shaped::prelude::*;

type P = Rank2<4, 3>;

/// Five steps from p0 with the stored gradients; every p.k within the forward tolerance.
fn run(case: &str, mut opt: impl Optimizer<f32>) {
    let g = Golden::load(case);
    let mut p = Tensor::<P>::from_vec(g.f("p0")).unwrap();
    for k in 0..5 {
        let mut grads = Gradients::default();
        grads.set(&p, Tensor::from_vec(g.f(&format!("g.{k}"))).unwrap());
        opt.step(&mut p, &grads);
        g.check_forward(&format!("p.{}", k + 1), p.as_slice());
    }
}

#[test]
fn optim_sgd() {
    let g = Golden::load("optim_sgd");
    run("optim_sgd", Sgd::new(g.hp("lr")));
}

#[test]
fn optim_sgd_momentum_dampening() {
    let g = Golden::load("optim_sgd_momentum_dampening");
    run(
        "optim_sgd_momentum_dampening",
        Sgd::new(g.hp("lr"))
            .momentum(g.hp("momentum"))
            .dampening(g.hp("dampening")),
    );
}

#[test]
fn optim_sgd_nesterov_wd() {
    let g = Golden::load("optim_sgd_nesterov_wd");
    run(
        "optim_sgd_nesterov_wd",
        Sgd::new(g.hp("lr"))
            .momentum(g.hp("momentum"))
            .weight_decay(g.hp("weight_decay"))
            .nesterov(true),
    );
}

fn betas(g: &Golden) -> (f64, f64) {
    let s = g.hp_str("betas");
    let v: Vec<f64> = s
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|x| x.trim().parse().unwrap())
        .collect();
    (v[0], v[1])
}

#[test]
fn optim_adam() {
    let g = Golden::load("optim_adam");
    let (b1, b2) = betas(&g);
    run(
        "optim_adam",
        Adam::new(g.hp("lr")).betas(b1, b2).eps(g.hp("eps")),
    );
}

#[test]
fn optim_adam_amsgrad() {
    let g = Golden::load("optim_adam_amsgrad");
    let (b1, b2) = betas(&g);
    run(
        "optim_adam_amsgrad",
        Adam::new(g.hp("lr"))
            .betas(b1, b2)
            .eps(g.hp("eps"))
            .amsgrad(true),
    );
}

#[test]
fn optim_adam_wd() {
    let g = Golden::load("optim_adam_wd");
    let (b1, b2) = betas(&g);
    run(
        "optim_adam_wd",
        Adam::new(g.hp("lr"))
            .betas(b1, b2)
            .eps(g.hp("eps"))
            .weight_decay(g.hp("weight_decay")),
    );
}

#[test]
fn optim_adamw() {
    let g = Golden::load("optim_adamw");
    let (b1, b2) = betas(&g);
    run(
        "optim_adamw",
        AdamW::new(g.hp("lr"))
            .betas(b1, b2)
            .weight_decay(g.hp("weight_decay")),
    );
}

#[test]
fn optim_rmsprop() {
    let g = Golden::load("optim_rmsprop");
    run(
        "optim_rmsprop",
        RmsProp::new(g.hp("lr"))
            .alpha(g.hp("alpha"))
            .eps(g.hp("eps")),
    );
}

#[test]
fn optim_rmsprop_centered_momentum() {
    let g = Golden::load("optim_rmsprop_centered_momentum");
    run(
        "optim_rmsprop_centered_momentum",
        RmsProp::new(g.hp("lr"))
            .alpha(g.hp("alpha"))
            .eps(g.hp("eps"))
            .momentum(g.hp("momentum"))
            .centered(true),
    );
}

#[test]
fn optimizer_state_is_named_like_parameters() {
    let mut p = Tensor::<P>::zeros();
    let mut grads = Gradients::default();
    grads.set(&p, Tensor::ones());
    let mut opt = Adam::new(1e-3);
    opt.step(&mut p, &grads);
    let names: Vec<String> = opt.state().into_iter().map(|(n, _)| n).collect();
    // A bare tensor parameter has an empty name, so its state names start with a dot.
    assert_eq!(names, ["step", ".exp_avg", ".exp_avg_sq"]);
}

/// Sequential(Linear(8,16), ReLU, Linear(16,3)), 3 Adam steps on cross-entropy: PyTorch's
/// losses at every step and final parameters.
#[test]
fn e2e_mlp_adam() {
    let g = Golden::load("e2e_mlp_adam");
    let mut model = (
        Linear::<8, 16> {
            weight: Tensor::from_vec(g.f("0.weight")).unwrap(),
            bias: Some(Tensor::from_vec(g.f("0.bias")).unwrap()),
        },
        ReLU,
        Linear::<16, 3> {
            weight: Tensor::from_vec(g.f("2.weight")).unwrap(),
            bias: Some(Tensor::from_vec(g.f("2.bias")).unwrap()),
        },
    );
    assert_eq!(
        model.param_names(),
        ["0.weight", "0.bias", "2.weight", "2.bias"]
    );
    let x = Tensor::<Rank2<5, 8>>::from_vec(g.f("x")).unwrap();
    let labels = Indices::<Rank1<5>>::from_vec(g.idx("labels")).unwrap();
    let (b1, b2) = betas(&g);
    let mut opt = Adam::new(g.hp("lr")).betas(b1, b2).eps(g.hp("eps"));
    for step in 0..3 {
        let logits = model.forward_train(x.clone().trace());
        let loss = shaped::nn::loss::cross_entropy(logits, &labels);
        g.check_forward(&format!("loss.{step}"), loss.as_slice());
        let grads = loss.backward();
        if step == 0 {
            g.check_grad("0.weight", grads.get_slice(&model.0.weight).unwrap());
            g.check_grad(
                "2.bias",
                grads.get_slice(model.2.bias.as_ref().unwrap()).unwrap(),
            );
        }
        opt.step(&mut model, &grads);
    }
    let finals = [
        ("0.weight", model.0.weight.to_vec()),
        ("0.bias", model.0.bias.as_ref().unwrap().to_vec()),
        ("2.weight", model.2.weight.to_vec()),
        ("2.bias", model.2.bias.as_ref().unwrap().to_vec()),
    ];
    for (name, v) in finals {
        check_close(
            &format!("final.{name}"),
            &v,
            &g.f(&format!("final.{name}")),
            1e-5,
            1e-4,
        );
    }
}
