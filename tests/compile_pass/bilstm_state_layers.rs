// A 2-layer bidirectional LSTM given initial states for num_layers * 2 = 4 rows.
use rand::SeedableRng;
use shaped::nn::{BiLSTM, Module};
use shaped::prelude::*;

fn main() {
    let lstm = BiLSTM::<3, 5, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let h0 = Tensor::<Rank3<4, 1, 5>>::zeros();
    let _y = lstm.forward((Tensor::<Rank3<1, 6, 3>>::zeros(), (h0.clone(), h0)));
}
