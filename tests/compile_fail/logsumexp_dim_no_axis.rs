// `logsumexp_dim::<2>` on a (batch, classes) tensor.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<4, 10>>::zeros();
    let _l = x.logsumexp_dim::<2>();
}
