//! The second set's losses (tests/golden/loss_ce_weight_ignore_index, loss_kl_div,
//! loss_bce_with_logits_pos_weight): value and gradient; PyTorch's answers at infinite and
//! NaN inputs (tests/golden_extra/loss_nonfinite.safetensors, from the script next to it);
//! and f64 finite-difference checks of the weighted, ignoring and KL forms under proptest.

mod common;
use common::{Golden, check_close};
use proptest::collection::vec;
use proptest::prelude::*;
use safetensors::SafeTensors;
use shaped::gradcheck::{GradcheckError, GradcheckOptions, gradcheck, gradcheck_vjp, gradcheck2};
use shaped::nn::loss::*;
use shaped::prelude::*;
use shaped::strategies::{shape, tensor_with_shape};
use std::collections::HashMap;

#[test]
fn loss_ce_weight_ignore_index() {
    let g = Golden::load("loss_ce_weight_ignore_index");
    assert_eq!(g.hp_str("reduction"), "\"mean\"");
    let x = Tensor::<Rank2<7, 5>>::from_vec(g.f("x")).unwrap();
    let labels = Indices::<Rank1<7>>::from_vec(g.idx("labels")).unwrap();
    let weight = Tensor::<Rank1<5>>::from_vec(g.f("weight")).unwrap();
    let loss = CrossEntropyLoss::new()
        .weight(weight.clone())
        .ignore_index(g.hp("ignore_index") as usize);
    let y = loss.forward(x.clone().trace(), &labels);
    g.check_forward("y", y.as_slice());
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
    // NLL of log_softmax is the same loss, weights and ignored labels included.
    let nll = NLLLoss::new().weight(weight).ignore_index(0);
    let y = nll.forward(x.clone().trace().log_softmax::<1>(), &labels);
    g.check_forward("y", y.as_slice());
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
}

#[test]
fn loss_kl_div() {
    let g = Golden::load("loss_kl_div");
    assert_eq!(g.hp_str("reduction"), "\"batchmean\"");
    assert_eq!(g.hp_str("log_target"), "false");
    let x = Tensor::<Rank2<4, 5>>::from_vec(g.f("x")).unwrap();
    let target = Tensor::<Rank2<4, 5>>::from_vec(g.f("target")).unwrap();
    let y = kl_div(x.clone().trace(), target.clone(), Reduction::BatchMean);
    g.check_forward("y", y.as_slice());
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
    // The same with the target given as log-probabilities.
    let loss = KLDivLoss::new()
        .log_target(true)
        .reduction(Reduction::BatchMean);
    let y = loss.forward(x.clone().trace(), target.ln());
    g.check_forward("y", y.as_slice());
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
}

#[test]
fn loss_bce_with_logits_pos_weight() {
    let g = Golden::load("loss_bce_with_logits_pos_weight");
    assert_eq!(g.hp_str("reduction"), "\"mean\"");
    let x = Tensor::<Rank2<5, 3>>::from_vec(g.f("x")).unwrap();
    let target = Tensor::<Rank2<5, 3>>::from_vec(g.f("target")).unwrap();
    let pw = Tensor::<Rank1<3>>::from_vec(g.f("pos_weight")).unwrap();
    let y = BCEWithLogitsLoss::new()
        .pos_weight(pw)
        .forward(x.clone().trace(), target);
    g.check_forward("y", y.as_slice());
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
}

/// One case of tests/golden_extra/loss_nonfinite.safetensors: tensors named `<case>.<name>`.
struct Extra {
    case: &'static str,
    floats: HashMap<String, Vec<f32>>,
    ints: HashMap<String, Vec<usize>>,
}

impl Extra {
    fn load(case: &'static str) -> Extra {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden_extra/loss_nonfinite.safetensors"
        );
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let st = SafeTensors::deserialize(&bytes).expect("safetensors");
        let (mut floats, mut ints) = (HashMap::new(), HashMap::new());
        for (name, view) in st.tensors() {
            let Some(name) = name.strip_prefix(&format!("{case}.")) else {
                continue;
            };
            let data = view.data();
            match view.dtype() {
                safetensors::Dtype::F32 => {
                    let v = data.chunks_exact(4);
                    let v = v.map(|c| f32::from_le_bytes(c.try_into().unwrap()));
                    floats.insert(name.to_string(), v.collect());
                }
                safetensors::Dtype::I64 => {
                    let v = data.chunks_exact(8);
                    let v = v.map(|c| i64::from_le_bytes(c.try_into().unwrap()) as usize);
                    ints.insert(name.to_string(), v.collect());
                }
                d => panic!("{case}.{name}: unexpected dtype {d:?}"),
            }
        }
        assert!(!floats.is_empty(), "no case {case}");
        Extra { case, floats, ints }
    }

    fn f(&self, name: &str) -> Vec<f32> {
        self.floats[name].clone()
    }

    /// Equal to PyTorch: NaN where it gives NaN, the same infinity, else within `atol`/`rtol`.
    fn check(&self, name: &str, actual: &[f32], atol: f32, rtol: f32) {
        let expected = &self.floats[name];
        let what = format!("{}.{name}", self.case);
        for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
            assert_eq!(a.is_nan(), e.is_nan(), "{what}[{i}]: got {a}, PyTorch {e}");
        }
        let finite = |v: &[f32]| {
            v.iter()
                .map(|v| if v.is_nan() { 0.0 } else { *v })
                .collect()
        };
        let (a, e): (Vec<f32>, Vec<f32>) = (finite(actual), finite(expected));
        check_close(&what, &a, &e, atol, rtol);
    }
}

type Grid = Rank2<10, 5>;

/// BCE with logits at logits ±inf, NaN, ±100, ±20, ±1, 0 against targets 0, 1, 0.3, NaN
/// and 1.5, with and without `pos_weight`: values and both gradients as PyTorch (issue 14).
#[test]
fn bce_with_logits_matches_pytorch_at_non_finite_inputs() {
    for case in ["bce_logits", "bce_logits_pw"] {
        let g = Extra::load(case);
        let x = Tensor::<Grid>::from_vec(g.f("x")).unwrap();
        let t = Tensor::<Grid>::from_vec(g.f("target")).unwrap();
        let loss = BCEWithLogitsLoss::new().reduction(Reduction::None);
        let y: Tensor<Grid, f32, OwnedTape<f32>> = if case == "bce_logits" {
            loss.forward(x.clone().trace(), t.clone().trace())
        } else {
            let pw = Tensor::<Rank1<5>>::from_vec(g.f("pos_weight")).unwrap();
            loss.pos_weight(pw)
                .forward(x.clone().trace(), t.clone().trace())
        };
        g.check("y", y.as_slice(), 1e-5, 1e-4);
        let grads = y.sum().backward();
        g.check("grad.x", grads.get_slice(&x).unwrap(), 1e-4, 1e-3);
        g.check("grad.target", grads.get_slice(&t).unwrap(), 1e-4, 1e-3);
    }
    // The regression of issue 14: logit +inf with target 0 is +inf, not NaN.
    let y = binary_cross_entropy_with_logits(
        Tensor::<Rank1<1>>::from_array([f32::INFINITY]),
        Tensor::zeros(),
    );
    assert_eq!(y.to_vec(), vec![f32::INFINITY]);
}

/// Cross-entropy with ±inf and NaN logits, with and without label smoothing, as PyTorch.
#[test]
fn cross_entropy_matches_pytorch_at_non_finite_logits() {
    for (case, eps) in [("ce", 0.0), ("ce_smooth", 0.2)] {
        let g = Extra::load(case);
        let x = Tensor::<Rank2<6, 3>>::from_vec(g.f("x")).unwrap();
        let labels = Indices::<Rank1<6>>::from_vec(g.ints["labels"].clone()).unwrap();
        let loss = CrossEntropyLoss::new()
            .label_smoothing(eps)
            .reduction(Reduction::None);
        let y = loss.forward(x.clone().trace(), &labels);
        g.check("y", y.as_slice(), 1e-5, 1e-4);
        g.check(
            "grad.x",
            y.sum().backward().get_slice(&x).unwrap(),
            1e-4,
            1e-3,
        );
    }
}

