// Twin of compile_fail/conv_kernel_too_large.rs: a 3x3 kernel fits a 3x3 image once.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Module};
use shaped::prelude::*;

fn main() {
    let conv = Conv2d::<1, 4, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let y = conv.forward(Tensor::<Rank4<2, 1, 3, 3>>::zeros());
    assert_eq!(y.dims().as_slice(), &[2, 4, 1, 1]);
}
