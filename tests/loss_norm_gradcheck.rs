//! f64 finite-difference checks of every loss and of the BatchNorm, LayerNorm, Embedding and
//! Dropout layers, with respect to every differentiable input; and checks that the fused
//! normalisation primitives agree with their composition from primitive ops.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::gradcheck::{
    GradcheckOptions, Traced, gradcheck, gradcheck_vjp, gradcheck2, gradcheck2_vjp,
};
use shaped::nn::loss::*;
use shaped::nn::*;
use shaped::prelude::*;

type T64<S> = Tensor<S, f64>;

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Uniform values in `[lo, hi)` that stay at least `gap` away from every point in `kinks`.
fn away<S: ConstShape>(lo: f64, hi: f64, kinks: &[f64], gap: f64, seed: u64) -> T64<S> {
    let mut x = T64::<S>::uniform(lo, hi, &mut rng(seed));
    for v in x.as_mut_slice() {
        while kinks.iter().any(|k| (*v - k).abs() < gap) {
            *v += 2.0 * gap;
        }
    }
    x
}

type P = Rank2<3, 4>;

/// A prediction and a target whose differences avoid `kinks` (and their negatives).
fn pair(kinks: &[f64], seed: u64) -> (T64<P>, T64<P>) {
    let t = T64::<P>::uniform(-2.0, 2.0, &mut rng(seed));
    let mut kinks: Vec<f64> = kinks.iter().flat_map(|&k| [k, -k]).collect();
    kinks.push(0.0);
    let d = away::<P>(-3.0, 3.0, &kinks, 0.05, seed + 1);
    let p = T64::<P>::from_vec(
        t.as_slice()
            .iter()
            .zip(d.as_slice())
            .map(|(t, d)| t + d)
            .collect(),
    )
    .unwrap();
    (p, t)
}

#[test]
fn mse_gradcheck() {
    let (p, t) = pair(&[], 1);
    gradcheck2(&p, &t, mse_loss, opts()).unwrap();
    gradcheck2(
        &p,
        &t,
        |p, t| MSELoss::new().reduction(Reduction::Sum).forward(p, t),
        opts(),
    )
    .unwrap();
    gradcheck2_vjp(
        &p,
        &t,
        |p, t| MSELoss::new().reduction(Reduction::None).forward(p, t),
        opts(),
    )
    .unwrap();
}

#[test]
fn l1_gradcheck() {
    let (p, t) = pair(&[], 2);
    gradcheck2(&p, &t, l1_loss, opts()).unwrap();
    gradcheck2_vjp(
        &p,
        &t,
        |p, t| L1Loss::new().reduction(Reduction::None).forward(p, t),
        opts(),
    )
    .unwrap();
}

#[test]
fn smooth_l1_gradcheck() {
    for beta in [0.5, 1.0, 2.0] {
        let (p, t) = pair(&[beta], 3);
        gradcheck2(&p, &t, |p, t| smooth_l1_loss(p, t, beta), opts()).unwrap();
        gradcheck2_vjp(
            &p,
            &t,
            |p, t| {
                SmoothL1Loss::new()
                    .beta(beta)
                    .reduction(Reduction::None)
                    .forward(p, t)
            },
            opts(),
        )
        .unwrap();
    }
    // beta = 0 is the L1 loss.
    let (p, t) = pair(&[], 4);
    gradcheck(&p, |p| smooth_l1_loss(p, t.clone(), 0.0), opts()).unwrap();
    let (a, b) = (smooth_l1_loss(p.clone(), t.clone(), 0.0), l1_loss(p, t));
    assert_eq!(a.as_slice(), b.as_slice());
}

#[test]
fn huber_gradcheck() {
    for delta in [0.5, 1.0, 2.0] {
        let (p, t) = pair(&[delta], 5);
        gradcheck2(&p, &t, |p, t| huber_loss(p, t, delta), opts()).unwrap();
        gradcheck2(
            &p,
            &t,
            |p, t| {
                HuberLoss::new()
                    .delta(delta)
                    .reduction(Reduction::Sum)
                    .forward(p, t)
            },
            opts(),
        )
        .unwrap();
    }
}

#[test]
fn bce_gradcheck() {
    let p = T64::<P>::uniform(0.05, 0.95, &mut rng(6));
    let t = T64::<P>::rand(&mut rng(7));
    gradcheck2(&p, &t, binary_cross_entropy, opts()).unwrap();
    gradcheck2_vjp(
        &p,
        &t,
        |p, t| BCELoss::new().reduction(Reduction::None).forward(p, t),
        opts(),
    )
    .unwrap();
}

#[test]
fn bce_with_logits_gradcheck() {
    let x = away::<P>(-4.0, 4.0, &[], 0.0, 8);
    let t = T64::<P>::rand(&mut rng(9));
    gradcheck2(&x, &t, binary_cross_entropy_with_logits, opts()).unwrap();
    // Large logits: the gradient is sigmoid(x) - t, and finite differences agree.
    let big = T64::<Rank1<4>>::from_array([-50.0, -30.0, 30.0, 50.0]);
    let tb = T64::<Rank1<4>>::from_array([1.0, 0.0, 1.0, 0.0]);
    gradcheck(
        &big,
        |x| {
            BCEWithLogitsLoss::new()
                .reduction(Reduction::Sum)
                .forward(x, tb.clone())
        },
        opts(),
    )
    .unwrap();
    // It equals BCE of sigmoid(x) where sigmoid does not saturate.
    let a = binary_cross_entropy_with_logits(x.clone(), t.clone());
    let b = binary_cross_entropy(x.sigmoid(), t);
    assert!((a.as_slice()[0] - b.as_slice()[0]).abs() < 1e-12);
}

/// Labels in {1, -1}, with a few 0.5 (which PyTorch's hinge embedding loss takes too) when
/// `others`.
fn labels_pm<S: ConstShape>(seed: u64, others: bool) -> T64<S> {
    let mut t = T64::<S>::rand(&mut rng(seed));
    for (i, v) in t.as_mut_slice().iter_mut().enumerate() {
        *v = if others && i % 7 == 3 {
            0.5
        } else if *v < 0.5 {
            -1.0
        } else {
            1.0
        };
    }
    t
}

