// The fix: say which size the batch has, checked once at run time (`try_realize` returns an
// `Err` when it differs), or give the static side the name with `rename`'s sibling,
// `try_realize` into the named shape.
use shaped::prelude::*;
use shaped::shape::{Batch, Seq};

fn main() {
    let x = Tensor::<(Dyn<Batch>, Const<4>)>::ones_with_shape((Dyn::new(8), Const));
    let bias = Tensor::<Rank2<8, 4>>::ones();
    let y = x.clone().try_realize::<Rank2<8, 4>>().unwrap() + bias.clone();
    assert_eq!(y.dims().as_slice(), &[8, 4]);
    let named_bias: Tensor<(Dyn<Batch>, Const<4>)> = bias.try_realize().unwrap();
    let z = x.clone() + named_bias;
    assert_eq!(z.dims().as_slice(), &[8, 4]);
    // A wrong run-time size is an `Err`, not a panic.
    assert!(x.clone().try_realize::<Rank2<7, 4>>().is_err());
    // Renaming is explicit and free: the batch read as a sequence.
    let s: Tensor<(Dyn<Seq>, Const<4>)> = x.rename();
    assert_eq!(s.dims().as_slice(), &[8, 4]);
}