/// MSE with infinite and NaN values, and BCE at the ends of [0, 1], as PyTorch.
#[test]
fn mse_and_bce_match_pytorch_at_extreme_inputs() {
    let g = Extra::load("mse");
    let x = Tensor::<Rank1<8>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank1<8>>::from_vec(g.f("target")).unwrap();
    let loss = MSELoss::new().reduction(Reduction::None);
    let y = loss.forward(x.clone().trace(), t.clone().trace());
    g.check("y", y.as_slice(), 1e-5, 1e-4);
    let grads = y.sum().backward();
    g.check("grad.x", grads.get_slice(&x).unwrap(), 1e-4, 1e-3);
    g.check("grad.target", grads.get_slice(&t).unwrap(), 1e-4, 1e-3);

    let g = Extra::load("bce");
    let x = Tensor::<Rank1<9>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank1<9>>::from_vec(g.f("target")).unwrap();
    let y = BCELoss::new()
        .reduction(Reduction::None)
        .forward(x.clone().trace(), t.clone().trace());
    g.check("y", y.as_slice(), 1e-5, 1e-4);
    let grads = y.sum().backward();
    g.check("grad.x", grads.get_slice(&x).unwrap(), 1e-4, 1e-3);
    g.check("grad.target", grads.get_slice(&t).unwrap(), 1e-4, 1e-3);
    // PyTorch rejects NaN (and any value outside [0, 1]) as a prediction or a target.
    let nan = Tensor::<Rank1<1>>::from_array([f32::NAN]);
    assert!(
        BCELoss::new()
            .try_forward(nan.clone(), Tensor::zeros())
            .is_err()
    );
    let err = BCELoss::new()
        .try_forward(Tensor::<Rank1<1>>::zeros(), nan)
        .unwrap_err();
    assert!(
        err.to_string().contains("binary_cross_entropy target"),
        "{err}"
    );
}

/// Every target ignored: PyTorch's 0 / 0 = NaN, and no gradient reaches the logits.
#[test]
fn all_ignored_is_nan_with_zero_gradient() {
    let x = Tensor::<Rank2<2, 3>>::ones();
    let labels = Indices::<Rank1<2>>::from_array([1, 1]);
    let y = CrossEntropyLoss::new()
        .ignore_index(1)
        .forward(x.clone().trace(), &labels);
    assert!(y.as_slice()[0].is_nan());
    let grads = y.backward();
    assert!(grads.get_slice(&x).unwrap().iter().all(|&g| g == 0.0));
}

#[test]
fn weights_and_ignore_index_are_checked() {
    let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let labels = Indices::<(usize,)>::from_vec_with_shape(vec![0, 2], (2,)).unwrap();
    let w = Tensor::<(usize,)>::ones_with_shape((4,));
    let err = CrossEntropyLoss::new()
        .weight(w)
        .try_forward(x.clone(), &labels)
        .unwrap_err();
    assert!(
        err.to_string().contains("4 class weights for 3 classes"),
        "{err}"
    );
    // An ignored label may lie outside the classes (255 for padding); others may not.
    let padded = Indices::<(usize,)>::from_vec_with_shape(vec![255, 2], (2,)).unwrap();
    assert!(
        NLLLoss::new()
            .ignore_index(255)
            .try_forward(x.clone(), &padded)
            .is_ok()
    );
    assert!(
        NLLLoss::new()
            .ignore_index(0)
            .try_forward(x.clone(), &padded)
            .is_err()
    );
    // Probability targets cannot ignore a class (PyTorch rejects it too).
    let err = CrossEntropyLoss::new()
        .ignore_index(0)
        .try_forward_probs(x.clone(), x.clone())
        .unwrap_err();
    assert!(err.to_string().contains("ignore_index"), "{err}");
    let pw = Tensor::<(usize,)>::ones_with_shape((2,));
    let bce = BCEWithLogitsLoss::new().pos_weight(pw);
    assert!(bce.try_forward(x.clone(), x.clone()).is_err());
    let w = Tensor::<(usize, usize)>::ones_with_shape((3, 1));
    let bce = BCEWithLogitsLoss::new().weight(w);
    assert!(bce.try_forward(x.clone(), x).is_err());
}

// ---------------------------------------------------------------------------------------
// Finite-difference checks in f64 over random sizes and values.

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn check(r: Result<(), GradcheckError>) -> Result<(), TestCaseError> {
    r.map_err(|e| TestCaseError::fail(e.to_string()))
}

type M = (usize, usize);

/// Logits `(n, c)`, labels in `0..c`, class weights in `(0.2, 2)`.
type ClassCase = (Tensor<M, f64>, Vec<usize>, Tensor<(usize,), f64>);

fn class_case() -> impl Strategy<Value = ClassCase> {
    shape::<M>(1..=5).prop_flat_map(|(n, c)| {
        (
            tensor_with_shape((n, c), -3.0..3.0),
            vec(0..c, n),
            tensor_with_shape((c,), 0.2..2.0),
        )
    })
}

fn labels(v: &[usize]) -> Indices<(usize,)> {
    Indices::from_vec_with_shape(v.to_vec(), (v.len(),)).unwrap()
}

proptest! {
    #[test]
    fn cross_entropy_weights_ignore_index_gradcheck(
        (x, y, w) in class_case(),
        eps in prop_oneof![Just(0.0), Just(0.2)],
        ignore in prop_oneof![Just(0usize), Just(255)],
    ) {
        prop_assume!(y.iter().any(|&l| l != ignore));
        let y = labels(&y);
        let loss = CrossEntropyLoss::new().weight(w.clone()).ignore_index(ignore).label_smoothing(eps);
        check(gradcheck(&x, |x| loss.forward(x, &y), opts()))?;
        let sum = loss.clone().reduction(Reduction::Sum);
        check(gradcheck(&x, |x| sum.forward(x, &y), opts()))?;
        let none = loss.reduction(Reduction::None);
        check(gradcheck_vjp(&x, |x| none.forward(x, &y), opts()))?;
    }

    #[test]
    fn nll_weights_ignore_index_gradcheck((x, y, w) in class_case()) {
        prop_assume!(y.iter().any(|&l| l != 0));
        let y = labels(&y);
        let loss = NLLLoss::new().weight(w).ignore_index(0);
        check(gradcheck(&x, |x| loss.forward(x, &y), opts()))?;
        let none = loss.reduction(Reduction::None);
        check(gradcheck_vjp(&x, |x| none.forward(x, &y), opts()))?;
    }

    #[test]
    fn cross_entropy_probs_weights_gradcheck(
        (x, t, w) in shape::<M>(1..=5).prop_flat_map(|(n, c)| (
            tensor_with_shape((n, c), -3.0..3.0),
            tensor_with_shape((n, c), 0.0..1.0),
            tensor_with_shape((c,), 0.2..2.0),
        )),
        eps in prop_oneof![Just(0.0), Just(0.3)],
    ) {
        let t = t.softmax::<1>();
        let loss = CrossEntropyLoss::new().weight(w).label_smoothing(eps);
        check(gradcheck2(&x, &t, |x, t| loss.forward_probs(x, t), opts()))?;
    }

    #[test]
    fn kl_div_gradcheck(
        (x, t) in shape::<M>(1..=5).prop_flat_map(|s| (
            tensor_with_shape(s, -3.0..0.0),
            tensor_with_shape(s, 0.05..1.0),
        )),
    ) {
        check(gradcheck2(&x, &t, |x, t| kl_div(x, t, Reduction::BatchMean), opts()))?;
        check(gradcheck2(&x, &t, |x, t| kl_div(x, t, Reduction::Mean), opts()))?;
        let log_t = t.ln();
        let loss = KLDivLoss::new().log_target(true);
        check(gradcheck2(&x, &log_t, |x, t| loss.reduction(Reduction::Sum).forward(x, t), opts()))?;
        check(gradcheck_vjp(&x, |x| loss.reduction(Reduction::None).forward(x, log_t.clone()), opts()))?;
    }

    #[test]
    fn bce_with_logits_weights_gradcheck(
        (x, t, pw, w) in shape::<M>(1..=5).prop_flat_map(|(n, c)| (
            tensor_with_shape((n, c), -4.0..4.0),
            tensor_with_shape((n, c), 0.0..1.0),
            tensor_with_shape((c,), 0.2..3.0),
            tensor_with_shape((n, 1), 0.2..2.0),
        )),
    ) {
        let loss = BCEWithLogitsLoss::new().pos_weight(pw).weight(w);
        check(gradcheck2(&x, &t, |x, t| loss.forward(x, t), opts()))?;
        let none = loss.reduction(Reduction::None);
        check(gradcheck_vjp(&x, |x| none.forward(x, t.clone()), opts()))?;
    }
}

