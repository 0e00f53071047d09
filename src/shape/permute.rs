//! Type-level axis orders: the shapes `permute` and `transpose` produce.
//!
//! `permute` is written once per rank, generically over the axes: each output dimension is
//! `<S as HasAxis<P>>::Dim`, so an axis out of range is a [`HasAxis`] error naming the shape,
//! and a repeated axis fails the const assertion in [`PermuteShape::PERM`] when the code is
//! built. `transpose` cannot be generic that way (stable Rust cannot compare two const
//! generics in a type), so its impls are listed for every pair of axes.

use super::axis::HasAxis;
use super::dim::Dim;
use super::shape::Shape;

macro_rules! axes_types {
    ($($(#[$m:meta])* $name:ident [$($P:ident)*];)*) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<$(const $P: usize),*>;
    )*};
}

axes_types! {
    /// The axis order `[A, B]` of a rank-2 permutation.
    Axes2 [A B];
    /// The axis order `[A, B, C]` of a rank-3 permutation, e.g. `Axes3<2, 0, 1>`.
    Axes3 [A B C];
    /// The axis order of a rank-4 permutation, e.g. `Axes4<0, 2, 3, 1>` (NCHW to NHWC).
    Axes4 [A B C D];
    /// The axis order of a rank-5 permutation.
    Axes5 [A B C D E];
    /// The axis order of a rank-6 permutation.
    Axes6 [A B C D E F];
}

/// True when `p` holds each of `0..p.len()` exactly once.
pub(crate) const fn is_permutation(p: &[usize]) -> bool {
    let mut seen = [false; super::shape::MAX_RANK];
    let mut i = 0;
    while i < p.len() {
        if p[i] >= p.len() || seen[p[i]] {
            return false;
        }
        seen[p[i]] = true;
        i += 1;
    }
    true
}

/// A shape whose axes can be reordered by `Ax` (an [`Axes3`] and so on of the same rank):
/// output dimension `k` is input dimension `Ax[k]`, as in `torch.permute`.
///
/// ```
/// use shaped::shape::{Axes3, Const, PermuteShape, Rank3, Shape};
/// let s: (Const<4>, Const<2>, Const<3>) =
///     <Rank3<2, 3, 4> as PermuteShape<Axes3<2, 0, 1>>>::permute_shape(&Default::default());
/// assert_eq!(s.dims().as_slice(), &[4, 2, 3]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot permute shape `{Self}` by `{Ax}`",
    label = "the axis order does not fit this shape",
    note = "give every axis of the shape exactly once: a rank-R shape takes R axes from 0..R"
)]
pub trait PermuteShape<Ax>: Shape {
    /// The permuted shape.
    type Output: Shape;
    /// The axis order; building code that uses it fails when an axis repeats.
    const PERM: &'static [usize];
    /// The permuted shape.
    fn permute_shape(&self) -> Self::Output;
}

macro_rules! permute {
    ($Ax:ident [$($D:ident)*] [$($P:ident)*]) => {
        impl<$($D: Dim,)* $(const $P: usize,)*> PermuteShape<$Ax<$($P),*>> for ($($D,)*)
        where
            $(Self: HasAxis<$P>,)*
        {
            type Output = ($(<Self as HasAxis<$P>>::Dim,)*);
            const PERM: &'static [usize] = {
                assert!(
                    is_permutation(&[$($P),*]),
                    "permute: every axis of the shape must appear exactly once"
                );
                &[$($P),*]
            };
            #[inline]
            fn permute_shape(&self) -> Self::Output {
                ($(<Self as HasAxis<$P>>::axis_dim(self),)*)
            }
        }
    };
}

permute!(Axes2 [D0 D1] [P0 P1]);
permute!(Axes3 [D0 D1 D2] [P0 P1 P2]);
permute!(Axes4 [D0 D1 D2 D3] [P0 P1 P2 P3]);
permute!(Axes5 [D0 D1 D2 D3 D4] [P0 P1 P2 P3 P4]);
permute!(Axes6 [D0 D1 D2 D3 D4 D5] [P0 P1 P2 P3 P4 P5]);

