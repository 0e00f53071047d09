// Twin of compile_fail/conv_pool_padding.rs: padding 1 is half the window.
use shaped::nn::{MaxPool2d, Module};
use shaped::prelude::*;

fn main() {
    let y = MaxPool2d::<2, 2, 1>.forward(Tensor::<Rank4<1, 1, 8, 8>>::zeros());
    assert_eq!(y.dims().as_slice(), &[1, 1, 5, 5]);
}
