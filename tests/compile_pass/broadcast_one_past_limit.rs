// Twin of tests/compile_fail/broadcast_one_past_limit.rs: past `MAX_BROADCAST_ONE` the size-1
// side is broadcast explicitly; up to it, by type alone (768, a common model width).
use shaped::prelude::*;

fn main() {
    let a = Tensor::<Rank2<3, 1>>::ones();
    let b = Tensor::<Rank2<3, 2000>>::ones();
    let c: Tensor<Rank2<3, 2000>> = a.broadcast_to::<Rank2<3, 2000>>() + b;
    assert_eq!(c.to_vec()[1999], 2.0);
    let d = Tensor::<Rank2<1, 768>>::ones() + Tensor::<Rank2<4, 768>>::ones();
    let e: Tensor<Rank2<4, 768>> = d + Tensor::<Rank1<768>>::ones();
    assert_eq!(e.to_vec()[0], 3.0);
    let f = Tensor::<(usize, Const<1024>)>::ones_with_shape((2, Const));
    let g: Tensor<(usize, Const<1024>)> = f + Tensor::<Rank2<1, 1024>>::ones();
    assert_eq!(g.to_vec().len(), 2048);
}
