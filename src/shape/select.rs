//! Type-level rules for ops that pick elements along an axis: the axis changes size
//! (`narrow`, `slice_step`, `index_select`) and `gather` takes indices of the same rank.

use super::axis::HasAxis;
use super::dim::Dim;
use super::shape::Shape;

/// A shape whose axis `I` can be replaced by another dimension, keeping the others:
/// `narrow` puts `Const<LEN>` (or `usize`) there, `index_select` the length of its indices.
///
/// ```
/// use shaped::shape::{Const, Rank3, ReplaceAxis, Shape};
/// let s = <Rank3<2, 3, 4> as ReplaceAxis<1>>::replace_axis(&Default::default(), Const::<7>);
/// assert_eq!(s.dims().as_slice(), &[2, 7, 4]);
/// ```
#[diagnostic::on_unimplemented(
    message = "shape `{Self}` has no axis {I}",
    label = "axis {I} is out of range for this shape",
    note = "axes count from 0; a rank-R shape has axes 0..R"
)]
pub trait ReplaceAxis<const I: usize>: HasAxis<I> {
    /// The shape with axis `I` replaced by `New`.
    type Output<New: Dim>: Shape;
    /// The shape with axis `I` replaced by `d`.
    fn replace_axis<New: Dim>(&self, d: New) -> Self::Output<New>;
}

macro_rules! replace_axis {
    ($i:literal; $($B:ident $b:tt),*; $X:ident $x:tt; $($A:ident $a:tt),*) => {
        impl<$($B: Dim,)* $X: Dim, $($A: Dim,)*> ReplaceAxis<$i> for ($($B,)* $X, $($A,)*) {
            type Output<New: Dim> = ($($B,)* New, $($A,)*);
            #[inline]
            fn replace_axis<New: Dim>(&self, d: New) -> Self::Output<New> {
                ($(self.$b,)* d, $(self.$a,)*)
            }
        }
    };
}

replace_axis!(0; ; X 0; );
replace_axis!(0; ; X 0; A1 1);
replace_axis!(1; A0 0; X 1; );
replace_axis!(0; ; X 0; A1 1, A2 2);
replace_axis!(1; A0 0; X 1; A2 2);
replace_axis!(2; A0 0, A1 1; X 2; );
replace_axis!(0; ; X 0; A1 1, A2 2, A3 3);
replace_axis!(1; A0 0; X 1; A2 2, A3 3);
replace_axis!(2; A0 0, A1 1; X 2; A3 3);
replace_axis!(3; A0 0, A1 1, A2 2; X 3; );
replace_axis!(0; ; X 0; A1 1, A2 2, A3 3, A4 4);
replace_axis!(1; A0 0; X 1; A2 2, A3 3, A4 4);
replace_axis!(2; A0 0, A1 1; X 2; A3 3, A4 4);
replace_axis!(3; A0 0, A1 1, A2 2; X 3; A4 4);
replace_axis!(4; A0 0, A1 1, A2 2, A3 3; X 4; );
replace_axis!(0; ; X 0; A1 1, A2 2, A3 3, A4 4, A5 5);
replace_axis!(1; A0 0; X 1; A2 2, A3 3, A4 4, A5 5);
replace_axis!(2; A0 0, A1 1; X 2; A3 3, A4 4, A5 5);
replace_axis!(3; A0 0, A1 1, A2 2; X 3; A4 4, A5 5);
replace_axis!(4; A0 0, A1 1, A2 2, A3 3; X 4; A5 5);
replace_axis!(5; A0 0, A1 1, A2 2, A3 3, A4 4; X 5; );

/// Two shapes with the same rank (their dimensions may differ): `gather` reads one element
/// per index, so its index tensor has the input's rank.
///
/// ```
/// use shaped::shape::{Rank2, SameRank};
/// fn same<A: SameRank<B>, B: shaped::shape::Shape>() {}
/// same::<Rank2<3, 5>, Rank2<3, 2>>();
/// ```
#[diagnostic::on_unimplemented(
    message = "shapes `{Self}` and `{Rhs}` have different ranks",
    label = "the ranks differ",
    note = "`gather` takes an index tensor with as many dimensions as the input"
)]
pub trait SameRank<Rhs: Shape>: Shape {}

macro_rules! same_rank {
    ($($A:ident $B:ident),*) => {
        impl<$($A: Dim,)* $($B: Dim,)*> SameRank<($($B,)*)> for ($($A,)*) {}
    };
}

same_rank!();
same_rank!(A0 B0);
same_rank!(A0 B0, A1 B1);
same_rank!(A0 B0, A1 B1, A2 B2);
same_rank!(A0 B0, A1 B1, A2 B2, A3 B3);
same_rank!(A0 B0, A1 B1, A2 B2, A3 B3, A4 B4);
same_rank!(A0 B0, A1 B1, A2 B2, A3 B3, A4 B4, A5 B5);

/// A shape whose axis `I` can be split into two, keeping the others: `unflatten` puts
/// `(A, B)` in place of axis `I` (ranks 1 to 5, so that the result has at most 6 axes).
///
/// ```
/// use shaped::shape::{Const, Rank3, Shape, SplitAxis};
/// let s = <Rank3<2, 10, 4> as SplitAxis<1>>::split_axis(&Default::default(), Const::<2>, Const::<5>);
/// assert_eq!(s.dims().as_slice(), &[2, 2, 5, 4]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot split axis {I} of shape `{Self}` in two",
    label = "axis {I} is out of range for this shape, or the result would have more than 6 axes",
    note = "axes count from 0; a rank-R shape has axes 0..R, and `unflatten` takes shapes of rank 1 to 5"
)]
pub trait SplitAxis<const I: usize>: HasAxis<I> {
    /// The shape with axis `I` replaced by the two axes `A` and `B`.
    type Output<A: Dim, B: Dim>: Shape;
    /// The shape with axis `I` replaced by `a` and `b`.
    fn split_axis<A: Dim, B: Dim>(&self, a: A, b: B) -> Self::Output<A, B>;
}

macro_rules! split_axis {
    ($i:literal; $($B:ident $b:tt),*; $X:ident $x:tt; $($A:ident $a:tt),*) => {
        impl<$($B: Dim,)* $X: Dim, $($A: Dim,)*> SplitAxis<$i> for ($($B,)* $X, $($A,)*) {
            type Output<P: Dim, Q: Dim> = ($($B,)* P, Q, $($A,)*);
            #[inline]
            fn split_axis<P: Dim, Q: Dim>(&self, p: P, q: Q) -> Self::Output<P, Q> {
                ($(self.$b,)* p, q, $(self.$a,)*)
            }
        }
    };
}

split_axis!(0; ; X 0; );
split_axis!(0; ; X 0; A1 1);
split_axis!(1; A0 0; X 1; );
split_axis!(0; ; X 0; A1 1, A2 2);
split_axis!(1; A0 0; X 1; A2 2);
split_axis!(2; A0 0, A1 1; X 2; );
split_axis!(0; ; X 0; A1 1, A2 2, A3 3);
split_axis!(1; A0 0; X 1; A2 2, A3 3);
split_axis!(2; A0 0, A1 1; X 2; A3 3);
split_axis!(3; A0 0, A1 1, A2 2; X 3; );
split_axis!(0; ; X 0; A1 1, A2 2, A3 3, A4 4);
split_axis!(1; A0 0; X 1; A2 2, A3 3, A4 4);
split_axis!(2; A0 0, A1 1; X 2; A3 3, A4 4);
split_axis!(3; A0 0, A1 1, A2 2; X 3; A4 4);
split_axis!(4; A0 0, A1 1, A2 2, A3 3; X 4; );
