// Twin of tests/compile_fail/matmul_scalar.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>>::ones();
    let v = Tensor::<Rank1<3>>::full(2.0);
    let _y: Tensor<Rank1<2>> = m.matmul(v);
}
