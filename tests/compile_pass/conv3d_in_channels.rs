// Twin of compile_fail/conv3d_in_channels.rs: the second 3-D convolution takes 16 channels.
use rand::SeedableRng;
use shaped::nn::{Conv3d, MaxPool3d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv3d::<1, 16, 3>::new(&mut rng),
        ReLU,
        MaxPool3d::<2>,
        Conv3d::<16, 32, 3>::new(&mut rng),
    );
    let y = model.forward(Tensor::<Rank5<2, 1, 10, 16, 16>>::zeros());
    assert_eq!(y.dims().as_slice(), &[2, 32, 2, 5, 5]);
}
