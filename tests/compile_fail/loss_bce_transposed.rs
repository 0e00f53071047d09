// BCE with logits of shape (4, 5) against targets of shape (5, 4).
use shaped::nn::loss::binary_cross_entropy_with_logits;
use shaped::prelude::*;

fn main() {
    let logits = Tensor::<Rank2<4, 5>>::zeros().trace();
    let target = Tensor::<Rank2<5, 4>>::zeros();
    let _loss = binary_cross_entropy_with_logits(logits, target);
}
