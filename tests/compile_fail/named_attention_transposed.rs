// Attention by hand: the scores are `(Batch, Tgt, Src)`; transposing them to
// `(Batch, Src, Tgt)` before mixing the values `(Batch, Src, E)` puts `Tgt` where matmul
// needs `Src`.
use shaped::prelude::*;
use shaped::shape::{Batch, Src, Tgt};

fn main() {
    let (b, l, s) = (Dyn::<Batch>::new(2), Dyn::<Tgt>::new(3), Dyn::<Src>::new(5));
    let q = Tensor::<(Dyn<Batch>, Dyn<Tgt>, Const<8>)>::ones_with_shape((b, l, Const));
    let k = Tensor::<(Dyn<Batch>, Dyn<Src>, Const<8>)>::ones_with_shape((b, s, Const));
    let v = k.clone();
    let scores = q.matmul(k.transpose::<1, 2>()).softmax::<2>();
    let _out = scores.transpose::<1, 2>().matmul(v);
}
