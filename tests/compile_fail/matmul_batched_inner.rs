// Batched (8, 2, 3) x (8, 4, 5): inner dimensions differ.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank3<8, 2, 3>>::ones();
    let b = Tensor::<Rank3<8, 4, 5>>::ones();
    let _c = a.matmul(b);
}
