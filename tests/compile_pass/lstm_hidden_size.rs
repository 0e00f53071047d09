// An initial state with the LSTM's hidden size 128.
use rand::SeedableRng;
use shaped::nn::{LSTM, Module};
use shaped::prelude::*;

fn main() {
    let lstm = LSTM::<8, 128>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let x = Tensor::<Rank3<4, 10, 8>>::zeros();
    let h0 = Tensor::<Rank3<1, 4, 128>>::zeros();
    let c0 = Tensor::<Rank3<1, 4, 128>>::zeros();
    let _y = lstm.forward((x, (h0, c0)));
}
