// The twin of compile_fail/bilinear_in2_features.rs: the second input has the layer's 4.
use rand::SeedableRng;
use shaped::nn::{Bilinear, Module};
use shaped::prelude::*;

fn main() {
    let layer = Bilinear::<3, 4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let x1 = Tensor::<Rank2<8, 3>>::zeros();
    let x2 = Tensor::<Rank2<8, 4>>::zeros();
    let y: Tensor<Rank2<8, 5>> = layer.forward((x1, x2));
    assert_eq!(y.dims().as_slice(), &[8, 5]);
}