/// How class weights, `ignore_index` and label smoothing combine, on labels and on
/// probabilities (finite cases in tests/golden_extra/loss_nonfinite.safetensors).
#[test]
fn cross_entropy_weight_smoothing_interplay_matches_pytorch() {
    let g = Extra::load("ce_weight_smooth");
    let x = Tensor::<Rank2<6, 4>>::from_vec(g.f("x")).unwrap();
    let labels = Indices::<Rank1<6>>::from_vec(g.ints["labels"].clone()).unwrap();
    let weight = Tensor::<Rank1<4>>::from_vec(g.f("weight")).unwrap();
    let loss = CrossEntropyLoss::new()
        .weight(weight.clone())
        .ignore_index(1)
        .label_smoothing(0.3);
    let y = loss.forward(x.clone().trace(), &labels);
    g.check("y", y.as_slice(), 1e-5, 1e-4);
    g.check("grad.x", y.backward().get_slice(&x).unwrap(), 1e-4, 1e-3);

    let g = Extra::load("ce_probs_weight");
    let x = Tensor::<Rank2<6, 4>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<6, 4>>::from_vec(g.f("target")).unwrap();
    let loss = CrossEntropyLoss::new().weight(weight).label_smoothing(0.2);
    let y = loss.forward_probs(x.clone().trace(), t.clone().trace());
    g.check("y", y.as_slice(), 1e-5, 1e-4);
    let grads = y.backward();
    g.check("grad.x", grads.get_slice(&x).unwrap(), 1e-4, 1e-3);
    g.check("grad.target", grads.get_slice(&t).unwrap(), 1e-4, 1e-3);
}

/// The case's `y` against `$y` (a loss over traced inputs), then the gradients of `y` (a
/// scalar) or, where the case stores a cotangent `gy`, of `sum(y * gy)`: evaluates to them.
macro_rules! golden_grads {
    ($g:expr, $y:expr) => {{
        let g = &$g;
        let y = $y;
        g.check_forward("y", y.as_slice());
        assert_eq!(
            y.dims().as_slice(),
            g.shape("y").as_slice(),
            "{}: shape of y",
            g.case
        );
        if g.has("gy") {
            let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
            y.mul(gy).sum().backward()
        } else {
            y.sum().backward()
        }
    }};
}

/// The reduction a margin/likelihood case was made with.
fn reduction_of(g: &Golden) -> String {
    g.hp_str("reduction").trim_matches('"').to_string()
}

#[test]
fn hinge_embedding_loss_matches_pytorch() {
    let g = Golden::load("loss_hinge_embedding");
    assert_eq!(reduction_of(&g), "mean");
    let x = Tensor::<Rank2<4, 5>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<4, 5>>::from_vec(g.f("target")).unwrap();
    let grads = golden_grads!(g, hinge_embedding_loss(x.clone().trace(), t, 1.0));
    g.check_grad("x", grads.get_slice(&x).unwrap());

    // Targets 0.5 and 0 (neither 1 nor -1) take both terms, as in PyTorch.
    let g = Golden::load("loss_hinge_embedding_margin_none");
    assert_eq!(reduction_of(&g), "none");
    let x = Tensor::<Rank2<6, 3>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<6, 3>>::from_vec(g.f("target")).unwrap();
    let loss = HingeEmbeddingLoss::new()
        .margin(g.hp("margin"))
        .reduction(Reduction::None);
    let grads = golden_grads!(g, loss.forward(x.clone().trace(), t.clone().trace()));
    g.check_grad("x", grads.get_slice(&x).unwrap());
    assert!(
        grads.get_slice(&t).is_none(),
        "the target takes no gradient"
    );

    let g = Golden::load("loss_hinge_embedding_margin_sum");
    let x = Tensor::<Rank1<7>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank1<7>>::from_vec(g.f("target")).unwrap();
    let loss = HingeEmbeddingLoss::new()
        .margin(g.hp("margin"))
        .reduction(Reduction::Sum);
    let grads = golden_grads!(g, loss.forward(x.clone().trace(), t));
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn soft_margin_loss_matches_pytorch() {
    let g = Golden::load("loss_soft_margin");
    let x = Tensor::<Rank2<3, 4>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<3, 4>>::from_vec(g.f("target")).unwrap();
    let grads = golden_grads!(g, soft_margin_loss(x.clone().trace(), t));
    g.check_grad("x", grads.get_slice(&x).unwrap());

    // Scores of +-30 and +-100: finite values and gradients (PyTorch's float32 formula
    // overflows at -y x = 100; the reference is its float64 value).
    let g = Golden::load("loss_soft_margin_large_none");
    let x = Tensor::<Rank1<8>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank1<8>>::from_vec(g.f("target")).unwrap();
    let loss = SoftMarginLoss::new().reduction(Reduction::None);
    let grads = golden_grads!(g, loss.forward(x.clone().trace(), t));
    g.check_grad("x", grads.get_slice(&x).unwrap());

    let g = Golden::load("loss_soft_margin_sum");
    assert_eq!(reduction_of(&g), "sum");
    let x = Tensor::<Rank1<5>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank1<5>>::from_vec(g.f("target")).unwrap();
    let loss = SoftMarginLoss::new().reduction(Reduction::Sum);
    let grads = golden_grads!(g, loss.forward(x.clone().trace(), t));
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn multilabel_soft_margin_loss_matches_pytorch() {
    let g = Golden::load("loss_multilabel_soft_margin");
    let x = Tensor::<Rank2<4, 5>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<4, 5>>::from_vec(g.f("target")).unwrap();
    let grads = golden_grads!(
        g,
        multilabel_soft_margin_loss(x.clone().trace(), t.clone().trace())
    );
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());

    // A class weight, logits of +-30 and +-50, one loss per sample.
    let g = Golden::load("loss_multilabel_soft_margin_weight_none");
    let x = Tensor::<Rank2<3, 4>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<3, 4>>::from_vec(g.f("target")).unwrap();
    let w = Tensor::<Rank1<4>>::from_vec(g.f("weight")).unwrap();
    let loss = MultiLabelSoftMarginLoss::new()
        .weight(w)
        .reduction(Reduction::None);
    let y: Tensor<Rank1<3>, f32, OwnedTape<f32>> =
        loss.forward(x.clone().trace(), t.clone().trace());
    let grads = golden_grads!(g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());

    // One sample, `(C,)`, as PyTorch allows.
    let g = Golden::load("loss_multilabel_soft_margin_1d_sum");
    let x = Tensor::<Rank1<6>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank1<6>>::from_vec(g.f("target")).unwrap();
    let loss = MultiLabelSoftMarginLoss::new().reduction(Reduction::Sum);
    let grads = golden_grads!(g, loss.forward(x.clone().trace(), t.clone().trace()));
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());
}

#[test]
fn margin_ranking_loss_matches_pytorch() {
    let g = Golden::load("loss_margin_ranking");
    let a = Tensor::<Rank1<8>>::from_vec(g.f("x1")).unwrap();
    let b = Tensor::<Rank1<8>>::from_vec(g.f("x2")).unwrap();
    let t = Tensor::<Rank1<8>>::from_vec(g.f("target")).unwrap();
    let y = margin_ranking_loss(a.clone().trace(), b.clone().trace(), t.clone().trace(), 0.0);
    let grads = golden_grads!(g, y);
    g.check_grad("x1", grads.get_slice(&a).unwrap());
    g.check_grad("x2", grads.get_slice(&b).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());

    let g = Golden::load("loss_margin_ranking_margin_none");
    let a = Tensor::<Rank2<3, 4>>::from_vec(g.f("x1")).unwrap();
    let b = Tensor::<Rank2<3, 4>>::from_vec(g.f("x2")).unwrap();
    let t = Tensor::<Rank2<3, 4>>::from_vec(g.f("target")).unwrap();
    let loss = MarginRankingLoss::new()
        .margin(g.hp("margin"))
        .reduction(Reduction::None);
    let grads = golden_grads!(
        g,
        loss.forward(a.clone().trace(), b.clone().trace(), t.clone().trace())
    );
    g.check_grad("x1", grads.get_slice(&a).unwrap());
    g.check_grad("x2", grads.get_slice(&b).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());
}

