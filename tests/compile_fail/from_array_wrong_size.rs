// `from_array` with a 2x2 array for a declared (2, 3) tensor.
use shaped::prelude::*;

fn main() {
    let _t = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0], [3.0, 4.0]]);
}
