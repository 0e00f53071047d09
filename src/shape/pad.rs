//! Padded dimensions: what `pad` makes of the dimensions it widens, and which shapes have
//! the last one, two or three dimensions it pads (PyTorch pads from the last dimension
//! backwards).

use super::dim::{ConstDim, Dim, DimExpr};
use super::shape::Shape;

/// A dimension `D` widened by `L` elements before and `R` after: size `D + L + R`, produced
/// by `pad` on a static dimension.
///
/// ```
/// use shaped::shape::{Const, ConstDim, Dim, Padded};
/// assert_eq!(<Padded<Const<4>, 1, 2> as ConstDim>::SIZE, 7);
/// assert_eq!(Padded::<Const<4>, 1, 2>::default().size(), 7);
/// ```
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Padded<D: Dim, const L: usize, const R: usize>(pub D);

impl<D: Dim, const L: usize, const R: usize> Dim for Padded<D, L, R> {
    #[inline]
    fn size(&self) -> usize {
        self.0.size() + L + R
    }
    const STATIC_SIZE: Option<usize> = match D::STATIC_SIZE {
        Some(d) => Some(d + L + R),
        None => None,
    };
    fn from_size(size: usize) -> Option<Self> {
        D::from_size(size.checked_sub(L + R)?).map(Padded)
    }
}
impl<D: ConstDim, const L: usize, const R: usize> ConstDim for Padded<D, L, R> {
    const SIZE: usize = D::SIZE + L + R;
}
impl<D: Dim, const L: usize, const R: usize> DimExpr for Padded<D, L, R> {}

/// What a dimension becomes when padded by `L` and `R`: a static one becomes
/// [`Padded`], a run-time `usize` stays `usize`.
///
/// ```
/// use shaped::shape::{Const, Padded, PadDim};
/// let d: Padded<Const<3>, 1, 1> = <Const<3> as PadDim<1, 1>>::pad(Const);
/// assert_eq!(<usize as PadDim<1, 2>>::pad(5), 8);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot pad a dimension `{Self}`",
    label = "`pad` widens static dimensions and run-time `usize` ones",
    note = "a computed dimension whose size is only known at run time must be converted to `usize` first (`try_realize`)"
)]
pub trait PadDim<const L: usize, const R: usize>: Dim {
    /// The padded dimension.
    type Output: Dim;
    /// The padded dimension.
    fn pad(self) -> Self::Output;
}
impl<D: ConstDim, const L: usize, const R: usize> PadDim<L, R> for D {
    type Output = Padded<D, L, R>;
    #[inline]
    fn pad(self) -> Self::Output {
        Padded(self)
    }
}
impl<const L: usize, const R: usize> PadDim<L, R> for usize {
    type Output = usize;
    #[inline]
    fn pad(self) -> usize {
        self + L + R
    }
}

/// A shape whose last dimension can be padded by `L` before and `R` after.
///
/// ```
/// use shaped::shape::{PadLast, Rank2, Shape};
/// let s = <Rank2<2, 3> as PadLast<1, 2>>::pad_last(&Default::default());
/// assert_eq!(s.dims().as_slice(), &[2, 6]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot pad the last dimension of `{Self}`",
    note = "the shape needs rank 1 or more, with static or `usize` dimensions where it is padded"
)]
pub trait PadLast<const L: usize, const R: usize>: Shape {
    /// The padded shape.
    type Output: Shape;
    /// The padded shape.
    fn pad_last(&self) -> Self::Output;
}

/// A shape whose last two dimensions can be padded: the last by `L`, `R`, the one before
/// by `T`, `B` (PyTorch's `(left, right, top, bottom)`).
///
/// ```
/// use shaped::shape::{PadLast2, Rank3, Shape};
/// let s = <Rank3<2, 3, 4> as PadLast2<1, 2, 0, 1>>::pad_last2(&Default::default());
/// assert_eq!(s.dims().as_slice(), &[2, 4, 7]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot pad the last two dimensions of `{Self}`",
    note = "the shape needs rank 2 or more, with static or `usize` dimensions where it is padded"
)]
pub trait PadLast2<const L: usize, const R: usize, const T: usize, const B: usize>: Shape {
    /// The padded shape.
    type Output: Shape;
    /// The padded shape.
    fn pad_last2(&self) -> Self::Output;
}

