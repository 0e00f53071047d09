// `sum_dim::<2>` on a rank-2 tensor (axes 0 and 1).
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<2, 3>>::ones();
    let _s = x.sum_dim::<2>();
}
