// The same block without padding: the 3x3 convolution shrinks 16x16 to 14x14, so x + f(x)
// cannot be formed. Both sizes are named, and the error points at the `forward` line.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Module, ReLU, Residual};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let block = Residual((Conv2d::<64, 64, 3, 1, 0>::new(&mut rng), ReLU));
    let x = Tensor::<(usize, Const<64>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
    let _y = block.forward(x);
}
