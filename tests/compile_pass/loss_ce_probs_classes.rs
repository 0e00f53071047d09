// Twin of compile_fail/loss_ce_probs_classes.rs: the target has the logits' 10 classes.
use shaped::nn::loss::cross_entropy_probs;
use shaped::prelude::*;

fn main() {
    let logits = Tensor::<Rank2<2, 10>>::zeros();
    let target = Tensor::<Rank2<2, 10>>::full(0.1);
    let loss = cross_entropy_probs(logits, target);
    assert!((loss.to_vec()[0] - 10f32.ln()).abs() < 1e-5);
}
