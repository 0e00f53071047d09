// A Bilinear<3, 4, 5> whose second input has 6 features instead of 4.
use rand::SeedableRng;
use shaped::nn::{Bilinear, Module};
use shaped::prelude::*;

fn main() {
    let layer = Bilinear::<3, 4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    let x1 = Tensor::<Rank2<8, 3>>::zeros();
    let x2 = Tensor::<Rank2<8, 6>>::zeros();
    let _y = layer.forward((x1, x2));
}
