//! PyTorch reference trajectories for the second set of optimizers (tests/golden/optim_*:
//! Adagrad, Adadelta, Adamax, NAdam, RAdam, and closure-driven L-BFGS with and without the
//! strong-Wolfe line search), and checkpoint round trips of their state.

mod common;
use common::{Golden, check_close};
use shaped::nn::{Linear, Module};
use shaped::optim::{Adadelta, Adagrad, Adamax, Lbfgs, LineSearch, NAdam, Optimizer, RAdam, Sgd};
use shaped::prelude::*;
use shaped::serialize::Checkpoint;

type P = Rank2<4, 3>;

/// The `steps` steps from p0 with the stored gradients; every p.k within the forward
/// tolerance.
fn run(g: &Golden, mut opt: impl Optimizer<f32>) {
    let mut p = Tensor::<P>::from_vec(g.f("p0")).unwrap();
    let steps = g.hp("steps") as usize;
    for k in 0..steps {
        let mut grads = Gradients::default();
        grads.set(&p, Tensor::from_vec(g.f(&format!("g.{k}"))).unwrap());
        opt.step(&mut p, &grads);
        g.check_forward(&format!("p.{}", k + 1), p.as_slice());
    }
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

fn adagrad(g: &Golden) -> Adagrad<f32> {
    Adagrad::new(g.hp("lr"))
        .lr_decay(g.hp("lr_decay"))
        .weight_decay(g.hp("weight_decay"))
        .initial_accumulator_value(g.hp("initial_accumulator_value"))
        .eps(g.hp("eps"))
        .maximize(maximize(g))
}

fn adadelta(g: &Golden) -> Adadelta<f32> {
    Adadelta::new(g.hp("lr"))
        .rho(g.hp("rho"))
        .eps(g.hp("eps"))
        .weight_decay(g.hp("weight_decay"))
        .maximize(maximize(g))
}

fn adamax(g: &Golden) -> Adamax<f32> {
    let (b1, b2) = betas(g);
    Adamax::new(g.hp("lr"))
        .betas(b1, b2)
        .eps(g.hp("eps"))
        .weight_decay(g.hp("weight_decay"))
        .maximize(maximize(g))
}

fn nadam(g: &Golden) -> NAdam<f32> {
    let (b1, b2) = betas(g);
    NAdam::new(g.hp("lr"))
        .betas(b1, b2)
        .eps(g.hp("eps"))
        .weight_decay(g.hp("weight_decay"))
        .momentum_decay(g.hp("momentum_decay"))
        .maximize(maximize(g))
}

fn radam(g: &Golden) -> RAdam<f32> {
    let (b1, b2) = betas(g);
    RAdam::new(g.hp("lr"))
        .betas(b1, b2)
        .eps(g.hp("eps"))
        .weight_decay(g.hp("weight_decay"))
        .maximize(maximize(g))
}

#[test]
fn optim_adagrad() {
    let g = Golden::load("optim_adagrad");
    run(&g, adagrad(&g));
}

#[test]
fn optim_adadelta() {
    let g = Golden::load("optim_adadelta");
    run(&g, adadelta(&g));
}

#[test]
fn optim_adamax() {
    let g = Golden::load("optim_adamax");
    run(&g, adamax(&g));
}

#[test]
fn optim_nadam() {
    let g = Golden::load("optim_nadam");
    run(&g, nadam(&g));
}

#[test]
fn optim_radam() {
    let g = Golden::load("optim_radam");
    run(&g, radam(&g));
}

/// The golden cases use no weight decay; these pin the two weight-decay forms to the
/// formulas (L2: the gradient gains `wd p`; decoupled: `p` shrinks by `1 - lr wd` first) by
/// comparing with an undecayed optimizer fed the equivalent input.
#[test]
fn weight_decay_forms() {
    let p0 = Tensor::<Rank1<3>, f64>::from_array([0.5, -1.0, 2.0]);
    let g0 = Tensor::<Rank1<3>, f64>::from_array([0.1, 0.2, -0.3]);
    let wd = 0.1;
    // L2: the same as no decay with g + wd p.
    let mut a = p0.clone();
    let mut grads = Gradients::default();
    grads.set(&a, g0.clone());
    RAdam::new(0.01).weight_decay(wd).step(&mut a, &grads);
    let mut b = p0.clone();
    let mut grads = Gradients::default();
    grads.set(&b, g0.clone() + p0.clone().mul_scalar(wd));
    RAdam::new(0.01).step(&mut b, &grads);
    check_close("radam L2", &f32s(&a), &f32s(&b), 1e-7, 1e-7);
    // Decoupled: the same as no decay from (1 - lr wd) p.
    let mut a = p0.clone();
    let mut grads = Gradients::default();
    grads.set(&a, g0.clone());
    NAdam::new(0.01)
        .weight_decay(wd)
        .decoupled_weight_decay(true)
        .step(&mut a, &grads);
    let mut b = p0.clone().mul_scalar(1.0 - 0.01 * wd);
    let mut grads = Gradients::default();
    grads.set(&b, g0);
    NAdam::new(0.01).step(&mut b, &grads);
    check_close("nadam decoupled", &f32s(&a), &f32s(&b), 1e-7, 1e-7);
}

fn f32s(t: &Tensor<Rank1<3>, f64>) -> Vec<f32> {
    t.as_slice().iter().map(|&v| v as f32).collect()
}

/// Maximizing a function is minimizing its negation.
#[test]
fn maximize_negates_the_gradient() {
    let p0 = Tensor::<P>::from_vec((0..12).map(|i| i as f32 * 0.1 - 0.5).collect()).unwrap();
    let g0 = Tensor::<P>::from_vec((0..12).map(|i| 0.3 - i as f32 * 0.05).collect()).unwrap();
    fn two_steps(mut opt: impl Optimizer<f32>, p0: &Tensor<P>, g: Tensor<P>) -> Vec<f32> {
        let mut p = p0.clone();
        for _ in 0..2 {
            let mut grads = Gradients::default();
            grads.set(&p, g.clone());
            opt.step(&mut p, &grads);
        }
        p.to_vec()
    }
    let pairs: Vec<(Vec<f32>, Vec<f32>)> = vec![
        (
            two_steps(Adagrad::new(0.1).maximize(true), &p0, g0.clone()),
            two_steps(Adagrad::new(0.1), &p0, g0.clone().neg()),
        ),
        (
            two_steps(Adadelta::new(1.0).maximize(true), &p0, g0.clone()),
            two_steps(Adadelta::new(1.0), &p0, g0.clone().neg()),
        ),
        (
            two_steps(Adamax::new(0.01).maximize(true), &p0, g0.clone()),
            two_steps(Adamax::new(0.01), &p0, g0.clone().neg()),
        ),
        (
            two_steps(NAdam::new(0.01).maximize(true), &p0, g0.clone()),
            two_steps(NAdam::new(0.01), &p0, g0.clone().neg()),
        ),
        (
            two_steps(RAdam::new(0.01).maximize(true), &p0, g0.clone()),
            two_steps(RAdam::new(0.01), &p0, g0.clone().neg()),
        ),
    ];
    for (i, (a, b)) in pairs.iter().enumerate() {
        assert_eq!(a, b, "optimizer {i}");
        assert_ne!(a, &p0.to_vec(), "optimizer {i} did not move");
    }
}

// ---- L-BFGS ----

/// `f(p) = 0.5 ||A p - b||^2 + 0.05 sum(p^4)`, the closure of the golden cases, traced.
fn objective<E: shaped::dtype::Float>(
    p: &Tensor<Rank1<4>, E>,
    a: &Tensor<Rank2<6, 4>, E>,
    b: &Tensor<Rank1<6>, E>,
) -> Tensor<(), E, OwnedTape<E>> {
    let p = p.clone().trace();
    let r = a.clone().matmul(p.clone()) - b.clone();
    let fit = r.square().sum().mul_scalar(E::from_f64(0.5));
    let quartic = p.square().square().sum().mul_scalar(E::from_f64(0.05));
    fit + quartic
}

fn lbfgs_from(g: &Golden) -> Lbfgs<f64> {
    let mut opt = Lbfgs::new(g.hp("lr"))
        .max_iter(g.hp("max_iter") as usize)
        .history_size(g.hp("history_size") as usize)
        .tolerance_grad(g.hp("tolerance_grad"))
        .tolerance_change(g.hp("tolerance_change"));
    match g.hp_str("line_search_fn").as_str() {
        "null" => {}
        "\"strong_wolfe\"" => opt = opt.line_search(LineSearch::StrongWolfe),
        other => panic!("unexpected line_search_fn {other}"),
    }
    opt
}

/// Converts the f64 optimizer's settings to another element type.
fn lbfgs_as<E: shaped::dtype::Float>(o: &Lbfgs<f64>) -> Lbfgs<E> {
    let mut opt = Lbfgs::<E>::new(o.lr)
        .max_iter(o.max_iter)
        .history_size(o.history_size)
        .tolerance_grad(o.tolerance_grad)
        .tolerance_change(o.tolerance_change);
    opt.line_search = o.line_search;
    opt
}

fn lbfgs_case<E: shaped::dtype::Float>(case: &str) {
    let g = Golden::load(case);
    let conv = |v: Vec<f32>| {
        v.into_iter()
            .map(|x| E::from_f64(x as f64))
            .collect::<Vec<E>>()
    };
    let a = Tensor::<Rank2<6, 4>, E>::from_vec(conv(g.f("A"))).unwrap();
    let b = Tensor::<Rank1<6>, E>::from_vec(conv(g.f("b"))).unwrap();
    let mut p = Tensor::<Rank1<4>, E>::from_vec(conv(g.f("p0"))).unwrap();
    let mut opt = lbfgs_as::<E>(&lbfgs_from(&g));
    let to_f32 = |v: &[E]| v.iter().map(|x| x.to_f64() as f32).collect::<Vec<f32>>();
    for k in 0..g.hp("steps") as usize {
        let loss = opt.step(&mut p, |p| objective(p, &a, &b));
        g.check_forward(&format!("loss.{k}"), &[loss as f32]);
        g.check_forward(&format!("p.{}", k + 1), &to_f32(p.as_slice()));
    }
    assert!(opt.evaluations() >= opt.iterations());
}

#[test]
fn optim_lbfgs_f64() {
    lbfgs_case::<f64>("optim_lbfgs");
}

#[test]
fn optim_lbfgs_f32() {
    lbfgs_case::<f32>("optim_lbfgs");
}

#[test]
fn optim_lbfgs_strong_wolfe_f64() {
    lbfgs_case::<f64>("optim_lbfgs_strong_wolfe");
}

#[test]
fn optim_lbfgs_strong_wolfe_f32() {
    lbfgs_case::<f32>("optim_lbfgs_strong_wolfe");
}

/// L-BFGS on a model (not a bare tensor), the closure returning a `(loss, gradients)` pair:
/// a least-squares fit converges to the exact solution.
#[test]
fn lbfgs_fits_a_linear_model() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let model = Linear::<3, 2, f64>::new(&mut rng);
    let x = Tensor::<Rank2<8, 3>, f64>::randn(&mut rng);
    let w = Tensor::<Rank2<3, 2>, f64>::from_array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]]);
    let y = x.clone().matmul(w).add_scalar(0.25);
    for search in [None, Some(LineSearch::StrongWolfe)] {
        let mut m = model.clone();
        let mut opt = Lbfgs::new(if search.is_some() { 1.0 } else { 0.5 });
        opt.line_search = search;
        let mut last = f64::INFINITY;
        for _ in 0..10 {
            last = opt.step(&mut m, |m: &mut Linear<3, 2, f64>| {
                let loss = shaped::nn::loss::mse_loss(
                    m.forward_train(x.clone().trace_constant()),
                    y.clone(),
                );
                let value = loss.as_slice()[0];
                (value, loss.backward())
            });
        }
        assert!(last < 1e-8, "{search:?}: loss {last}");
        check_close(
            "bias",
            &m.bias
                .as_ref()
                .unwrap()
                .as_slice()
                .iter()
                .map(|&v| v as f32)
                .collect::<Vec<_>>(),
            &[0.25, 0.25],
            1e-4,
            0.0,
        );
    }
}

