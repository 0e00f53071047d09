//! Finite-difference checks (f64) of the convolution and pooling gradients, on small random
//! inputs with strides, padding, dilation and non-square kernels that the PyTorch goldens
//! do not cover. ConvTranspose1d over random run-time batch sizes and lengths, and as the
//! adjoint of conv1d. Conv3d over random run-time sizes, strides, padding and dilation.

use proptest::prelude::*;
use rand::SeedableRng;
use shaped::gradcheck::{GradcheckOptions, gradcheck_vjp, gradcheck2_vjp};
use shaped::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU};
use shaped::ops::conv::{ConvArgs, ConvTransposeArgs};
use shaped::prelude::*;

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn randn<S: ConstShape>(seed: u64) -> Tensor<S, f64> {
    Tensor::randn(&mut rng(seed))
}

#[test]
fn conv2d_input_and_weight() {
    let x = randn::<Rank4<2, 3, 7, 6>>(1);
    let w = randn::<Rank4<4, 3, 3, 2>>(2);
    let b = randn::<Rank1<4>>(3);
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| x.conv2d(w, None, ConvArgs::<1, 0, 1>),
        opts(),
    )
    .unwrap();
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| x.conv2d(w, Some(b.clone().traced_as()), ConvArgs::<2, 1, 1>),
        opts(),
    )
    .unwrap();
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| x.conv2d(w, None, ConvArgs::<2, 2, 2>),
        opts(),
    )
    .unwrap();
    // A 1x1 kernel takes the pointwise path (no im2col).
    let w1 = randn::<Rank4<5, 3, 1, 1>>(4);
    gradcheck2_vjp(
        &x,
        &w1,
        |x, w| x.conv2d(w, None, ConvArgs::<1, 0, 1>),
        opts(),
    )
    .unwrap();
}

#[test]
fn conv2d_bias() {
    let x = randn::<Rank4<2, 2, 5, 5>>(5);
    let w = randn::<Rank4<3, 2, 3, 3>>(6);
    let b = randn::<Rank1<3>>(7);
    gradcheck_vjp(
        &b,
        |b| {
            x.clone()
                .conv2d(w.traced_as(), Some(b), ConvArgs::<2, 1, 1>)
        },
        opts(),
    )
    .unwrap();
}

#[test]
fn conv2d_unbatched_and_dynamic() {
    let x = randn::<Rank3<2, 6, 5>>(8);
    let w = randn::<Rank4<3, 2, 3, 3>>(9);
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| x.conv2d(w, None, ConvArgs::<1, 1, 1>),
        opts(),
    )
    .unwrap();
    let xd = Tensor::<(usize, Const<2>, usize, usize), f64>::randn_with_shape(
        (2, Const, 6, 5),
        &mut rng(10),
    );
    gradcheck2_vjp(
        &xd,
        &w,
        |x, w| x.conv2d(w, None, ConvArgs::<2, 0, 1>),
        opts(),
    )
    .unwrap();
}

#[test]
fn conv1d_input_weight_bias() {
    let x = randn::<Rank3<2, 3, 11>>(11);
    let w = randn::<Rank3<4, 3, 3>>(12);
    let b = randn::<Rank1<4>>(13);
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| x.conv1d(w, None, ConvArgs::<2, 1, 2>),
        opts(),
    )
    .unwrap();
    gradcheck_vjp(
        &b,
        |b| {
            x.clone()
                .conv1d(w.traced_as(), Some(b), ConvArgs::<1, 1, 1>)
        },
        opts(),
    )
    .unwrap();
    let xu = randn::<Rank2<3, 9>>(14);
    gradcheck2_vjp(
        &xu,
        &w,
        |x, w| x.conv1d(w, None, ConvArgs::<1, 0, 1>),
        opts(),
    )
    .unwrap();
}

#[test]
fn conv_transpose2d_input_weight_bias() {
    let x = randn::<Rank4<2, 3, 4, 3>>(15);
    let w = randn::<Rank4<3, 2, 3, 2>>(16);
    let b = randn::<Rank1<2>>(17);
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| x.conv_transpose2d(w, None, ConvTransposeArgs::<1, 0, 0, 1>),
        opts(),
    )
    .unwrap();
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| x.conv_transpose2d(w, None, ConvTransposeArgs::<2, 1, 1, 1>),
        opts(),
    )
    .unwrap();
    // Output padding below the dilation but not the stride: the extra rows get only bias.
    gradcheck2_vjp(
        &x,
        &w,
        |x, w| x.conv_transpose2d(w, None, ConvTransposeArgs::<1, 1, 1, 2>),
        opts(),
    )
    .unwrap();
    gradcheck_vjp(
        &b,
        |b| {
            x.clone()
                .conv_transpose2d(w.traced_as(), Some(b), ConvTransposeArgs::<2, 0, 1, 1>)
        },
        opts(),
    )
    .unwrap();
}

