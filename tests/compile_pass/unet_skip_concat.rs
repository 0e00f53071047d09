// One U-Net level on 24x24: the decoder's upsampled map
// (`ConvTransposeOut<ConvOut<PoolOut<ConvOut<..>>>>`) is concatenated with the encoder's skip
// (`ConvOut<..>`) along the channels; both are 24x24.
use rand::SeedableRng;
use shaped::nn::{Conv2d, ConvTranspose2d, MaxPool2d, Module, ReLU};
use shaped::prelude::*;

fn main() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let enc1 = (Conv2d::<3, 16, 3, 1, 1>::new(&mut rng), ReLU);
    let enc2 = (MaxPool2d::<2>, Conv2d::<16, 32, 3, 1, 1>::new(&mut rng), ReLU);
    let up = ConvTranspose2d::<32, 16, 2, 2>::new(&mut rng);
    let head = Conv2d::<32, 2, 1>::new(&mut rng);
    let x = Tensor::<(usize, Const<3>, Const<24>, Const<24>)>::zeros_with_shape((2, Const, Const, Const));
    let s1 = enc1.forward(x);
    let e2 = enc2.forward(s1.clone());
    let y = head.forward(up.forward(e2).concat::<1, _, _>(s1));
    assert_eq!(y.dims().as_slice(), &[2, 2, 24, 24]);
    // The computed prediction meets a target spelled with `Const`s (sizes compared at build time).
    let target = Tensor::<(usize, Const<2>, Const<24>, Const<24>)>::zeros_with_shape((2, Const, Const, Const));
    let _loss = shaped::nn::loss::mse_loss(y, target);
}
