// MSE of a (N, 1) prediction against a (N,) target: PyTorch broadcasts this to (N, N) and
// silently computes the wrong loss; here the shapes must be the same type.
use shaped::nn::loss::mse_loss;
use shaped::prelude::*;

fn main() {
    let pred = Tensor::<Rank2<8, 1>>::zeros();
    let target = Tensor::<Rank1<8>>::zeros();
    let _loss = mse_loss(pred, target);
}
