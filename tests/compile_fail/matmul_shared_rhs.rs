// A batch times one shared matrix, (4, 2, 3) x (2, 5): inner dimensions differ.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank3<4, 2, 3>>::ones();
    let w = Tensor::<Rank2<2, 5>>::ones();
    let _c = a.matmul(w);
}
