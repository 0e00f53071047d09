// Twin of tests/compile_fail/split_static_sizes.rs with the sizes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<3, 5>>::ones();
    let (a, b) = x.split_static::<1, (Const<2>, Const<3>)>();
    let _a: Tensor<Rank2<3, 2>> = a;
    let _b: Tensor<Rank2<3, 3>> = b;
}
