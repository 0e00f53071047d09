// Batched (8, 2, 3) x (7, 3, 5): batch dimensions differ.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank3<8, 2, 3>>::ones();
    let b = Tensor::<Rank3<7, 3, 5>>::ones();
    let _c = a.matmul(b);
}
