// Twin of tests/compile_fail/realize_wrong_shape.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let t = Tensor::<(Const<2>, shaped::shape::Prod<Const<1>, Const<3>>)>::zeros();
    let _u: Tensor<Rank2<2, 3>> = t.realize();
}
