// A dense per-position loss on a conv's computed output: the prediction
// `(usize, Const<1>, ConvOut<Const<8>, 3, 1, 1, 1>)` meets the target's
// `(usize, Const<1>, Const<8>)` directly (a computed dimension accepts any target of its size,
// compared at build time); a target built from the prediction's shape is inferred.
use rand::SeedableRng;
use shaped::nn::loss::{mse_loss, MSELoss, Reduction};
use shaped::nn::{Conv1d, Module};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let conv = Conv1d::<2, 1, 3, 1, 1>::new(&mut rng);
    let pred = conv.forward(Tensor::<(usize, Const<2>, Const<8>)>::zeros_with_shape((4, Const, Const)));
    let target = Tensor::<(usize, Const<1>, Const<8>)>::zeros_with_shape((4, Const, Const));
    let loss = mse_loss(pred.clone(), target.clone());
    assert_eq!(loss.dims().as_slice(), &[] as &[usize]);
    // `realize` first still works, with the target shape written out.
    let _ = mse_loss(pred.clone().realize::<(usize, Const<1>, Const<8>)>(), target);
    let per_elem = MSELoss::new()
        .reduction(Reduction::None)
        .forward(pred.clone(), Tensor::zeros_with_shape(*pred.shape()));
    assert_eq!(per_elem.dims().as_slice(), &[4, 1, 8]);
}
