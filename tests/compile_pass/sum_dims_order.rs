// `mean_dims::<2, 3>`: global average pooling of a batch of feature maps.
use shaped::prelude::*;

fn main() {
    let x = Tensor::<Rank4<2, 3, 4, 5>>::ones();
    let m: Tensor<Rank2<2, 3>> = x.mean_dims::<2, 3>();
    assert_eq!(m.to_vec(), vec![1.0; 6]);
}
