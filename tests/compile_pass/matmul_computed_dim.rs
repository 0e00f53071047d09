// Twin of tests/compile_fail/matmul_computed_dim.rs with the shapes fixed.
use shaped::prelude::*;
use shaped::shape::Prod;

fn main() {
    let x = Tensor::<(Const<4>, Prod<Const<2>, Const<3>>)>::zeros();
    let w = Tensor::<Rank2<6, 7>>::zeros();
    let _y: Tensor<Rank2<4, 7>> = x.matmul(w);
}
