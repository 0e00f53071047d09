// Twin of tests/compile_fail/dot_lengths.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>>::ones();
    let b = Tensor::<Rank1<3>>::ones();
    let _d: Tensor<Rank0> = a.dot(b);
}
