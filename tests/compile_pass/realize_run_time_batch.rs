// `realize` on a shape that keeps a run-time batch: the computed height becomes `Const<16>`.
use shaped::prelude::*;
use shaped::shape::ConvOut;

fn main() {
    let x = Tensor::<(usize, ConvOut<Const<16>, 3, 1, 1, 1>)>::zeros_with_shape((5, Default::default()));
    let y: Tensor<(usize, Const<16>)> = x.realize();
    assert_eq!(y.dims().as_slice(), &[5, 16]);
}