#[test]
fn lbfgs_closure_errors_are_returned_and_leave_the_parameters() {
    let mut p = Tensor::<Rank1<2>, f64>::ones();
    let mut opt = Lbfgs::new(1.0).line_search(LineSearch::StrongWolfe);
    let mut calls = 0;
    let err = opt
        .try_step(&mut p, |p| {
            calls += 1;
            if calls == 2 {
                return Err(shaped::error::Error::Format {
                    what: "closure".into(),
                    message: "data ran out".into(),
                });
            }
            Ok(p.clone().trace().square().sum())
        })
        .unwrap_err();
    assert!(err.to_string().contains("data ran out"), "{err}");
    // The failing call was a line-search trial: the parameters are back where it started.
    assert_eq!(p.to_vec(), vec![1.0, 1.0]);
}

// ---- checkpoints ----

/// Two steps, a checkpoint through bytes, then the same third step from the original and
/// from a fresh optimizer restored from the checkpoint.
fn resumes_identically<O: Optimizer<f32> + Clone>(fresh: O) {
    let mut p = Tensor::<P>::from_vec((0..12).map(|i| i as f32 * 0.1 - 0.5).collect()).unwrap();
    let grad = |k: usize| {
        Tensor::<P>::from_vec(
            (0..12)
                .map(|i| ((i * 7 + k * 3) % 5) as f32 * 0.2 - 0.4)
                .collect(),
        )
        .unwrap()
    };
    let mut opt = fresh.clone();
    for k in 0..2 {
        let mut grads = Gradients::default();
        grads.set(&p, grad(k));
        opt.step(&mut p, &grads);
    }
    let bytes = Checkpoint::new(&p).with_optimizer(&opt).to_bytes().unwrap();
    let ckpt = Checkpoint::<f32>::from_bytes(&bytes).unwrap();
    let mut p2 = Tensor::<P>::zeros();
    ckpt.restore_model(&mut p2).unwrap();
    let mut resumed = fresh;
    ckpt.restore_optimizer(&mut resumed).unwrap();
    assert_eq!(resumed.state(), opt.state());
    for (q, o) in [(&mut p, &mut opt), (&mut p2, &mut resumed)] {
        let mut grads = Gradients::default();
        grads.set(q, grad(2));
        o.step(q, &grads);
    }
    assert_eq!(p.to_vec(), p2.to_vec());
    // A state from another kind of optimizer is refused.
    let sgd = Sgd::<f32>::new(0.1).momentum(0.9);
    let mut other = sgd.clone();
    let mut grads = Gradients::default();
    grads.set(&p, grad(0));
    other.step(&mut p, &grads);
    let mut o = opt.clone();
    assert!(o.load_state(other.state()).is_err());
}

