// `/` on references, (3) / (2): vectors of different lengths.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>>::ones();
    let b = Tensor::<Rank1<2>>::ones();
    let _c = &a / &b;
}
