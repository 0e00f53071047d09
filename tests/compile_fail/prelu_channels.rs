// A per-channel PReLU over 16 channels after a tensor with 8 channels.
use shaped::nn::{ChannelPReLU, Module};
use shaped::prelude::*;

fn main() {
    let prelu = ChannelPReLU::<16>::new();
    let _y = prelu.forward(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
}
