// `concat` along axis 0 of (2, 3) and (4, 5): the other axis (3 vs 5) must match.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones();
    let b = Tensor::<Rank2<4, 5>>::ones();
    let _c = a.concat::<0, _, _>(b);
}
