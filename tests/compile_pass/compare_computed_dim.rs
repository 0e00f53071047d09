// Twin of tests/compile_fail/compare_computed_dim.rs: the computed 6 columns meet 6 columns.
use shaped::ops::compare::where_;
use shaped::prelude::*;
use shaped::shape::Prod;

fn main() {
    let x = Tensor::<(Const<4>, Prod<Const<2>, Const<3>>)>::zeros();
    let y = Tensor::<Rank2<4, 6>>::ones();
    let mask: Tensor<Rank2<4, 6>> = x.lt(&y).realize();
    assert_eq!(mask.to_vec(), vec![1.0; 24]);
    let z = where_(&mask, x.clone(), y);
    assert_eq!(z.to_vec(), vec![0.0; 24]);
}
