// `*` on (3, 4) and its transpose's shape (4, 3).
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 4>>::ones();
    let b = Tensor::<Rank2<4, 3>>::ones();
    let _c = a * b;
}
