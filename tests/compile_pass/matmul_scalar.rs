// Twin of tests/compile_fail/matmul_scalar.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let s = Tensor::<Rank1<2>>::full(2.0);
    let m = Tensor::<Rank2<2, 3>>::ones();
    let _y: Tensor<Rank1<3>> = s.matmul(m);
}
