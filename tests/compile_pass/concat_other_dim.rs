// Twin of tests/compile_fail/concat_other_dim.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones();
    let b = Tensor::<Rank2<4, 3>>::ones();
    let _c: Tensor<Rank2<6, 3>> = a.concat::<0, _, _>(b).realize();
}
