// Twin of tests/compile_fail/broadcast_to_incompatible.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<3, 1>>::zeros();
    let _y: Tensor<Rank3<2, 3, 4>> = x.broadcast_to();
}
