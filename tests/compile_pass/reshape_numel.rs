// Twin of tests/compile_fail/reshape_numel.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 3>>::ones();
    let _y = x.reshape::<Rank2<3, 2>>();
}
