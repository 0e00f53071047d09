// Twin of compile_fail/batchnorm2d_channels.rs: the layer has the input's 8 channels.
use shaped::nn::{BatchNorm2d, Module};
use shaped::prelude::*;

fn main() {
    let mut bn = BatchNorm2d::<8>::new();
    let y = bn.forward_train(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
    assert_eq!(y.dims().as_slice(), &[4, 8, 5, 5]);
}
