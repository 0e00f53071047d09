// Twin of tests/compile_fail/var_dim_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank4<2, 3, 4, 5>>::ones();
    let _v: Tensor<Rank3<2, 3, 4>> = x.var_dim::<3>();
}
