// An LSTM with input size 64 fed 64 features per step.
use rand::SeedableRng;
use shaped::nn::{LSTM, Module};
use shaped::prelude::*;

fn main() {
    let lstm = LSTM::<64, 128>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let _y = lstm.forward(Tensor::<Rank3<4, 10, 64>>::zeros());
}