#[test]
fn poisson_nll_loss_matches_pytorch() {
    let g = Golden::load("loss_poisson_nll");
    let x = Tensor::<Rank2<4, 5>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<4, 5>>::from_vec(g.f("target")).unwrap();
    let grads = golden_grads!(g, poisson_nll_loss(x.clone().trace(), t.clone().trace()));
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());

    for case in [
        "loss_poisson_nll_rate_full_none",
        "loss_poisson_nll_full_sum",
    ] {
        let g = Golden::load(case);
        let x = Tensor::<Rank2<3, 4>>::from_vec(g.f("x")).unwrap();
        let t = Tensor::<Rank2<3, 4>>::from_vec(g.f("target")).unwrap();
        let mut loss = PoissonNLLLoss::new().full(g.hp_str("full") == "true");
        assert!(loss.full);
        if g.hp_str("log_input") == "false" {
            loss = loss.log_input(false).eps(g.hp("eps"));
        }
        let grads = if reduction_of(&g) == "none" {
            let y = loss
                .reduction(Reduction::None)
                .forward(x.clone().trace(), t.clone().trace());
            golden_grads!(g, y)
        } else {
            let y = loss
                .reduction(Reduction::Sum)
                .forward(x.clone().trace(), t.clone().trace());
            golden_grads!(g, y)
        };
        g.check_grad("x", grads.get_slice(&x).unwrap());
        g.check_grad("target", grads.get_slice(&t).unwrap());
    }
}

#[test]
fn gaussian_nll_loss_matches_pytorch() {
    let g = Golden::load("loss_gaussian_nll");
    let x = Tensor::<Rank2<4, 3>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<4, 3>>::from_vec(g.f("target")).unwrap();
    let v = Tensor::<Rank2<4, 3>>::from_vec(g.f("var")).unwrap();
    let y = gaussian_nll_loss(x.clone().trace(), t.clone().trace(), v.clone().trace());
    let grads = golden_grads!(g, y);
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());
    g.check_grad("var", grads.get_slice(&v).unwrap());

    // One variance per row, broadcast along it; the constant term.
    let g = Golden::load("loss_gaussian_nll_full_homoscedastic_none");
    assert_eq!(g.hp_str("full"), "true");
    let x = Tensor::<Rank2<5, 3>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<5, 3>>::from_vec(g.f("target")).unwrap();
    let v = Tensor::<Rank2<5, 1>>::from_vec(g.f("var")).unwrap();
    let loss = GaussianNLLLoss::new().full(true).reduction(Reduction::None);
    let grads = golden_grads!(
        g,
        loss.forward(x.clone().trace(), t.clone().trace(), v.clone().trace())
    );
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());
    g.check_grad("var", grads.get_slice(&v).unwrap());

    // Variances below eps (0 included): clamped in the value, the gradient as if not.
    let g = Golden::load("loss_gaussian_nll_clamped_sum");
    let x = Tensor::<Rank2<2, 4>>::from_vec(g.f("x")).unwrap();
    let t = Tensor::<Rank2<2, 4>>::from_vec(g.f("target")).unwrap();
    let v = Tensor::<Rank2<2, 4>>::from_vec(g.f("var")).unwrap();
    let loss = GaussianNLLLoss::new()
        .eps(g.hp("eps"))
        .reduction(Reduction::Sum);
    let grads = golden_grads!(
        g,
        loss.forward(x.clone().trace(), t.clone().trace(), v.clone().trace())
    );
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("target", grads.get_slice(&t).unwrap());
    g.check_grad("var", grads.get_slice(&v).unwrap());
}

/// `try_forward` names the op and the sizes for run-time sizes that differ, and rejects
/// what PyTorch rejects (negative variances, a variance shape it does not broadcast).
#[test]
fn margin_and_likelihood_losses_check_sizes_and_values() {
    let x = || Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let other = || Tensor::<(usize, usize)>::ones_with_shape((2, 4));
    let msg = |e: shaped::error::Error| e.to_string();
    let e = msg(HingeEmbeddingLoss::new()
        .try_forward(x(), other())
        .unwrap_err());
    assert!(
        e.contains("hinge_embedding_loss") && e.contains('3') && e.contains('4'),
        "{e}"
    );
    let e = msg(SoftMarginLoss::new().try_forward(x(), other()).unwrap_err());
    assert!(e.contains("soft_margin_loss") && e.contains('4'), "{e}");
    let e = msg(MultiLabelSoftMarginLoss::new()
        .try_forward(x(), other())
        .unwrap_err());
    assert!(
        e.contains("multilabel_soft_margin_loss") && e.contains('4'),
        "{e}"
    );
    let e = msg(MarginRankingLoss::new()
        .try_forward(x(), other(), x())
        .unwrap_err());
    assert!(e.contains("margin_ranking_loss") && e.contains('4'), "{e}");
    let e = msg(MarginRankingLoss::new()
        .try_forward(x(), x(), other())
        .unwrap_err());
    assert!(e.contains("margin_ranking_loss") && e.contains('4'), "{e}");
    let e = msg(PoissonNLLLoss::new().try_forward(x(), other()).unwrap_err());
    assert!(e.contains("poisson_nll_loss") && e.contains('4'), "{e}");
    let e = msg(GaussianNLLLoss::new()
        .try_forward(x(), other(), x())
        .unwrap_err());
    assert!(e.contains("gaussian_nll_loss") && e.contains('4'), "{e}");
    // The weight must broadcast to the input.
    let w = Tensor::<(usize,)>::ones_with_shape((2,));
    let e = msg(MultiLabelSoftMarginLoss::new()
        .weight(w)
        .try_forward(x(), x())
        .unwrap_err());
    assert!(e.contains("multilabel_soft_margin_loss"), "{e}");
    // Variances: negative entries; shapes PyTorch rejects; those it takes.
    let mut v = Tensor::<(usize, usize)>::ones_with_shape((2, 3));
    v.as_mut_slice()[4] = -0.5;
    let e = msg(GaussianNLLLoss::new().try_forward(x(), x(), v).unwrap_err());
    assert!(e.contains("negative") && e.contains("-0.5"), "{e}");
    for bad in [(2, 4), (1, 1), (3, 3)] {
        let v = Tensor::<(usize, usize)>::ones_with_shape(bad);
        let e = msg(GaussianNLLLoss::new().try_forward(x(), x(), v).unwrap_err());
        assert!(e.contains("var of shape"), "{bad:?}: {e}");
    }
    let short = Tensor::<(usize,)>::ones_with_shape((2,));
    let e = msg(GaussianNLLLoss::new()
        .try_forward(x(), x(), short)
        .unwrap_err());
    assert!(e.contains("size 1"), "{e}");
    for good in [(2, 1), (1, 3)] {
        let v = Tensor::<(usize, usize)>::ones_with_shape(good);
        assert!(
            GaussianNLLLoss::new().try_forward(x(), x(), v).is_ok(),
            "{good:?}"
        );
    }
    // A variance of 0 is clamped (PyTorch takes it); its loss is finite.
    let v = Tensor::<Rank1<2>>::zeros();
    let y = gaussian_nll_loss(Tensor::<Rank1<2>>::ones(), Tensor::<Rank1<2>>::zeros(), v);
    assert!(y.as_slice()[0].is_finite());
}

/// The untraced losses equal the traced ones, and a traced target alone carries the tape.
#[test]
fn margin_and_likelihood_losses_untraced_equal_traced() {
    let x = Tensor::<Rank2<3, 4>, f64>::from_vec(
        (0..12).map(|i| (i as f64 * 0.7).sin() * 2.0).collect(),
    )
    .unwrap();
    let t = Tensor::<Rank2<3, 4>, f64>::from_vec(
        (0..12)
            .map(|i| if i % 3 == 0 { 1.0 } else { -1.0 })
            .collect(),
    )
    .unwrap();
    let v = x.clone().abs().add_scalar(0.1);
    let same = |a: &[f64], b: &[f64]| assert_eq!(a, b);
    same(
        hinge_embedding_loss(x.clone(), t.clone(), 1.0).as_slice(),
        hinge_embedding_loss(x.clone().trace(), t.clone(), 1.0).as_slice(),
    );
    same(
        soft_margin_loss(x.clone(), t.clone()).as_slice(),
        soft_margin_loss(x.clone(), t.clone().trace()).as_slice(),
    );
    same(
        poisson_nll_loss(x.clone(), v.clone()).as_slice(),
        poisson_nll_loss(x.clone(), v.clone().trace()).as_slice(),
    );
    same(
        gaussian_nll_loss(x.clone(), t.clone(), v.clone()).as_slice(),
        gaussian_nll_loss(x.clone(), t.clone(), v.clone().trace()).as_slice(),
    );
    same(
        margin_ranking_loss(x.clone(), v.clone(), t.clone(), 0.3).as_slice(),
        margin_ranking_loss(x.clone(), v.clone().trace(), t.clone(), 0.3).as_slice(),
    );
    // A traced target under an untraced hinge input: the loss carries its tape, no gradient.
    let tt = t.clone().trace();
    let y: Tensor<(), f64, OwnedTape<f64>> = hinge_embedding_loss(x.clone(), tt.clone(), 1.0);
    assert!(y.backward().get_slice(&tt).is_none());
}

