// Twin of tests/compile_fail/sum_dim_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 3>>::ones();
    let _s: Tensor<Rank1<2>> = x.sum_dim::<1>();
}