#[test]
fn hinge_embedding_gradcheck() {
    for (margin, seed) in [(1.0, 40), (2.0, 41), (0.3, 42)] {
        let x = away::<P>(-1.0, 3.0, &[margin], 0.05, seed);
        let t = labels_pm::<P>(seed + 100, true);
        gradcheck(&x, |x| hinge_embedding_loss(x, t.clone(), margin), opts()).unwrap();
        gradcheck_vjp(
            &x,
            |x| {
                HingeEmbeddingLoss::new()
                    .margin(margin)
                    .reduction(Reduction::None)
                    .forward(x, t.clone())
            },
            opts(),
        )
        .unwrap();
    }
}

#[test]
fn soft_margin_gradcheck() {
    let x = T64::<P>::uniform(-4.0, 4.0, &mut rng(43));
    let t = labels_pm::<P>(44, true);
    // The target's derivative too (-x sigmoid(-x y); PyTorch takes none).
    gradcheck2(&x, &t, soft_margin_loss, opts()).unwrap();
    gradcheck2_vjp(
        &x,
        &t,
        |x, t| {
            SoftMarginLoss::new()
                .reduction(Reduction::None)
                .forward(x, t)
        },
        opts(),
    )
    .unwrap();
    // Large scores: finite differences agree with -y sigmoid(-y x).
    let big = T64::<Rank1<4>>::from_array([-50.0, -30.0, 30.0, 50.0]);
    let tb = T64::<Rank1<4>>::from_array([1.0, -1.0, -1.0, 1.0]);
    gradcheck(
        &big,
        |x| {
            SoftMarginLoss::new()
                .reduction(Reduction::Sum)
                .forward(x, tb.clone())
        },
        opts(),
    )
    .unwrap();
}

#[test]
fn multilabel_soft_margin_gradcheck() {
    let x = T64::<P>::uniform(-4.0, 4.0, &mut rng(45));
    let t = T64::<P>::rand(&mut rng(46));
    gradcheck2(&x, &t, multilabel_soft_margin_loss, opts()).unwrap();
    let w = T64::<Rank1<4>>::uniform(0.2, 2.0, &mut rng(47));
    gradcheck2_vjp(
        &x,
        &t,
        |x, t| {
            MultiLabelSoftMarginLoss::new()
                .weight(w.clone())
                .reduction(Reduction::None)
                .forward(x, t)
        },
        opts(),
    )
    .unwrap();
    let x1 = T64::<Rank1<5>>::uniform(-3.0, 3.0, &mut rng(48));
    let t1 = T64::<Rank1<5>>::rand(&mut rng(49));
    gradcheck2(
        &x1,
        &t1,
        |x, t| {
            MultiLabelSoftMarginLoss::new()
                .reduction(Reduction::Sum)
                .forward(x, t)
        },
        opts(),
    )
    .unwrap();
}

#[test]
fn margin_ranking_gradcheck() {
    for (margin, seed) in [(0.0, 50), (0.5, 53)] {
        let y = labels_pm::<P>(seed, false);
        let b = T64::<P>::uniform(-2.0, 2.0, &mut rng(seed + 1));
        // Differences x1 - x2 away from the kink at y (x1 - x2) = margin.
        let d = away::<P>(-3.0, 3.0, &[margin, -margin], 0.05, seed + 2);
        let a = b.clone().add(d);
        gradcheck2(
            &a,
            &b,
            |a, b| margin_ranking_loss(a, b, y.clone(), margin),
            opts(),
        )
        .unwrap();
        gradcheck2_vjp(
            &a,
            &y,
            |a, y| {
                MarginRankingLoss::new()
                    .margin(margin)
                    .reduction(Reduction::None)
                    .forward(a, b.clone(), y)
            },
            opts(),
        )
        .unwrap();
    }
}

#[test]
fn poisson_nll_gradcheck() {
    let x = T64::<P>::uniform(-2.0, 2.0, &mut rng(54));
    let counts = T64::<P>::uniform(0.0, 6.0, &mut rng(55));
    gradcheck2(&x, &counts, poisson_nll_loss, opts()).unwrap();
    // Rates, with eps and the Stirling term (targets away from its step at 1).
    let rate = T64::<P>::uniform(0.2, 4.0, &mut rng(56));
    let t = away::<P>(0.0, 6.0, &[1.0], 0.05, 57);
    for (log_input, full) in [(false, false), (false, true), (true, true)] {
        let loss = PoissonNLLLoss::new()
            .log_input(log_input)
            .full(full)
            .eps(1e-3);
        let x = if log_input { &x } else { &rate };
        gradcheck2(
            x,
            &t,
            |x, t| loss.reduction(Reduction::Sum).forward(x, t),
            opts(),
        )
        .unwrap();
        gradcheck2_vjp(
            x,
            &t,
            |x, t| loss.reduction(Reduction::None).forward(x, t),
            opts(),
        )
        .unwrap();
    }
}

#[test]
fn gaussian_nll_gradcheck() {
    let x = T64::<P>::uniform(-2.0, 2.0, &mut rng(58));
    let t = T64::<P>::uniform(-2.0, 2.0, &mut rng(59));
    let v = T64::<P>::uniform(0.1, 3.0, &mut rng(60));
    gradcheck2(&x, &v, |x, v| gaussian_nll_loss(x, t.clone(), v), opts()).unwrap();
    gradcheck2(&t, &v, |t, v| gaussian_nll_loss(x.clone(), t, v), opts()).unwrap();
    // One variance per row, broadcast; the constant term.
    let vr = T64::<Rank2<3, 1>>::uniform(0.1, 3.0, &mut rng(61));
    let loss = GaussianNLLLoss::new().full(true);
    gradcheck2_vjp(
        &x,
        &vr,
        |x, v| loss.reduction(Reduction::None).forward(x, t.clone(), v),
        opts(),
    )
    .unwrap();
    gradcheck2(
        &t,
        &vr,
        |t, v| loss.reduction(Reduction::Sum).forward(x.clone(), t, v),
        opts(),
    )
    .unwrap();
}

