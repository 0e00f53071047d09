// Twin of tests/compile_fail/max_dim_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank3<2, 3, 4>>::ones();
    let _m: Tensor<Rank2<2, 3>> = x.max_dim::<2>();
}
