//! Type-level flattening: which shape `flatten` and `flatten_all` produce.
//!
//! The merged dimension is a nested [`Prod`] rather than a `Const`, because stable Rust cannot
//! compute `Const<{A * B}>` from generic sizes; `Prod` keeps the factors and still has a
//! static size when they do, so it meets `Const<N>` in `matmul` and `realize`.

use super::dim::{Const, Dim, Prod};
use super::shape::Shape;

/// A shape of rank 2 to 6 whose dimensions after the first merge into one ([`Prod`]) dimension:
/// `(B, C, H, W)` becomes `(B, Prod<C, Prod<H, W>>)`, like `torch.flatten(x, 1)`.
///
/// ```
/// use shaped::shape::{Const, Flatten, Prod, Rank4, Shape};
/// let s: (Const<2>, Prod<Const<3>, Prod<Const<4>, Const<5>>>) =
///     <Rank4<2, 3, 4, 5>>::default().flatten_shape();
/// assert_eq!(s.dims().as_slice(), &[2, 60]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot flatten shape `{Self}` after its first dimension",
    label = "`flatten` needs a rank 2 to 6 shape",
    note = "use `flatten_all` to flatten a whole tensor of any rank into one dimension"
)]
pub trait Flatten: Shape {
    /// The first dimension and the product of the others.
    type Output: Shape;
    /// The flattened shape.
    fn flatten_shape(&self) -> Self::Output;
}

/// Any shape of rank 0 to 6, flattened into a single dimension (`torch.flatten(x)`); a scalar
/// becomes one element.
///
/// ```
/// use shaped::shape::{FlattenAll, Rank3, Shape};
/// let s = <Rank3<2, 3, 4>>::default().flatten_all_shape();
/// assert_eq!(s.dims().as_slice(), &[24]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot flatten shape `{Self}` into one dimension",
    note = "`flatten_all` takes tuple shapes of rank 0 to 6"
)]
pub trait FlattenAll: Shape {
    /// The one-dimensional shape.
    type Output: Shape;
    /// The flattened shape.
    fn flatten_all_shape(&self) -> Self::Output;
}

impl FlattenAll for () {
    type Output = (Const<1>,);
    fn flatten_all_shape(&self) -> Self::Output {
        (Const,)
    }
}
impl<A: Dim> FlattenAll for (A,) {
    type Output = (A,);
    fn flatten_all_shape(&self) -> Self::Output {
        *self
    }
}

// The product type of the listed dimensions, nested to the right.
macro_rules! prod_ty {
    ($A:ident) => { $A };
    ($A:ident $($R:ident)+) => { Prod<$A, prod_ty!($($R)+)> };
}
macro_rules! prod_val {
    ($s:ident $a:tt) => { $s.$a };
    ($s:ident $a:tt $($r:tt)+) => { Prod($s.$a, prod_val!($s $($r)+)) };
}

macro_rules! flatten {
    ($A:ident $a:tt; $($R:ident $r:tt),+) => {
        impl<$A: Dim, $($R: Dim),+> Flatten for ($A, $($R,)+) {
            type Output = ($A, prod_ty!($($R)+));
            #[inline]
            fn flatten_shape(&self) -> Self::Output {
                (self.$a, prod_val!(self $($r)+))
            }
        }
        impl<$A: Dim, $($R: Dim),+> FlattenAll for ($A, $($R,)+) {
            type Output = (prod_ty!($A $($R)+),);
            #[inline]
            fn flatten_all_shape(&self) -> Self::Output {
                (prod_val!(self $a $($r)+),)
            }
        }
    };
}

flatten!(A 0; B 1);
flatten!(A 0; B 1, C 2);
flatten!(A 0; B 1, C 2, D 3);
flatten!(A 0; B 1, C 2, D 3, E 4);
flatten!(A 0; B 1, C 2, D 3, E 4, F 5);
