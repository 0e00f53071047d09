// Twin of compile_fail/pixel_shuffle_channels.rs: 8 channels, shuffled to 2 at twice the size.
use shaped::nn::{Module, PixelShuffle};
use shaped::prelude::*;

fn main() {
    let y = PixelShuffle::<2>.forward(Tensor::<Rank4<1, 8, 3, 3>>::zeros());
    let y: Tensor<Rank4<1, 2, 6, 6>> = y.realize();
    assert_eq!(y.numel(), 72);
}
