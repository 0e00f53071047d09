// Twin of tests/compile_fail/add_method_lower_rank_lhs.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank1<2>>::ones();
    let b = Tensor::<Rank2<4, 2>>::ones();
    let _c: Tensor<Rank2<4, 2>> = a.add(b);
}
