// A Gaussian NLL between a computed mean (a conv's output width, `ConvOut<Const<8>, 3, 1, 0, 1>`,
// which is 6 without padding) and a target spelled `Const<8>`: the build fails naming the loss,
// both sizes and the axis.
use rand::SeedableRng;
use shaped::nn::loss::gaussian_nll_loss;
use shaped::nn::{Conv1d, Module};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let conv = Conv1d::<2, 1, 3, 1, 0>::new(&mut rng);
    let mean = conv.forward(Tensor::<(usize, Const<2>, Const<8>)>::zeros_with_shape((4, Const, Const)));
    let target = Tensor::<(usize, Const<1>, Const<8>)>::zeros_with_shape((4, Const, Const));
    let var = Tensor::<(usize, Const<1>, Const<1>)>::ones_with_shape((4, Const, Const));
    let _loss = gaussian_nll_loss(mean, target, var);
}
