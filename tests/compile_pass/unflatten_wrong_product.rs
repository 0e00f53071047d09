// The twin of compile_fail/unflatten_wrong_product.rs: 10 = 2 x 5.
use shaped::nn::{Module, Unflatten};
use shaped::prelude::*;

fn main() {
    let y: Tensor<Rank3<2, 2, 5>> = Unflatten::<1, 2, 5>.forward(Tensor::<Rank2<2, 10>>::zeros());
    assert_eq!(y.dims().as_slice(), &[2, 2, 5]);
}
