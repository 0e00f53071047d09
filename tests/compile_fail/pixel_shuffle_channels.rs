// PixelShuffle(2) needs channels divisible by 2^2: 6 static channels are a build-time error
// naming both.
use shaped::nn::{Module, PixelShuffle};
use shaped::prelude::*;

fn main() {
    let _y = PixelShuffle::<2>.forward(Tensor::<Rank4<1, 6, 3, 3>>::zeros());
}
