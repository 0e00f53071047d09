// `log_softmax::<3>` on a traced rank-3 tensor.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank3<2, 4, 10>>::zeros().trace();
    let _p = x.log_softmax::<3>();
}
