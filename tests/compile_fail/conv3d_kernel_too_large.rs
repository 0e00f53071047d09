// A 3x3x3 kernel on a clip of 2 frames without padding: no output position exists along the
// depth. The output size is a computed dimension, so this is a build-time error (`cargo
// build`, not `cargo check`).
use rand::SeedableRng;
use shaped::nn::{Conv3d, Module};
use shaped::prelude::*;

fn main() {
    let conv = Conv3d::<3, 4, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let _y = conv.forward(Tensor::<Rank5<1, 3, 2, 8, 8>>::zeros());
}
