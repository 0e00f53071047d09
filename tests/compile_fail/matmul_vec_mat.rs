// Vector times matrix, (3) x (4, 5): the vector length is not the matrix's rows.
use shaped::prelude::*;

fn main() {
    let v = Tensor::<Rank1<3>>::ones();
    let m = Tensor::<Rank2<4, 5>>::ones();
    let _y = v.matmul(m);
}