// The smooth margin and likelihood losses over random sizes and values (their kinked
// relatives, hinge embedding and margin ranking, in tests/loss_norm_gradcheck.rs, away from
// the kinks).
proptest! {
    #[test]
    fn soft_margin_and_multilabel_gradcheck(
        (x, t, w) in shape::<M>(1..=5).prop_flat_map(|(n, c)| (
            tensor_with_shape((n, c), -6.0..6.0),
            tensor_with_shape((n, c), 0.0..1.0),
            tensor_with_shape((c,), 0.2..2.0),
        )),
    ) {
        let signs = t.clone().mul_scalar(2.0).sub_scalar(1.0);
        check(gradcheck2(&x, &signs, soft_margin_loss, opts()))?;
        let loss = MultiLabelSoftMarginLoss::new().weight(w);
        check(gradcheck2(&x, &t, |x, t| loss.forward(x, t), opts()))?;
        let none = loss.reduction(Reduction::None);
        check(gradcheck_vjp(&x, |x| none.forward(x, t.clone()), opts()))?;
    }

    #[test]
    fn poisson_and_gaussian_nll_gradcheck(
        (x, t, v) in shape::<M>(1..=5).prop_flat_map(|s| (
            tensor_with_shape(s, -2.0..2.0),
            tensor_with_shape(s, 1.1..6.0),
            tensor_with_shape(s, 0.1..3.0),
        )),
        full in any::<bool>(),
    ) {
        let poisson = PoissonNLLLoss::new().full(full);
        check(gradcheck2(&x, &t, |x, t| poisson.forward(x, t), opts()))?;
        let rate = poisson.log_input(false);
        check(gradcheck2(&v, &t, |v, t| rate.forward(v, t), opts()))?;
        let gaussian = GaussianNLLLoss::new().full(full);
        check(gradcheck2(&x, &v, |x, v| gaussian.forward(x, t.clone(), v), opts()))?;
        check(gradcheck2(&t, &v, |t, v| gaussian.forward(x.clone(), t, v), opts()))?;
    }
}

// The embedding losses (tests/golden_extra/loss_cosine_embedding*, loss_triplet*, made by
// distances.py there): values and the gradients for every input.

/// `sum(y * gy)` for an unreduced loss of `(8,)` whose cotangent the case stores.
fn projected8(
    g: &Golden,
    y: Tensor<Rank1<8>, f32, OwnedTape<f32>>,
) -> Tensor<(), f32, OwnedTape<f32>> {
    g.check_forward("y", y.as_slice());
    (y * Tensor::<Rank1<8>>::from_vec(g.f("gy")).unwrap()).sum()
}

#[test]
fn loss_cosine_embedding() {
    for case in [
        "loss_cosine_embedding",
        "loss_cosine_embedding_margin",
        "loss_cosine_embedding_none",
    ] {
        let g = Golden::load(case);
        let x1 = Tensor::<Rank2<8, 5>>::from_vec(g.f("x1")).unwrap();
        let x2 = Tensor::<Rank2<8, 5>>::from_vec(g.f("x2")).unwrap();
        let target = Tensor::<Rank1<8>>::from_vec(g.f("target")).unwrap();
        let loss = CosineEmbeddingLoss::new().margin(g.hp("margin"));
        let (t1, t2) = (x1.clone().trace(), x2.clone().trace());
        let grads = match g.hp_str("reduction").as_str() {
            "\"mean\"" => {
                assert_eq!(g.hp("margin"), 0.0);
                let y = cosine_embedding_loss(t1, t2, &target);
                g.check_forward("y", y.as_slice());
                y.backward()
            }
            "\"sum\"" => {
                let y = loss.reduction(Reduction::Sum).forward(t1, t2, &target);
                g.check_forward("y", y.as_slice());
                y.backward()
            }
            "\"none\"" => {
                let y = loss.reduction(Reduction::None).forward(t1, t2, &target);
                projected8(&g, y).backward()
            }
            r => panic!("{case}: reduction {r}"),
        };
        g.check_grad("x1", grads.get_slice(&x1).unwrap());
        g.check_grad("x2", grads.get_slice(&x2).unwrap());
    }
    // Run-time sizes: the same values, and an Err naming the op for a wrong target length.
    let g = Golden::load("loss_cosine_embedding");
    let x1 = Tensor::from_vec_with_shape(g.f("x1"), (8usize, 5usize)).unwrap();
    let x2 = Tensor::from_vec_with_shape(g.f("x2"), (8usize, 5usize)).unwrap();
    let target = Tensor::from_vec_with_shape(g.f("target"), (8usize,)).unwrap();
    let loss = CosineEmbeddingLoss::new();
    let y = loss.try_forward(x1.clone(), x2.clone(), &target).unwrap();
    g.check_forward("y", y.as_slice());
    let short = Tensor::from_vec_with_shape(vec![1.0; 7], (7usize,)).unwrap();
    let err = loss
        .try_forward(x1.clone(), x2, &short)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cosine_embedding_loss") && err.contains('7') && err.contains('8'),
        "{err}"
    );
    let narrow = Tensor::<(usize, usize)>::zeros_with_shape((8, 4));
    let err = loss
        .try_forward(x1, narrow, &target)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cosine_embedding_loss") && err.contains("[8, 4]"),
        "{err}"
    );
}

#[test]
fn loss_triplet() {
    for case in [
        "loss_triplet",
        "loss_triplet_swap",
        "loss_triplet_p1",
        "loss_triplet_none",
    ] {
        let g = Golden::load(case);
        assert_eq!(g.hp("eps"), 1e-6);
        let load = |name| Tensor::<Rank2<8, 6>>::from_vec(g.f(name)).unwrap();
        let (a, p, n) = (load("anchor"), load("positive"), load("negative"));
        let loss = TripletMarginLoss::new()
            .margin(g.hp("margin"))
            .p(g.hp("p"))
            .swap(g.hp_str("swap") == "true");
        let (ta, tp, tn) = (a.clone().trace(), p.clone().trace(), n.clone().trace());
        let grads = if g.hp_str("reduction") == "\"none\"" {
            projected8(&g, loss.reduction(Reduction::None).forward(ta, tp, tn)).backward()
        } else {
            assert_eq!(g.hp_str("reduction"), "\"mean\"");
            let y = if case == "loss_triplet" {
                triplet_margin_loss(ta, tp, tn)
            } else {
                loss.forward(ta, tp, tn)
            };
            g.check_forward("y", y.as_slice());
            y.backward()
        };
        g.check_grad("anchor", grads.get_slice(&a).unwrap());
        g.check_grad("positive", grads.get_slice(&p).unwrap());
        g.check_grad("negative", grads.get_slice(&n).unwrap());
    }
    // The swap changes the loss of that case.
    let g = Golden::load("loss_triplet_swap");
    let load = |name| Tensor::<Rank2<8, 6>>::from_vec(g.f(name)).unwrap();
    let plain = triplet_margin_loss(load("anchor"), load("positive"), load("negative"));
    assert!((plain.to_vec()[0] - g.f("y")[0]).abs() > 1e-3);
    // Run-time sizes: an Err naming the op and both shapes.
    let a = Tensor::<(usize, usize)>::zeros_with_shape((8, 6));
    let n = Tensor::<(usize, usize)>::zeros_with_shape((7, 6));
    let err = TripletMarginLoss::new()
        .try_forward(a.clone(), a.clone(), n)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("triplet_margin_loss") && err.contains("[7, 6]"),
        "{err}"
    );
    let err = TripletMarginLoss::new()
        .p(-1.0)
        .try_forward(a.clone(), a.clone(), a)
        .unwrap_err();
    assert!(err.to_string().contains("p = -1"), "{err}");
}

