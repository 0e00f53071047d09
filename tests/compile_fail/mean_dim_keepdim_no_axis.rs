// `mean_dim_keepdim::<1>` on a vector.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank1<5>>::ones();
    let _m = x.mean_dim_keepdim::<1>();
}
