// Twin of compile_fail/conv_in_channels.rs: the second convolution takes 16 channels.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv2d::<1, 16, 3>::new(&mut rng),
        ReLU,
        Conv2d::<16, 32, 3>::new(&mut rng),
    );
    let y = model.forward(Tensor::<Rank4<4, 1, 28, 28>>::zeros());
    assert_eq!(y.dims().as_slice(), &[4, 32, 24, 24]);
}
