// Unflatten splits an axis into (A, B): a static axis whose size is not A * B is a build-time
// error naming the axis and the sizes.
use shaped::nn::{Module, Unflatten};
use shaped::prelude::*;

fn main() {
    let _y = Unflatten::<1, 3, 4>.forward(Tensor::<Rank2<2, 10>>::zeros());
}
