// Twin of tests/compile_fail/from_array_wrong_size.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let _t = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 0.0], [3.0, 4.0, 0.0]]);
}
