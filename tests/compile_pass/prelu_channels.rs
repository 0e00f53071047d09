// Twin of compile_fail/prelu_channels.rs: the layer has the input's 8 channels.
use shaped::nn::{ChannelPReLU, Module};
use shaped::prelude::*;

fn main() {
    let prelu = ChannelPReLU::<8>::new();
    let y = prelu.forward(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
    assert_eq!(y.dims().as_slice(), &[4, 8, 5, 5]);
}
