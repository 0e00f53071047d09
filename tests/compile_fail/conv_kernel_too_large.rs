// A 5x5 kernel on a 3x3 image without padding: no output position exists. The output size is
// a computed dimension, so this is a build-time error (`cargo build`, not `cargo check`).
use rand::SeedableRng;
use shaped::nn::{Conv2d, Module};
use shaped::prelude::*;

fn main() {
    let conv = Conv2d::<1, 4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let _y = conv.forward(Tensor::<Rank4<2, 1, 3, 3>>::zeros());
}
