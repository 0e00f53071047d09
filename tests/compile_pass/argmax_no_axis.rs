// Twin of tests/compile_fail/argmax_no_axis.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank1<10>>::zeros();
    let _i: Indices<Rank0> = x.argmax::<0>();
}
