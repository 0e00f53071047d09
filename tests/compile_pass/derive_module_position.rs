// The derived model with its head sized for the 8 x 7 x 7 = 392 flattened features.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, Params, ReLU};
use shaped::prelude::*;

#[derive(Params, Module)]
struct Net {
    features: (Conv2d<1, 8, 3, 1, 1>, ReLU, MaxPool2d<2>, Flatten),
    head: (Linear<392, 10>,),
}

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let net = Net {
        features: (Conv2d::new(&mut rng), ReLU, MaxPool2d, Flatten),
        head: (Linear::new(&mut rng),),
    };
    let x = Tensor::<(usize, Const<1>, Const<14>, Const<14>)>::zeros_with_shape((2, Const, Const, Const));
    let y = net.forward(x);
    assert_eq!(y.dims().as_slice(), &[2, 10]);
}
