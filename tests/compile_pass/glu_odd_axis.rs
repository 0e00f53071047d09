// Twin of compile_fail/glu_odd_axis.rs: an even axis, halved.
use shaped::nn::{GLU, Module};
use shaped::prelude::*;

fn main() {
    let y = GLU::<1>.forward(Tensor::<Rank2<2, 8>>::zeros());
    let y: Tensor<Rank2<2, 4>> = y.realize();
    assert_eq!(y.to_vec(), vec![0.0; 8]);
}