type L = Rank2<5, 4>;

fn logits(seed: u64) -> T64<L> {
    T64::<L>::normal(0.0, 2.0, &mut rng(seed))
}

fn labels() -> Indices<Rank1<5>> {
    Indices::from_array([0, 3, 1, 3, 2])
}

#[test]
fn cross_entropy_gradcheck() {
    let (x, y) = (logits(10), labels());
    gradcheck(&x, |x| cross_entropy(x, &y), opts()).unwrap();
    gradcheck(
        &x,
        |x| {
            CrossEntropyLoss::new()
                .reduction(Reduction::Sum)
                .forward(x, &y)
        },
        opts(),
    )
    .unwrap();
    gradcheck(
        &x,
        |x| CrossEntropyLoss::new().label_smoothing(0.2).forward(x, &y),
        opts(),
    )
    .unwrap();
    gradcheck_vjp(
        &x,
        |x| {
            CrossEntropyLoss::new()
                .label_smoothing(0.1)
                .reduction(Reduction::None)
                .forward(x, &y)
        },
        opts(),
    )
    .unwrap();
    // Logits of magnitude 100: exact gradient softmax - onehot, finite and checkable.
    let big = T64::<L>::from_vec(x.as_slice().iter().map(|v| 50.0 * v).collect()).unwrap();
    gradcheck(
        &big,
        |x| {
            CrossEntropyLoss::new()
                .label_smoothing(0.1)
                .reduction(Reduction::Sum)
                .forward(x, &y)
        },
        opts(),
    )
    .unwrap();
}

#[test]
fn cross_entropy_probs_gradcheck() {
    let x = logits(11);
    let t = T64::<L>::rand(&mut rng(12)).softmax::<1>();
    gradcheck2(&x, &t, cross_entropy_probs, opts()).unwrap();
    gradcheck2(
        &x,
        &t,
        |x, t| {
            CrossEntropyLoss::new()
                .label_smoothing(0.3)
                .reduction(Reduction::Sum)
                .forward_probs(x, t)
        },
        opts(),
    )
    .unwrap();
    gradcheck2_vjp(
        &x,
        &t,
        |x, t| {
            CrossEntropyLoss::new()
                .reduction(Reduction::None)
                .forward_probs(x, t)
        },
        opts(),
    )
    .unwrap();
}

/// Label smoothing is the same loss whether the target comes as labels or as probabilities.
#[test]
fn cross_entropy_labels_match_probabilities() {
    let (x, y) = (logits(13), labels());
    let onehot = T64::<L>::from_vec(
        (0..20)
            .map(|i| {
                if y.as_slice()[i / 4] == i % 4 {
                    1.0
                } else {
                    0.0
                }
            })
            .collect(),
    )
    .unwrap();
    for eps in [0.0, 0.1, 0.5] {
        let a: T64<Rank1<5>> = CrossEntropyLoss::new()
            .label_smoothing(eps)
            .reduction(Reduction::None)
            .forward(x.clone(), &y);
        let b: T64<Rank1<5>> = CrossEntropyLoss::new()
            .label_smoothing(eps)
            .reduction(Reduction::None)
            .forward_probs(x.clone(), onehot.clone());
        for (a, b) in a.as_slice().iter().zip(b.as_slice()) {
            assert!((a - b).abs() < 1e-12, "eps {eps}: {a} vs {b}");
        }
    }
}

#[test]
fn nll_gradcheck() {
    let (x, y) = (logits(14).log_softmax::<1>(), labels());
    gradcheck(&x, |x| nll_loss(x, &y), opts()).unwrap();
    gradcheck_vjp(
        &x,
        |x| NLLLoss::new().reduction(Reduction::None).forward(x, &y),
        opts(),
    )
    .unwrap();
    // cross_entropy is nll_loss after log_softmax.
    let a = cross_entropy(logits(14), &y);
    let b = nll_loss(x, &y);
    assert!((a.as_slice()[0] - b.as_slice()[0]).abs() < 1e-12);
}

// ---------------------------------------------------------------------------------------
// Layers: every parameter is checked by building the layer inside the checked function
// from the traced tensor's values (gradients are stored under the tensor's id, which the
// layer's parameter keeps).

fn batchnorm<const C: usize, const K: usize>(
    w: T64<Rank1<C>>,
    b: T64<Rank1<C>>,
    seed: u64,
) -> BatchNormLayer<Const<C>, K, f64> {
    let mut bn = BatchNormLayer::<Const<C>, K, f64>::new();
    bn.weight = w;
    bn.bias = b;
    bn.running_mean = T64::normal(0.0, 1.0, &mut rng(seed));
    bn.running_var = T64::uniform(0.5, 2.0, &mut rng(seed + 1));
    bn
}

fn params<const C: usize>(seed: u64) -> (T64<Rank1<C>>, T64<Rank1<C>>) {
    (
        T64::normal(1.0, 0.5, &mut rng(seed)),
        T64::normal(0.0, 0.5, &mut rng(seed + 1)),
    )
}

