// A ResNet block with a projection shortcut: the body (conv3x3, stride 2, pad 1) and the
// shortcut (conv1x1, stride 2) both give 8x8 from 16x16, as differently spelled computed
// dimensions. Their sum needs no annotation.
use rand::SeedableRng;
use shaped::nn::{BatchNorm2d, Conv2d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let body = (
        Conv2d::<64, 128, 3, 2, 1>::new_no_bias(&mut rng),
        BatchNorm2d::<128>::new(),
        ReLU,
        Conv2d::<128, 128, 3, 1, 1>::new_no_bias(&mut rng),
        BatchNorm2d::<128>::new(),
    );
    let shortcut = (
        Conv2d::<64, 128, 1, 2, 0>::new_no_bias(&mut rng),
        BatchNorm2d::<128>::new(),
    );
    let x = Tensor::<(usize, Const<64>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
    let y = (body.forward(x.clone()) + shortcut.forward(x)).relu();
    assert_eq!(y.dims().as_slice(), &[2, 128, 8, 8]);
    // Stride 1 on both sides keeps 16x16: `ConvOut<_, 3, 1, 1, 1>` meets `ConvOut<_, 1, 1, 0, 1>`.
    let a = Conv2d::<64, 128, 3, 1, 1>::new(&mut rng);
    let b = Conv2d::<64, 128, 1>::new(&mut rng);
    let x = Tensor::<(usize, Const<64>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
    let z = a.forward(x.clone()) + b.forward(x);
    assert_eq!(z.dims().as_slice(), &[2, 128, 16, 16]);
}
