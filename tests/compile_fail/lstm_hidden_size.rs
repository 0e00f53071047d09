// An initial state with hidden size 64 for an LSTM with hidden size 128.
use rand::SeedableRng;
use shaped::nn::{LSTM, Module};
use shaped::prelude::*;

fn main() {
    let lstm = LSTM::<8, 128>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let x = Tensor::<Rank3<4, 10, 8>>::zeros();
    let h0 = Tensor::<Rank3<1, 4, 64>>::zeros();
    let c0 = Tensor::<Rank3<1, 4, 64>>::zeros();
    let _y = lstm.forward((x, (h0, c0)));
}
