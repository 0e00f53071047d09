//! Type-level axes: which shapes have axis `I`, and what reducing or keeping it gives.

use super::dim::{Const, Dim};
use super::shape::Shape;

/// A shape that has axis `I` (counted from 0). Reductions along `I` give `Reduced`;
/// with `keepdim` they give `KeepDim`, where the axis has size `Const<1>`.
///
/// ```
/// use shaped::shape::{HasAxis, Rank3, Shape};
/// let s = <Rank3<2, 3, 4>>::default();
/// assert_eq!(<Rank3<2, 3, 4> as HasAxis<1>>::reduced(&s).dims().as_slice(), &[2, 4]);
/// ```
#[diagnostic::on_unimplemented(
    message = "shape `{Self}` has no axis {I}",
    label = "axis {I} is out of range for this shape",
    note = "axes count from 0; a rank-R shape has axes 0..R"
)]
pub trait HasAxis<const I: usize>: Shape {
    /// The dimension at axis `I`.
    type Dim: Dim;
    /// The shape without axis `I`.
    type Reduced: Shape;
    /// The shape with axis `I` replaced by `Const<1>`.
    type KeepDim: Shape;
    /// The dimension at axis `I`.
    fn axis_dim(&self) -> Self::Dim;
    /// The shape without axis `I`.
    fn reduced(&self) -> Self::Reduced;
    /// The shape with axis `I` set to 1.
    fn keepdim(&self) -> Self::KeepDim;
}

/// The shape of `S` without its axes `I` and `J` (`I < J`): the output of
/// [`Tensor::sum_dims`](crate::tensor::Tensor::sum_dims) and `mean_dims`.
///
/// ```
/// use shaped::shape::{Rank1, Rank3, ReducedTwo};
/// let _: Option<ReducedTwo<Rank3<2, 3, 4>, 0, 2>> = None::<Rank1<3>>;
/// ```
pub type ReducedTwo<S, const I: usize, const J: usize> =
    <<S as HasAxis<J>>::Reduced as HasAxis<I>>::Reduced;

/// The shape of `S` with its axes `I` and `J` (`I < J`) set to 1: the output of
/// [`Tensor::sum_dims_keepdim`](crate::tensor::Tensor::sum_dims_keepdim) and
/// `mean_dims_keepdim`.
///
/// ```
/// use shaped::shape::{KeepDimTwo, Rank3};
/// let _: Option<KeepDimTwo<Rank3<2, 3, 4>, 1, 2>> = None::<Rank3<2, 1, 1>>;
/// ```
pub type KeepDimTwo<S, const I: usize, const J: usize> =
    <<S as HasAxis<J>>::KeepDim as HasAxis<I>>::KeepDim;

macro_rules! has_axis {
    ($i:literal [$($A:ident $ai:tt),*] $D:ident $di:tt [$($R:ident $ri:tt),*] [$($K:tt)*]) => {
        impl<$($A: Dim),*> HasAxis<$i> for ($($A,)*) {
            type Dim = $D;
            type Reduced = ($($R,)*);
            type KeepDim = has_axis!(@keep [$($K)*]);
            #[inline]
            fn axis_dim(&self) -> $D { self.$di }
            #[inline]
            #[allow(clippy::unused_unit)]
            fn reduced(&self) -> Self::Reduced { ($(self.$ri,)*) }
            #[inline]
            fn keepdim(&self) -> Self::KeepDim { has_axis!(@keepval self [$($K)*]) }
        }
    };
    (@keep [$($K:tt)*]) => { ($(has_axis!(@kt $K),)*) };
    (@kt one) => { Const<1> };
    (@kt ($A:ident $i:tt)) => { $A };
    (@keepval $s:ident [$($K:tt)*]) => { ($(has_axis!(@kv $s $K),)*) };
    (@kv $s:ident one) => { Const::<1> };
    (@kv $s:ident ($A:ident $i:tt)) => { $s.$i };
}

has_axis!(0 [A0 0] A0 0 [] [one]);
has_axis!(0 [A0 0, A1 1] A0 0 [A1 1] [one (A1 1)]);
has_axis!(1 [A0 0, A1 1] A1 1 [A0 0] [(A0 0) one]);
has_axis!(0 [A0 0, A1 1, A2 2] A0 0 [A1 1, A2 2] [one (A1 1) (A2 2)]);
has_axis!(1 [A0 0, A1 1, A2 2] A1 1 [A0 0, A2 2] [(A0 0) one (A2 2)]);
has_axis!(2 [A0 0, A1 1, A2 2] A2 2 [A0 0, A1 1] [(A0 0) (A1 1) one]);
has_axis!(0 [A0 0, A1 1, A2 2, A3 3] A0 0 [A1 1, A2 2, A3 3] [one (A1 1) (A2 2) (A3 3)]);
has_axis!(1 [A0 0, A1 1, A2 2, A3 3] A1 1 [A0 0, A2 2, A3 3] [(A0 0) one (A2 2) (A3 3)]);
has_axis!(2 [A0 0, A1 1, A2 2, A3 3] A2 2 [A0 0, A1 1, A3 3] [(A0 0) (A1 1) one (A3 3)]);
has_axis!(3 [A0 0, A1 1, A2 2, A3 3] A3 3 [A0 0, A1 1, A2 2] [(A0 0) (A1 1) (A2 2) one]);
has_axis!(0 [A0 0, A1 1, A2 2, A3 3, A4 4] A0 0 [A1 1, A2 2, A3 3, A4 4] [one (A1 1) (A2 2) (A3 3) (A4 4)]);
has_axis!(1 [A0 0, A1 1, A2 2, A3 3, A4 4] A1 1 [A0 0, A2 2, A3 3, A4 4] [(A0 0) one (A2 2) (A3 3) (A4 4)]);
has_axis!(2 [A0 0, A1 1, A2 2, A3 3, A4 4] A2 2 [A0 0, A1 1, A3 3, A4 4] [(A0 0) (A1 1) one (A3 3) (A4 4)]);
has_axis!(3 [A0 0, A1 1, A2 2, A3 3, A4 4] A3 3 [A0 0, A1 1, A2 2, A4 4] [(A0 0) (A1 1) (A2 2) one (A4 4)]);
has_axis!(4 [A0 0, A1 1, A2 2, A3 3, A4 4] A4 4 [A0 0, A1 1, A2 2, A3 3] [(A0 0) (A1 1) (A2 2) (A3 3) one]);
has_axis!(0 [A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] A0 0 [A1 1, A2 2, A3 3, A4 4, A5 5] [one (A1 1) (A2 2) (A3 3) (A4 4) (A5 5)]);
has_axis!(1 [A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] A1 1 [A0 0, A2 2, A3 3, A4 4, A5 5] [(A0 0) one (A2 2) (A3 3) (A4 4) (A5 5)]);
has_axis!(2 [A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] A2 2 [A0 0, A1 1, A3 3, A4 4, A5 5] [(A0 0) (A1 1) one (A3 3) (A4 4) (A5 5)]);
has_axis!(3 [A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] A3 3 [A0 0, A1 1, A2 2, A4 4, A5 5] [(A0 0) (A1 1) (A2 2) one (A4 4) (A5 5)]);
has_axis!(4 [A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] A4 4 [A0 0, A1 1, A2 2, A3 3, A5 5] [(A0 0) (A1 1) (A2 2) (A3 3) one (A5 5)]);
has_axis!(5 [A0 0, A1 1, A2 2, A3 3, A4 4, A5 5] A5 5 [A0 0, A1 1, A2 2, A3 3, A4 4] [(A0 0) (A1 1) (A2 2) (A3 3) (A4 4) one]);
