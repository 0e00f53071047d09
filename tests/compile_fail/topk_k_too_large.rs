// `topk` of 5 elements from a static axis of 4: k must not exceed the axis size.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 4>>::ones();
    let (_values, _indices) = x.topk::<1, 5>(true);
}
