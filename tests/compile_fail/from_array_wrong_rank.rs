// `from_array` with a flat array of 4 for a declared (2, 2) tensor.
use shaped::prelude::*;

fn main() {
    let _t = Tensor::<Rank2<2, 2>>::from_array([1.0, 2.0, 3.0, 4.0]);
}
