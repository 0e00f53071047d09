// Twin of tests/compile_fail/log_softmax_traced_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank3<2, 4, 10>>::zeros().trace();
    let _p = x.log_softmax::<2>();
}
