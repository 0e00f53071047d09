// An RMSNorm over 8 features applied to an input whose last dimension is 6.
use shaped::nn::{Module, RMSNorm};
use shaped::prelude::*;

fn main() {
    let norm = RMSNorm::<8>::new();
    let _y = norm.forward(Tensor::<Rank3<2, 3, 6>>::zeros());
}
