//! InstanceNorm against PyTorch (tests/golden_extra/layer_instancenorm*, made by
//! instancenorm.py there): without and with the affine map, forward and the gradients of
//! `sum(y * gy)`; finite differences; the run-time form and its error; the print line.

mod common;
use common::Golden;
use proptest::prelude::*;
use shaped::gradcheck::{GradcheckOptions, gradcheck_params, gradcheck_vjp};
use shaped::nn::{InstanceNorm1d, InstanceNorm2d, InstanceNorm2dDyn, Module, Params};
use shaped::prelude::*;
use shaped::strategies::tensor;

#[test]
fn layer_instancenorm1d() {
    let g = Golden::load("layer_instancenorm1d");
    let norm = InstanceNorm1d::<3>::new();
    assert_eq!(norm.eps, g.hp("eps"));
    assert!(Params::<f32>::param_names(&norm).is_empty());
    let x = Tensor::<Rank3<2, 3, 7>>::from_vec(g.f("x")).unwrap();
    let y = norm.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank3<2, 3, 7>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    assert_eq!(
        norm.summary().to_string().lines().next(),
        Some("InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)")
    );
}

#[test]
fn layer_instancenorm2d_affine() {
    let g = Golden::load("layer_instancenorm2d_affine");
    let mut norm = InstanceNorm2d::<4>::new_affine();
    norm.eps = g.hp("eps");
    norm.weight = Some(Tensor::from_vec(g.f("weight")).unwrap());
    norm.bias = Some(Tensor::from_vec(g.f("bias")).unwrap());
    assert_eq!(norm.param_names(), ["weight", "bias"]);
    let x = Tensor::<Rank4<2, 4, 5, 5>>::from_vec(g.f("x")).unwrap();
    let y = norm.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank4<2, 4, 5, 5>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    let (w, b) = (norm.weight.as_ref().unwrap(), norm.bias.as_ref().unwrap());
    g.check_grad("weight", grads.get_slice(w).unwrap());
    g.check_grad("bias", grads.get_slice(b).unwrap());

    // The run-time form gives the same values and names the wrong channel count.
    let mut dynamic = InstanceNorm2dDyn::<f32>::new_dyn(4, true);
    dynamic.eps = norm.eps;
    dynamic.weight = Some(Tensor::from_vec_with_shape(g.f("weight"), (4,)).unwrap());
    dynamic.bias = Some(Tensor::from_vec_with_shape(g.f("bias"), (4,)).unwrap());
    g.check_forward("y", dynamic.try_forward(x).unwrap().as_slice());
    let err = dynamic
        .try_forward(Tensor::<Rank4<1, 3, 2, 2>>::ones())
        .unwrap_err()
        .to_string();
    assert!(err.contains("3 channels") && err.contains("has 4"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Input and parameter gradients by finite differences (f64).
    #[test]
    fn instancenorm_gradients(
        x in tensor::<Rank4<2, 3, 2, 3>, f64>(-3.0..3.0),
        w in tensor::<Rank1<3>, f64>(0.5..1.5),
    ) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        let plain = InstanceNorm2d::<3, f64>::new();
        gradcheck_vjp(&x, |x| plain.forward(x), opts).map_err(fail)?;
        let mut affine = InstanceNorm2d::<3, f64>::new_affine();
        affine.weight = Some(w);
        gradcheck_vjp(&x, |x| affine.forward(x), opts).map_err(fail)?;
        gradcheck_params(&affine, |m| m.forward(x.clone().trace()).square(), opts).map_err(fail)?;
    }
}
