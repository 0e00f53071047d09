//! 1-D pooling against PyTorch (tests/golden_extra/layer_*pool1d*, made by pool1d.py there):
//! `MaxPool1d`, `AvgPool1d`, `AdaptiveAvgPool1d`, batched and unbatched, forward and the
//! gradient of `sum(y * gy)`; finite differences on random inputs; and the layers in a
//! model with PyTorch's `print(model)` lines.

#[macro_use]
mod common;
use common::Golden;
use proptest::prelude::*;
use shaped::gradcheck::{GradcheckOptions, gradcheck_vjp};
use shaped::nn::{AdaptiveAvgPool1d, AvgPool1d, Conv1d, MaxPool1d, Module, Params};
use shaped::prelude::*;
use shaped::strategies::{distinct, tensor};

#[test]
fn layer_maxpool1d() {
    let g = check_pool!("layer_maxpool1d", MaxPool1d::<3, 2, 1>, Rank3<2, 3, 11>);
    assert_eq!(
        (g.hp("kernel_size"), g.hp("stride"), g.hp("padding")),
        (3.0, 2.0, 1.0)
    );
}

#[test]
fn layer_maxpool1d_unbatched() {
    check_pool!("layer_maxpool1d_unbatched", MaxPool1d::<2>, Rank2<4, 9>);
}

#[test]
fn layer_avgpool1d() {
    check_pool!("layer_avgpool1d", AvgPool1d::<3, 2, 1>, Rank3<2, 3, 11>);
}

#[test]
fn layer_adaptive_avgpool1d() {
    let g = check_pool!("layer_adaptive_avgpool1d", AdaptiveAvgPool1d::<4>, Rank3<2, 3, 10>);
    assert_eq!(g.hp("output_size"), 4.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Each 1-D pooling by finite differences (f64), distinct values so that every window has
    /// one maximum.
    #[test]
    fn pool1d_gradients(x in distinct(tensor::<Rank3<2, 2, 9>, f64>(-3.0..3.0), 1e-3)) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        gradcheck_vjp(&x, |x| x.max_pool1d::<3, 2, 1>(), opts).map_err(fail)?;
        gradcheck_vjp(&x, |x| x.avg_pool1d::<2, 1, 1>(), opts).map_err(fail)?;
        gradcheck_vjp(&x, |x| x.adaptive_avg_pool1d::<4>(), opts).map_err(fail)?;
    }
}

/// A 1-D convolutional classifier as PyTorch users write it, with run-time batch and length.
#[test]
fn conv1d_model_with_pooling() {
    let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
    use shaped::rand::SeedableRng;
    let model = (
        Conv1d::<4, 8, 3>::new(&mut rng),
        MaxPool1d::<2>,
        AvgPool1d::<3, 1, 1>,
        AdaptiveAvgPool1d::<1>,
    );
    let x = Tensor::<(usize, Const<4>, usize)>::ones_with_shape((5, Const, 40));
    let y = model.forward(x);
    assert_eq!(y.dims().as_slice(), &[5, 8, 1]);
    let printed = model.summary().to_string();
    for line in [
        "(1): MaxPool1d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
        "(2): AvgPool1d(kernel_size=(3,), stride=(1,), padding=(1,))",
        "(3): AdaptiveAvgPool1d(output_size=1)",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    // A run-time length shorter than the window is an error, not a panic.
    let short = Tensor::<(usize, Const<8>, usize)>::ones_with_shape((2, Const, 1));
    assert!(MaxPool1d::<2>.try_forward(short).is_err());
}

/// An empty run-time axis is an error even where padding would give it windows (PyTorch
/// refuses it too); it used to reach the kernels and panic on a zero-sized chunk.
#[test]
fn empty_axis_is_an_error_not_a_panic() {
    let line = Tensor::<(usize, usize)>::zeros_with_shape((3, 0));
    assert!(line.clone().try_max_pool1d::<2, 2, 1>().is_err());
    assert!(line.clone().try_avg_pool1d::<2, 2, 1>().is_err());
    assert!(line.try_adaptive_avg_pool1d::<2>().is_err());
    let plane = Tensor::<(usize, usize, usize, usize)>::zeros_with_shape((1, 3, 0, 4));
    let err = plane.clone().try_max_pool2d::<2, 2, 1>().unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    assert!(plane.try_avg_pool2d::<2, 2, 1>().is_err());
    use shaped::rand::SeedableRng;
    let conv = Conv1d::<3, 2, 1, 1, 1>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
    let seq = Tensor::<(usize, Const<3>, usize)>::zeros_with_shape((2, Const, 0));
    assert!(conv.try_forward(seq).is_err());
}
