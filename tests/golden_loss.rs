//! PyTorch reference values for the losses (tests/golden/loss_*): the loss value `y` and
//! its gradient with respect to the prediction `x`.

mod common;
use common::Golden;
use shaped::nn::loss::*;
use shaped::prelude::*;
use shaped::shape::Prod;

type P = Rank2<4, 5>;
type L = Rank2<5, 4>;

/// Loads `x` and `target` (shape `S`), runs `f` on the traced `x`, checks `y` and `grad.x`.
fn pair_case<S: ConstShape>(
    case: &str,
    f: impl Fn(&Golden, Tensor<S, f32, OwnedTape<f32>>, Tensor<S>) -> Tensor<(), f32, OwnedTape<f32>>,
) {
    let g = Golden::load(case);
    let x = Tensor::<S>::from_vec(g.f("x")).unwrap();
    let target = Tensor::<S>::from_vec(g.f("target")).unwrap();
    let y = f(&g, x.clone().trace(), target);
    g.check_forward("y", y.as_slice());
    let grads = y.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

/// Loads logits `x` (5, 4) and `labels`, runs `f`, checks `y` and `grad.x`.
fn label_case(
    case: &str,
    f: impl Fn(
        &Golden,
        Tensor<L, f32, OwnedTape<f32>>,
        &Indices<Rank1<5>>,
    ) -> Tensor<(), f32, OwnedTape<f32>>,
) {
    let g = Golden::load(case);
    let x = Tensor::<L>::from_vec(g.f("x")).unwrap();
    let labels = Indices::<Rank1<5>>::from_vec(g.idx("labels")).unwrap();
    let y = f(&g, x.clone().trace(), &labels);
    g.check_forward("y", y.as_slice());
    let grads = y.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn loss_mse_mean() {
    pair_case::<P>("loss_mse_mean", |_, x, t| mse_loss(x, t));
}

#[test]
fn loss_mse_sum() {
    pair_case::<P>("loss_mse_sum", |_, x, t| {
        MSELoss::new().reduction(Reduction::Sum).forward(x, t)
    });
}

#[test]
fn loss_l1() {
    pair_case::<P>("loss_l1", |_, x, t| l1_loss(x, t));
}

#[test]
fn loss_smooth_l1() {
    pair_case::<P>("loss_smooth_l1", |g, x, t| {
        smooth_l1_loss(x, t, g.hp("beta"))
    });
}

#[test]
fn loss_huber() {
    pair_case::<P>("loss_huber", |g, x, t| huber_loss(x, t, g.hp("delta")));
}

#[test]
fn loss_bce() {
    pair_case::<P>("loss_bce", |_, x, t| binary_cross_entropy(x, t));
}

#[test]
fn loss_bce_with_logits() {
    pair_case::<P>("loss_bce_with_logits", |_, x, t| {
        binary_cross_entropy_with_logits(x, t)
    });
}

#[test]
fn loss_ce_mean() {
    label_case("loss_ce_mean", |g, x, labels| {
        assert_eq!(g.hp("label_smoothing"), 0.0);
        cross_entropy(x, labels)
    });
}

#[test]
fn loss_ce_sum() {
    label_case("loss_ce_sum", |_, x, labels| {
        CrossEntropyLoss::new()
            .reduction(Reduction::Sum)
            .forward(x, labels)
    });
}

#[test]
fn loss_ce_label_smoothing() {
    label_case("loss_ce_label_smoothing", |g, x, labels| {
        CrossEntropyLoss::new()
            .label_smoothing(g.hp("label_smoothing"))
            .forward(x, labels)
    });
}

#[test]
fn loss_ce_prob_targets() {
    pair_case::<L>("loss_ce_prob_targets", |_, x, t| cross_entropy_probs(x, t));
}

#[test]
fn loss_nll() {
    label_case("loss_nll", |_, x, labels| nll_loss(x, labels));
}

/// The stability cases hold logits near ±100 (CE) and ±50 (BCE with logits): every value
/// and gradient must be finite.
#[test]
fn stable_losses_stay_finite() {
    for case in [
        "loss_ce_mean",
        "loss_ce_sum",
        "loss_ce_label_smoothing",
        "loss_ce_prob_targets",
        "loss_bce_with_logits",
    ] {
        let g = Golden::load(case);
        assert!(
            g.f("x").iter().any(|v| v.abs() >= 50.0),
            "{case}: expected large logits"
        );
    }
    let g = Golden::load("loss_ce_mean");
    let x = Tensor::<L>::from_vec(g.f("x")).unwrap();
    let labels = Indices::<Rank1<5>>::from_vec(g.idx("labels")).unwrap();
    let per_sample = CrossEntropyLoss::new()
        .reduction(Reduction::None)
        .forward(x.clone().trace(), &labels);
    assert!(per_sample.as_slice().iter().all(|v| v.is_finite()));
    let grads = per_sample.sum().backward();
    assert!(grads.get_slice(&x).unwrap().iter().all(|v| v.is_finite()));
}

/// Reduction::None keeps one loss per element; its mean and sum are the other reductions.
#[test]
fn reductions_agree() {
    let g = Golden::load("loss_smooth_l1");
    let x = Tensor::<P>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<P>::from_vec(g.f("target")).unwrap();
    let none: Tensor<P> = SmoothL1Loss::new()
        .beta(1.0)
        .reduction(Reduction::None)
        .forward(x.clone(), t.clone());
    let sum: f32 = none.as_slice().iter().sum();
    let total = SmoothL1Loss::new()
        .beta(1.0)
        .reduction(Reduction::Sum)
        .forward(x.clone(), t.clone())
        .as_slice()[0];
    assert!((sum - total).abs() < 1e-5);
    let mean = smooth_l1_loss(x, t, 1.0).as_slice()[0];
    assert!((sum / 20.0 - mean).abs() < 1e-6);
}

#[test]
#[should_panic(
    expected = "cross_entropy labels: label 4 at position 2 is out of range for 4 classes"
)]
fn cross_entropy_panics_on_out_of_range_label() {
    let labels = Indices::<Rank1<5>>::from_array([0, 1, 4, 2, 3]);
    let _ = cross_entropy(Tensor::<L>::zeros(), &labels);
}

