// `backward()` on a scalar computed without a tape.
use shaped::prelude::*;

fn main() {
    let w = Tensor::<Rank2<2, 3>>::ones();
    let _g = w.square().mean().backward();
}
