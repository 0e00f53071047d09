// A Bilinear<20, 4, 2> after a Flatten of 4 x 6 = 24 features: a computed dimension that
// differs from the layer's in1_features, reported with both sizes.
use rand::SeedableRng;
use shaped::nn::{Bilinear, Flatten, Module};
use shaped::prelude::*;

fn main() {
    let layer = Bilinear::<20, 4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let x1 = Flatten.forward(Tensor::<Rank3<8, 4, 6>>::zeros());
    let x2 = Tensor::<Rank2<8, 4>>::zeros();
    let _y = layer.forward((x1, x2));
}
