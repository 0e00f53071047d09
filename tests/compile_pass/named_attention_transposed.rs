// The fix: mix the values with the scores as they are, `(Batch, Tgt, Src) x (Batch, Src, E)`,
// and the result keeps the query's names, `(Batch, Tgt, E)`.
use shaped::prelude::*;
use shaped::shape::{Batch, Src, Tgt};

fn main() {
    let (b, l, s) = (Dyn::<Batch>::new(2), Dyn::<Tgt>::new(3), Dyn::<Src>::new(5));
    let q = Tensor::<(Dyn<Batch>, Dyn<Tgt>, Const<8>)>::ones_with_shape((b, l, Const));
    let k = Tensor::<(Dyn<Batch>, Dyn<Src>, Const<8>)>::ones_with_shape((b, s, Const));
    let v = k.clone();
    let scores = q.matmul(k.transpose::<1, 2>()).softmax::<2>();
    let out: Tensor<(Dyn<Batch>, Dyn<Tgt>, Const<8>)> = scores.matmul(v);
    assert_eq!(out.dims().as_slice(), &[2, 3, 8]);
}
