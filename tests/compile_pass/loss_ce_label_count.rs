// Twin of compile_fail/loss_ce_label_count.rs: one label per row; labels whose count is
// only known at run time are checked when the loss runs.
use shaped::nn::loss::{CrossEntropyLoss, cross_entropy};
use shaped::prelude::*;

fn main() {
    let logits = Tensor::<Rank2<5, 3>>::zeros();
    let labels = Indices::<Rank1<5>>::from_array([0, 1, 2, 0, 1]);
    let loss = cross_entropy(logits.clone(), &labels);
    assert!((loss.to_vec()[0] - 3f32.ln()).abs() < 1e-6);
    let dynamic = Indices::<(usize,)>::from_vec_with_shape(vec![0, 1, 2, 0], (4,)).unwrap();
    assert!(CrossEntropyLoss::new().try_forward(logits, &dynamic).is_err());
}
