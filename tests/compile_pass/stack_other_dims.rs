// Twin of tests/compile_fail/stack_other_dims.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones();
    let b = Tensor::<Rank2<2, 3>>::ones();
    let _s: Tensor<Rank3<2, 2, 3>> = Tensor::stack::<0, _>([a, b]);
}
