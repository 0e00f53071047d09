//! `nn::double` picks f64 without restating stride, padding and dilation, and such a model
//! trains.

use shaped::nn::loss::cross_entropy;
use shaped::nn::{Conv2d, Flatten, MaxPool2d, Module, ReLU, double};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

type Net = (
    double::Conv2d<1, 4, 3, 1, 1>,
    ReLU,
    MaxPool2d<2>,
    Flatten,
    double::Linear<64, 2>,
);

#[test]
fn double_aliases_are_the_f64_layers_with_pytorch_defaults() {
    let mut rng = StdRng::seed_from_u64(0);
    let a: double::Conv2d<1, 8, 3> = double::Conv2d::new(&mut rng);
    let b: Conv2d<1, 8, 3, 1, 0, 1, f64> = a.clone(); // the same type
    assert_eq!(b.weight.dims().as_slice(), &[8, 1, 3, 3]);
    let lstm = double::LSTM::<3, 5>::new(&mut rng);
    let (y, (h, _c)) = lstm.forward(Tensor::<Rank3<2, 4, 3>, f64>::zeros());
    assert_eq!(
        (y.dims().as_slice(), h.dims().as_slice()),
        (&[2, 4, 5][..], &[1, 2, 5][..])
    );
}

#[test]
fn an_f64_model_built_from_double_aliases_trains() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut model: Net = (
        double::Conv2d::new(&mut rng),
        ReLU,
        MaxPool2d,
        Flatten,
        double::Linear::new(&mut rng),
    );
    // Class 1: bright top half; class 0: bright bottom half.
    let n = 16;
    let mut pixels = Vec::with_capacity(n * 64);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let top = i % 2 == 1;
        for r in 0..8 {
            for _ in 0..8 {
                pixels.push(if (r < 4) == top { 1.0 } else { 0.0 });
            }
        }
        labels.push(top as usize);
    }
    let x = Tensor::<(usize, Const<1>, Const<8>, Const<8>), f64>::from_vec_with_shape(
        pixels,
        (n, Const, Const, Const),
    )
    .unwrap();
    let y = Indices::<(usize,)>::from_vec_with_shape(labels, (n,)).unwrap();
    let mut opt = Adam::new(0.05);
    let loss_of = |m: &Net| cross_entropy(m.forward(x.clone()), &y).as_slice()[0];
    let first = loss_of(&model);
    for _ in 0..30 {
        let loss = cross_entropy(model.forward_train(x.clone().trace_constant()), &y);
        opt.step(&mut model, &loss.backward());
    }
    let last = loss_of(&model);
    assert!(last < 0.1 * first, "f64 loss {first} -> {last}");
}
