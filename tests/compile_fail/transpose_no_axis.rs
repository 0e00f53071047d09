// `transpose::<0, 2>` of a matrix: it has axes 0 and 1 only.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 3>>::ones();
    let _y = x.transpose::<0, 2>();
}