#[test]
fn conv_transpose2d_is_the_adjoint_of_conv2d() {
    // <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for matching geometry.
    let x = randn::<Rank4<2, 3, 9, 9>>(18);
    let w = randn::<Rank4<4, 3, 3, 3>>(19);
    let y = x.clone().conv2d(w.clone(), None, ConvArgs::<2, 1, 2>);
    let gy = Tensor::randn_with_shape(*y.shape(), &mut rng(20));
    let back = gy
        .clone()
        .conv_transpose2d(w, None, ConvTransposeArgs::<2, 1, 0, 2>);
    assert_eq!(back.dims(), x.dims());
    let lhs: f64 = y
        .as_slice()
        .iter()
        .zip(gy.as_slice())
        .map(|(a, b)| a * b)
        .sum();
    let rhs: f64 = x
        .as_slice()
        .iter()
        .zip(back.as_slice())
        .map(|(a, b)| a * b)
        .sum();
    assert!(
        (lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0),
        "{lhs} vs {rhs}"
    );
}

#[test]
fn max_pool2d_overlapping_and_padded() {
    let x = randn::<Rank4<2, 2, 7, 6>>(21);
    gradcheck_vjp(&x, |x| x.max_pool2d::<3, 2, 1>(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.max_pool2d::<2, 1, 0>(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.max_pool2d::<2, 2, 1>(), opts()).unwrap();
    let xu = randn::<Rank3<3, 5, 5>>(22);
    gradcheck_vjp(&xu, |x| x.max_pool2d::<3, 1, 1>(), opts()).unwrap();
}

#[test]
fn max_pool2d_pads_with_negative_infinity() {
    let x = Tensor::<Rank4<1, 1, 2, 2>, f64>::from_array([[[[-1.0, -2.0], [-3.0, -4.0]]]]);
    let y = x.max_pool2d::<2, 1, 1>();
    assert_eq!(
        y.to_vec(),
        vec![-1.0, -1.0, -2.0, -1.0, -1.0, -2.0, -3.0, -3.0, -4.0]
    );
}

#[test]
fn avg_pool2d_with_and_without_padding() {
    let x = randn::<Rank4<2, 2, 7, 6>>(23);
    gradcheck_vjp(&x, |x| x.avg_pool2d::<2, 2, 0>(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.avg_pool2d::<3, 2, 1>(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.avg_pool2d::<3, 1, 0>(), opts()).unwrap();
    // count_include_pad: a corner window of a padded 3x3 pool over ones averages 4 of 9.
    let ones = Tensor::<Rank3<1, 4, 4>, f64>::ones();
    assert_eq!(ones.avg_pool2d::<3, 1, 1>().to_vec()[0], 4.0 / 9.0);
}

#[test]
fn adaptive_avg_pool2d_general_sizes() {
    let x = randn::<Rank4<2, 2, 5, 7>>(24);
    gradcheck_vjp(&x, |x| x.adaptive_avg_pool2d::<1, 1>(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.adaptive_avg_pool2d::<3, 2>(), opts()).unwrap();
    gradcheck_vjp(&x, |x| x.adaptive_avg_pool2d::<5, 7>(), opts()).unwrap();
    // Overlapping windows: 5 rows into 3 cells are rows 0..2, 1..4, 3..5.
    let r = Tensor::<Rank3<1, 5, 1>, f64>::from_array([[[1.0], [2.0], [3.0], [4.0], [5.0]]]);
    assert_eq!(
        r.adaptive_avg_pool2d::<3, 1>().to_vec(),
        vec![1.5, 3.0, 4.5]
    );
}

#[test]
fn small_cnn_end_to_end() {
    let mut r = rng(25);
    let conv = Conv2d::<2, 3, 3, 1, 1, 1, f64>::new(&mut r);
    let head = Linear::<27, 2, f64>::new(&mut r);
    let x = randn::<Rank4<2, 2, 6, 6>>(26);
    gradcheck_vjp(
        &x,
        |x| (conv.clone(), ReLU, MaxPool2d::<2>, Flatten, head.clone()).forward(x),
        opts(),
    )
    .unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// conv_transpose1d by finite differences (f64) with respect to the input, the weight and
    /// the bias, over random run-time batch sizes and lengths, with stride, padding, output
    /// padding and dilation.
    #[test]
    fn conv_transpose1d_input_weight_bias(
        x in shaped::strategies::shape::<(usize, Const<3>, usize)>(1..=4)
            .prop_flat_map(|s| shaped::strategies::tensor_with_shape(s, -2.0f64..2.0)),
        seed in 0u64..1000,
    ) {
        let w = Tensor::<Rank3<3, 2, 3>, f64>::randn(&mut rng(seed));
        let b = Tensor::<Rank1<2>, f64>::randn(&mut rng(seed + 1));
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        gradcheck2_vjp(&x, &w, |x, w| x.conv_transpose1d(w, None, ConvTransposeArgs::<1, 0, 0, 1>), opts()).map_err(fail)?;
        gradcheck2_vjp(&x, &w, |x, w| x.conv_transpose1d(w, None, ConvTransposeArgs::<2, 1, 1, 1>), opts()).map_err(fail)?;
        gradcheck2_vjp(&x, &w, |x, w| x.conv_transpose1d(w, None, ConvTransposeArgs::<1, 1, 1, 2>), opts()).map_err(fail)?;
        gradcheck_vjp(&b, |b| x.clone().conv_transpose1d(w.traced_as(), Some(b), ConvTransposeArgs::<3, 0, 2, 1>), opts()).map_err(fail)?;
        // Unbatched: the first sequence alone.
        let (_, _, l) = *x.shape();
        let one = Tensor::<(Const<3>, usize), f64>::from_vec_with_shape(x.as_slice()[..3 * l].to_vec(), (Const, l)).unwrap();
        gradcheck2_vjp(&one, &w, |x, w| x.conv_transpose1d(w, None, ConvTransposeArgs::<2, 0, 1, 1>), opts()).map_err(fail)?;
    }
}

#[test]
fn conv_transpose1d_is_the_adjoint_of_conv1d() {
    // <conv1d(x, w), y> == <x, conv_transpose1d(y, w)> for matching geometry.
    let x = randn::<Rank3<2, 3, 19>>(30);
    let w = randn::<Rank3<4, 3, 3>>(31);
    let y = x.clone().conv1d(w.clone(), None, ConvArgs::<2, 1, 2>);
    let gy = Tensor::randn_with_shape(*y.shape(), &mut rng(32));
    let back = gy
        .clone()
        .conv_transpose1d(w, None, ConvTransposeArgs::<2, 1, 0, 2>);
    assert_eq!(back.dims(), x.dims());
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(a, b)| a * b).sum::<f64>();
    let (lhs, rhs) = (
        dot(y.as_slice(), gy.as_slice()),
        dot(x.as_slice(), back.as_slice()),
    );
    assert!(
        (lhs - rhs).abs() < 1e-9 * lhs.abs().max(1.0),
        "{lhs} vs {rhs}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    /// conv3d by finite differences (f64) with respect to the input, the weight and the bias,
    /// over random run-time batch sizes and volumes (a different size along each axis), with
    /// stride, padding and dilation, a non-cubic kernel, and unbatched.
    #[test]
    fn conv3d_input_weight_bias(
        x in shaped::strategies::shape::<(usize, Const<2>, usize, usize, usize)>(1..=5)
            .prop_filter("a 3x3x3 kernel fits", |s| s.2 >= 3 && s.3 >= 3 && s.4 >= 3)
            .prop_flat_map(|s| shaped::strategies::tensor_with_shape(s, -2.0f64..2.0)),
        seed in 0u64..1000,
    ) {
        let w = Tensor::<Rank5<3, 2, 3, 3, 3>, f64>::randn(&mut rng(seed));
        let b = Tensor::<Rank1<3>, f64>::randn(&mut rng(seed + 1));
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        gradcheck2_vjp(&x, &w, |x, w| x.conv3d(w, None, ConvArgs::<1, 0, 1>), opts()).map_err(fail)?;
        gradcheck2_vjp(&x, &w, |x, w| x.conv3d(w, None, ConvArgs::<2, 1, 1>), opts()).map_err(fail)?;
        gradcheck2_vjp(&x, &w, |x, w| x.conv3d(w, None, ConvArgs::<1, 2, 2>), opts()).map_err(fail)?;
        gradcheck_vjp(&b, |b| x.clone().conv3d(w.traced_as(), Some(b), ConvArgs::<2, 1, 1>), opts()).map_err(fail)?;
        // A 1x2x3 kernel, and a 1x1x1 one (its own unfolding).
        let w123 = Tensor::<Rank5<3, 2, 1, 2, 3>, f64>::randn(&mut rng(seed + 2));
        gradcheck2_vjp(&x, &w123, |x, w| x.conv3d(w, None, ConvArgs::<1, 1, 1>), opts()).map_err(fail)?;
        let w111 = Tensor::<Rank5<3, 2, 1, 1, 1>, f64>::randn(&mut rng(seed + 3));
        gradcheck2_vjp(&x, &w111, |x, w| x.conv3d(w, None, ConvArgs::<1, 0, 1>), opts()).map_err(fail)?;
        // Unbatched: the first volume alone.
        let (_, _, d, h, wd) = *x.shape();
        let one = Tensor::<(Const<2>, usize, usize, usize), f64>::from_vec_with_shape(
            x.as_slice()[..2 * d * h * wd].to_vec(),
            (Const, d, h, wd),
        )
        .unwrap();
        gradcheck2_vjp(&one, &w, |x, w| x.conv3d(w, None, ConvArgs::<2, 1, 1>), opts()).map_err(fail)?;
    }
}