#[test]
fn batchnorm1d_gradcheck() {
    let x = T64::<Rank2<6, 3>>::normal(0.5, 2.0, &mut rng(20));
    let (w, b) = params::<3>(21);
    for train in [false, true] {
        let run = |x: Traced<Rank2<6, 3>>, w: T64<Rank1<3>>, b: T64<Rank1<3>>| {
            let mut bn: BatchNorm1d<3, f64> = batchnorm(w, b, 22);
            if train {
                bn.forward_train(x)
            } else {
                bn.forward(x)
            }
        };
        gradcheck2_vjp(&x, &w, |x, w| run(x, w.without_tape(), b.clone()), opts()).unwrap();
        gradcheck2_vjp(&x, &b, |x, b| run(x, w.clone(), b.without_tape()), opts()).unwrap();
    }
    // (N, C, L) input.
    let x3 = T64::<Rank3<3, 2, 4>>::normal(0.0, 1.0, &mut rng(23));
    let (w, b) = params::<2>(24);
    gradcheck2_vjp(
        &x3,
        &w,
        |x, w| batchnorm::<2, 1>(w.without_tape(), b.clone(), 25).forward_train(x),
        opts(),
    )
    .unwrap();
    gradcheck2_vjp(
        &x3,
        &b,
        |x, b| batchnorm::<2, 1>(w.clone(), b.without_tape(), 25).forward_train(x),
        opts(),
    )
    .unwrap();
}

#[test]
fn batchnorm2d_gradcheck() {
    let x = T64::<Rank4<2, 3, 2, 3>>::normal(-1.0, 3.0, &mut rng(30));
    let (w, b) = params::<3>(31);
    for train in [false, true] {
        let run = |x: Traced<Rank4<2, 3, 2, 3>>, w: T64<Rank1<3>>, b: T64<Rank1<3>>| {
            let mut bn: BatchNorm2d<3, f64> = batchnorm(w, b, 32);
            if train {
                bn.forward_train(x)
            } else {
                bn.forward(x)
            }
        };
        gradcheck2_vjp(&x, &w, |x, w| run(x, w.without_tape(), b.clone()), opts()).unwrap();
        gradcheck2_vjp(&x, &b, |x, b| run(x, w.clone(), b.without_tape()), opts()).unwrap();
    }
    // Planes of 18 (past the short-run kernels' 16), the input used twice: its gradient is
    // added into the one it already has when the BatchNorm's backward runs; used once, it
    // is written over the output's (both run lengths, batch and running statistics).
    let x18 = T64::<Rank4<2, 3, 3, 6>>::normal(0.5, 2.0, &mut rng(36));
    for train in [false, true] {
        let run = |x: Traced<Rank4<2, 3, 3, 6>>, w: T64<Rank1<3>>| {
            let mut bn: BatchNorm2d<3, f64> = batchnorm(w, b.clone(), 37);
            if train {
                bn.forward_train(x)
            } else {
                bn.forward(x)
            }
        };
        gradcheck2_vjp(&x18, &w, |x, w| run(x, w.without_tape()), opts()).unwrap();
        let twice = |x: Traced<Rank4<2, 3, 3, 6>>, w: T64<Rank1<3>>| run(x.clone(), w) * x;
        gradcheck2_vjp(&x18, &w, |x, w| twice(x, w.without_tape()), opts()).unwrap();
        let short = |x: Traced<Rank4<2, 3, 2, 3>>, w: T64<Rank1<3>>| {
            let mut bn: BatchNorm2d<3, f64> = batchnorm(w, b.clone(), 32);
            let y = if train {
                bn.forward_train(x.clone())
            } else {
                bn.forward(x.clone())
            };
            y * x
        };
        gradcheck2_vjp(&x, &w, |x, w| short(x, w.without_tape()), opts()).unwrap();
    }
}

#[test]
fn batchnorm3d_gradcheck() {
    let x = T64::<Rank5<2, 2, 2, 1, 3>>::normal(0.0, 1.0, &mut rng(33));
    let (w, b) = params::<2>(34);
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| batchnorm::<2, 3>(w.without_tape(), b.clone(), 35).forward_train(x),
        opts(),
    )
    .unwrap();
}

#[test]
fn layernorm_gradcheck() {
    let x = T64::<Rank3<2, 3, 5>>::normal(0.3, 2.0, &mut rng(40));
    let (w, b) = params::<5>(41);
    let layer = |w: T64<Rank1<5>>, b: T64<Rank1<5>>| {
        let mut ln = LayerNorm::<5, f64>::new();
        ln.weight = w;
        ln.bias = b;
        ln
    };
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| layer(w.without_tape(), b.clone()).forward(x),
        opts(),
    )
    .unwrap();
    gradcheck2_vjp(
        &x,
        &b,
        |x, b| layer(w.clone(), b.without_tape()).forward(x),
        opts(),
    )
    .unwrap();
    // An input that already has a gradient when the LayerNorm's backward runs (added
    // into), beside the weight's and bias's; without one it is written over the output's.
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| layer(w.without_tape(), b.clone()).forward(x.clone()) * x,
        opts(),
    )
    .unwrap();
    // A single feature normalises to the bias exactly: the input gradient is zero.
    let x1 = T64::<Rank2<3, 1>>::normal(0.0, 1.0, &mut rng(42));
    gradcheck_vjp(&x1, |x| LayerNorm::<1, f64>::new().forward(x), opts()).unwrap();
}

#[test]
fn embedding_gradcheck() {
    let w = T64::<Rank2<6, 3>>::randn(&mut rng(50));
    let idx = Indices::<Rank2<2, 4>>::from_array2([[0, 5, 2, 5], [1, 1, 4, 0]]);
    gradcheck_vjp(
        &w,
        |w| {
            Embedding::<6, 3, f64> {
                weight: w.without_tape(),
                padding_idx: None,
            }
            .lookup::<_, OwnedTape<f64>>(&idx)
        },
        opts(),
    )
    .unwrap();
}

#[test]
fn embedding_padding_idx_gets_no_gradient() {
    let emb = Embedding::<6, 3, f64>::new(&mut rng(51)).with_padding_idx(5);
    let idx = Indices::<Rank2<2, 4>>::from_array2([[0, 5, 2, 5], [1, 1, 4, 0]]);
    let y = emb.forward(TracedIndices(idx));
    assert_eq!(&y.as_slice()[3..6], &[0.0; 3]);
    let grads = y.square().sum().backward();
    let g = grads.get(&emb.weight).unwrap();
    assert_eq!(&g.as_slice()[15..18], &[0.0; 3]);
    assert!(g.as_slice()[..3].iter().any(|&v| v != 0.0));
}

