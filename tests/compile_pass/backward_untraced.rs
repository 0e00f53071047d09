// Twin of tests/compile_fail/backward_untraced.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let w = Tensor::<Rank2<2, 3>>::ones();
    let _g = w.trace().square().mean().backward();
}
