//! Convolutional models built as tuples, with every intermediate shape computed by the types.

use rand::SeedableRng;
use shaped::nn::{
    AdaptiveAvgPool2d, Conv2d, ConvTranspose2d, Flatten, Linear, MaxPool2d, Module, Params, ReLU,
};
use shaped::prelude::*;

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(7)
}

#[test]
fn lenet_style_model_needs_no_annotations() {
    let mut r = rng();
    let model = (
        Conv2d::<1, 16, 3>::new(&mut r),
        ReLU,
        MaxPool2d::<2>,
        Conv2d::<16, 32, 3>::new(&mut r),
        ReLU,
        MaxPool2d::<2>,
        Flatten,
        Linear::<800, 10>::new(&mut r),
    );
    assert_eq!(
        model.param_names(),
        [
            "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"
        ]
    );

    // Static batch.
    let x = Tensor::<Rank4<4, 1, 28, 28>>::rand(&mut r);
    let y = model.forward(x.clone());
    assert_eq!(y.dims().as_slice(), &[4, 10]);

    // Run-time batch, traced: gradients reach every parameter.
    let xd = Tensor::<(usize, Const<1>, Const<28>, Const<28>)>::rand_with_shape(
        (3, Const, Const, Const),
        &mut r,
    );
    let loss = model.forward(xd.trace()).square().mean();
    let grads = loss.backward();
    assert!(grads.get(&model.0.weight).is_some());
    assert!(grads.get(model.0.bias.as_ref().unwrap()).is_some());
    assert!(grads.get(&model.3.weight).is_some());
    assert!(grads.get(&model.7.weight).is_some());
    let g0 = grads.get_slice(&model.0.weight).unwrap();
    assert!(g0.iter().all(|v| v.is_finite()) && g0.iter().any(|&v| v != 0.0));
}

#[test]
fn single_conv_model() {
    let mut r = rng();
    let model = (
        Conv2d::<1, 8, 3>::new(&mut r),
        ReLU,
        MaxPool2d::<2>,
        Flatten,
        Linear::<1352, 10>::new(&mut r),
    );
    let y = model.forward(Tensor::<Rank4<2, 1, 28, 28>>::rand(&mut r));
    assert_eq!(y.dims().as_slice(), &[2, 10]);
    // The output type is the static one, with no computed dimensions left.
    let _: &Tensor<Rank2<2, 10>> = &y;
}

#[test]
fn forward_matches_between_batched_and_unbatched_inputs() {
    let mut r = rng();
    let model = (
        Conv2d::<2, 4, 3, 1, 1>::new(&mut r),
        ReLU,
        MaxPool2d::<2>,
        AdaptiveAvgPool2d::<1>,
        Flatten,
    );
    let x = Tensor::<Rank4<1, 2, 6, 6>>::rand(&mut r);
    let batched = model.forward(x.clone());
    let single = Tensor::<Rank3<2, 6, 6>>::from_vec(x.to_vec()).unwrap();
    let (conv, relu, pool, gap, _) = &model;
    let unbatched = gap.forward(pool.forward(relu.forward(conv.forward(single))));
    assert_eq!(unbatched.dims().as_slice(), &[4, 1, 1]);
    for (a, b) in batched.as_slice().iter().zip(unbatched.as_slice()) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn encoder_decoder_round_trips_the_resolution() {
    let mut r = rng();
    let model = (
        Conv2d::<3, 8, 3, 2, 1>::new(&mut r), // 16 -> 8
        ReLU,
        ConvTranspose2d::<8, 3, 3, 2, 1, 1>::new(&mut r), // 8 -> 16
    );
    let x = Tensor::<Rank4<2, 3, 16, 16>>::rand(&mut r);
    let y = model.forward(x.clone());
    let _: Tensor<Rank4<2, 3, 16, 16>> = y.realize();
    let target = Tensor::<Rank4<2, 3, 16, 16>>::zeros();
    let y: Tensor<Rank4<2, 3, 16, 16>, f32, OwnedTape<f32>> = model.forward(x.trace()).realize();
    let grads = (y - target).square().sum().backward();
    assert_eq!(grads.get_slice(&model.2.weight).unwrap().len(), 8 * 3 * 9);
}

#[test]
fn init_follows_pytorch_bounds() {
    let mut r = rng();
    let conv = Conv2d::<4, 64, 5>::new(&mut r);
    let bound = 1.0 / ((4 * 5 * 5) as f32).sqrt();
    let w = conv.weight.as_slice();
    assert!(w.iter().all(|v| v.abs() <= bound));
    // Spread over the whole interval, not a narrower one.
    assert!(w.iter().any(|v| v.abs() > 0.9 * bound));
    let up = ConvTranspose2d::<64, 4, 5>::new(&mut r);
    let bound_t = 1.0 / ((4 * 5 * 5) as f32).sqrt(); // fan-in from dim 1 = out_channels
    assert!(up.weight.as_slice().iter().all(|v| v.abs() <= bound_t));
    assert!(up.weight.as_slice().iter().any(|v| v.abs() > 0.9 * bound_t));
    assert!(
        up.bias
            .as_ref()
            .unwrap()
            .as_slice()
            .iter()
            .all(|v| v.abs() <= bound_t)
    );
}
