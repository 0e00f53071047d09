// Cross-entropy of 10-class logits against 9-class probability targets.
use shaped::nn::loss::cross_entropy_probs;
use shaped::prelude::*;

fn main() {
    let logits = Tensor::<Rank2<2, 10>>::zeros();
    let target = Tensor::<Rank2<2, 9>>::full(1.0 / 9.0);
    let _loss = cross_entropy_probs(logits, target);
}
