// Twin of tests/compile_fail/matmul_vec_mat.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let v = Tensor::<Rank1<4>>::ones();
    let m = Tensor::<Rank2<4, 5>>::ones();
    let _y: Tensor<Rank1<5>> = v.matmul(m);
}
