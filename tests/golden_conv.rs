//! PyTorch reference values for convolution and pooling layers (tests/golden/layer_conv*,
//! layer_*pool2d*): forward values and the gradients of `sum(y * gy)` for the input and every
//! parameter. ConvTranspose1d against PyTorch (tests/golden_extra/layer_conv_transpose1d*,
//! made by layers_more.py there), with its errors and `print(model)` line. Conv3d against
//! PyTorch (tests/golden_extra/layer_conv3d*, made by conv3d.py there), with its
//! initialisation, `print(model)` lines and run-time errors.

#[macro_use]
mod common;
use common::Golden;
use shaped::nn::{
    AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d,
    MaxPool2d, MaxPool3d, Module, Params,
};
use shaped::prelude::*;

/// Runs a layer with parameters on the golden `x`, traced and untraced, and checks `y` and
/// the gradients of `x`, `weight` and `bias`.
macro_rules! check_layer {
    ($g:ident, $layer:ident, $xshape:ty) => {{
        assert_eq!($layer.param_names(), ["weight", "bias"]);
        assert_eq!($g.shape("weight"), $layer.weight.dims().as_slice());
        let x = Tensor::<$xshape>::from_vec($g.f("x")).unwrap();
        let y = $layer.forward(x.clone().trace());
        assert_eq!($g.shape("y"), y.dims().as_slice());
        $g.check_forward("y", y.as_slice());
        let gy = Tensor::from_vec_with_shape($g.f("gy"), *y.shape()).unwrap();
        let grads = (y * gy).sum().backward();
        $g.check_grad("x", grads.get_slice(&x).unwrap());
        $g.check_grad("weight", grads.get_slice(&$layer.weight).unwrap());
        $g.check_grad(
            "bias",
            grads.get_slice($layer.bias.as_ref().unwrap()).unwrap(),
        );
        $g.check_forward("y", $layer.forward(x).as_slice());
    }};
}

fn load_params<S: Shape, SB: Shape>(g: &Golden, w: &mut Tensor<S>, b: &mut Option<Tensor<SB>>) {
    w.as_mut_slice().copy_from_slice(&g.f("weight"));
    b.as_mut()
        .unwrap()
        .as_mut_slice()
        .copy_from_slice(&g.f("bias"));
}

fn rng() -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(0)
}

#[test]
fn layer_conv1d() {
    let g = Golden::load("layer_conv1d");
    let mut layer = Conv1d::<3, 4, 3, 1, 1>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank3<2, 3, 10>);
}

#[test]
fn layer_conv2d_basic() {
    let g = Golden::load("layer_conv2d_basic");
    let mut layer = Conv2d::<3, 4, 3>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank4<2, 3, 8, 8>);
}

#[test]
fn layer_conv2d_dilated() {
    let g = Golden::load("layer_conv2d_dilated");
    let mut layer = Conv2d::<2, 3, 3, 1, 2, 2>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank4<2, 2, 9, 9>);
}

#[test]
fn layer_conv2d_k5() {
    let g = Golden::load("layer_conv2d_k5");
    let mut layer = Conv2d::<2, 3, 5, 1, 2>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank4<2, 2, 8, 8>);
}

#[test]
fn layer_conv2d_strided() {
    let g = Golden::load("layer_conv2d_strided");
    let mut layer = Conv2d::<3, 4, 3, 2, 1>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank4<2, 3, 8, 8>);
}

#[test]
fn layer_conv2d_strided_dynamic_sizes() {
    // The same case with run-time batch, height and width.
    let g = Golden::load("layer_conv2d_strided");
    let mut layer = Conv2d::<3, 4, 3, 2, 1>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    let x =
        Tensor::<(usize, Const<3>, usize, usize)>::from_vec_with_shape(g.f("x"), (2, Const, 8, 8))
            .unwrap();
    let y = layer.forward(x.clone().trace());
    assert_eq!(y.dims().as_slice(), &[2, 4, 4, 4]);
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&layer.weight).unwrap());
    // A run-time input that the kernel does not fit is an error, not a panic.
    let tiny = Tensor::<(usize, Const<3>, usize, usize)>::zeros_with_shape((1, Const, 0, 5));
    assert!(layer.try_forward(tiny).is_err());
}

#[test]
fn layer_conv2d_unbatched() {
    // Each sample of the batch through the unbatched (C, H, W) form.
    let g = Golden::load("layer_conv2d_basic");
    let mut layer = Conv2d::<3, 4, 3>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    let (x, y) = (g.f("x"), g.f("y"));
    for b in 0..2 {
        let xb = Tensor::<Rank3<3, 8, 8>>::from_vec(x[b * 192..(b + 1) * 192].to_vec()).unwrap();
        let yb = layer.forward(xb);
        assert_eq!(yb.dims().as_slice(), &[4, 6, 6]);
        common::check_close(
            "unbatched y",
            yb.as_slice(),
            &y[b * 144..(b + 1) * 144],
            1e-5,
            1e-4,
        );
    }
}

