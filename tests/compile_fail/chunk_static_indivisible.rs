// `chunk_static` of a static axis of 10 into 3 equal chunks: 3 does not divide 10.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank2<10, 2>>::ones();
    let [_a, _b, _c] = x.chunk_static::<0, 3>();
}
