// `reshape` of (2, 3) (6 elements) into (4, 2) (8 elements).
// A build-time const assertion: reported by `cargo build`, not by `cargo check`.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 3>>::ones();
    let _y = x.reshape::<Rank2<4, 2>>();
}
