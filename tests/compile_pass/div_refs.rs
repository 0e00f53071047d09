// Twin of tests/compile_fail/div_refs.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank1<3>>::ones();
    let b = Tensor::<Rank1<1>>::ones();
    let _c: Tensor<Rank1<3>> = &a / &b;
}
