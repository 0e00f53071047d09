//! 1-D pooling against PyTorch (tests/golden_extra/layer_*pool1d*, made by pool1d.py there):
//! `MaxPool1d`, `AvgPool1d`, `AdaptiveAvgPool1d`, batched and unbatched, forward and the
//! gradient of `sum(y * gy)`; finite differences on random inputs; and the layers in a
//! model with PyTorch's `print(model)` lines. `AdaptiveMaxPool1d` and `AdaptiveMaxPool2d`
//! against PyTorch (tests/golden_extra/layer_adaptive_maxpool*, made by layers_more.py
//! there), by finite differences, with NaN, ties and empty inputs.

#[macro_use]
mod common;
use common::Golden;
use proptest::prelude::*;
use shaped::gradcheck::{GradcheckOptions, gradcheck_vjp};
use shaped::nn::{
    AdaptiveAvgPool1d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, Conv1d, MaxPool1d, Module,
    Params,
};
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

#[test]
fn layer_adaptive_maxpool1d() {
    let g = check_pool!("layer_adaptive_maxpool1d", AdaptiveMaxPool1d::<4>, Rank3<2, 3, 10>);
    assert_eq!(g.hp("output_size"), 4.0);
}

#[test]
fn layer_adaptive_maxpool1d_overlap() {
    // 7 inputs to 3 outputs: windows [0, 3), [2, 5), [4, 7) overlap, unbatched.
    let g = check_pool!("layer_adaptive_maxpool1d_overlap", AdaptiveMaxPool1d::<3>, Rank2<3, 7>);
    assert_eq!(g.hp("output_size"), 3.0);
}

#[test]
fn layer_adaptive_maxpool1d_grow() {
    // More outputs than inputs: windows of one element, repeated.
    let g = check_pool!("layer_adaptive_maxpool1d_grow", AdaptiveMaxPool1d::<5>, Rank3<1, 2, 3>);
    assert_eq!(g.hp("output_size"), 5.0);
}

#[test]
fn layer_adaptive_maxpool2d() {
    let g = check_pool!("layer_adaptive_maxpool2d", AdaptiveMaxPool2d::<3, 4>, Rank4<2, 3, 7, 9>);
    assert_eq!(g.hp_str("output_size"), "[3, 4]");
}

#[test]
fn layer_adaptive_maxpool2d_unbatched() {
    let g =
        check_pool!("layer_adaptive_maxpool2d_unbatched", AdaptiveMaxPool2d::<2>, Rank3<3, 5, 6>);
    assert_eq!(g.hp_str("output_size"), "[2, 2]");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Adaptive max pooling by finite differences (f64) over random run-time sizes, distinct
    /// values so that every window has one maximum.
    #[test]
    fn adaptive_max_pool_gradients(
        x in shaped::strategies::shape::<(Const<1>, Const<2>, usize, usize)>(1..=7)
            .prop_flat_map(|s| distinct(shaped::strategies::tensor_with_shape(s, -3.0f64..3.0), 1e-4))
    ) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        gradcheck_vjp(&x, |x| x.adaptive_max_pool2d::<2, 3>(), opts).map_err(fail)?;
        gradcheck_vjp(&x, |x| x.adaptive_max_pool2d::<1, 1>(), opts).map_err(fail)?;
        let (_, _, h, w) = *x.shape();
        let rows = x.reshape_dyn((1usize, 2 * h, w));
        gradcheck_vjp(&rows, |x| x.adaptive_max_pool1d::<3>(), opts).map_err(fail)?;
    }
}

