// Twin of compile_fail/rmsnorm_last_dim.rs: the layer normalises the last 6 features.
use shaped::nn::{Module, RMSNorm};
use shaped::prelude::*;

fn main() {
    let norm = RMSNorm::<6>::new();
    let y = norm.forward(Tensor::<Rank3<2, 3, 6>>::zeros());
    assert_eq!(y.dims().as_slice(), &[2, 3, 6]);
}
