// Twin of compile_fail/loss_mse_column_vs_vector.rs: the prediction is squeezed to (N,).
use shaped::nn::loss::mse_loss;
use shaped::prelude::*;

fn main() {
    let pred = Tensor::<Rank2<8, 1>>::full(2.0);
    let target = Tensor::<Rank1<8>>::zeros();
    let loss: Tensor<()> = mse_loss(pred.squeeze::<1>(), target);
    assert_eq!(loss.to_vec(), vec![4.0]);
}
