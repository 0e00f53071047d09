// Twin of compile_fail/loss_bce_transposed.rs: the target is transposed to (4, 5).
use shaped::nn::loss::binary_cross_entropy_with_logits;
use shaped::prelude::*;

fn main() {
    let logits = Tensor::<Rank2<4, 5>>::zeros();
    let target = Tensor::<Rank2<5, 4>>::zeros();
    let loss = binary_cross_entropy_with_logits(logits.clone().trace(), target.t());
    let grads = loss.backward();
    assert_eq!(grads.get(&logits).unwrap().to_vec(), vec![0.5 / 20.0; 20]);
}