#[test]
fn try_cross_entropy_errs_on_out_of_range_label() {
    let labels = Indices::<Rank1<5>>::from_array([0, 1, 9, 2, 3]);
    let err = CrossEntropyLoss::new()
        .try_forward(Tensor::<L>::zeros(), &labels)
        .unwrap_err();
    assert!(matches!(err, Error::Value { .. }), "{err}");
    assert!(err.to_string().contains("label 9 at position 2"), "{err}");
    let err = NLLLoss::new()
        .reduction(Reduction::Sum)
        .try_forward(Tensor::<L>::zeros(), &labels)
        .unwrap_err();
    assert!(
        err.to_string().contains("nll_loss labels: label 9"),
        "{err}"
    );
}

#[test]
fn run_time_sizes_are_checked() {
    // A static batch of logits with labels whose count is only known at run time.
    let labels = Indices::<(usize,)>::from_vec_with_shape(vec![0, 1, 2], (3,)).unwrap();
    let err = CrossEntropyLoss::new()
        .try_forward(Tensor::<L>::zeros(), &labels)
        .unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    let labels = Indices::<(usize,)>::from_vec_with_shape(vec![0, 1, 2, 3, 0], (5,)).unwrap();
    assert!(
        CrossEntropyLoss::new()
            .try_forward(Tensor::<L>::zeros(), &labels)
            .is_ok()
    );

    let a = Tensor::<(usize, Const<5>)>::zeros_with_shape((4, Const));
    let b = Tensor::<(usize, Const<5>)>::zeros_with_shape((3, Const));
    let err = MSELoss::new().try_forward(a, b).unwrap_err();
    assert!(
        err.to_string()
            .contains("prediction of shape [4, 5] and target of shape [3, 5] differ"),
        "{err}"
    );
}

