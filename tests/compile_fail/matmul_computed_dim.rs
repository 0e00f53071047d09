// matmul whose inner dimension is a computed `Prod<2, 3>` (= 6) against 5 rows.
// A build-time const assertion in `DimEq`: reported by `cargo build`, not by `cargo check`.
use shaped::prelude::*;
use shaped::shape::Prod;

fn main() {
    let x = Tensor::<(Const<4>, Prod<Const<2>, Const<3>>)>::zeros();
    let w = Tensor::<Rank2<5, 7>>::zeros();
    let _y = x.matmul(w);
}
