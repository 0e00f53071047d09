// `max_dim::<3>` on a rank-3 tensor.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank3<2, 3, 4>>::ones();
    let _m = x.max_dim::<3>();
}
