// Twin of tests/compile_fail/topk_k_too_large.rs with k fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 4>>::ones();
    let (values, indices) = x.topk::<1, 4>(true);
    let _v: Tensor<Rank2<2, 4>> = values;
    assert_eq!(indices.numel(), 8);
}
