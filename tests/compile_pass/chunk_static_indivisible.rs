// Twin of tests/compile_fail/chunk_static_indivisible.rs with a count that divides 10.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<10, 2>>::ones();
    let [a, _b] = x.chunk_static::<0, 2>();
    let _a: Tensor<Rank2<5, 2>> = a.realize();
}