#[test]
fn checkpoints_resume_adagrad() {
    resumes_identically(
        Adagrad::new(0.1)
            .lr_decay(0.01)
            .initial_accumulator_value(0.1),
    );
}

#[test]
fn checkpoints_resume_adadelta() {
    resumes_identically(Adadelta::new(1.0));
}

#[test]
fn checkpoints_resume_adamax() {
    resumes_identically(Adamax::new(0.01));
}

#[test]
fn checkpoints_resume_nadam() {
    resumes_identically(NAdam::new(0.01).weight_decay(0.01));
}

#[test]
fn checkpoints_resume_radam() {
    // Six steps pass RAdam's rectification threshold (rho_t > 5); check both sides.
    resumes_identically(RAdam::new(0.01));
    let mut opt = RAdam::<f32>::new(0.01);
    let mut p = Tensor::<P>::ones();
    for _ in 0..7 {
        let mut grads = Gradients::default();
        grads.set(&p, Tensor::ones());
        opt.step(&mut p, &grads);
    }
    let mut resumed = RAdam::<f32>::new(0.01);
    resumed.load_state(opt.state()).unwrap();
    let mut q = p.clone();
    let mut grads = Gradients::default();
    grads.set(&p, Tensor::ones());
    opt.step(&mut p, &grads);
    let mut grads = Gradients::default();
    grads.set(&q, Tensor::ones());
    resumed.step(&mut q, &grads);
    assert_eq!(p.to_vec(), q.to_vec());
}

