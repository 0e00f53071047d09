// A batch-first LSTM fed a sequence-first `(Seq, Batch, I)` input with an initial state whose
// batch axis is named `Batch`: the input's batch axis (its first) is `Seq`.
use rand::SeedableRng;
use shaped::nn::{LSTM, Module};
use shaped::prelude::*;
use shaped::shape::{Batch, Seq};

fn main() {
    let lstm = LSTM::<8, 16>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let (b, t) = (Dyn::<Batch>::new(4), Dyn::<Seq>::new(10));
    let x = Tensor::<(Dyn<Seq>, Dyn<Batch>, Const<8>)>::zeros_with_shape((t, b, Const));
    let h0 = Tensor::<(Const<1>, Dyn<Batch>, Const<16>)>::zeros_with_shape((Const, b, Const));
    let (_y, _state) = lstm.forward((x, (h0.clone(), h0)));
}
