// Twin of compile_fail/conv_groups_divide.rs: 4 groups split 4 input and 8 output channels.
use rand::SeedableRng;
use shaped::nn::{GroupedConv2d, Module};
use shaped::prelude::*;

fn main() {
    let conv = GroupedConv2d::<4, 8, 3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    assert_eq!(conv.weight.dims().as_slice(), &[8, 1, 3, 3]);
    let y = conv.forward(Tensor::<Rank4<2, 4, 5, 5>>::zeros());
    assert_eq!(y.dims().as_slice(), &[2, 8, 3, 3]);
}
