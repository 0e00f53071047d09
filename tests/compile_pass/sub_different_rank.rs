// Twin of tests/compile_fail/sub_different_rank.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank3<2, 3, 4>>::ones();
    let b = Tensor::<Rank1<4>>::ones();
    let _c: Tensor<Rank3<2, 3, 4>> = a - b;
}
