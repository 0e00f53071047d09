//! The last dimension of a shape: what `Linear` reads and replaces.

use super::dim::Dim;
use super::shape::Shape;

/// Shapes of rank 1 or more, whose last dimension can be read and replaced.
///
/// ```
/// use shaped::shape::{Const, LastDim, Rank3, Shape};
/// let s = <Rank3<2, 3, 4>>::default().with_last(Const::<7>);
/// assert_eq!(s.dims().as_slice(), &[2, 3, 7]);
/// ```
#[diagnostic::on_unimplemented(
    message = "shape `{Self}` has no last dimension to read",
    note = "this layer needs an input of rank 1 or more"
)]
pub trait LastDim: Shape {
    /// The last dimension.
    type Last: Dim;
    /// This shape with the last dimension replaced by `D`.
    type WithLast<D: Dim>: Shape;
    /// This shape without its last dimension: a reduction over the last axis (`()` for a
    /// rank-1 shape).
    ///
    /// ```
    /// use shaped::shape::{LastDim, Rank1, Rank3, Shape};
    /// assert_eq!(<Rank3<2, 3, 4>>::default().without_last().dims().as_slice(), &[2, 3]);
    /// let _: () = <Rank1<4>>::default().without_last();
    /// ```
    type WithoutLast: Shape;
    /// The last dimension.
    fn last(&self) -> Self::Last;
    /// This shape with the last dimension replaced.
    fn with_last<D: Dim>(&self, d: D) -> Self::WithLast<D>;
    /// This shape without its last dimension.
    fn without_last(&self) -> Self::WithoutLast;
}

macro_rules! last_dim {
    ([$($A:ident $i:tt),*] $L:ident $li:tt) => {
        impl<$($A: Dim,)* $L: Dim> LastDim for ($($A,)* $L,) {
            type Last = $L;
            type WithLast<New: Dim> = ($($A,)* New,);
            type WithoutLast = ($($A,)*);
            #[inline]
            fn last(&self) -> $L {
                self.$li
            }
            #[inline]
            fn with_last<New: Dim>(&self, d: New) -> Self::WithLast<New> {
                ($(self.$i,)* d,)
            }
            #[inline]
            #[allow(clippy::unused_unit)]
            fn without_last(&self) -> Self::WithoutLast {
                ($(self.$i,)*)
            }
        }
    };
}
last_dim!([] A 0);
last_dim!([A 0] B 1);
last_dim!([A 0, B 1] C 2);
last_dim!([A 0, B 1, C 2] D 3);
last_dim!([A 0, B 1, C 2, D 3] F 4);
last_dim!([A 0, B 1, C 2, D 3, F 4] G 5);