#[test]
fn layer_conv_transpose2d() {
    let g = Golden::load("layer_conv_transpose2d");
    let mut layer = ConvTranspose2d::<3, 2, 3, 2, 1>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank4<2, 3, 5, 5>);
}

#[test]
fn layer_maxpool2d() {
    check_pool!("layer_maxpool2d", MaxPool2d::<2>, Rank4<2, 3, 8, 8>);
}

#[test]
fn layer_maxpool2d_padded() {
    check_pool!("layer_maxpool2d_padded", MaxPool2d::<3, 2, 1>, Rank4<2, 2, 7, 7>);
}

#[test]
fn layer_avgpool2d() {
    check_pool!("layer_avgpool2d", AvgPool2d::<2>, Rank4<2, 3, 8, 8>);
}

#[test]
fn layer_adaptive_avgpool2d() {
    check_pool!("layer_adaptive_avgpool2d", AdaptiveAvgPool2d::<1>, Rank4<2, 3, 5, 5>);
}

#[test]
fn layer_conv_transpose1d() {
    let g = Golden::load("layer_conv_transpose1d");
    assert_eq!(
        ["stride", "padding", "output_padding", "dilation"].map(|k| g.hp(k)),
        [2.0, 1.0, 1.0, 1.0]
    );
    let mut layer = ConvTranspose1d::<4, 3, 3, 2, 1, 1>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank3<2, 4, 5>);
}

#[test]
fn layer_conv_transpose1d_dilated_unbatched() {
    let g = Golden::load("layer_conv_transpose1d_dilated_unbatched");
    assert_eq!(
        ["stride", "padding", "output_padding", "dilation"].map(|k| g.hp(k)),
        [1.0, 0.0, 0.0, 2.0]
    );
    let mut layer = ConvTranspose1d::<2, 3, 2, 1, 0, 0, 2>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank2<2, 6>);
}

/// PyTorch's initialisation bound `1/sqrt(OUT*K)`, the `print(model)` lines, run-time sizes
/// with their errors, and empty batches.
#[test]
fn conv_transpose1d_init_print_and_errors() {
    let up = ConvTranspose1d::<8, 4, 4, 2, 1>::new(&mut rng());
    let bound = 1.0 / 4.0;
    assert!(up.weight.as_slice().iter().all(|w| w.abs() <= bound));
    assert!(up.weight.as_slice().iter().any(|w| w.abs() > 0.9 * bound));
    let model = (
        ConvTranspose1d::<4, 3, 3, 2, 1, 1>::new(&mut rng()),
        ConvTranspose1d::<3, 2, 2, 1, 0, 0, 2>::new_no_bias(&mut rng()),
    );
    let printed = model.summary().to_string();
    for line in [
        "(0): ConvTranspose1d(4, 3, kernel_size=(3,), stride=(2,), padding=(1,), output_padding=(1,))",
        "(1): ConvTranspose1d(3, 2, kernel_size=(2,), stride=(1,), dilation=(2,), bias=False)",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    let y = model.forward(Tensor::<(usize, Const<4>, usize)>::ones_with_shape((
        2, Const, 7,
    )));
    assert_eq!(y.dims().as_slice(), &[2, 2, 16]);
    // Run-time channels that differ are an error; an empty batch an empty output.
    let w = Tensor::<(usize, usize, Const<3>)>::zeros_with_shape((4, 3, Const));
    let x = Tensor::<(usize, usize, usize)>::zeros_with_shape((1, 5, 7));
    let err = x
        .try_conv_transpose1d(w.clone(), None, shaped::ops::conv::ConvTransposeArgs::<2>)
        .unwrap_err();
    assert!(err.to_string().contains("conv_transpose1d"), "{err}");
    let empty = Tensor::<(usize, Const<4>, usize)>::zeros_with_shape((0, Const, 7)).trace();
    let y = model.0.forward(empty);
    assert_eq!(y.dims().as_slice(), &[0, 3, 14]);
    let _ = y.sum().backward();
    let zero_len = Tensor::<(usize, Const<4>, usize)>::zeros_with_shape((2, Const, 0));
    assert!(model.0.try_forward(zero_len).is_err());
}

#[test]
fn layer_conv3d() {
    let g = Golden::load("layer_conv3d");
    let mut layer = Conv3d::<3, 4, 3>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank5<2, 3, 5, 6, 7>);
}

