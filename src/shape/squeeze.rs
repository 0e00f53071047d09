//! Type-level axes of size one: where `unsqueeze` and `stack` insert an axis, and which axes
//! `squeeze` may remove.

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
    message = "cannot squeeze axis {I} of shape `{Self}`: that dimension is not `Const<1>`",
    label = "axis {I} must exist and have the static size 1",
    note = "only size-1 axes can be squeezed; for a run-time (`usize`) axis use `try_squeeze`"
)]
pub trait SqueezeShape<const I: usize>: Shape {
    /// The shape without axis `I`.
    type Output: Shape;
    /// The shape without axis `I`.
    fn squeeze_shape(&self) -> Self::Output;
}

macro_rules! squeeze {
    ($i:literal; $($B:ident $b:tt),*; $($A:ident $a:tt),*) => {
        impl<$($B: Dim,)* $($A: Dim,)*> SqueezeShape<$i> for ($($B,)* Const<1>, $($A,)*) {
            type Output = ($($B,)* $($A,)*);
            #[inline]
            #[allow(clippy::unused_unit)] // squeezing a rank-1 shape leaves `()`
            fn squeeze_shape(&self) -> Self::Output {
                ($(self.$b,)* $(self.$a,)*)
            }
        }
    };
}

squeeze!(0; ; );
squeeze!(0; ; A1 1);
squeeze!(1; A0 0; );
squeeze!(0; ; A1 1, A2 2);
squeeze!(1; A0 0; A2 2);
squeeze!(2; A0 0, A1 1; );
squeeze!(0; ; A1 1, A2 2, A3 3);
squeeze!(1; A0 0; A2 2, A3 3);
squeeze!(2; A0 0, A1 1; A3 3);
squeeze!(3; A0 0, A1 1, A2 2; );
squeeze!(0; ; A1 1, A2 2, A3 3, A4 4);
squeeze!(1; A0 0; A2 2, A3 3, A4 4);
squeeze!(2; A0 0, A1 1; A3 3, A4 4);
squeeze!(3; A0 0, A1 1, A2 2; A4 4);
squeeze!(4; A0 0, A1 1, A2 2, A3 3; );
squeeze!(0; ; A1 1, A2 2, A3 3, A4 4, A5 5);
squeeze!(1; A0 0; A2 2, A3 3, A4 4, A5 5);
squeeze!(2; A0 0, A1 1; A3 3, A4 4, A5 5);
squeeze!(3; A0 0, A1 1, A2 2; A4 4, A5 5);
squeeze!(4; A0 0, A1 1, A2 2, A3 3; A5 5);
squeeze!(5; A0 0, A1 1, A2 2, A3 3, A4 4; );
