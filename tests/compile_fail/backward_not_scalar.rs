// `backward()` on a traced (2, 3) tensor that was not reduced to a scalar.
use shaped::prelude::*;

fn main() {
    let w = Tensor::<Rank2<2, 3>>::ones().trace();
    let _g = w.relu().backward();
}