#[test]
fn invalid_hyperparameters_are_errors() {
    let p = Tensor::<P>::zeros();
    assert!(
        SmoothL1Loss::new()
            .beta(f64::NAN)
            .try_forward(p.clone(), p.clone())
            .is_err()
    );
    assert!(
        HuberLoss::new()
            .delta(-1.0)
            .try_forward(p.clone(), p.clone())
            .is_err()
    );
    let labels = Indices::<Rank1<5>>::from_array([0; 5]);
    assert!(
        CrossEntropyLoss::new()
            .label_smoothing(1.5)
            .try_forward(Tensor::<L>::zeros(), &labels)
            .is_err()
    );
    let bad = Tensor::<P>::full(-0.1);
    assert!(BCELoss::new().try_forward(bad, p).is_err());
}

/// BCE at the ends of [0, 1]: the log clamp keeps the value finite (100 per element) and
/// PyTorch's gradient formula keeps the gradient finite.
#[test]
fn bce_clamps_at_the_ends() {
    let p = Tensor::<Rank1<2>>::from_array([0.0, 1.0]);
    let t = Tensor::<Rank1<2>>::from_array([1.0, 0.0]);
    let y = BCELoss::new()
        .reduction(Reduction::None)
        .forward(p.clone().trace(), t);
    assert_eq!(y.as_slice(), &[100.0, 100.0]);
    let grads = y.sum().backward();
    assert!(grads.get_slice(&p).unwrap().iter().all(|g| g.is_finite()));
}

// Predictions whose shape is computed, as a model's output is after a conv stack and a
// `Flatten`: `(usize, Prod<Const<1>, Const<5>>)` with a run-time batch, against a target
// typed `(usize, Const<5>)`. A computed prediction dimension accepts any target dimension of
// its size (`LossTarget`), so no `realize` is needed; the sizes are compared when the code is
// built. The numbers are the same goldens as above.

/// A computed prediction of `M` features and a run-time batch.
type ComputedPred<const M: usize> = (usize, Prod<Const<1>, Const<M>>);