// The class margin losses and the triplet loss with a distance function
// (tests/golden_extra/loss_multi_margin*, loss_multilabel_margin*, loss_triplet_distance*,
// made by losses_multi_margin.py there): value and gradient, at run-time and static sizes;
// the errors for labels out of range and sizes that differ.

type Dyn2 = Tensor<(usize, usize)>;

/// A stored 2-D float tensor at run-time sizes.
fn dyn2(g: &Golden, name: &str) -> Dyn2 {
    let s = g.shape(name);
    Tensor::from_vec_with_shape(g.f(name), (s[0], s[1])).unwrap()
}

/// `sum(y * gy)` after checking `y`: the scalar whose gradients a "none" case stores.
fn projected_dyn(
    g: &Golden,
    y: Tensor<(usize,), f32, OwnedTape<f32>>,
) -> Tensor<(), f32, OwnedTape<f32>> {
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    (y * gy).sum()
}

/// A hyperparameter, or `default` where the case leaves PyTorch's default.
fn hp_or(g: &Golden, key: &str, default: f64) -> f64 {
    if g.meta.contains_key(key) {
        g.hp(key)
    } else {
        default
    }
}

#[test]
fn loss_multi_margin() {
    for case in [
        "loss_multi_margin",
        "loss_multi_margin_p2_none",
        "loss_multi_margin_weight_sum",
        "loss_multi_margin_weight_p2_mean",
    ] {
        let g = Golden::load(case);
        let x = dyn2(&g, "x");
        let (n, c) = *x.shape();
        let labels = Indices::from_vec_with_shape(g.idx("labels"), (n,)).unwrap();
        let (p, margin) = (hp_or(&g, "p", 1.0) as u32, hp_or(&g, "margin", 1.0));
        let loss = MultiMarginLoss::new().p(p).margin(margin);
        let weight = g
            .has("weight")
            .then(|| Tensor::from_vec_with_shape(g.f("weight"), (c,)).unwrap());
        let t = x.clone().trace();
        let reduced = |y: Tensor<(), f32, OwnedTape<f32>>| {
            g.check_forward("y", y.as_slice());
            y.backward()
        };
        let grads = match (g.hp_str("reduction").as_str(), weight) {
            ("\"mean\"", None) => {
                assert_eq!((p, margin), (1, 1.0));
                reduced(multi_margin_loss(t, &labels))
            }
            ("\"mean\"", Some(w)) => reduced(loss.weight(w).forward(t, &labels)),
            ("\"sum\"", Some(w)) => {
                reduced(loss.weight(w).reduction(Reduction::Sum).forward(t, &labels))
            }
            ("\"none\"", None) => {
                projected_dyn(&g, loss.reduction(Reduction::None).forward(t, &labels)).backward()
            }
            (r, _) => panic!("{case}: reduction {r}"),
        };
        g.check_grad("x", grads.get_slice(&x).unwrap());
    }
    // Static sizes: the same loss through the free function.
    let g = Golden::load("loss_multi_margin");
    let x = Tensor::<Rank2<6, 5>>::from_vec(g.f("x")).unwrap();
    let labels = Indices::<Rank1<6>>::from_vec(g.idx("labels")).unwrap();
    let y = multi_margin_loss(x.clone().trace(), &labels);
    g.check_forward("y", y.as_slice());
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
    // One sample (C,) with a scalar label: a scalar loss even unreduced, as PyTorch.
    let g = Golden::load("loss_multi_margin_1d_none");
    let x = Tensor::<Rank1<7>>::from_vec(g.f("x")).unwrap();
    let label = Indices::<()>::from_vec(g.idx("labels")).unwrap();
    let y: Tensor<(), f32, OwnedTape<f32>> = MultiMarginLoss::new()
        .reduction(Reduction::None)
        .forward(x.clone().trace(), &label);
    g.check_forward("y", y.as_slice());
    let y = y * Tensor::<()>::from_vec(g.f("gy")).unwrap();
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
}

#[test]
fn loss_multi_margin_errors() {
    let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 4));
    let labels = |v: Vec<usize>| Indices::from_vec_with_shape(v.clone(), (v.len(),)).unwrap();
    let err = |r: shaped::error::Result<Tensor<(), f32>>| r.unwrap_err().to_string();
    let loss = MultiMarginLoss::new();
    let e = err(loss.try_forward(x.clone(), &labels(vec![0, 4, 1])));
    assert!(
        e.contains("multi_margin_loss")
            && e.contains("label 4 at position 1 is out of range for 4 classes"),
        "{e}"
    );
    let e = err(loss.try_forward(x.clone(), &labels(vec![0, 1])));
    assert!(
        e.contains("multi_margin_loss") && e.contains("2 labels for a batch of 3"),
        "{e}"
    );
    let e = err(loss
        .clone()
        .p(3)
        .try_forward(x.clone(), &labels(vec![0, 1, 2])));
    assert!(
        e.contains("p = 3") && e.contains("only p = 1 and p = 2"),
        "{e}"
    );
    let w = Tensor::<(usize,)>::ones_with_shape((5,));
    let e = err(loss
        .clone()
        .weight(w)
        .try_forward(x, &labels(vec![0, 1, 2])));
    assert!(e.contains("5 class weights for 4 classes"), "{e}");
    let empty = Tensor::<(usize, usize)>::zeros_with_shape((3, 0));
    let e = err(loss.try_forward(empty, &labels(vec![0, 0, 0])));
    assert!(e.contains("0 classes"), "{e}");
    // forward panics with the same message.
    let x = Tensor::<Rank2<2, 3>>::zeros();
    let bad = Indices::<Rank1<2>>::from_array([3, 0]);
    let panic = std::panic::catch_unwind(|| multi_margin_loss(x, &bad)).unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("label 3 at position 0"), "{msg}");
}

#[test]
fn loss_multilabel_margin() {
    for case in [
        "loss_multilabel_margin",
        "loss_multilabel_margin_repeat_none",
    ] {
        let g = Golden::load(case);
        let x = dyn2(&g, "x");
        let target = MultiLabelTargets::from_vec_with_shape(g.ints("labels"), *x.shape()).unwrap();
        let t = x.clone().trace();
        let grads = match g.hp_str("reduction").as_str() {
            "\"mean\"" => {
                let y = multilabel_margin_loss(t, &target);
                g.check_forward("y", y.as_slice());
                y.backward()
            }
            "\"none\"" => {
                let loss = MultiLabelMarginLoss::new().reduction(Reduction::None);
                projected_dyn(&g, loss.forward(t, &target)).backward()
            }
            r => panic!("{case}: reduction {r}"),
        };
        g.check_grad("x", grads.get_slice(&x).unwrap());
    }
    // Static sizes, and the entries after a row's -1 matter not (PyTorch ignores them).
    let g = Golden::load("loss_multilabel_margin");
    let x = Tensor::<Rank2<4, 5>>::from_vec(g.f("x")).unwrap();
    let target = MultiLabelTargets::<Rank2<4, 5>>::from_vec(g.ints("labels")).unwrap();
    let y = multilabel_margin_loss(x.clone().trace(), &target);
    g.check_forward("y", y.as_slice());
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
    let mut after = g.ints("labels");
    after[3] = 4; // row 0 is [3, 0, -1, 1, 2]: its list is {3, 0} either way
    let after = MultiLabelTargets::<Rank2<4, 5>>::from_vec(after).unwrap();
    g.check_forward("y", multilabel_margin_loss(x, &after).as_slice());
    // One sample (C,): a scalar loss.
    let g = Golden::load("loss_multilabel_margin_1d_sum");
    let x = Tensor::<Rank1<6>>::from_vec(g.f("x")).unwrap();
    let target = MultiLabelTargets::<Rank1<6>>::from_vec(g.ints("labels")).unwrap();
    let y = MultiLabelMarginLoss::new()
        .reduction(Reduction::Sum)
        .forward(x.clone().trace(), &target);
    g.check_forward("y", y.as_slice());
    g.check_grad("x", y.backward().get_slice(&x).unwrap());
}

