// The second 3-D convolution expects 8 input channels but the first one produces 16.
use rand::SeedableRng;
use shaped::nn::{Conv3d, MaxPool3d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv3d::<1, 16, 3>::new(&mut rng),
        ReLU,
        MaxPool3d::<2>,
        Conv3d::<8, 32, 3>::new(&mut rng),
    );
    let _y = model.forward(Tensor::<Rank5<2, 1, 10, 16, 16>>::zeros());
}
