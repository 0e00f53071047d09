// 4-d batched matmul, (2, 3, 4, 5) x (2, 6, 5, 7): the second batch dimension differs.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank4<2, 3, 4, 5>>::ones();
    let b = Tensor::<Rank4<2, 6, 5, 7>>::ones();
    let _c = a.matmul(b);
}
