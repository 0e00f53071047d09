// `squeeze::<1>` of (2, 3, 4): axis 1 has size 3, not 1.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank3<2, 3, 4>>::ones();
    let _y = x.squeeze::<1>();
}
