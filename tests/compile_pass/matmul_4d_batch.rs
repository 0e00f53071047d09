// Twin of tests/compile_fail/matmul_4d_batch.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank4<2, 3, 4, 5>>::ones();
    let b = Tensor::<Rank4<2, 3, 5, 7>>::ones();
    let _c: Tensor<Rank4<2, 3, 4, 7>> = a.matmul(b);
}
