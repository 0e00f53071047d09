// `stack` of a (2, 3) and a (2, 4) tensor: stacked tensors must have one shape.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones();
    let b = Tensor::<Rank2<2, 4>>::ones();
    let _s = Tensor::stack::<0, _>([a, b]);
}
