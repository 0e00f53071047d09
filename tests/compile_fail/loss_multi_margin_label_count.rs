// MultiMarginLoss of a batch of 5 rows of scores with 4 labels.
use shaped::nn::loss::MultiMarginLoss;
use shaped::prelude::*;

fn main() {
    let scores = Tensor::<Rank2<5, 3>>::zeros();
    let labels = Indices::<Rank1<4>>::from_array([0, 1, 2, 0]);
    let _loss = MultiMarginLoss::new().p(2).forward(scores, &labels);
}
