// A BatchNorm2d over 16 channels after a tensor with 8 channels, and a BatchNorm1d given a
// 4-D input that needs BatchNorm2d.
use shaped::nn::{BatchNorm1d, BatchNorm2d, Module};
use shaped::prelude::*;

fn main() {
    let mut bn = BatchNorm2d::<16>::new();
    let _y = bn.forward_train(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
    let bn1 = BatchNorm1d::<8>::new();
    let _z = bn1.forward(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
}