#[test]
fn loss_multilabel_margin_errors() {
    let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let loss = MultiLabelMarginLoss::new();
    let targets = |v: Vec<i64>, shape| MultiLabelTargets::from_vec_with_shape(v, shape).unwrap();
    let err = |r: shaped::error::Result<Tensor<(), f32>>| r.unwrap_err().to_string();
    // Out of range before and after the -1 (PyTorch checks every entry), and below -1.
    for (v, bad, at) in [
        (vec![0, 3, -1, 1, -1, 0], 3, 1),
        (vec![0, -1, 7, 1, -1, 0], 7, 2),
        (vec![0, -1, 0, -2, 1, 0], -2, 3),
    ] {
        let e = err(loss.try_forward(x.clone(), &targets(v, (2, 3))));
        let want = format!("target {bad} at position {at} is out of range for 3 classes");
        assert!(
            e.contains("multilabel_margin_loss") && e.contains(&want),
            "{e}"
        );
    }
    let e = err(loss.try_forward(x.clone(), &targets(vec![0, -1, 0, -1], (2, 2))));
    assert!(
        e.contains("multilabel_margin_loss") && e.contains("[2, 2]") && e.contains("[2, 3]"),
        "{e}"
    );
    let e = err(loss.try_forward(
        Tensor::<(usize, usize)>::zeros_with_shape((2, 0)),
        &targets(vec![], (2, 0)),
    ));
    assert!(e.contains("0 classes"), "{e}");
    assert!(MultiLabelTargets::from_vec_with_shape(vec![0, 1], (3usize,)).is_err());
}

#[test]
fn loss_triplet_distance() {
    use shaped::autograd::Gradients;
    use shaped::ops::distance::{cosine_similarity, pairwise_distance};
    type X = Tensor<Rank2<8, 6>, f32, OwnedTape<f32>>;
    fn run<D: TripletDistance<Rank2<8, 6>, f32, OwnedTape<f32>>>(
        g: &Golden,
        loss: TripletMarginWithDistanceLoss<D>,
        (a, p, n): (X, X, X),
    ) -> Gradients<f32> {
        match g.hp_str("reduction").as_str() {
            "\"none\"" => {
                let y = loss.reduction(Reduction::None).forward(a, p, n);
                projected8(g, y).backward()
            }
            "\"sum\"" => {
                let y = loss.reduction(Reduction::Sum).forward(a, p, n);
                g.check_forward("y", y.as_slice());
                y.backward()
            }
            r => {
                assert_eq!(r, "\"mean\"");
                let y = loss.forward(a, p, n);
                g.check_forward("y", y.as_slice());
                y.backward()
            }
        }
    }
    let cosine_distance = |x: X, y: X| cosine_similarity(x, y, 1e-8).neg().add_scalar(1.0);
    for case in [
        "loss_triplet_distance",
        "loss_triplet_distance_swap_sum",
        "loss_triplet_distance_cosine_none",
        "loss_triplet_distance_cosine_swap",
    ] {
        let g = Golden::load(case);
        let load = |name| Tensor::<Rank2<8, 6>>::from_vec(g.f(name)).unwrap();
        let (a, p, n) = (load("anchor"), load("positive"), load("negative"));
        let traced = (a.clone().trace(), p.clone().trace(), n.clone().trace());
        let loss = TripletMarginWithDistanceLoss::new()
            .margin(hp_or(&g, "margin", 1.0))
            .swap(g.hp_str("swap") == "true");
        let grads = match g.hp_str("distance").as_str() {
            "\"pairwise\"" => run(&g, loss, traced),
            "\"cosine\"" => run(&g, loss.distance_function(cosine_distance), traced),
            d => panic!("{case}: distance {d}"),
        };
        g.check_grad("anchor", grads.get_slice(&a).unwrap());
        g.check_grad("positive", grads.get_slice(&p).unwrap());
        g.check_grad("negative", grads.get_slice(&n).unwrap());
    }
    // The free function takes the distance function, its argument types inferred; with the
    // pairwise distance it is TripletMarginLoss.
    let g = Golden::load("loss_triplet_distance");
    let load = |name| Tensor::<Rank2<8, 6>>::from_vec(g.f(name)).unwrap();
    let (a, p, n) = (load("anchor"), load("positive"), load("negative"));
    let y = triplet_margin_with_distance_loss(a.clone(), p.clone(), n.clone(), |x, y| {
        pairwise_distance(x, y, 2.0, 1e-6)
    });
    g.check_forward("y", y.as_slice());
    check_close(
        "TripletMarginLoss",
        triplet_margin_loss(a, p, n).as_slice(),
        y.as_slice(),
        1e-6,
        1e-6,
    );
    // The cosine swap case: the free function's cosine distance, and the swap matters.
    let g = Golden::load("loss_triplet_distance_cosine_swap");
    let load = |name| Tensor::<Rank2<8, 6>>::from_vec(g.f(name)).unwrap();
    let plain = triplet_margin_with_distance_loss(
        load("anchor"),
        load("positive"),
        load("negative"),
        |x, y| cosine_similarity(x, y, 1e-8).neg().add_scalar(1.0),
    );
    assert!((plain.to_vec()[0] - g.f("y")[0]).abs() > 1e-3);
}

#[test]
fn loss_triplet_distance_errors() {
    use shaped::nn::PairwiseDistance;
    let a = Tensor::<(usize, usize)>::zeros_with_shape((4, 3));
    let loss = TripletMarginWithDistanceLoss::new();
    let err = |r: shaped::error::Result<Tensor<(), f32>>| r.unwrap_err().to_string();
    let short = Tensor::<(usize, usize)>::zeros_with_shape((3, 3));
    let e = err(loss.try_forward(a.clone(), short, a.clone()));
    assert!(
        e.contains("triplet_margin_with_distance_loss") && e.contains("[3, 3]"),
        "{e}"
    );
    for margin in [0.0, -1.0, f64::NAN] {
        let e = err(loss
            .margin(margin)
            .try_forward(a.clone(), a.clone(), a.clone()));
        assert!(e.contains("margin must be greater than 0"), "{e}");
    }
    let e = err(loss
        .distance_function(PairwiseDistance::new().p(0.0))
        .try_forward(a.clone(), a.clone(), a.clone()));
    assert!(
        e.contains("pairwise_distance") && e.contains("p = 0"),
        "{e}"
    );
    // A distance function that does not return one value per row.
    type D = Tensor<(usize, usize)>;
    let wrong = |_: D, _: D| Tensor::<(usize,)>::zeros_with_shape((3,));
    let e = err(loss
        .distance_function(wrong)
        .try_forward(a.clone(), a.clone(), a));
    assert!(
        e.contains("distance function returned shape [3]") && e.contains("[4]"),
        "{e}"
    );
}

// The CTC loss (tests/golden_extra/loss_ctc*, made by ctc.py there): value and PyTorch's
// gradient for log_probs (the logits' gradient through log_softmax, see `nn::loss::ctc`), at
// run-time and static sizes, padded and concatenated targets, unbatched; the errors for
// hostile targets and lengths.

/// The CTC loss of a stored case at run-time sizes, reduced as the case says, and the
/// gradient for its log-probabilities (of `sum(y * gy)` for "none").
fn ctc_case(g: &Golden) -> Vec<f32> {
    let ts = g.shape("targets");
    match ts.len() {
        2 => ctc_run(
            g,
            &Indices::from_vec_with_shape(g.idx("targets"), (ts[0], ts[1])).unwrap(),
        ),
        _ => ctc_run(
            g,
            &Indices::from_vec_with_shape(g.idx("targets"), (ts[0],)).unwrap(),
        ),
    }
}

fn ctc_run<L: Shape>(g: &Golden, targets: &Indices<L>) -> Vec<f32> {
    let (il, tl) = (g.idx("input_lengths"), g.idx("target_lengths"));
    let loss = CTCLoss::new()
        .blank(g.hp("blank") as usize)
        .zero_infinity(g.hp_str("zero_infinity") == "true");
    let s = g.shape("log_probs");
    let reduction = g.hp_str("reduction");
    if s.len() == 2 {
        let x = Tensor::from_vec_with_shape(g.f("log_probs"), (s[0], s[1])).unwrap();
        assert_eq!(reduction, "\"mean\"");
        let y = loss.forward(x.clone().trace(), targets, &il, &tl);
        g.check_forward("y", y.as_slice());
        return y.backward().get_slice(&x).unwrap().to_vec();
    }
    let x = Tensor::from_vec_with_shape(g.f("log_probs"), (s[0], s[1], s[2])).unwrap();
    let t = x.clone().trace();
    let grads = match reduction.as_str() {
        "\"mean\"" => {
            let y = loss.forward(t, targets, &il, &tl);
            g.check_forward("y", y.as_slice());
            y.backward()
        }
        "\"sum\"" => {
            let y = loss.reduction(Reduction::Sum).forward(t, targets, &il, &tl);
            g.check_forward("y", y.as_slice());
            y.backward()
        }
        "\"none\"" => {
            let y = loss
                .reduction(Reduction::None)
                .forward(t, targets, &il, &tl);
            projected_dyn(g, y).backward()
        }
        r => panic!("{}: reduction {r}", g.case),
    };
    grads.get_slice(&x).unwrap().to_vec()
}

