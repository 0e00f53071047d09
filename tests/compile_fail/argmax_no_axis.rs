// `argmax::<1>` on a vector.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank1<10>>::zeros();
    let _i = x.argmax::<1>();
}
