// Twin of tests/compile_fail/matmul_shared_rhs.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank3<4, 2, 3>>::ones();
    let w = Tensor::<Rank2<3, 5>>::ones();
    let _c: Tensor<Rank3<4, 2, 5>> = a.matmul(w);
}
