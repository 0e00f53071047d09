// The fix: sum over axis 1, the sequence, giving one sum per row `(Batch,)`.
use shaped::prelude::*;
use shaped::shape::{Batch, Seq};

fn main() {
    let x = Tensor::<(Dyn<Batch>, Dyn<Seq>)>::ones_with_shape((Dyn::new(4), Dyn::new(6)));
    let row_sums = x.clone().sum_dim::<1>();
    let y: Tensor<(Dyn<Batch>, Dyn<Seq>)> = x / row_sums.unsqueeze::<1>();
    assert!(y.to_vec().iter().all(|&v| (v - 1.0 / 6.0).abs() < 1e-6));
}