#[test]
fn layer_conv3d_strided() {
    let g = Golden::load("layer_conv3d_strided");
    assert_eq!(
        ["kernel_size", "stride", "padding", "dilation"].map(|k| g.hp(k)),
        [3.0, 2.0, 1.0, 1.0]
    );
    let mut layer = Conv3d::<2, 3, 3, 2, 1>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank5<2, 2, 5, 6, 7>);
}

#[test]
fn layer_conv3d_dilated() {
    let g = Golden::load("layer_conv3d_dilated");
    let mut layer = Conv3d::<2, 3, 3, 1, 1, 2>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    check_layer!(g, layer, Rank5<2, 2, 5, 6, 7>);
}

#[test]
fn layer_conv3d_no_bias_unbatched() {
    let g = Golden::load("layer_conv3d_no_bias_unbatched");
    let mut layer = Conv3d::<2, 3, 2>::new_no_bias(&mut rng());
    assert_eq!(layer.param_names(), ["weight"]);
    layer.weight.as_mut_slice().copy_from_slice(&g.f("weight"));
    let x = Tensor::<Rank4<2, 4, 5, 6>>::from_vec(g.f("x")).unwrap();
    let y = layer.forward(x.clone().trace());
    assert_eq!(g.shape("y"), y.dims().as_slice());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&layer.weight).unwrap());
}

#[test]
fn layer_conv3d_dynamic_sizes() {
    // The strided case with run-time batch, depth, height and width.
    let g = Golden::load("layer_conv3d_strided");
    let mut layer = Conv3d::<2, 3, 3, 2, 1>::new(&mut rng());
    load_params(&g, &mut layer.weight, &mut layer.bias);
    type X = (usize, Const<2>, usize, usize, usize);
    let x = Tensor::<X>::from_vec_with_shape(g.f("x"), (2, Const, 5, 6, 7)).unwrap();
    let y = layer.forward(x.clone().trace());
    assert_eq!(y.dims().as_slice(), &[2, 3, 3, 3, 4]);
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&layer.weight).unwrap());
}

/// PyTorch's initialisation bound `1/sqrt(IN*K^3)`, the `print(model)` lines, and run-time
/// sizes that do not fit as errors naming the sizes.
#[test]
fn conv3d_init_print_and_errors() {
    let conv = Conv3d::<2, 4, 3>::new(&mut rng());
    let bound = 1.0 / (2.0f32 * 27.0).sqrt();
    for p in [
        conv.weight.as_slice(),
        conv.bias.as_ref().unwrap().as_slice(),
    ] {
        assert!(p.iter().all(|w| w.abs() <= bound));
        assert!(p.iter().any(|w| w.abs() > 0.5 * bound));
    }
    let model = (
        Conv3d::<2, 4, 3>::new(&mut rng()),
        MaxPool3d::<2>,
        Conv3d::<4, 4, 3, 2, 1, 2>::new_no_bias(&mut rng()),
    );
    let printed = model.summary().to_string();
    for line in [
        "(0): Conv3d(2, 4, kernel_size=(3, 3, 3), stride=(1, 1, 1))",
        "(1): MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)",
        "(2): Conv3d(4, 4, kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1), dilation=(2, 2, 2), bias=False)",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    assert_eq!(model.state_dict_names(), ["0.weight", "0.bias", "2.weight"]);
    // (3, 2, 10, 12, 14) -> conv 8x10x12 -> pool 4x5x6 -> dilated stride-2 conv 1x2x2.
    type X = (usize, Const<2>, usize, usize, usize);
    let y = model.forward(Tensor::<X>::ones_with_shape((3, Const, 10, 12, 14)));
    assert_eq!(y.dims().as_slice(), &[3, 4, 1, 2, 2]);
    // A depth the kernel does not fit: an error naming the sizes, not a panic.
    let thin = Tensor::<X>::zeros_with_shape((1, Const, 2, 8, 8));
    let err = model.0.try_forward(thin).unwrap_err().to_string();
    assert!(err.contains("kernel 3") && err.contains("input 2"), "{err}");
    // Run-time channels that differ from the weight's.
    let w = Tensor::<(usize, usize, Const<3>, Const<3>, Const<3>)>::zeros_with_shape((
        4, 2, Const, Const, Const,
    ));
    let x = Tensor::<(usize, usize, usize, usize, usize)>::zeros_with_shape((1, 5, 4, 4, 4));
    let err = x
        .try_conv3d(w, None, shaped::ops::conv::ConvArgs::<1>)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("conv3d") && err.contains("5 channels"),
        "{err}"
    );
    // An empty batch gives an empty output, and its gradient.
    let empty = Tensor::<X>::zeros_with_shape((0, Const, 5, 5, 5)).trace();
    let y = model.0.forward(empty);
    assert_eq!(y.dims().as_slice(), &[0, 4, 3, 3, 3]);
    let _ = y.sum().backward();
}