#[test]
fn dropout_gradcheck() {
    let x = T64::<Rank2<4, 5>>::normal(0.0, 1.0, &mut rng(60));
    let drop = Dropout::with_seed(0.3, 61);
    // A clone draws the same mask, so every evaluation sees the same function.
    gradcheck_vjp(&x, |x| drop.clone().forward_train(x), opts()).unwrap();
    gradcheck_vjp(&x, |x| drop.forward(x), opts()).unwrap();
}

#[test]
fn dropout_edge_probabilities() {
    let x = T64::<Rank1<16>>::ones();
    assert_eq!(
        Dropout::with_seed(0.0, 1).forward_train(x.clone()).to_vec(),
        x.to_vec()
    );
    assert_eq!(
        Dropout::with_seed(1.0, 1).forward_train(x.clone()).to_vec(),
        vec![0.0; 16]
    );
    let mut drop = Dropout::with_seed(0.5, 1);
    let (a, b) = (
        drop.forward_train(x.clone()).to_vec(),
        drop.forward_train(x).to_vec(),
    );
    assert_ne!(a, b, "each training call draws a new mask");
}

// ---------------------------------------------------------------------------------------
// Fused normalisation against its composition from primitive ops.

/// LayerNorm over the last axis of a rank-2 input, composed from primitives.
fn layer_norm_composed<const N: usize, const D: usize, T: Tape<f64>>(
    x: Tensor<Rank2<N, D>, f64, T>,
    w: Tensor<Rank1<D>, f64, T>,
    b: Tensor<Rank1<D>, f64, T>,
) -> Tensor<Rank2<N, D>, f64, T>
where
    Rank2<N, D>: shaped::shape::BroadcastShapes<Rank2<N, 1>, Output = Rank2<N, D>>
        + shaped::shape::BroadcastShapes<Rank1<D>, Output = Rank2<N, D>>,
{
    let centered = x.clone() - x.mean_dim_keepdim::<1>();
    let var = centered.clone().square().mean_dim_keepdim::<1>();
    centered * var.add_scalar(1e-5).sqrt().rdiv_scalar(1.0) * w + b
}

/// BatchNorm (training mode) over a rank-2 input, composed from primitives.
fn batch_norm_composed<const N: usize, const C: usize, T: Tape<f64>>(
    x: Tensor<Rank2<N, C>, f64, T>,
    w: Tensor<Rank1<C>, f64, T>,
    b: Tensor<Rank1<C>, f64, T>,
) -> Tensor<Rank2<N, C>, f64, T>
where
    Rank2<N, C>: shaped::shape::BroadcastShapes<Rank2<1, C>, Output = Rank2<N, C>>
        + shaped::shape::BroadcastShapes<Rank1<C>, Output = Rank2<N, C>>,
{
    let centered = x.clone() - x.mean_dim_keepdim::<0>();
    let var = centered.clone().square().mean_dim_keepdim::<0>();
    centered * var.add_scalar(1e-5).sqrt().rdiv_scalar(1.0) * w + b
}

fn assert_close(what: &str, a: &[f64], b: &[f64]) {
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-10 * (1.0 + y.abs()),
            "{what}[{i}]: fused {x}, composed {y}"
        );
    }
}

#[test]
fn fused_norms_match_composition() {
    let x = T64::<Rank2<7, 5>>::normal(2.0, 3.0, &mut rng(70));
    let gy = T64::<Rank2<7, 5>>::normal(0.0, 1.0, &mut rng(71));
    let (w, b) = params::<5>(72);

    let mut ln = LayerNorm::<5, f64>::new();
    ln.weight = w.clone();
    ln.bias = b.clone();
    let fused = (ln.forward(x.clone().trace()) * gy.clone())
        .sum()
        .backward();
    let y = layer_norm_composed(x.clone().trace(), w.clone().trace(), b.clone().trace());
    assert_close(
        "layernorm y",
        ln.forward(x.clone()).as_slice(),
        y.as_slice(),
    );
    let composed = (y * gy.clone()).sum().backward();
    for (name, id) in [("x", x.id()), ("weight", w.id()), ("bias", b.id())] {
        assert_close(
            name,
            fused.get_id(id).unwrap(),
            composed.get_id(id).unwrap(),
        );
    }

    let mut bn = batchnorm::<5, 1>(w.clone(), b.clone(), 73);
    let fused = (bn.forward_train(x.clone().trace()) * gy.clone())
        .sum()
        .backward();
    let y = batch_norm_composed(x.clone().trace(), w.clone().trace(), b.clone().trace());
    let composed = (y * gy).sum().backward();
    for (name, id) in [("x", x.id()), ("weight", w.id()), ("bias", b.id())] {
        assert_close(
            name,
            fused.get_id(id).unwrap(),
            composed.get_id(id).unwrap(),
        );
    }
}

/// The measurement behind fusing the normalisations (src/ops/norm.rs). Run with
/// `cargo test --release --test loss_norm_gradcheck -- --ignored --nocapture`.
#[test]
#[ignore]
fn fused_norms_are_faster_than_composition() {
    use std::time::Instant;
    const N: usize = 1024;
    const D: usize = 1024;
    let x = Tensor::<Rank2<N, D>, f64>::normal(0.0, 1.0, &mut rng(80));
    let (w, b) = params::<D>(81);
    let mut ln = LayerNorm::<D, f64>::new();
    ln.weight = w.clone();
    ln.bias = b.clone();
    let mut bn = batchnorm::<D, 1>(w.clone(), b.clone(), 82);
    let time = |f: &mut dyn FnMut()| {
        f();
        let t = Instant::now();
        for _ in 0..10 {
            f();
        }
        t.elapsed().as_secs_f64() / 10.0 * 1e3
    };
    let rows: [(&str, f64, f64); 4] = [
        (
            "LayerNorm forward",
            time(&mut || drop(ln.forward(x.clone()))),
            time(&mut || drop(layer_norm_composed(x.clone(), w.clone(), b.clone()))),
        ),
        (
            "LayerNorm forward+backward",
            time(&mut || drop(ln.forward(x.clone().trace()).sum().backward())),
            time(&mut || {
                drop(
                    layer_norm_composed(x.clone().trace(), w.clone().trace(), b.clone().trace())
                        .sum()
                        .backward(),
                )
            }),
        ),
        (
            "BatchNorm train forward",
            time(&mut || drop(bn.forward_train(x.clone()))),
            time(&mut || drop(batch_norm_composed(x.clone(), w.clone(), b.clone()))),
        ),
        (
            "BatchNorm train forward+backward",
            time(&mut || drop(bn.forward_train(x.clone().trace()).sum().backward())),
            time(&mut || {
                drop(
                    batch_norm_composed(x.clone().trace(), w.clone().trace(), b.clone().trace())
                        .sum()
                        .backward(),
                )
            }),
        ),
    ];
    for (what, fused, composed) in rows {
        println!(
            "{what:34} fused {fused:7.2} ms   composed {composed:7.2} ms   x{:.1}",
            composed / fused
        );
    }
}

