// Twin of tests/compile_fail/backward_not_scalar.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let w = Tensor::<Rank2<2, 3>>::ones().trace();
    let _g = w.relu().sum().backward();
}
