// `var_dim::<4>` on a rank-4 tensor.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank4<2, 3, 4, 5>>::ones();
    let _v = x.var_dim::<4>();
}
