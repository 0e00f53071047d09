// Twin of tests/compile_fail/logsumexp_dim_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<4, 10>>::zeros();
    let _l: Tensor<Rank1<4>> = x.logsumexp_dim::<1>();
}