/// A shape whose last three dimensions can be padded (PyTorch's `(left, right, top,
/// bottom, front, back)`).
///
/// ```
/// use shaped::shape::{PadLast3, Rank3, Shape};
/// let s = <Rank3<2, 3, 4> as PadLast3<1, 1, 0, 0, 2, 2>>::pad_last3(&Default::default());
/// assert_eq!(s.dims().as_slice(), &[6, 3, 6]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot pad the last three dimensions of `{Self}`",
    note = "the shape needs rank 3 or more, with static or `usize` dimensions where it is padded"
)]
pub trait PadLast3<
    const L: usize,
    const R: usize,
    const T: usize,
    const B: usize,
    const F: usize,
    const K: usize,
>: Shape
{
    /// The padded shape.
    type Output: Shape;
    /// The padded shape.
    fn pad_last3(&self) -> Self::Output;
}

macro_rules! pad_last {
    ($($A:ident $a:tt),*; $X:ident $x:tt) => {
        impl<$($A: Dim,)* $X: PadDim<L, R>, const L: usize, const R: usize> PadLast<L, R>
            for ($($A,)* $X,)
        {
            type Output = ($($A,)* $X::Output,);
            #[inline]
            fn pad_last(&self) -> Self::Output {
                ($(self.$a,)* self.$x.pad(),)
            }
        }
    };
}
pad_last!(; X 0);
pad_last!(A0 0; X 1);
pad_last!(A0 0, A1 1; X 2);
pad_last!(A0 0, A1 1, A2 2; X 3);
pad_last!(A0 0, A1 1, A2 2, A3 3; X 4);
pad_last!(A0 0, A1 1, A2 2, A3 3, A4 4; X 5);

macro_rules! pad_last2 {
    ($($A:ident $a:tt),*; $Y:ident $y:tt, $X:ident $x:tt) => {
        impl<$($A: Dim,)* $Y: PadDim<T, B>, $X: PadDim<L, R>, const L: usize, const R: usize, const T: usize, const B: usize>
            PadLast2<L, R, T, B> for ($($A,)* $Y, $X)
        {
            type Output = ($($A,)* $Y::Output, $X::Output);
            #[inline]
            fn pad_last2(&self) -> Self::Output {
                ($(self.$a,)* self.$y.pad(), self.$x.pad())
            }
        }
    };
}
pad_last2!(; Y 0, X 1);
pad_last2!(A0 0; Y 1, X 2);
pad_last2!(A0 0, A1 1; Y 2, X 3);
pad_last2!(A0 0, A1 1, A2 2; Y 3, X 4);
pad_last2!(A0 0, A1 1, A2 2, A3 3; Y 4, X 5);

macro_rules! pad_last3 {
    ($($A:ident $a:tt),*; $Z:ident $z:tt, $Y:ident $y:tt, $X:ident $x:tt) => {
        impl<
            $($A: Dim,)*
            $Z: PadDim<F, K>,
            $Y: PadDim<T, B>,
            $X: PadDim<L, R>,
            const L: usize,
            const R: usize,
            const T: usize,
            const B: usize,
            const F: usize,
            const K: usize,
        > PadLast3<L, R, T, B, F, K> for ($($A,)* $Z, $Y, $X)
        {
            type Output = ($($A,)* $Z::Output, $Y::Output, $X::Output);
            #[inline]
            fn pad_last3(&self) -> Self::Output {
                ($(self.$a,)* self.$z.pad(), self.$y.pad(), self.$x.pad())
            }
        }
    };
}
pad_last3!(; Z 0, Y 1, X 2);
pad_last3!(A0 0; Z 1, Y 2, X 3);
pad_last3!(A0 0, A1 1; Z 2, Y 3, X 4);
pad_last3!(A0 0, A1 1, A2 2; Z 3, Y 4, X 5);
