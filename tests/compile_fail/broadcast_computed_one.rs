// A computed dimension of size 1 (a 4-wide window pooled to 1) broadcast up to a static 4:
// PyTorch accepts it, but the computed side's type names the result and cannot hold 4.
// Refused at build time, naming both sizes and what to write instead.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<(usize, Const<4>, Const<4>)>::zeros_with_shape((2, Const, Const));
    // (usize, PoolOut<Const<4>, 4, 4, 0>, PoolOut<..>): both computed dimensions are 1.
    let pooled = x.clone().unsqueeze::<1>().avg_pool2d::<4, 4, 0>().squeeze::<1>();
    let _y = pooled + x;
}
