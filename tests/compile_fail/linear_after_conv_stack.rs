// The classifier was sized for another input: the flattened features are 2704, the layer
// takes 1350. The error names the layer and both sizes, and points at the `forward` line.
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
        Linear::<1350, 10>::new(&mut rng),
    );
    let x = Tensor::<(usize, Const<1>, Const<26>, Const<26>)>::zeros_with_shape((4, Const, Const, Const));
    let _y = model.forward(x);
}
