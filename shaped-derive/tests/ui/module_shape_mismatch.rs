use rand::SeedableRng;
use shaped::nn::{Linear, Module, ReLU};
use shaped::prelude::*;

#[derive(shaped::Module)]
struct Mlp {
    fc1: Linear<784, 128>,
    act: ReLU,
    fc2: Linear<64, 10>,
}

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mlp = Mlp { fc1: Linear::new(&mut rng), act: ReLU, fc2: Linear::new(&mut rng) };
    let _y = mlp.forward(Tensor::<Rank2<2, 784>>::zeros());
}
