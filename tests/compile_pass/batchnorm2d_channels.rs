// Twin of compile_fail/batchnorm2d_channels.rs: 8 channels, and BatchNorm1d on (N, C, L).
use shaped::nn::{BatchNorm1d, BatchNorm2d, Module};
use shaped::prelude::*;

fn main() {
    let mut bn = BatchNorm2d::<8>::new();
    let y = bn.forward_train(Tensor::<Rank4<4, 8, 5, 5>>::zeros());
    assert_eq!(y.dims().as_slice(), &[4, 8, 5, 5]);
    let bn1 = BatchNorm1d::<8>::new();
    let z = bn1.forward(Tensor::<Rank3<4, 8, 25>>::zeros());
    assert_eq!(z.dims().as_slice(), &[4, 8, 25]);
}
