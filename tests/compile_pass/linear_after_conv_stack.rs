// The CNN: two conv/pool stages leave 16 x 13 x 13 = 2704 features for the classifier.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv2d::<1, 8, 3, 1, 1>::new(&mut rng),
        ReLU,
        Conv2d::<8, 16, 3, 1, 1>::new(&mut rng),
        ReLU,
        MaxPool2d::<2>,
        Flatten,
        ReLU,
        Linear::<2704, 10>::new(&mut rng),
    );
    let x = Tensor::<(usize, Const<1>, Const<26>, Const<26>)>::zeros_with_shape((4, Const, Const, Const));
    let y = model.forward(x);
    assert_eq!(y.dims().as_slice(), &[4, 10]);
}