/// A shape with axes `I` and `J`, and the shape with the two swapped (`torch.transpose`).
/// `I == J` is allowed and changes nothing, as in PyTorch.
///
/// ```
/// use shaped::shape::{Rank3, Shape, TransposeShape};
/// let s = <Rank3<2, 3, 4> as TransposeShape<1, 2>>::transpose_shape(&Default::default());
/// assert_eq!(s.dims().as_slice(), &[2, 4, 3]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot transpose axes {I} and {J} of shape `{Self}`",
    label = "axis {I} or {J} is out of range for this shape",
    note = "axes count from 0; a rank-R shape (R from 2 to 6) has axes 0..R"
)]
pub trait TransposeShape<const I: usize, const J: usize>: Shape {
    /// The shape with axes `I` and `J` swapped.
    type Output: Shape;
    /// The transposed shape.
    fn transpose_shape(&self) -> Self::Output;
}

// `D0`..`D5` name the input dimensions; `perm` lists which input axis each output axis takes.
macro_rules! transpose {
    ([$($D:ident)*] $i:tt $j:tt => $($p:tt)*) => {
        impl<$($D: Dim),*> TransposeShape<$i, $j> for ($($D,)*) {
            type Output = ($(transpose!(@dim $p),)*);
            #[inline]
            fn transpose_shape(&self) -> Self::Output {
                ($(self.$p,)*)
            }
        }
    };
    (@dim 0) => { D0 };
    (@dim 1) => { D1 };
    (@dim 2) => { D2 };
    (@dim 3) => { D3 };
    (@dim 4) => { D4 };
    (@dim 5) => { D5 };
}

