//! InstanceNorm against PyTorch (tests/golden_extra/layer_instancenorm*, made by
//! instancenorm.py there): without and with the affine map, forward and the gradients of
//! `sum(y * gy)`; finite differences; the run-time form and its error; the print line.
//! With running statistics (tests/golden_extra/instancenorm_running.py): training steps
//! updating them, then evaluation by them, with gradients.

mod common;
use common::Golden;
use proptest::prelude::*;
use shaped::gradcheck::{GradcheckOptions, gradcheck_params, gradcheck_vjp};
use shaped::nn::{
    InstanceNorm1d, InstanceNorm2d, InstanceNorm2dDyn, InstanceNorm3d, Module, Params,
};
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

    /// Evaluation by running statistics (a tracking layer after `eval()`): input and
    /// parameter gradients by finite differences (f64), over random statistics.
    #[test]
    fn instancenorm_running_eval_gradients(
        x in tensor::<Rank3<2, 3, 4>, f64>(-3.0..3.0),
        w in tensor::<Rank1<3>, f64>(0.5..1.5),
        b in tensor::<Rank1<3>, f64>(-1.0..1.0),
        mean in tensor::<Rank1<3>, f64>(-1.0..1.0),
        var in tensor::<Rank1<3>, f64>(0.2..3.0),
    ) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        let mut norm = InstanceNorm1d::<3, f64>::new_affine().track_running_stats(true);
        norm.weight = Some(w);
        norm.bias = Some(b);
        norm.running_mean = Some(mean);
        norm.running_var = Some(var);
        norm.eval();
        gradcheck_vjp(&x, |x| norm.forward(x), opts).map_err(fail)?;
        gradcheck_params(&norm, |m| m.forward(x.clone().trace()).square(), opts).map_err(fail)?;
    }
}

/// Runs a `layer_instancenorm*_running*` case with input type `$x`: the training steps
/// through `forward_train` (outputs and buffers after each), then evaluation with gradients.
macro_rules! check_running {
    ($case:literal, $norm:expr, $x:ty) => {{
        let g = Golden::load($case);
        let mut norm = $norm;
        norm.eps = g.hp("eps");
        norm.momentum = g.hp("momentum");
        if let Some(w) = &mut norm.weight {
            w.as_mut_slice().copy_from_slice(&g.f("weight"));
        }
        if let Some(b) = &mut norm.bias {
            b.as_mut_slice().copy_from_slice(&g.f("bias"));
        }
        for k in 0..g.hp("train_steps") as usize {
            let x = <$x>::from_vec(g.f(&format!("x.train.{k}"))).unwrap();
            let y = norm.forward_train(x);
            g.check_forward(&format!("y.train.{k}"), y.as_slice());
            let rm = norm.running_mean.as_ref().unwrap();
            g.check_forward(&format!("running_mean.{k}"), rm.as_slice());
            let rv = norm.running_var.as_ref().unwrap();
            g.check_forward(&format!("running_var.{k}"), rv.as_slice());
        }
        norm.eval();
        let x = <$x>::from_vec(g.f("x")).unwrap();
        let y = norm.forward(x.clone().trace());
        g.check_forward("y", y.as_slice());
        let gy = <$x>::from_vec(g.f("gy")).unwrap();
        let grads = (y * gy).sum().backward();
        g.check_grad("x", grads.get_slice(&x).unwrap());
        if let (Some(w), Some(b)) = (&norm.weight, &norm.bias) {
            g.check_grad("weight", grads.get_slice(w).unwrap());
            g.check_grad("bias", grads.get_slice(b).unwrap());
        }
    }};
}

#[test]
fn layer_instancenorm1d_running() {
    let norm = InstanceNorm1d::<3>::new().track_running_stats(true);
    assert_eq!(
        Params::<f32>::param_names(&norm),
        ["running_mean", "running_var"]
    );
    let summary = norm.summary().to_string();
    assert!(
        summary.starts_with(
            "InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=True)"
        ),
        "{summary}"
    );
    check_running!("layer_instancenorm1d_running", norm, Tensor<Rank3<2, 3, 7>>);
}

#[test]
fn layer_instancenorm2d_running_affine() {
    let norm = InstanceNorm2d::<4>::new_affine().track_running_stats(true);
    assert_eq!(
        norm.param_names(),
        ["weight", "bias", "running_mean", "running_var"]
    );
    assert_eq!(norm.num_params(), 8); // buffers are not trainable
    check_running!(
        "layer_instancenorm2d_running_affine",
        norm,
        Tensor<Rank4<3, 4, 3, 5>>
    );
}

#[test]
fn layer_instancenorm3d_running() {
    check_running!(
        "layer_instancenorm3d_running",
        InstanceNorm3d::<2>::new().track_running_stats(true),
        Tensor<Rank5<2, 2, 2, 3, 3>>
    );
}

/// Training through `&self` (`train()` then `forward`) leaves the update pending: visible to
/// `visit` (what `state_dict` and saving read) and to evaluation, written into the fields at
/// the next `&mut` access; the same values as `forward_train`. Without tracking, the mode
/// changes nothing.
#[test]
fn instancenorm_running_update_through_shared_forward() {
    let g = Golden::load("layer_instancenorm1d_running");
    let x = Tensor::<Rank3<2, 3, 7>>::from_vec(g.f("x.train.0")).unwrap();
    let mut norm = InstanceNorm1d::<3>::new().track_running_stats(true);
    norm.train();
    assert!(norm.is_training());
    let y = norm.forward(x.clone());
    g.check_forward("y.train.0", y.as_slice());
    assert_eq!(norm.running_mean.as_ref().unwrap().to_vec(), vec![0.0; 3]);
    let mut seen = Vec::new();
    norm.visit("", &mut |p| {
        seen.push((p.name.to_string(), p.data.to_vec()));
    });
    assert_eq!(seen[0].0, "running_mean");
    g.check_forward("running_mean.0", &seen[0].1);
    g.check_forward("running_var.0", &seen[1].1);
    norm.eval();
    g.check_forward(
        "running_var.0",
        norm.running_var.as_ref().unwrap().as_slice(),
    );

    let plain = InstanceNorm1d::<3>::new();
    let mut trained = plain.clone();
    trained.train();
    assert_eq!(
        plain.forward(x.clone()).to_vec(),
        trained.forward(x).to_vec()
    );
}

/// Training with running statistics needs two values per slice (PyTorch raises too); a
/// wrong channel count is an error naming both counts in every mode.
#[test]
fn instancenorm_running_bad_input_is_an_error() {
    let mut norm = InstanceNorm1d::<2>::new().track_running_stats(true);
    let err = norm
        .try_forward_train(Tensor::<Rank3<4, 2, 1>>::ones())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("more than 1 value") && err.contains("[4, 2, 1]"),
        "{err}"
    );
    assert!(norm.try_forward(Tensor::<Rank3<4, 2, 1>>::ones()).is_ok());
    let mut dynamic = InstanceNorm2dDyn::<f32>::new_dyn(3, false).track_running_stats(true);
    for training in [true, false] {
        if training {
            dynamic.train();
        } else {
            dynamic.eval();
        }
        let err = dynamic
            .try_forward(Tensor::<Rank4<1, 2, 2, 2>>::ones())
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 channels") && err.contains("has 3"), "{err}");
    }
}
