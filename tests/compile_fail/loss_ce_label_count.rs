// Cross-entropy of a batch of 5 rows of logits with 4 labels.
use shaped::nn::loss::cross_entropy;
use shaped::prelude::*;

fn main() {
    let logits = Tensor::<Rank2<5, 3>>::zeros();
    let labels = Indices::<Rank1<4>>::from_array([0, 1, 2, 0]);
    let _loss = cross_entropy(logits, &labels);
}
