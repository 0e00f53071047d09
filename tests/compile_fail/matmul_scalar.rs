// matmul of a matrix and a scalar (rank 0): PyTorch also rejects 0-d operands.
use shaped::prelude::*;

fn main() {
    let m = Tensor::<Rank2<2, 3>>::ones();
    let s = Tensor::<Rank0>::full(2.0);
    let _y = m.matmul(s);
}
