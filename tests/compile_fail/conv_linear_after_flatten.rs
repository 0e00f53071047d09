// A Linear layer after Flatten whose input size does not match the flattened size: the
// convolutions and poolings leave 32 x 5 x 5 = 800 features, not 801. The flattened size is a
// computed dimension, so the check is a build-time const assertion in `DimEq`: reported by
// `cargo build`, not by `cargo check`.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Flatten, Linear, MaxPool2d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv2d::<1, 16, 3>::new(&mut rng),
        ReLU,
        MaxPool2d::<2>,
        Conv2d::<16, 32, 3>::new(&mut rng),
        ReLU,
        MaxPool2d::<2>,
        Flatten,
        Linear::<801, 10>::new(&mut rng),
    );
    let _y = model.forward(Tensor::<Rank4<4, 1, 28, 28>>::zeros());
}