/// L-BFGS keeps its state outside the `Optimizer` trait (it steps through a closure); it
/// travels in a checkpoint's `optimizer` field, and a resumed run takes the same steps.
#[test]
fn checkpoints_resume_lbfgs() {
    let g = Golden::load("optim_lbfgs_strong_wolfe");
    let a = Tensor::<Rank2<6, 4>, f64>::from_vec(g.f64("A")).unwrap();
    let b = Tensor::<Rank1<6>, f64>::from_vec(g.f64("b")).unwrap();
    let mut p = Tensor::<Rank1<4>, f64>::from_vec(g.f64("p0")).unwrap();
    let mut opt = lbfgs_from(&g);
    opt.step(&mut p, |p| objective(p, &a, &b));
    let mut ckpt = Checkpoint::new(&p);
    ckpt.optimizer = opt.state();
    ckpt.lr = Some(opt.lr);
    let ckpt = Checkpoint::<f64>::from_bytes(&ckpt.to_bytes().unwrap()).unwrap();
    let mut p2 = Tensor::<Rank1<4>, f64>::zeros();
    ckpt.restore_model(&mut p2).unwrap();
    let mut resumed = lbfgs_from(&g);
    resumed.load_state(ckpt.optimizer.clone()).unwrap();
    assert_eq!(resumed.state(), opt.state());
    for _ in 0..2 {
        let l1 = opt.step(&mut p, |p| objective(p, &a, &b));
        let l2 = resumed.step(&mut p2, |p| objective(p, &a, &b));
        assert_eq!(l1, l2);
        assert_eq!(p.to_vec(), p2.to_vec());
    }
    // State for another number of parameters is refused by the step, not used.
    let mut q = Tensor::<Rank1<3>, f64>::ones();
    let err = resumed
        .try_step(&mut q, |q| Ok(q.clone().trace().square().sum()))
        .unwrap_err();
    assert!(err.to_string().contains("4 values"), "{err}");
    assert!(
        resumed
            .load_state(vec![("bogus".into(), vec![1.0])])
            .is_err()
    );
}

/// Maximizing `-f` takes the same steps as minimizing `f`, and the step returns the
/// closure's own (negative) value.
#[test]
fn lbfgs_maximize_mirrors_minimize() {
    let g = Golden::load("optim_lbfgs_strong_wolfe");
    let a = Tensor::<Rank2<6, 4>, f64>::from_vec(g.f64("A")).unwrap();
    let b = Tensor::<Rank1<6>, f64>::from_vec(g.f64("b")).unwrap();
    let mut p = Tensor::<Rank1<4>, f64>::from_vec(g.f64("p0")).unwrap();
    let mut q = p.clone();
    let mut min = lbfgs_from(&g);
    let mut max = lbfgs_from(&g).maximize(true);
    for _ in 0..3 {
        let lp = min.step(&mut p, |p| objective(p, &a, &b));
        let lq = max.step(&mut q, |q| objective(q, &a, &b).neg());
        assert_eq!(lp, -lq);
        assert_eq!(p.to_vec(), q.to_vec());
    }
}
