// An InstanceNorm2d over 16 channels after a tensor with 8 channels.
use shaped::nn::{InstanceNorm2d, Module};
use shaped::prelude::*;

fn main() {
    let norm = InstanceNorm2d::<16>::new();
    let _y = norm.forward(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
}
