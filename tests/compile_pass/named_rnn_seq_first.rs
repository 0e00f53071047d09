// The fix: the input laid out batch-first, `(Batch, Seq, I)`; the names come out unchanged.
use rand::SeedableRng;
use shaped::nn::{LSTM, Module};
use shaped::prelude::*;
use shaped::shape::{Batch, Seq};

fn main() {
    let lstm = LSTM::<8, 16>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let (b, t) = (Dyn::<Batch>::new(4), Dyn::<Seq>::new(10));
    let x = Tensor::<(Dyn<Seq>, Dyn<Batch>, Const<8>)>::zeros_with_shape((t, b, Const));
    let h0 = Tensor::<(Const<1>, Dyn<Batch>, Const<16>)>::zeros_with_shape((Const, b, Const));
    let (y, (h_n, _c_n)) = lstm.forward((x.transpose::<0, 1>(), (h0.clone(), h0)));
    let y: Tensor<(Dyn<Batch>, Dyn<Seq>, Const<16>)> = y;
    let h_n: Tensor<(Const<1>, Dyn<Batch>, Const<16>)> = h_n;
    assert_eq!(y.dims().as_slice(), &[4, 10, 16]);
    assert_eq!(h_n.dims().as_slice(), &[1, 4, 16]);
}
