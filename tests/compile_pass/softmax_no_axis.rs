// Twin of tests/compile_fail/softmax_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<4, 10>>::zeros();
    let _p: Tensor<Rank2<4, 10>> = x.softmax::<1>();
}
