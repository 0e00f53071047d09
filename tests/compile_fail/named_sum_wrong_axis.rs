// Dividing each row of a `(Batch, Seq)` tensor by its sum, summed over axis 0 (the batch)
// where axis 1 was meant: the sums are `(Seq,)`, and `(Seq, 1)` does not broadcast against
// `(Batch, Seq)`. With `usize` dimensions this builds and fails at run time only when the
// batch size differs from the sequence length.
use shaped::prelude::*;
use shaped::shape::{Batch, Seq};

fn main() {
    let x = Tensor::<(Dyn<Batch>, Dyn<Seq>)>::ones_with_shape((Dyn::new(4), Dyn::new(6)));
    let row_sums = x.clone().sum_dim::<0>();
    let _y = x / row_sums.unsqueeze::<1>();
}
