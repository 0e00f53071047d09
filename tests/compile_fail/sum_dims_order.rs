// `mean_dims::<2, 1>`: the two axes of a two-axis reduction must be increasing.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank4<2, 3, 4, 5>>::zeros();
    let _m = x.mean_dims::<2, 1>();
}
