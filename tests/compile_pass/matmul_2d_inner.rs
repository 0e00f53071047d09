// Twin of tests/compile_fail/matmul_2d_inner.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones();
    let b = Tensor::<Rank2<3, 5>>::ones();
    let _c: Tensor<Rank2<2, 5>> = a.matmul(b);
}
