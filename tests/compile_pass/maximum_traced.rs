// Twin of tests/compile_fail/maximum_traced.rs with the shapes fixed.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones().trace();
    let b = Tensor::<Rank2<1, 3>>::zeros();
    let _c: Tensor<Rank2<2, 3>, f32, OwnedTape<f32>> = a.maximum(b);
}
