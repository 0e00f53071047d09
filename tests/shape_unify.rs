//! Differently spelled dimensions of the same size unify (computed vs static, computed vs
//! computed, with run-time sizes checked at run time), and `foo` / `try_foo` pairs take the
//! same arguments, `foo` panicking where `try_foo` returns an `Err`.

use shaped::prelude::*;
use shaped::shape::{
    BroadcastDim, BroadcastShapes, ConvOut, ConvTransposeOut, DimEq, PoolOut, Prod, SameShape,
};

type Padded = ConvOut<Const<16>, 3, 1, 1, 1>; // 16
type OneByOne = ConvOut<Const<16>, 1, 1, 0, 1>; // 16
type Up = ConvTransposeOut<PoolOut<Const<16>, 2, 2, 0>, 2, 2, 0, 0, 1>; // 16

#[test]
fn computed_dimensions_of_equal_size_unify() {
    let a: Padded = a_dim();
    let _: Padded = a.dim_eq(OneByOne::default()).unwrap();
    let _: Up = Up::default().dim_eq(a).unwrap();
    let _: Const<16> = a.dim_eq(Const::<16>).unwrap();
    let _: Const<16> = Const::<16>.dim_eq(Up::default()).unwrap();
    assert_eq!(<Padded as DimEq<OneByOne>>::STATIC_MISMATCH, None);
    assert_eq!(
        <Padded as DimEq<ConvOut<Const<16>, 3, 2, 1, 1>>>::STATIC_MISMATCH,
        Some((16, 8))
    );
    assert_eq!(
        <Prod<Const<2>, Const<3>> as DimEq<Const<5>>>::STATIC_MISMATCH,
        Some((6, 5))
    );
    // Run-time sizes are checked at run time.
    let r = ConvOut::<usize, 3, 1, 1, 1>::new(16).unwrap();
    assert!(r.dim_eq(OneByOne::default()).is_ok());
    let r = ConvOut::<usize, 3, 1, 1, 1>::new(15).unwrap();
    assert!(r.dim_eq(OneByOne::default()).is_err());
    assert!(r.dim_eq(16usize).is_err());
}

fn a_dim() -> Padded {
    Padded::default()
}

#[test]
fn computed_dimensions_broadcast() {
    let a = Padded::default();
    let _: Padded = a.broadcast_dim(OneByOne::default()).unwrap();
    let _: Padded = a.broadcast_dim(Const::<1>).unwrap();
    let _: Padded = Const::<1>.broadcast_dim(a).unwrap();
    let _: Padded = Const::<16>.broadcast_dim(a).unwrap();
    let _: Padded = a.broadcast_dim(16usize).unwrap();
    let _: Padded = a.broadcast_dim(1usize).unwrap();
    assert!(a.broadcast_dim(3usize).is_err());
    // A computed size of 1 cannot grow: its type names the result.
    let one = PoolOut::<usize, 2, 2, 0>::new(2).unwrap();
    assert!(one.broadcast_dim(5usize).is_err());
    assert_eq!(
        <Padded as BroadcastDim<Const<8>>>::STATIC_MISMATCH,
        Some((16, 8))
    );
    type Shapes = (usize, Const<4>, Padded);
    assert_eq!(
        <Shapes as BroadcastShapes<(Const<4>, OneByOne)>>::STATIC_MISMATCH,
        None
    );
    assert_eq!(
        <Shapes as BroadcastShapes<(Const<4>, ConvOut<Const<16>, 1, 2, 0, 1>)>>::STATIC_MISMATCH,
        Some((16, 8, 2))
    );
}

#[test]
fn elementwise_ops_on_differently_spelled_shapes() {
    let a = Tensor::<(usize, Padded)>::ones_with_shape((2, Default::default()));
    let b = Tensor::<(usize, OneByOne)>::ones_with_shape((2, Default::default()));
    let c: Tensor<(usize, Padded)> = a.clone() + b.clone();
    assert_eq!(c.to_vec(), vec![2.0; 32]);
    let bias = Tensor::<(Const<16>,)>::ones();
    let d: Tensor<(usize, Padded)> = bias + a.clone();
    assert_eq!(d.dims().as_slice(), &[2, 16]);
    // The batch is a run-time size: a mismatch is an Err from try_add.
    let e = Tensor::<(usize, OneByOne)>::ones_with_shape((3, Default::default()));
    assert!(a.try_add(e).is_err());
}

#[test]
fn same_shape_and_realize_keep_run_time_dimensions() {
    let s = (4usize, Padded::default());
    assert!(s.same_shape(&(4usize, Const::<16>)).is_ok());
    assert!(s.same_shape(&(5usize, Const::<16>)).is_err());
    let x = Tensor::<(usize, Padded)>::zeros_with_shape((4, Default::default()));
    let y: Tensor<(usize, Const<16>)> = x.realize();
    assert_eq!(y.dims().as_slice(), &[4, 16]);
    // A run-time size that does not fit a static one: `realize` panics, `try_realize` errs.
    let z = Tensor::<(usize,)>::zeros_with_shape((3,));
    assert!(z.clone().try_realize::<(Const<4>,)>().is_err());
    let r = std::panic::catch_unwind(|| z.realize::<(Const<4>,)>());
    assert!(r.is_err());
}

#[test]
fn foo_and_try_foo_take_the_same_arguments() {
    let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 4));
    // Static range: narrow / try_narrow.
    let y: Tensor<(usize, Const<3>)> = x.clone().narrow::<1, 1, 3>();
    assert_eq!(y.dims().as_slice(), &[2, 3]);
    assert!(x.clone().try_narrow::<1, 2, 3>().is_err());
    let xc = x.clone();
    assert!(std::panic::catch_unwind(move || xc.narrow::<1, 2, 3>()).is_err());
    // Run-time range: narrow_dyn / try_narrow_dyn.
    assert_eq!(x.clone().narrow_dyn::<1>(1, 3).dims().as_slice(), &[2, 3]);
    assert!(x.clone().try_narrow_dyn::<1>(2, 3).is_err());
    let xc = x.clone();
    assert!(std::panic::catch_unwind(move || xc.narrow_dyn::<1>(2, 3)).is_err());
    // reshape_dyn / try_reshape_dyn.
    assert_eq!(x.clone().reshape_dyn((8usize,)).dims().as_slice(), &[8]);
    assert!(x.clone().try_reshape_dyn((7usize,)).is_err());
    let xc = x.clone();
    assert!(std::panic::catch_unwind(move || xc.reshape_dyn((7usize,))).is_err());
    // broadcast_to_dyn / try_broadcast_to_dyn.
    let v = Tensor::<(usize,)>::ones_with_shape((4,));
    assert_eq!(
        v.clone()
            .broadcast_to_dyn((3usize, 4usize))
            .dims()
            .as_slice(),
        &[3, 4]
    );
    assert!(v.clone().try_broadcast_to_dyn((3usize, 5usize)).is_err());
    assert!(std::panic::catch_unwind(move || v.broadcast_to_dyn((3usize, 5usize))).is_err());
}
