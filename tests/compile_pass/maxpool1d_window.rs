// Twin of compile_fail/maxpool1d_window.rs: the window fits the sequence.
use shaped::nn::{MaxPool1d, Module};
use shaped::prelude::*;

fn main() {
    let y = MaxPool1d::<3>.forward(Tensor::<Rank3<2, 4, 3>>::zeros());
    assert_eq!(y.dims().as_slice(), &[2, 4, 1]);
}
