//! Type-level axes of size one: where `unsqueeze` and `stack` insert an axis, and which axes
//! `squeeze` may remove.

use super::axis::HasAxis;
use super::dim::{Const, Dim};
use super::shape::Shape;

/// A shape that accepts a new axis before position `I` (`0..=rank`, up to rank 6 in all):
/// `unsqueeze` inserts `Const<1>` there, `stack` of `N` tensors inserts `Const<N>`.
///
/// ```
/// use shaped::shape::{Const, InsertAxis, Rank2, Shape};
/// let s = <Rank2<2, 3> as InsertAxis<1>>::insert_axis(&Default::default(), Const::<1>);
/// assert_eq!(s.dims().as_slice(), &[2, 1, 3]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot insert a new axis at position {I} of shape `{Self}`",
    label = "position {I} is out of range for this shape",
    note = "a rank-R shape takes a new axis at positions 0..=R, and shapes have at most 6 dimensions"
)]
pub trait InsertAxis<const I: usize>: Shape {
    /// The shape with dimension `New` inserted at position `I`.
    type Output<New: Dim>: Shape;
    /// The shape with `d` inserted at position `I`.
    fn insert_axis<New: Dim>(&self, d: New) -> Self::Output<New>;
}

macro_rules! insert_axis {
    ($i:literal; $($B:ident $b:tt),*; $($A:ident $a:tt),*) => {
        impl<$($B: Dim,)* $($A: Dim,)*> InsertAxis<$i> for ($($B,)* $($A,)*) {
            type Output<New: Dim> = ($($B,)* New, $($A,)*);
            #[inline]
            fn insert_axis<New: Dim>(&self, d: New) -> Self::Output<New> {
                ($(self.$b,)* d, $(self.$a,)*)
            }
        }
    };
}

insert_axis!(0; ; );
insert_axis!(0; ; A0 0);
insert_axis!(1; A0 0; );
insert_axis!(0; ; A0 0, A1 1);
insert_axis!(1; A0 0; A1 1);
insert_axis!(2; A0 0, A1 1; );
insert_axis!(0; ; A0 0, A1 1, A2 2);
insert_axis!(1; A0 0; A1 1, A2 2);
insert_axis!(2; A0 0, A1 1; A2 2);
insert_axis!(3; A0 0, A1 1, A2 2; );
insert_axis!(0; ; A0 0, A1 1, A2 2, A3 3);
insert_axis!(1; A0 0; A1 1, A2 2, A3 3);
insert_axis!(2; A0 0, A1 1; A2 2, A3 3);
insert_axis!(3; A0 0, A1 1, A2 2; A3 3);
insert_axis!(4; A0 0, A1 1, A2 2, A3 3; );
insert_axis!(0; ; A0 0, A1 1, A2 2, A3 3, A4 4);
insert_axis!(1; A0 0; A1 1, A2 2, A3 3, A4 4);
insert_axis!(2; A0 0, A1 1; A2 2, A3 3, A4 4);
insert_axis!(3; A0 0, A1 1, A2 2; A3 3, A4 4);
insert_axis!(4; A0 0, A1 1, A2 2, A3 3; A4 4);
insert_axis!(5; A0 0, A1 1, A2 2, A3 3, A4 4; );

/// A shape whose axis `I` is `Const<1>`, so that `squeeze::<I>()` can remove it. A dynamic
/// (`usize`) axis is not known to be 1: use `try_squeeze` for it.
///
/// ```
/// use shaped::shape::{Rank3, Shape, SqueezeShape};
/// let s = <Rank3<2, 1, 3> as SqueezeShape<1>>::squeeze_shape(&Default::default());
/// assert_eq!(s.dims().as_slice(), &[2, 3]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot squeeze axis {I} of shape `{Self}`",
    label = "axis {I} must exist and have the static size 1",
    note = "only `Const<1>` axes can be squeezed; for a run-time (`usize`) axis use `try_squeeze`"
)]
pub trait SqueezeShape<const I: usize>: HasAxis<I> {
    /// The shape without axis `I`.
    type Output: Shape;
    /// The shape without axis `I`.
    fn squeeze_shape(&self) -> Self::Output;
}

// One blanket impl rather than one per axis: with per-axis impls, a shape with no
// `Const<1>` anywhere fails method lookup itself ("method exists but its trait bounds were
// not satisfied") and the messages below are never shown.
impl<S: HasAxis<I>, const I: usize> SqueezeShape<I> for S
where
    S::Dim: UnitDim,
{
    type Output = S::Reduced;
    #[inline]
    fn squeeze_shape(&self) -> Self::Output {
        self.reduced()
    }
}

/// A dimension that is statically 1, the only kind `squeeze` removes.
///
/// ```
/// use shaped::shape::{Const, UnitDim};
/// fn unit<D: UnitDim>() {}
/// unit::<Const<1>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot squeeze a dimension `{Self}`: only `Const<1>` axes can be squeezed",
    label = "this axis is not `Const<1>`",
    note = "for a run-time (`usize`) axis of size 1 use `try_squeeze`"
)]
pub trait UnitDim: Dim {}
impl UnitDim for Const<1> {}
