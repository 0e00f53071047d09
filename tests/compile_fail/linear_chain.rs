// The second layer takes 64 features but the first produces 128.
use rand::SeedableRng;
use shaped::nn::{Linear, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (Linear::<784, 128>::new(&mut rng), ReLU, Linear::<64, 10>::new(&mut rng));
    let _y = model.forward(Tensor::<Rank2<2, 784>>::zeros());
}
