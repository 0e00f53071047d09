// Twin of compile_fail/layernorm_last_dim.rs: the layer normalises the last 6 features.
use shaped::nn::{LayerNorm, Module};
use shaped::prelude::*;

fn main() {
    let ln = LayerNorm::<6>::new();
    let y = ln.forward(Tensor::<Rank3<2, 3, 6>>::zeros());
    assert_eq!(y.dims().as_slice(), &[2, 3, 6]);
}
