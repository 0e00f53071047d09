// A LayerNorm over 8 features applied to an input whose last dimension is 6.
use shaped::nn::{LayerNorm, Module};
use shaped::prelude::*;

fn main() {
    let ln = LayerNorm::<8>::new();
    let _y = ln.forward(Tensor::<Rank3<2, 3, 6>>::zeros());
}
