// The pooled map turned into `Const<1>`s with `realize` (checked at build time) broadcasts
// against the static 4 x 4, in either order.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<(usize, Const<4>, Const<4>)>::ones_with_shape((2, Const, Const));
    let pooled = x.clone().unsqueeze::<1>().avg_pool2d::<4, 4, 0>().squeeze::<1>();
    let pooled: Tensor<(usize, Const<1>, Const<1>)> = pooled.realize();
    let y = pooled.clone() + x.clone();
    assert_eq!(y.dims().as_slice(), &[2, 4, 4]);
    assert_eq!(y.to_vec(), vec![2.0; 32]);
    let z = x * pooled;
    assert_eq!(z.dims().as_slice(), &[2, 4, 4]);
}
