// A comparison and a `where` between a computed `Prod<2, 3>` (= 6) columns and 5 columns.
// Build-time const assertions: reported by `cargo build`, not by `cargo check`.
use shaped::ops::compare::where_;
use shaped::prelude::*;
use shaped::shape::Prod;

fn main() {
    let x = Tensor::<(Const<4>, Prod<Const<2>, Const<3>>)>::zeros();
    let y = Tensor::<Rank2<4, 5>>::zeros();
    let mask = x.lt(&y);
    let _z = where_(&x, x.clone(), y);
    drop(mask);
}
