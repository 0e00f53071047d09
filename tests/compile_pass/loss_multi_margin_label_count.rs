// Twin of compile_fail/loss_multi_margin_label_count.rs: one label per row; labels whose
// count is only known at run time are checked when the loss runs.
use shaped::nn::loss::MultiMarginLoss;
use shaped::prelude::*;

fn main() {
    let scores = Tensor::<Rank2<5, 3>>::zeros();
    let labels = Indices::<Rank1<5>>::from_array([0, 1, 2, 0, 1]);
    let loss = MultiMarginLoss::new().p(2).forward(scores.clone(), &labels);
    assert!((loss.to_vec()[0] - 2.0 / 3.0).abs() < 1e-6); // two hinges of 1, squared, over 3
    let dynamic = Indices::<(usize,)>::from_vec_with_shape(vec![0, 1, 2, 0], (4,)).unwrap();
    assert!(MultiMarginLoss::new().try_forward(scores, &dynamic).is_err());
}