/// normalize, cosine_similarity and pairwise_distance (p = 1, 1.5, 2, 3, inf; keepdim;
/// a broadcast row) with respect to every input, on seeded values.
#[test]
fn distances_gradcheck() {
    use shaped::ops::distance::*;
    for seed in 0..4 {
        let a = T64::<Rank2<3, 5>>::uniform(-2.0, 2.0, &mut rng(seed));
        let b = T64::<Rank2<3, 5>>::uniform(-2.0, 2.0, &mut rng(seed + 100));
        let row = T64::<Rank1<5>>::uniform(-2.0, 2.0, &mut rng(seed + 200));
        for p in [1.0, 1.5, 2.0, 3.0] {
            gradcheck_vjp(&a, |x| normalize(x, p, 1e-12), opts()).unwrap();
            gradcheck_vjp(&a, |x| x.normalize::<0>(p, 1e-12), opts()).unwrap();
            gradcheck2_vjp(&a, &b, |x, y| pairwise_distance(x, y, p, 1e-6), opts()).unwrap();
        }
        // Every row below eps = 100: x / 100, no gradient through the norm.
        gradcheck_vjp(&a, |x| normalize(x, 2.0, 100.0), opts()).unwrap();
        let inf = f64::INFINITY;
        gradcheck2_vjp(
            &a,
            &b,
            |x, y| pairwise_distance_keepdim(x, y, inf, 1e-6),
            opts(),
        )
        .unwrap();
        gradcheck2_vjp(&a, &row, |x, y| pairwise_distance(x, y, 2.0, 1e-6), opts()).unwrap();
        gradcheck2_vjp(&a, &b, |x, y| cosine_similarity(x, y, 1e-8), opts()).unwrap();
        gradcheck2_vjp(&a, &row, |x, y| cosine_similarity(x, y, 1e-8), opts()).unwrap();
        let cols = CosineSimilarity::new().dim::<0>();
        gradcheck2_vjp(&a, &b, |x, y| cols.forward((x, y)), opts()).unwrap();
    }
}

/// CosineEmbeddingLoss (both inputs) and TripletMarginLoss (all three inputs, with and
/// without the swap, p = 1 and 2), reduced and unreduced, on seeded values away from the
/// hinges.
#[test]
fn embedding_losses_gradcheck() {
    use shaped::ops::distance::{cosine_similarity, pairwise_distance};
    let mut checked = 0;
    for seed in 0..6 {
        let x1 = T64::<Rank2<4, 5>>::uniform(-2.0, 2.0, &mut rng(seed));
        let x2 = T64::<Rank2<4, 5>>::uniform(-2.0, 2.0, &mut rng(seed + 100));
        let y = T64::<Rank1<4>>::from_array([1.0, -1.0, -1.0, 1.0]);
        let cos = cosine_similarity(x1.clone(), x2.clone(), 0.0).to_vec();
        for margin in [0.0, -0.3, 0.2] {
            if [1, 2].iter().any(|&i| (cos[i] - margin).abs() < 1e-3) {
                continue;
            }
            checked += 1;
            let loss = CosineEmbeddingLoss::new().margin(margin);
            gradcheck2(&x1, &x2, |a, b| loss.forward(a, b, &y), opts()).unwrap();
            let none = loss.reduction(Reduction::None);
            gradcheck2_vjp(&x1, &x2, |a, b| none.forward(a, b, &y), opts()).unwrap();
        }
        let n = T64::<Rank2<4, 5>>::uniform(-2.0, 2.0, &mut rng(seed + 300));
        for (p, swap) in [(2.0, false), (2.0, true), (1.0, false), (1.0, true)] {
            let d = |u: &T64<Rank2<4, 5>>, v: &T64<Rank2<4, 5>>| {
                pairwise_distance(u.clone(), v.clone(), p, 1e-6).to_vec()
            };
            let (ap, an, pn) = (d(&x1, &x2), d(&x1, &n), d(&x2, &n));
            let near = (0..4).any(|i| {
                let neg = if swap { an[i].min(pn[i]) } else { an[i] };
                (0.5 + ap[i] - neg).abs() < 1e-3 || (swap && (an[i] - pn[i]).abs() < 1e-3)
            });
            if near {
                continue;
            }
            checked += 1;
            let loss = TripletMarginLoss::new().margin(0.5).p(p).swap(swap);
            let c = |t: &T64<Rank2<4, 5>>| t.clone().trace_constant();
            gradcheck(&x1, |a| loss.forward(a, c(&x2), c(&n)), opts()).unwrap();
            gradcheck(&x2, |pos| loss.forward(c(&x1), pos, c(&n)), opts()).unwrap();
            gradcheck(&n, |neg| loss.forward(c(&x1), c(&x2), neg), opts()).unwrap();
            let none = loss.reduction(Reduction::None);
            gradcheck_vjp(&x1, |a| none.forward(a, c(&x2), c(&n)), opts()).unwrap();
        }
    }
    assert!(
        checked >= 30,
        "only {checked} configurations were away from the hinges"
    );
}

