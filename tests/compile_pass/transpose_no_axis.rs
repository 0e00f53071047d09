// Twin of tests/compile_fail/transpose_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 3>>::ones();
    let _y: Tensor<Rank2<3, 2>> = x.transpose::<0, 1>();
}
