// A BatchNorm2d over 16 channels after a tensor with 8 channels.
use shaped::nn::{BatchNorm2d, Module};
use shaped::prelude::*;

fn main() {
    let mut bn = BatchNorm2d::<16>::new();
    let _y = bn.forward_train(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
}
