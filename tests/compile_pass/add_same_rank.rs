// Twin of tests/compile_fail/add_same_rank.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones();
    let b = Tensor::<Rank2<2, 1>>::ones();
    let _c: Tensor<Rank2<2, 3>> = a + b;
}
