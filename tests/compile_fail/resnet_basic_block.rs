// A basic block whose first convolution has stride 2 but no projection shortcut: the body
// gives 4x4 from an 8x8 input, so x + f(x) does not fit. Both sizes are named.
use rand::SeedableRng;
use shaped::nn::{BatchNorm2d, Conv2d, Module, ReLU, Residual};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut block = (
        Residual((
            Conv2d::<16, 16, 3, 2, 1>::new_no_bias(&mut rng),
            BatchNorm2d::<16>::new(),
            ReLU,
            Conv2d::<16, 16, 3, 1, 1>::new_no_bias(&mut rng),
            BatchNorm2d::<16>::new(),
        )),
        ReLU,
    );
    let x = Tensor::<(usize, Const<16>, Const<8>, Const<8>)>::zeros_with_shape((3, Const, Const, Const));
    let _y = block.forward_train(x.trace());
}
