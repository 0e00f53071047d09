// A struct deriving `Module` whose head does not fit the flattened features (8 x 7 x 7 = 392,
// not 400): the build error names the field path (`head.0`), the layer and both sizes.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, Params, ReLU};
use shaped::prelude::*;

#[derive(Params, Module)]
struct Net {
    features: (Conv2d<1, 8, 3, 1, 1>, ReLU, MaxPool2d<2>, Flatten),
    head: (Linear<400, 10>,),
}

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let net = Net {
        features: (Conv2d::new(&mut rng), ReLU, MaxPool2d, Flatten),
        head: (Linear::new(&mut rng),),
    };
    let x = Tensor::<(usize, Const<1>, Const<14>, Const<14>)>::zeros_with_shape((2, Const, Const, Const));
    let _y = net.forward(x);
}
