// Twin of tests/compile_fail/from_array_wrong_rank.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let _t = Tensor::<Rank2<2, 2>>::from_array([[1.0, 2.0], [3.0, 4.0]]);
}
