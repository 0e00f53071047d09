// Twin of compile_fail/conv3d_kernel_too_large.rs: padding 1 gives the 2 frames room.
use rand::SeedableRng;
use shaped::nn::{Conv3d, Module};
use shaped::prelude::*;

fn main() {
    let conv = Conv3d::<3, 4, 3, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let y = conv.forward(Tensor::<Rank5<1, 3, 2, 8, 8>>::zeros());
    assert_eq!(y.dims().as_slice(), &[1, 4, 2, 8, 8]);
}
