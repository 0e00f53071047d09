// Dot product of vectors of lengths 3 and 4.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>>::ones();
    let b = Tensor::<Rank1<4>>::ones();
    let _d = a.dot(b);
}
