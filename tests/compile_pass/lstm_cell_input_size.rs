// An LSTMCell with input size 4 fed 4 features.
use rand::SeedableRng;
use shaped::nn::{LSTMCell, Module};
use shaped::prelude::*;

fn main() {
    let cell = LSTMCell::<4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let _hc = cell.forward(Tensor::<Rank2<3, 4>>::zeros());
}
