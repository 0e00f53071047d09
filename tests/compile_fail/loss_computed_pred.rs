// A loss between a computed prediction (a conv's output width, `ConvOut<Const<8>, 3, 1, 1, 1>`,
// which is 8) and a target spelled `Const<8>`. Losses take one shape type for both (so that a
// target written `Tensor::zeros()` or `Tensor::from_array(..)` is inferred from the
// prediction), so rustc reports its own type mismatch here, before any check of the crate
// runs: it cannot print sizes. The fix is `mse_loss(pred.realize(), target)`: `realize`
// infers the target's type and checks at build time that the sizes agree, naming both
// sizes when they do not (see `realize_wrong_shape`).
use rand::SeedableRng;
use shaped::nn::loss::mse_loss;
use shaped::nn::{Conv1d, Module};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let conv = Conv1d::<2, 1, 3, 1, 1>::new(&mut rng);
    let pred = conv.forward(Tensor::<(usize, Const<2>, Const<8>)>::zeros_with_shape((4, Const, Const)));
    let target = Tensor::<(usize, Const<1>, Const<8>)>::zeros_with_shape((4, Const, Const));
    let _loss = mse_loss(pred, target);
}
