// Twin of tests/compile_fail/matmul_batch_dim.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank3<8, 2, 3>>::ones();
    let b = Tensor::<Rank3<8, 3, 5>>::ones();
    let _c: Tensor<Rank3<8, 2, 5>> = a.matmul(b);
}