/// Loads `x` as `(N, 1, M)`, flattens it into a computed `(usize, Prod<1, M>)`, runs `f` with
/// the target as `(usize, Const<M>)`, checks `y` and `grad.x`.
fn computed_pair_case<const N: usize, const M: usize>(
    case: &str,
    f: impl Fn(
        &Golden,
        Tensor<ComputedPred<M>, f32, OwnedTape<f32>>,
        Tensor<(usize, Const<M>)>,
    ) -> Tensor<(), f32, OwnedTape<f32>>,
) {
    let g = Golden::load(case);
    let x = Tensor::<Rank3<N, 1, M>>::from_vec(g.f("x")).unwrap();
    let pred = x
        .clone()
        .trace()
        .try_realize::<(usize, Const<1>, Const<M>)>()
        .unwrap()
        .flatten();
    let target = Tensor::<Rank2<N, M>>::from_vec(g.f("target"))
        .unwrap()
        .try_realize::<(usize, Const<M>)>()
        .unwrap();
    let y = f(&g, pred, target);
    g.check_forward("y", y.as_slice());
    let grads = y.backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn computed_predictions_meet_static_targets() {
    computed_pair_case::<4, 5>("loss_mse_mean", |_, x, t| mse_loss(x, t));
    computed_pair_case::<4, 5>("loss_mse_sum", |_, x, t| {
        MSELoss::new().reduction(Reduction::Sum).forward(x, t)
    });
    computed_pair_case::<4, 5>("loss_l1", |_, x, t| l1_loss(x, t));
    computed_pair_case::<4, 5>("loss_smooth_l1", |g, x, t| {
        smooth_l1_loss(x, t, g.hp("beta"))
    });
    computed_pair_case::<4, 5>("loss_huber", |g, x, t| huber_loss(x, t, g.hp("delta")));
    computed_pair_case::<4, 5>("loss_bce", |_, x, t| binary_cross_entropy(x, t));
    computed_pair_case::<4, 5>("loss_bce_with_logits", |_, x, t| {
        binary_cross_entropy_with_logits(x, t)
    });
    computed_pair_case::<5, 4>("loss_ce_prob_targets", |_, x, t| cross_entropy_probs(x, t));
    computed_pair_case::<4, 5>("loss_kl_div", |_, x, t| kl_div(x, t, Reduction::BatchMean));
    // `realize` first still works, with the shape written out.
    computed_pair_case::<4, 5>("loss_mse_mean", |_, x, t| {
        mse_loss(x.realize::<(usize, Const<5>)>(), t)
    });
}

/// Class losses take any class dimension: computed logits need no `realize`.
#[test]
fn computed_logits_with_labels() {
    for case in ["loss_ce_mean", "loss_nll"] {
        let g = Golden::load(case);
        let x = Tensor::<Rank3<5, 1, 4>>::from_vec(g.f("x")).unwrap();
        let logits = x
            .clone()
            .trace()
            .try_realize::<(usize, Const<1>, Const<4>)>()
            .unwrap()
            .flatten();
        let labels = Indices::<Rank1<5>>::from_vec(g.idx("labels")).unwrap();
        let y = if case == "loss_nll" {
            nll_loss(logits, &labels)
        } else {
            assert_eq!(g.hp("label_smoothing"), 0.0);
            cross_entropy(logits, &labels)
        };
        g.check_forward("y", y.as_slice());
        g.check_grad("x", y.backward().get_slice(&x).unwrap());
    }
}

/// A conv decoder's output (`ConvOut` spatial dims) against the image it reconstructs, typed
/// with `Const`s: the same loss and gradients as through `realize`, and a run-time batch that
/// differs is an `Err` naming both shapes.
#[test]
fn conv_output_meets_image_target() {
    use shaped::nn::{Conv2d, Module};
    use shaped::rand::SeedableRng;
    type Image = (usize, Const<1>, Const<6>, Const<6>);
    let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(3);
    let conv = Conv2d::<2, 1, 3, 1, 1>::new(&mut rng);
    let x = Tensor::<(usize, Const<2>, Const<6>, Const<6>)>::randn_with_shape(
        (3, Const, Const, Const),
        &mut rng,
    );
    let target = Tensor::<Image>::randn_with_shape((3, Const, Const, Const), &mut rng);
    let direct = mse_loss(conv.forward(x.clone().trace()), target.clone());
    let through = mse_loss(
        conv.forward(x.clone().trace()).realize::<Image>(),
        target.clone(),
    );
    assert_eq!(direct.to_vec(), through.to_vec());
    let (gd, gt) = (direct.backward(), through.backward());
    assert_eq!(
        gd.get_slice(&conv.weight).unwrap(),
        gt.get_slice(&conv.weight).unwrap()
    );
    for (loss, want) in [
        (
            l1_loss(conv.forward(x.clone()), target.clone()),
            l1_loss(conv.forward(x.clone()).realize::<Image>(), target.clone()),
        ),
        (
            huber_loss(conv.forward(x.clone()), target.clone(), 0.5),
            huber_loss(
                conv.forward(x.clone()).realize::<Image>(),
                target.clone(),
                0.5,
            ),
        ),
    ] {
        assert_eq!(loss.to_vec(), want.to_vec());
    }
    let short = Tensor::<Image>::zeros_with_shape((2, Const, Const, Const));
    let err = MSELoss::new()
        .try_forward(conv.forward(x), short)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("mse_loss") && err.contains("[3, 1, 6, 6]") && err.contains("[2, 1, 6, 6]"),
        "{err}"
    );
}
