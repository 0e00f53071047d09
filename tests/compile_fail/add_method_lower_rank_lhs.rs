// `.add` with the lower-rank tensor on the left, (3) and (4, 2).
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>>::ones();
    let b = Tensor::<Rank2<4, 2>>::ones();
    let _c = a.add(b);
}
