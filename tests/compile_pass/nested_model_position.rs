// The nested model with the head sized for the 4 x 16 x 16 = 1024 flattened features.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Flatten, Linear, Module, ReLU, Residual};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv2d::<1, 4, 3, 1, 1>::new(&mut rng),
        Residual((Conv2d::<4, 4, 3, 1, 1>::new(&mut rng), ReLU)),
        Flatten,
        (Linear::<1024, 10>::new(&mut rng), ReLU),
    );
    let x = Tensor::<(usize, Const<1>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
    let y = model.forward(x);
    assert_eq!(y.dims().as_slice(), &[2, 10]);
}
