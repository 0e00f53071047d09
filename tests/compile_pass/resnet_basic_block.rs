// A ResNet basic block without projection: conv3x3/pad 1, BatchNorm, ReLU, conv3x3/pad 1,
// BatchNorm inside `Residual`, then ReLU; stacked twice. No annotation between layers.
use rand::SeedableRng;
use shaped::nn::{BatchNorm2d, Conv2d, Module, ReLU, Residual};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let mut block = || {
        (
            Residual((
                Conv2d::<16, 16, 3, 1, 1>::new_no_bias(&mut rng),
                BatchNorm2d::<16>::new(),
                ReLU,
                Conv2d::<16, 16, 3, 1, 1>::new_no_bias(&mut rng),
                BatchNorm2d::<16>::new(),
            )),
            ReLU,
        )
    };
    let mut model = (block(), block());
    let x = Tensor::<(usize, Const<16>, Const<8>, Const<8>)>::zeros_with_shape((3, Const, Const, Const));
    let y = model.forward_train(x.trace());
    assert_eq!(y.dims().as_slice(), &[3, 16, 8, 8]);
    let _grads = y.sum().backward();
}
