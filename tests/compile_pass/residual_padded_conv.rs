// A shape-keeping conv block inside `Residual`: the padded 3x3 convolution's output height is
// `ConvOut<Const<16>, 3, 1, 1, 1>`, which is the input's `Const<16>` spelled differently.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Module, ReLU, Residual};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let block = Residual((Conv2d::<64, 64, 3, 1, 1>::new(&mut rng), ReLU));
    let x = Tensor::<(usize, Const<64>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
    let y: Tensor<(usize, Const<64>, Const<16>, Const<16>)> = block.forward(x);
    assert_eq!(y.dims().as_slice(), &[2, 64, 16, 16]);
}
