// `split_static` of a static axis of 5 into pieces of 2 and 2: the sizes must add up to 5.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<3, 5>>::ones();
    let (_a, _b) = x.split_static::<1, (Const<2>, Const<2>)>();
}
