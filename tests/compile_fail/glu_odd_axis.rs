// GLU halves its axis: an odd static axis is a build-time error naming the axis and size.
use shaped::nn::{GLU, Module};
use shaped::prelude::*;

fn main() {
    let _y = GLU::<1>.forward(Tensor::<Rank2<2, 7>>::zeros());
}
