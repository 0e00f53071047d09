// A classifier head inside a nested model: 4 x 16 x 16 = 1024 features reach a Linear sized
// for 1000. The build error names the layer by its path in the model (`3.0`: field 0 of the
// tuple at position 3, as in parameter names), the layer and both sizes, once, at the
// `forward` line.
use rand::SeedableRng;
use shaped::nn::{Conv2d, Flatten, Linear, Module, ReLU, Residual};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Conv2d::<1, 4, 3, 1, 1>::new(&mut rng),
        Residual((Conv2d::<4, 4, 3, 1, 1>::new(&mut rng), ReLU)),
        Flatten,
        (Linear::<1000, 10>::new(&mut rng), ReLU),
    );
    let x = Tensor::<(usize, Const<1>, Const<16>, Const<16>)>::zeros_with_shape((2, Const, Const, Const));
    let _y = model.forward(x);
}
