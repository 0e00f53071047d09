// The second convolution expects 8 input channels but the first one produces 16.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv2d::<1, 16, 3>::new(&mut rng),
        ReLU,
        Conv2d::<8, 32, 3>::new(&mut rng),
    );
    let _y = model.forward(Tensor::<Rank4<4, 1, 28, 28>>::zeros());
}
