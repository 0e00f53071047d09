// x + f(x) where f keeps 8 features.
use rand::SeedableRng;
use shaped::nn::{Linear, Module, Residual};
use shaped::prelude::*;

fn main() {
    let block = Residual(Linear::<8, 8>::new(&mut rand::rngs::StdRng::seed_from_u64(0)));
    let _y = block.forward(Tensor::<Rank2<2, 8>>::zeros());
}