use proptest::prelude::Strategy as _;

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    /// The distances on random run-time sizes (rows of 1 to 40 features) and values.
    #[test]
    fn distances_gradcheck_run_time_sizes(
        (a, b) in shaped::strategies::shape::<(usize, usize)>(1..40usize).prop_flat_map(|s| {
            let t = || shaped::strategies::tensor_with_shape(s, -2.0..2.0f64);
            (t(), t())
        })
    ) {
        use shaped::ops::distance::*;
        let fail = |e: shaped::gradcheck::GradcheckError| {
            proptest::test_runner::TestCaseError::fail(e.to_string())
        };
        gradcheck_vjp(&a, |x| normalize(x, 2.0, 1e-12), opts()).map_err(fail)?;
        gradcheck2_vjp(&a, &b, |x, y| cosine_similarity(x, y, 1e-8), opts()).map_err(fail)?;
        gradcheck2_vjp(&a, &b, |x, y| pairwise_distance(x, y, 2.0, 1e-6), opts()).map_err(fail)?;
        gradcheck2_vjp(&a, &b, |x, y| pairwise_distance(x, y, 1.0, 1e-6), opts()).map_err(fail)?;
    }
}

/// Scores `(N, C)` at run-time sizes (1 to 4 samples of 1 to 6 classes) with a class label
/// per sample, and a `-1`-ended target list per sample drawn from `-1..C` (repeats allowed).
fn class_margin_inputs()
-> impl proptest::prelude::Strategy<Value = (T64<(usize, usize)>, Vec<usize>, Vec<i64>)> {
    use proptest::collection::vec;
    (1..5usize, 1..7usize).prop_flat_map(|(n, c)| {
        (
            shaped::strategies::tensor_with_shape((n, c), -2.0..2.0f64),
            vec(0..c, n),
            vec(-1..c as i64, n * c),
        )
    })
}

/// Whether any hinge `margin - x[y] + x[i]` of the rows of `x` (`c` classes) with the given
/// (label, other class) pairs is within `gap` of 0, where the loss has a kink.
fn near_hinge(x: &[f64], c: usize, pairs: &[(usize, usize, usize)], margin: f64) -> bool {
    pairs
        .iter()
        .any(|&(r, y, i)| (margin - x[r * c + y] + x[r * c + i]).abs() < 1e-3)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    /// MultiMarginLoss (p = 1 and 2, a margin, class weights or none, every reduction) and
    /// MultiLabelMarginLoss (mean and unreduced) on random run-time sizes, labels and
    /// values away from the hinges.
    #[test]
    fn class_margin_losses_gradcheck_run_time_sizes(
        (x, labels, lists) in class_margin_inputs(),
        margin in 0.1..2.0f64,
        weighted in proptest::bool::ANY,
    ) {
        let (n, c) = *x.shape();
        let fail = |e: shaped::gradcheck::GradcheckError| {
            proptest::test_runner::TestCaseError::fail(e.to_string())
        };
        let pairs: Vec<_> = (0..n)
            .flat_map(|r| (0..c).map(move |i| (r, i)))
            .map(|(r, i)| (r, labels[r], i))
            .filter(|&(_, y, i)| y != i)
            .collect();
        proptest::prop_assume!(!near_hinge(x.as_slice(), c, &pairs, margin));
        let idx = Indices::from_vec_with_shape(labels.clone(), (n,)).unwrap();
        let w = T64::<(usize,)>::from_vec_with_shape(
            (0..c).map(|i| 0.5 + i as f64 * 0.3).collect(),
            (c,),
        )
        .unwrap();
        for p in [1, 2] {
            let loss = MultiMarginLoss::new().p(p).margin(margin);
            if weighted {
                let loss = loss.weight(w.clone());
                gradcheck(&x, |x| loss.forward(x, &idx), opts()).map_err(fail)?;
                let sum = loss.clone().reduction(Reduction::Sum);
                gradcheck(&x, |x| sum.forward(x, &idx), opts()).map_err(fail)?;
                let none = loss.reduction(Reduction::None);
                gradcheck_vjp(&x, |x| none.forward(x, &idx), opts()).map_err(fail)?;
            } else {
                gradcheck(&x, |x| loss.forward(x, &idx), opts()).map_err(fail)?;
                let none = loss.reduction(Reduction::None);
                gradcheck_vjp(&x, |x| none.forward(x, &idx), opts()).map_err(fail)?;
            }
        }
        // Multi-label: the hinges 1 - x[j] + x[i] of each listed j against the classes not
        // listed.
        let mut pairs = Vec::new();
        for r in 0..n {
            let row = &lists[r * c..(r + 1) * c];
            let listed: Vec<usize> =
                row.iter().take_while(|&&t| t >= 0).map(|&t| t as usize).collect();
            for &j in &listed {
                pairs.extend((0..c).filter(|i| !listed.contains(i)).map(|i| (r, j, i)));
            }
        }
        proptest::prop_assume!(!near_hinge(x.as_slice(), c, &pairs, 1.0));
        let target = MultiLabelTargets::from_vec_with_shape(lists, (n, c)).unwrap();
        gradcheck(&x, |x| multilabel_margin_loss(x, &target), opts()).map_err(fail)?;
        let none = MultiLabelMarginLoss::new().reduction(Reduction::None);
        gradcheck_vjp(&x, |x| none.forward(x, &target), opts()).map_err(fail)?;
    }

    /// TripletMarginWithDistanceLoss with the pairwise distance and with a cosine distance,
    /// with and without the swap, with respect to each input, on random run-time sizes and
    /// values away from the hinge and from the swap's tie.
    #[test]
    fn triplet_distance_gradcheck_run_time_sizes(
        (a, p, n) in shaped::strategies::shape::<(usize, usize)>(1..8usize).prop_flat_map(|s| {
            let t = || shaped::strategies::tensor_with_shape(s, -2.0..2.0f64);
            (t(), t(), t())
        }),
        swap in proptest::bool::ANY,
    ) {
        use shaped::ops::distance::{cosine_similarity, pairwise_distance};
        type X = Tensor<(usize, usize), f64, OwnedTape<f64>>;
        let fail = |e: shaped::gradcheck::GradcheckError| {
            proptest::test_runner::TestCaseError::fail(e.to_string())
        };
        type M = T64<(usize, usize)>;
        let pw = |u: &M, v: &M| {
            pairwise_distance(u.clone(), v.clone(), 2.0, 1e-6).to_vec()
        };
        let cd = |u: &M, v: &M| -> Vec<f64> {
            cosine_similarity(u.clone(), v.clone(), 1e-8)
                .to_vec()
                .into_iter()
                .map(|s| 1.0 - s)
                .collect()
        };
        let margin = 0.5;
        let near = |d: &dyn Fn(&M, &M) -> Vec<f64>| {
            let (ap, an, pn) = (d(&a, &p), d(&a, &n), d(&p, &n));
            (0..ap.len()).any(|i| {
                let neg = if swap { an[i].min(pn[i]) } else { an[i] };
                (margin + ap[i] - neg).abs() < 1e-3 || (swap && (an[i] - pn[i]).abs() < 1e-3)
            })
        };
        proptest::prop_assume!(!near(&pw) && !near(&cd));
        let c = |t: &M| t.clone().trace_constant();
        let cosine = |x: X, y: X| cosine_similarity(x, y, 1e-8).neg().add_scalar(1.0);
        let pairwise = TripletMarginWithDistanceLoss::new().margin(margin).swap(swap);
        let cos = pairwise.distance_function(cosine);
        gradcheck(&a, |x| pairwise.forward(x, c(&p), c(&n)), opts()).map_err(fail)?;
        gradcheck(&p, |x| pairwise.forward(c(&a), x, c(&n)), opts()).map_err(fail)?;
        gradcheck(&n, |x| pairwise.forward(c(&a), c(&p), x), opts()).map_err(fail)?;
        gradcheck(&a, |x| cos.forward(x, c(&p), c(&n)), opts()).map_err(fail)?;
        gradcheck(&p, |x| cos.forward(c(&a), x, c(&n)), opts()).map_err(fail)?;
        gradcheck(&n, |x| cos.forward(c(&a), c(&p), x), opts()).map_err(fail)?;
        let none = cos.reduction(Reduction::None);
        gradcheck_vjp(&a, |x| none.forward(x, c(&p), c(&n)), opts()).map_err(fail)?;
    }
}

