// `broadcast_to` from (3, 2) to (2, 3, 4): 2 is neither 4 nor 1.
// A build-time const assertion: reported by `cargo build`, not by `cargo check`.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<3, 2>>::zeros();
    let _y: Tensor<Rank3<2, 3, 4>> = x.broadcast_to();
}
