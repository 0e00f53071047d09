// (2, 3) x (4, 5): lhs columns != rhs rows.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones();
    let b = Tensor::<Rank2<4, 5>>::ones();
    let _c = a.matmul(b);
}
