// The projection shortcut forgot its stride: the body gives 8x8, the shortcut 16x16. The
// error names the op, the axis and both sizes, and points at the line with `+`.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Module};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let body = Conv2d::<64, 128, 3, 2, 1>::new(&mut rng);
    let shortcut = Conv2d::<64, 128, 1, 1, 0>::new(&mut rng);
    let x = Tensor::<(usize, Const<64>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
    let _y = body.forward(x.clone()) + shortcut.forward(x);
}
