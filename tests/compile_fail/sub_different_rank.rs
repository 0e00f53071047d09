// `-` on (2, 3, 4) and (5): aligned from the right, 4 meets 5.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank3<2, 3, 4>>::ones();
    let b = Tensor::<Rank1<5>>::ones();
    let _c = a - b;
}
