// A `(Batch, 4)` tensor added to a static `(8, 4)` one: a named run-time size does not meet a
// static size silently (it would be checked at run time with `usize`).
use shaped::prelude::*;
use shaped::shape::Batch;

fn main() {
    let x = Tensor::<(Dyn<Batch>, Const<4>)>::ones_with_shape((Dyn::new(8), Const));
    let bias = Tensor::<Rank2<8, 4>>::ones();
    let _y = x + bias;
}
