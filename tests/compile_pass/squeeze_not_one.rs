// Twin of tests/compile_fail/squeeze_not_one.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank3<2, 1, 4>>::ones();
    let _y: Tensor<Rank2<2, 4>> = x.squeeze::<1>();
}
