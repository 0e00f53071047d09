// The same U-Net level on a 25x25 input: pooling floors 25 to 12 and the transposed
// convolution gives 24, which cannot be concatenated with the 25x25 skip. The error names
// both sizes and points at the `concat` line.
use rand::SeedableRng;
use shaped::nn::{Conv2d, ConvTranspose2d, MaxPool2d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let enc1 = (Conv2d::<3, 16, 3, 1, 1>::new(&mut rng), ReLU);
    let enc2 = (MaxPool2d::<2>, Conv2d::<16, 32, 3, 1, 1>::new(&mut rng), ReLU);
    let up = ConvTranspose2d::<32, 16, 2, 2>::new(&mut rng);
    let x = Tensor::<(usize, Const<3>, Const<25>, Const<25>)>::zeros_with_shape((2, Const, Const, Const));
    let s1 = enc1.forward(x);
    let e2 = enc2.forward(s1.clone());
    let _u = up.forward(e2).concat::<1, _, _>(s1);
}
