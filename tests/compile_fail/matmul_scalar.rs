// matmul of a scalar (rank 0) and a matrix: PyTorch also rejects 0-d operands.
use shaped::prelude::*;

fn main() {
    let s = Tensor::<Rank0>::full(2.0);
    let m = Tensor::<Rank2<2, 3>>::ones();
    let _y = s.matmul(m);
}
