// The twin of compile_fail/bilinear_computed_in1.rs: 4 x 5 = 20 features, as the layer takes.
use rand::SeedableRng;
use shaped::nn::{Bilinear, Flatten, Module};
use shaped::prelude::*;

fn main() {
    let layer = Bilinear::<20, 4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let x1 = Flatten.forward(Tensor::<Rank3<8, 4, 5>>::zeros());
    let x2 = Tensor::<Rank2<8, 4>>::zeros();
    let y = layer.forward((x1, x2));
    assert_eq!(y.dims().as_slice(), &[8, 2]);
}
