// `+` on (2, 3) and (2, 4): the last dimensions differ and neither is 1.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones();
    let b = Tensor::<Rank2<2, 4>>::ones();
    let _c = a + b;
}