transpose!([D0 D1] 0 0 => 0 1);
transpose!([D0 D1] 0 1 => 1 0);
transpose!([D0 D1] 1 0 => 1 0);
transpose!([D0 D1] 1 1 => 0 1);
transpose!([D0 D1 D2] 0 0 => 0 1 2);
transpose!([D0 D1 D2] 0 1 => 1 0 2);
transpose!([D0 D1 D2] 0 2 => 2 1 0);
transpose!([D0 D1 D2] 1 0 => 1 0 2);
transpose!([D0 D1 D2] 1 1 => 0 1 2);
transpose!([D0 D1 D2] 1 2 => 0 2 1);
transpose!([D0 D1 D2] 2 0 => 2 1 0);
transpose!([D0 D1 D2] 2 1 => 0 2 1);
transpose!([D0 D1 D2] 2 2 => 0 1 2);
transpose!([D0 D1 D2 D3] 0 0 => 0 1 2 3);
transpose!([D0 D1 D2 D3] 0 1 => 1 0 2 3);
transpose!([D0 D1 D2 D3] 0 2 => 2 1 0 3);
transpose!([D0 D1 D2 D3] 0 3 => 3 1 2 0);
transpose!([D0 D1 D2 D3] 1 0 => 1 0 2 3);
transpose!([D0 D1 D2 D3] 1 1 => 0 1 2 3);
transpose!([D0 D1 D2 D3] 1 2 => 0 2 1 3);
transpose!([D0 D1 D2 D3] 1 3 => 0 3 2 1);
transpose!([D0 D1 D2 D3] 2 0 => 2 1 0 3);
transpose!([D0 D1 D2 D3] 2 1 => 0 2 1 3);
transpose!([D0 D1 D2 D3] 2 2 => 0 1 2 3);
transpose!([D0 D1 D2 D3] 2 3 => 0 1 3 2);
transpose!([D0 D1 D2 D3] 3 0 => 3 1 2 0);
transpose!([D0 D1 D2 D3] 3 1 => 0 3 2 1);
transpose!([D0 D1 D2 D3] 3 2 => 0 1 3 2);
transpose!([D0 D1 D2 D3] 3 3 => 0 1 2 3);
transpose!([D0 D1 D2 D3 D4] 0 0 => 0 1 2 3 4);
transpose!([D0 D1 D2 D3 D4] 0 1 => 1 0 2 3 4);
transpose!([D0 D1 D2 D3 D4] 0 2 => 2 1 0 3 4);
transpose!([D0 D1 D2 D3 D4] 0 3 => 3 1 2 0 4);
transpose!([D0 D1 D2 D3 D4] 0 4 => 4 1 2 3 0);
transpose!([D0 D1 D2 D3 D4] 1 0 => 1 0 2 3 4);
transpose!([D0 D1 D2 D3 D4] 1 1 => 0 1 2 3 4);
transpose!([D0 D1 D2 D3 D4] 1 2 => 0 2 1 3 4);
transpose!([D0 D1 D2 D3 D4] 1 3 => 0 3 2 1 4);
transpose!([D0 D1 D2 D3 D4] 1 4 => 0 4 2 3 1);
transpose!([D0 D1 D2 D3 D4] 2 0 => 2 1 0 3 4);
transpose!([D0 D1 D2 D3 D4] 2 1 => 0 2 1 3 4);
transpose!([D0 D1 D2 D3 D4] 2 2 => 0 1 2 3 4);
transpose!([D0 D1 D2 D3 D4] 2 3 => 0 1 3 2 4);
transpose!([D0 D1 D2 D3 D4] 2 4 => 0 1 4 3 2);
transpose!([D0 D1 D2 D3 D4] 3 0 => 3 1 2 0 4);
transpose!([D0 D1 D2 D3 D4] 3 1 => 0 3 2 1 4);
transpose!([D0 D1 D2 D3 D4] 3 2 => 0 1 3 2 4);
transpose!([D0 D1 D2 D3 D4] 3 3 => 0 1 2 3 4);
transpose!([D0 D1 D2 D3 D4] 3 4 => 0 1 2 4 3);
transpose!([D0 D1 D2 D3 D4] 4 0 => 4 1 2 3 0);
transpose!([D0 D1 D2 D3 D4] 4 1 => 0 4 2 3 1);
transpose!([D0 D1 D2 D3 D4] 4 2 => 0 1 4 3 2);
transpose!([D0 D1 D2 D3 D4] 4 3 => 0 1 2 4 3);
transpose!([D0 D1 D2 D3 D4] 4 4 => 0 1 2 3 4);
transpose!([D0 D1 D2 D3 D4 D5] 0 0 => 0 1 2 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 0 1 => 1 0 2 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 0 2 => 2 1 0 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 0 3 => 3 1 2 0 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 0 4 => 4 1 2 3 0 5);
transpose!([D0 D1 D2 D3 D4 D5] 0 5 => 5 1 2 3 4 0);
transpose!([D0 D1 D2 D3 D4 D5] 1 0 => 1 0 2 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 1 1 => 0 1 2 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 1 2 => 0 2 1 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 1 3 => 0 3 2 1 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 1 4 => 0 4 2 3 1 5);
transpose!([D0 D1 D2 D3 D4 D5] 1 5 => 0 5 2 3 4 1);
transpose!([D0 D1 D2 D3 D4 D5] 2 0 => 2 1 0 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 2 1 => 0 2 1 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 2 2 => 0 1 2 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 2 3 => 0 1 3 2 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 2 4 => 0 1 4 3 2 5);
transpose!([D0 D1 D2 D3 D4 D5] 2 5 => 0 1 5 3 4 2);
transpose!([D0 D1 D2 D3 D4 D5] 3 0 => 3 1 2 0 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 3 1 => 0 3 2 1 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 3 2 => 0 1 3 2 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 3 3 => 0 1 2 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 3 4 => 0 1 2 4 3 5);
transpose!([D0 D1 D2 D3 D4 D5] 3 5 => 0 1 2 5 4 3);
transpose!([D0 D1 D2 D3 D4 D5] 4 0 => 4 1 2 3 0 5);
transpose!([D0 D1 D2 D3 D4 D5] 4 1 => 0 4 2 3 1 5);
transpose!([D0 D1 D2 D3 D4 D5] 4 2 => 0 1 4 3 2 5);
transpose!([D0 D1 D2 D3 D4 D5] 4 3 => 0 1 2 4 3 5);
transpose!([D0 D1 D2 D3 D4 D5] 4 4 => 0 1 2 3 4 5);
transpose!([D0 D1 D2 D3 D4 D5] 4 5 => 0 1 2 3 5 4);
transpose!([D0 D1 D2 D3 D4 D5] 5 0 => 5 1 2 3 4 0);
transpose!([D0 D1 D2 D3 D4 D5] 5 1 => 0 5 2 3 4 1);
transpose!([D0 D1 D2 D3 D4 D5] 5 2 => 0 1 5 3 4 2);
transpose!([D0 D1 D2 D3 D4 D5] 5 3 => 0 1 2 5 4 3);
transpose!([D0 D1 D2 D3 D4 D5] 5 4 => 0 1 2 3 5 4);
transpose!([D0 D1 D2 D3 D4 D5] 5 5 => 0 1 2 3 4 5);
