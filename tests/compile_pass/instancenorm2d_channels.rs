// Twin of compile_fail/instancenorm2d_channels.rs: the layer has the input's 8 channels.
use shaped::nn::{InstanceNorm2d, Module};
use shaped::prelude::*;

fn main() {
    let norm = InstanceNorm2d::<8>::new();
    let y = norm.forward(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
    assert_eq!(y.dims().as_slice(), &[4, 8, 5, 5]);
}
