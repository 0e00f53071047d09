// Twin of tests/compile_fail/mean_dim_keepdim_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank1<5>>::ones();
    let _m: Tensor<Rank1<1>> = x.mean_dim_keepdim::<0>();
}
