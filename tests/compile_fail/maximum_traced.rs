// `.maximum` between a traced (2, 3) and an untraced (3, 2) tensor.
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<2, 3>>::ones().trace();
    let b = Tensor::<Rank2<3, 2>>::zeros();
    let _c = a.maximum(b);
}