#[test]
fn loss_ctc() {
    for case in [
        "loss_ctc",
        "loss_ctc_concat_sum",
        "loss_ctc_repeat_none",
        "loss_ctc_blank",
        "loss_ctc_zero_infinity_none",
        "loss_ctc_zero_infinity",
        "loss_ctc_unbatched",
    ] {
        let g = Golden::load(case);
        let grad = ctc_case(&g);
        g.check_grad("log_probs", &grad);
    }
    // Static sizes, the defaults through `ctc_loss`; padding past a target length ignored.
    let g = Golden::load("loss_ctc");
    let x = Tensor::<Rank3<12, 4, 6>>::from_vec(g.f("log_probs")).unwrap();
    let targets = Indices::<Rank2<4, 5>>::from_vec(g.idx("targets")).unwrap();
    let (il, tl) = (g.idx("input_lengths"), g.idx("target_lengths"));
    let y = ctc_loss(x.clone().trace(), &targets, &il, &tl);
    g.check_forward("y", y.as_slice());
    g.check_grad("log_probs", y.backward().get_slice(&x).unwrap());
    let mut padded = g.idx("targets");
    padded[9] = 0; // sample 1 is [3, 1, 5] of [3, 1, 5, 0, 0]
    padded[19] = 7; // sample 3 is [5, 5]: an out-of-range class in its padding is ignored
    let padded = Indices::<Rank2<4, 5>>::from_vec(padded).unwrap();
    g.check_forward("y", ctc_loss(x.clone(), &padded, &il, &tl).as_slice());
    // The same batch with concatenated targets.
    let cat: Vec<usize> = (0..4)
        .flat_map(|n| g.idx("targets")[n * 5..n * 5 + tl[n]].to_vec())
        .collect();
    let cat = Indices::from_vec_with_shape(cat, (14usize,)).unwrap();
    g.check_forward("y", ctc_loss(x, &cat, &il, &tl).as_slice());
    // Unbatched at static sizes, the targets (S,) or (1, S).
    let g = Golden::load("loss_ctc_unbatched");
    let x = Tensor::<Rank2<7, 5>>::from_vec(g.f("log_probs")).unwrap();
    let t1 = Indices::<Rank1<3>>::from_vec(g.idx("targets")).unwrap();
    let t2 = Indices::<Rank2<1, 3>>::from_vec(g.idx("targets")).unwrap();
    let y = ctc_loss(x.clone().trace(), &t1, &[6], &[3]);
    g.check_forward("y", y.as_slice());
    g.check_grad("log_probs", y.backward().get_slice(&x).unwrap());
    g.check_forward("y", ctc_loss(x, &t2, &[6], &[3]).as_slice());
}

#[test]
fn loss_ctc_no_alignment_is_infinite_or_zero() {
    // Without zero_infinity an impossible sample's loss is +inf (as PyTorch).
    let g = Golden::load("loss_ctc_zero_infinity_none");
    let s = g.shape("log_probs");
    let x = Tensor::from_vec_with_shape(g.f("log_probs"), (s[0], s[1], s[2])).unwrap();
    let targets = Indices::from_vec_with_shape(g.idx("targets"), (3usize, 3usize)).unwrap();
    let (il, tl) = (g.idx("input_lengths"), g.idx("target_lengths"));
    let y = CTCLoss::new()
        .reduction(Reduction::None)
        .forward(x.clone(), &targets, &il, &tl);
    let y = y.as_slice();
    assert!(
        y[0].is_finite() && y[1] == f32::INFINITY && y[2] == f32::INFINITY,
        "{y:?}"
    );
    // With it, the losses and every gradient entry of those samples are 0.
    let y = CTCLoss::new()
        .zero_infinity(true)
        .reduction(Reduction::Sum)
        .forward(x.clone().trace(), &targets, &il, &tl);
    assert!(y.as_slice()[0].is_finite());
    let grad = y.backward().get_slice(&x).unwrap().to_vec();
    for t in 0..s[0] {
        for n in 1..3 {
            assert!(
                grad[(t * 3 + n) * 4..(t * 3 + n + 1) * 4]
                    .iter()
                    .all(|&v| v == 0.0)
            );
        }
    }
    // An empty input: loss 0 for an empty target, +inf otherwise (PyTorch's CPU kernel).
    let x = Tensor::<Rank3<2, 2, 3>>::zeros();
    let t = Indices::<Rank1<1>>::from_array([1]);
    let y = CTCLoss::new()
        .reduction(Reduction::None)
        .forward(x, &t, &[0, 0], &[0, 1]);
    assert_eq!(y.to_vec(), vec![0.0, f32::INFINITY]);
}

#[test]
fn loss_ctc_errors() {
    let x = Tensor::from_vec_with_shape(vec![0.0f32; 4 * 2 * 3], (4usize, 2usize, 3usize)).unwrap();
    type Padded = Indices<(usize, usize)>;
    let padded = |v: Vec<usize>, n: usize, s: usize| -> Padded {
        Indices::from_vec_with_shape(v, (n, s)).unwrap()
    };
    fn err<L: Shape>(
        x: &Tensor<(usize, usize, usize)>,
        t: &Indices<L>,
        il: &[usize],
        tl: &[usize],
    ) -> String {
        CTCLoss::new()
            .try_forward(x.clone(), t, il, tl)
            .unwrap_err()
            .to_string()
    }
    let ok = padded(vec![1, 2, 2, 0], 2, 2);
    assert!(
        CTCLoss::new()
            .try_forward(x.clone(), &ok, &[4, 3], &[2, 1])
            .is_ok()
    );
    let e = err(&x, &padded(vec![1, 3, 2, 0], 2, 2), &[4, 3], &[2, 1]);
    assert!(
        e.contains("label 3 at position 1 of sample 0 is out of range for 3 classes"),
        "{e}"
    );
    let e = err(&x, &padded(vec![1, 2, 0, 0], 2, 2), &[4, 3], &[2, 1]);
    assert!(
        e.contains("label 0 at position 0 of sample 1 equals the blank"),
        "{e}"
    );
    let e = err(&x, &ok, &[5, 3], &[2, 1]);
    assert!(
        e.contains("input length 5 of sample 0 is longer than the input (4 steps)"),
        "{e}"
    );
    let e = err(&x, &ok, &[4, 3], &[2, 3]);
    assert!(
        e.contains("target length 3 of sample 1 is longer than the padded targets"),
        "{e}"
    );
    let e = err(&x, &ok, &[4], &[2, 1]);
    assert!(
        e.contains("input_lengths") && e.contains("expected 2"),
        "{e}"
    );
    let e = err(&x, &ok, &[4, 3], &[2, 1, 1]);
    assert!(e.contains("target_lengths") && e.contains("got 3"), "{e}");
    let e = err(&x, &padded(vec![1, 2, 2, 0, 1, 1], 3, 2), &[4, 3], &[2, 1]);
    assert!(
        e.contains("padded targets for 3 samples, log_probs has 2"),
        "{e}"
    );
    let cat = Indices::from_vec_with_shape(vec![1, 2, 2], (3usize,)).unwrap();
    let e = err(&x, &cat, &[4, 3], &[2, 2]);
    assert!(
        e.contains("concatenated targets") && e.contains("expected 4"),
        "{e}"
    );
    let e = CTCLoss::new()
        .blank(3)
        .try_forward(x.clone(), &ok, &[4, 3], &[2, 1])
        .unwrap_err()
        .to_string();
    assert!(e.contains("blank 3 is out of range for 3 classes"), "{e}");
    let empty = Tensor::from_vec_with_shape(vec![0.0f32; 0], (4usize, 2usize, 0usize)).unwrap();
    let e = CTCLoss::new()
        .try_forward(empty, &ok, &[4, 3], &[2, 1])
        .unwrap_err()
        .to_string();
    assert!(e.contains("0 classes"), "{e}");
    let t3 = Indices::from_vec_with_shape(vec![1; 8], (2usize, 2usize, 2usize)).unwrap();
    let e = err(&x, &t3, &[4, 3], &[2, 1]);
    assert!(e.contains("targets of shape"), "{e}");
}
