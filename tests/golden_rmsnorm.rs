//! RMSNorm against PyTorch (tests/golden_extra/layer_rmsnorm*, made by rmsnorm.py there):
//! forward and the gradients of `sum(y * gy)` for the input and the weight, with the default
//! and a set `eps`, static and run-time sizes; finite differences; its print line.

mod common;
use common::Golden;
use proptest::prelude::*;
use shaped::gradcheck::{GradcheckOptions, gradcheck_params, gradcheck_vjp};
use shaped::nn::{LayerNorm, Linear, Module, Params, RMSNorm, RMSNormDyn};
use shaped::prelude::*;
use shaped::strategies::tensor;

/// Loads the case's layer, runs `x`, checks `y` and both gradients (and the untraced
/// forward).
macro_rules! check_rms {
    ($case:literal, $d:literal, $xshape:ty) => {{
        let g = Golden::load($case);
        let mut norm = RMSNorm::<$d>::new();
        assert_eq!(norm.weight.to_vec(), vec![1.0; $d]);
        norm.weight = Tensor::from_vec(g.f("weight")).unwrap();
        if g.hp_str("eps_default") == "false" {
            norm.eps = Some(g.hp("eps"));
        }
        assert_eq!(norm.eps_value(), g.hp("eps"));
        let x = Tensor::<$xshape>::from_vec(g.f("x")).unwrap();
        let y = norm.forward(x.clone().trace());
        g.check_forward("y", y.as_slice());
        let gy = Tensor::<$xshape>::from_vec(g.f("gy")).unwrap();
        let grads = (y * gy).sum().backward();
        g.check_grad("x", grads.get_slice(&x).unwrap());
        g.check_grad("weight", grads.get_slice(&norm.weight).unwrap());
        g.check_forward("y", norm.forward(x).as_slice());
        (g, norm)
    }};
}

#[test]
fn layer_rmsnorm() {
    let (g, norm) = check_rms!("layer_rmsnorm", 8, Rank3<2, 3, 8>);
    assert_eq!(g.hp_str("eps_default"), "true");
    assert_eq!(norm.param_names(), ["weight"]);
    assert_eq!(
        norm.summary().to_string().lines().next(),
        Some("RMSNorm((8,), eps=None, elementwise_affine=True)  # 8 params: weight [8]")
    );
}

#[test]
fn layer_rmsnorm_eps() {
    let (_, norm) = check_rms!("layer_rmsnorm_eps", 6, Rank2<4, 6>);
    assert!(
        norm.summary()
            .to_string()
            .contains("RMSNorm((6,), eps=1e-05")
    );
}

#[test]
fn layer_rmsnorm_long() {
    check_rms!("layer_rmsnorm_long", 300, Rank2<3, 300>);
    // The same with the size known at run time.
    let g = Golden::load("layer_rmsnorm_long");
    let mut norm = RMSNormDyn::<f32>::new_dyn(300);
    norm.weight = Tensor::from_vec_with_shape(g.f("weight"), (300,)).unwrap();
    let x = Tensor::from_vec_with_shape(g.f("x"), (3usize, 300usize)).unwrap();
    let y = norm.try_forward(x.clone().trace()).unwrap();
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), (3usize, 300usize)).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&norm.weight).unwrap());
    let err = norm
        .try_forward(Tensor::<Rank2<3, 299>>::zeros())
        .unwrap_err()
        .to_string();
    assert!(err.contains("299") && err.contains("300"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Input and weight gradients by finite differences (f64), rows of 5 and of 37 (the
    /// 32-lane loop and its remainder), a second use of the input adding to its gradient.
    #[test]
    fn rmsnorm_gradients(
        x in tensor::<Rank2<3, 5>, f64>(-3.0..3.0),
        long in tensor::<Rank2<2, 37>, f64>(-3.0..3.0),
        w in tensor::<Rank1<5>, f64>(0.5..1.5),
    ) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        let mut norm = RMSNorm::<5, f64>::new();
        norm.weight = w;
        norm.eps = Some(1e-3);
        gradcheck_vjp(&x, |x| norm.forward(x), opts).map_err(fail)?;
        gradcheck_vjp(&x, |x| norm.forward(x.clone()) * x, opts).map_err(fail)?;
        gradcheck_params(&norm, |m| m.forward(x.clone().trace()), opts).map_err(fail)?;
        let long_norm = RMSNorm::<37, f64>::new();
        gradcheck_vjp(&long, |x| long_norm.forward(x), opts).map_err(fail)?;
    }
}

/// A pre-norm block as LLaMA-style models write it trains like one with LayerNorm: the
/// layer composes in tuples and its weight reaches the optimizer.
#[test]
fn rmsnorm_in_a_model() {
    use shaped::rand::SeedableRng;
    let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        RMSNorm::<16>::new(),
        Linear::<16, 4>::new(&mut rng),
        LayerNorm::<4>::new(),
    );
    assert_eq!(model.state_dict_names()[0], "0.weight");
    let x = Tensor::<Rank2<8, 16>>::randn(&mut rng);
    let loss = model.forward(x.trace()).square().mean();
    let grads = loss.backward();
    assert!(
        grads
            .get_slice(&model.0.weight)
            .unwrap()
            .iter()
            .any(|g| *g != 0.0)
    );
}