/// Logits `(T, N, C)` at run-time sizes (1 to 5 steps, 1 to 3 samples, 2 to 4 classes) and
/// numbers from which a CTC problem is drawn (blank, lengths, labels).
fn ctc_inputs() -> impl proptest::prelude::Strategy<Value = (T64<(usize, usize, usize)>, Vec<usize>)>
{
    use proptest::prelude::Strategy as _;
    (1..6usize, 1..4usize, 2..5usize).prop_flat_map(|(t, n, c)| {
        (
            shaped::strategies::tensor_with_shape((t, n, c), -2.0..2.0f64),
            proptest::collection::vec(0..1000usize, 1 + 2 * n + 3 * n),
        )
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    /// CTCLoss on `log_softmax(logits)` for the logits (where PyTorch's log_probs gradient,
    /// the logits' gradient through log_softmax, is the true one): random sizes, blank,
    /// input lengths (1 to T) and target lengths (0 to 3, padded to 3), every reduction;
    /// zero_infinity, so that a sample too short for its target counts 0.
    #[test]
    fn ctc_gradcheck_run_time_sizes((logits, r) in ctc_inputs(), reduction in 0..3usize) {
        let (t, n, c) = *logits.shape();
        let fail = |e: shaped::gradcheck::GradcheckError| {
            proptest::test_runner::TestCaseError::fail(e.to_string())
        };
        let blank = r[0] % c;
        let il: Vec<usize> = (0..n).map(|i| 1 + r[1 + i] % t).collect();
        let tl: Vec<usize> = (0..n).map(|i| r[1 + n + i] % 4).collect();
        // Labels in 0..C other than the blank; every padded entry drawn, the padding too.
        let labels: Vec<usize> = (0..3 * n)
            .map(|i| (blank + 1 + r[1 + 2 * n + i] % (c - 1)) % c)
            .collect();
        let targets = Indices::from_vec_with_shape(labels, (n, 3usize)).unwrap();
        let loss = CTCLoss::new().blank(blank).zero_infinity(true);
        let lp = |x: Traced<(usize, usize, usize)>| x.log_softmax::<2>();
        match reduction {
            0 => gradcheck(&logits, |x| loss.forward(lp(x), &targets, &il, &tl), opts()),
            1 => gradcheck(
                &logits,
                |x| loss.clone().reduction(Reduction::Sum).forward(lp(x), &targets, &il, &tl),
                opts(),
            ),
            _ => gradcheck_vjp(
                &logits,
                |x| loss.clone().reduction(Reduction::None).forward(lp(x), &targets, &il, &tl),
                opts(),
            ),
        }
        .map_err(fail)?;
    }
}

/// The same through an unbatched `(T, C)` input, static sizes, concatenated (1-D) targets.
#[test]
fn ctc_gradcheck_unbatched() {
    let logits = T64::<Rank2<6, 4>>::uniform(-2.0, 2.0, &mut rng(41));
    let targets = Indices::<Rank1<3>>::from_array([2, 2, 3]);
    gradcheck(
        &logits,
        |x| ctc_loss(x.log_softmax::<1>(), &targets, &[6], &[3]),
        opts(),
    )
    .unwrap();
    // PyTorch's quirk: for the log-probabilities alone that gradient is not the derivative.
    let lp = logits.log_softmax::<1>();
    assert!(gradcheck(&lp, |x| ctc_loss(x, &targets, &[6], &[3]), opts()).is_err());
}