/// PyTorch's rules where a window has no single maximum: ties send the gradient to the first
/// maximum, a NaN is the maximum (the last NaN of a window), `-inf` everywhere picks the
/// window's start; empty inputs are errors, a batch of zero is an empty output; the layers'
/// `print(model)` lines.
#[test]
fn adaptive_max_pool_ties_nan_empty_and_print() {
    let x = Tensor::<Rank2<1, 4>>::from_array([[2.0, 2.0, 1.0, 1.0]]).trace();
    let y = x.clone().adaptive_max_pool1d::<2>();
    assert_eq!(y.to_vec(), vec![2.0, 1.0]);
    let g = y.sum().backward();
    assert_eq!(g.get_slice(&x).unwrap(), &[1.0, 0.0, 1.0, 0.0]);

    let nan = f32::NAN;
    let x = Tensor::<Rank2<1, 6>>::from_array([[1.0, nan, 5.0, nan, 3.0, 4.0]]).trace();
    let y = x.clone().adaptive_max_pool1d::<2>();
    assert!(y.as_slice()[0].is_nan() && y.as_slice()[1].is_nan());
    let g = (y * Tensor::<Rank2<1, 2>>::from_array([[1.0, 10.0]]))
        .sum()
        .backward();
    // Window [0, 3) has its NaN at 1; window [3, 6) at 3.
    assert_eq!(g.get_slice(&x).unwrap(), &[0.0, 1.0, 0.0, 10.0, 0.0, 0.0]);
    let x = Tensor::<Rank3<1, 2, 2>>::from_array([[[1.0, nan], [nan, 0.0]]]).trace();
    let y = x.clone().adaptive_max_pool2d::<1, 1>();
    let g = y.sum().backward();
    assert_eq!(g.get_slice(&x).unwrap(), &[0.0, 0.0, 1.0, 0.0]);

    let inf = f32::NEG_INFINITY;
    let x = Tensor::<Rank2<1, 3>>::from_array([[inf, inf, inf]]).trace();
    let y = x.clone().adaptive_max_pool1d::<1>();
    assert_eq!(y.to_vec(), vec![inf]);
    assert_eq!(y.sum().backward().get_slice(&x).unwrap(), &[1.0, 0.0, 0.0]);

    let empty = Tensor::<(usize, usize, usize)>::zeros_with_shape((2, 3, 0));
    let err = empty.clone().try_adaptive_max_pool1d::<2>().unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    assert!(AdaptiveMaxPool1d::<2>.try_forward(empty).is_err());
    let plane = Tensor::<(usize, usize, usize, usize)>::zeros_with_shape((1, 3, 0, 4));
    assert!(plane.clone().try_adaptive_max_pool2d::<1, 1>().is_err());
    assert!(AdaptiveMaxPool2d::<2>.try_forward(plane).is_err());
    let no_batch = Tensor::<(usize, Const<3>, usize, usize)>::zeros_with_shape((0, Const, 4, 4));
    let y = AdaptiveMaxPool2d::<2>.forward(no_batch.trace());
    assert_eq!(y.dims().as_slice(), &[0, 3, 2, 2]);

    let model = (AdaptiveMaxPool2d::<2, 3>, AdaptiveMaxPool1d::<4>);
    let printed = Params::<f32>::summary(&model).to_string();
    for line in [
        "(0): AdaptiveMaxPool2d(output_size=(2, 3))",
        "(1): AdaptiveMaxPool1d(output_size=4)",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    // Large enough to split over threads: the same values as small blocks.
    let big = Tensor::<(usize, usize, usize, usize)>::from_vec_with_shape(
        (0..64 * 32 * 32)
            .map(|v| ((v * 7919) % 1000) as f32)
            .collect(),
        (4, 16, 32, 32),
    )
    .unwrap();
    let whole = big.clone().adaptive_max_pool2d::<3, 5>();
    for p in 0..64 {
        let plane = Tensor::<(usize, usize)>::from_vec_with_shape(
            big.as_slice()[p * 1024..][..1024].to_vec(),
            (32, 32),
        )
        .unwrap()
        .reshape_dyn((1usize, 32usize, 32usize))
        .adaptive_max_pool2d::<3, 5>();
        assert_eq!(&whole.as_slice()[p * 15..][..15], plane.as_slice());
    }
}
