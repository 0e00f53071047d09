// A Gaussian NLL on a conv's computed output: the mean
// `(usize, Const<1>, ConvOut<Const<8>, 3, 1, 1, 1>)` meets the target's
// `(usize, Const<1>, Const<8>)` directly (a computed dimension accepts a target of its size),
// with one variance per sample broadcast along the last axis.
use rand::SeedableRng;
use shaped::nn::loss::{gaussian_nll_loss, GaussianNLLLoss, Reduction};
use shaped::nn::{Conv1d, Module};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let conv = Conv1d::<2, 1, 3, 1, 1>::new(&mut rng);
    let mean = conv.forward(Tensor::<(usize, Const<2>, Const<8>)>::zeros_with_shape((4, Const, Const)));
    let target = Tensor::<(usize, Const<1>, Const<8>)>::zeros_with_shape((4, Const, Const));
    let var = Tensor::<(usize, Const<1>, Const<1>)>::ones_with_shape((4, Const, Const));
    let loss = gaussian_nll_loss(mean.clone(), target.clone(), var.clone());
    assert_eq!(loss.dims().as_slice(), &[] as &[usize]);
    let per_elem = GaussianNLLLoss::new()
        .reduction(Reduction::None)
        .forward(mean, target, var);
    assert_eq!(per_elem.dims().as_slice(), &[4, 1, 8]);
}
