// Matrix times vector, (2, 3) x (4): the vector length is not the matrix's columns.
use shaped::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>>::ones();
    let v = Tensor::<Rank1<4>>::ones();
    let _y = m.matmul(v);
}
