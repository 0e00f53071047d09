// `realize` between static shapes of different sizes: (2, 3) into (3, 2).
// A build-time const assertion: reported by `cargo build`, not by `cargo check`.
use shaped::prelude::*;

fn main() {
    let t = Tensor::<Rank2<2, 3>>::zeros();
    let _u: Tensor<Rank2<3, 2>> = t.realize();
}
