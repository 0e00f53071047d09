// Twin of tests/compile_fail/mul_transposed.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 4>>::ones();
    let b = Tensor::<Rank2<3, 4>>::ones();
    let _c: Tensor<Rank2<3, 4>> = a * b;
}
