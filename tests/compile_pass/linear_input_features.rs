// A Linear<784, 128> fed 784 features.
use rand::SeedableRng;
use shaped::nn::{Linear, Module};
use shaped::prelude::*;

fn main() {
    let layer = Linear::<784, 128>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let _y = layer.forward(Tensor::<Rank2<32, 784>>::zeros());
}
