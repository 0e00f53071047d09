//! 3-D pooling against PyTorch (tests/golden_extra/layer_*pool3d*, made by conv3d.py there):
//! `MaxPool3d` and `AvgPool3d`, with and without padding, batched and unbatched, forward and
//! the gradient of `sum(y * gy)`; finite differences on random inputs; and NaN, ties and
//! run-time sizes that do not fit.

#[macro_use]
mod common;
use common::Golden;
use proptest::prelude::*;
use shaped::gradcheck::{GradcheckOptions, gradcheck_vjp};
use shaped::nn::{AvgPool3d, MaxPool3d, Module, Params};
use shaped::prelude::*;
use shaped::strategies::{distinct, tensor};

#[test]
fn layer_maxpool3d() {
    let g = check_pool!("layer_maxpool3d", MaxPool3d::<2>, Rank5<2, 2, 4, 6, 7>);
    assert_eq!(
        (g.hp("kernel_size"), g.hp("stride"), g.hp("padding")),
        (2.0, 2.0, 0.0)
    );
}

#[test]
fn layer_maxpool3d_padded() {
    check_pool!("layer_maxpool3d_padded", MaxPool3d::<3, 2, 1>, Rank5<2, 2, 5, 6, 7>);
}

#[test]
fn layer_avgpool3d() {
    check_pool!("layer_avgpool3d", AvgPool3d::<2>, Rank5<2, 2, 4, 6, 7>);
}

#[test]
fn layer_avgpool3d_padded_unbatched() {
    check_pool!(
        "layer_avgpool3d_padded_unbatched",
        AvgPool3d::<3, 2, 1>,
        Rank4<2, 5, 6, 7>
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Both 3-D poolings by finite differences (f64), distinct values so that every window
    /// has one maximum (1e-5 apart: 120 values 1e-3 apart were rejected too often).
    #[test]
    fn pool3d_gradients(x in distinct(tensor::<Rank5<2, 2, 4, 5, 3>, f64>(-3.0..3.0), 1e-5)) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        gradcheck_vjp(&x, |x| x.max_pool3d::<3, 2, 1>(), opts).map_err(fail)?;
        gradcheck_vjp(&x, |x| x.max_pool3d::<2, 1, 0>(), opts).map_err(fail)?;
        gradcheck_vjp(&x, |x| x.avg_pool3d::<2, 2, 1>(), opts).map_err(fail)?;
        gradcheck_vjp(&x, |x| x.avg_pool3d::<3, 1, 1>(), opts).map_err(fail)?;
    }
}

/// Ties go to the first maximum, a NaN wins and propagates, padding is `-inf` for max and
/// counts as zero for the average; the `print(model)` lines; run-time errors.
#[test]
fn pool3d_rules_print_and_errors() {
    let x = Tensor::<Rank4<1, 2, 2, 2>>::from_vec(vec![1.0, 3.0, 3.0, 0.0, 2.0, 3.0, 1.0, 0.0])
        .unwrap()
        .trace();
    let y = x.clone().max_pool3d::<2, 2, 0>();
    assert_eq!(y.to_vec(), vec![3.0]);
    let grads = y.sum().backward();
    assert_eq!(
        grads.get_slice(&x).unwrap(),
        &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    );
    let nan =
        Tensor::<Rank4<1, 2, 2, 2>>::from_vec(vec![1.0, 3.0, f32::NAN, 0.0, 2.0, 3.0, 1.0, 0.0])
            .unwrap();
    assert!(nan.max_pool3d::<2, 2, 0>().to_vec()[0].is_nan());
    let neg = Tensor::<Rank4<1, 1, 1, 2>>::from_vec(vec![-3.0, -4.0]).unwrap();
    assert_eq!(
        neg.clone().max_pool3d::<2, 1, 1>().to_vec()[..3],
        [-3.0, -3.0, -4.0]
    );
    assert_eq!(
        neg.avg_pool3d::<2, 1, 1>().to_vec()[..3],
        [-3.0 / 8.0, -7.0 / 8.0, -4.0 / 8.0]
    );
    let model = (MaxPool3d::<3, 2, 1>, AvgPool3d::<2>);
    let printed = Params::<f32>::summary(&model).to_string();
    for line in [
        "(0): MaxPool3d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)",
        "(1): AvgPool3d(kernel_size=2, stride=2, padding=0)",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    type X = (usize, Const<2>, usize, usize, usize);
    let y = model.forward(Tensor::<X>::ones_with_shape((3, Const, 9, 10, 12)));
    assert_eq!(y.dims().as_slice(), &[3, 2, 2, 2, 3]);
    let flat = Tensor::<X>::ones_with_shape((1, Const, 1, 10, 12));
    let err = AvgPool3d::<2>
        .try_forward(flat.clone())
        .unwrap_err()
        .to_string();
    assert!(err.contains("window 2") && err.contains("input 1"), "{err}");
    assert!(MaxPool3d::<2>.try_forward(flat).is_err());
}
