//! Type-level concatenation: which shapes `concat` joins along an axis, and the result.

use super::broadcast::DimUnify;
use super::check::{ConcatOther, DimCheck};
use super::dim::{Dim, Sum};
use super::shape::Shape;
use crate::error::{Error, Result};

/// Two shapes of the same rank that join along axis `I`: every other pair of dimensions must
/// be equal ([`DimEq`](super::DimEq), a compile error naming both when they are static and differ), and
/// axis `I` becomes their [`Sum`].
///
/// ```
/// use shaped::shape::{ConcatShape, Rank2, Shape};
/// let s = <Rank2<2, 3> as ConcatShape<Rank2<4, 3>, 0>>::concat_shape(
///     &Default::default(),
///     &Default::default(),
/// )
/// .unwrap();
/// assert_eq!(s.dims().as_slice(), &[6, 3]);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot concatenate shapes `{Self}` and `{Rhs}` along axis {I}",
    label = "the ranks differ or axis {I} is out of range",
    note = "both shapes need the same rank R (1 to 6), and the axis must be in 0..R"
)]
pub trait ConcatShape<Rhs: Shape, const I: usize>: Shape {
    /// The joined shape.
    type Output: Shape;
    /// Fails the build, naming both sizes, when static dimensions off the axis differ
    /// (a computed dimension meeting another static one).
    const CHECK: ();
    /// The joined shape; an error naming both shapes when run-time dimensions differ.
    fn concat_shape(&self, rhs: &Rhs) -> Result<Self::Output>;
}

fn mismatch(lhs: &impl Shape, rhs: &impl Shape, axis: usize, k: usize) -> Error {
    let (a, b) = (lhs.dims(), rhs.dims());
    Error::shape(
        "concat",
        format!(
            "cannot concatenate shapes {:?} and {:?} along axis {axis}: dimension {k} differs ({} vs {})",
            a.as_slice(),
            b.as_slice(),
            a[k],
            b[k]
        ),
    )
}

macro_rules! concat_shape {
    ($i:literal; $($LB:ident $RB:ident $b:tt),*; $LX:ident $RX:ident $x:tt; $($LA:ident $RA:ident $a:tt),*) => {
        impl<$($LB: Dim + DimUnify<$RB>, $RB: Dim,)* $LX: Dim, $RX: Dim, $($LA: Dim + DimUnify<$RA>, $RA: Dim,)*>
            ConcatShape<($($RB,)* $RX, $($RA,)*), $i> for ($($LB,)* $LX, $($LA,)*)
        {
            type Output = (
                $(<$LB as DimUnify<$RB>>::Unified,)*
                Sum<$LX, $RX>,
                $(<$LA as DimUnify<$RA>>::Unified,)*
            );
            const CHECK: () = {
                $(let () = DimCheck::<$LB, $RB, ConcatOther>::OK;)*
                $(let () = DimCheck::<$LA, $RA, ConcatOther>::OK;)*
            };
            fn concat_shape(&self, rhs: &($($RB,)* $RX, $($RA,)*)) -> Result<Self::Output> {
                Ok((
                    $(self.$b.unify(rhs.$b).map_err(|_| mismatch(self, rhs, $i, $b))?,)*
                    Sum(self.$x, rhs.$x),
                    $(self.$a.unify(rhs.$a).map_err(|_| mismatch(self, rhs, $i, $a))?,)*
                ))
            }
        }
    };
}

concat_shape!(0; ; A0 B0 0; );
concat_shape!(0; ; A0 B0 0; A1 B1 1);
concat_shape!(1; A0 B0 0; A1 B1 1; );
concat_shape!(0; ; A0 B0 0; A1 B1 1, A2 B2 2);
concat_shape!(1; A0 B0 0; A1 B1 1; A2 B2 2);
concat_shape!(2; A0 B0 0, A1 B1 1; A2 B2 2; );
concat_shape!(0; ; A0 B0 0; A1 B1 1, A2 B2 2, A3 B3 3);
concat_shape!(1; A0 B0 0; A1 B1 1; A2 B2 2, A3 B3 3);
concat_shape!(2; A0 B0 0, A1 B1 1; A2 B2 2; A3 B3 3);
concat_shape!(3; A0 B0 0, A1 B1 1, A2 B2 2; A3 B3 3; );
concat_shape!(0; ; A0 B0 0; A1 B1 1, A2 B2 2, A3 B3 3, A4 B4 4);
concat_shape!(1; A0 B0 0; A1 B1 1; A2 B2 2, A3 B3 3, A4 B4 4);
concat_shape!(2; A0 B0 0, A1 B1 1; A2 B2 2; A3 B3 3, A4 B4 4);
concat_shape!(3; A0 B0 0, A1 B1 1, A2 B2 2; A3 B3 3; A4 B4 4);
concat_shape!(4; A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3; A4 B4 4; );
concat_shape!(0; ; A0 B0 0; A1 B1 1, A2 B2 2, A3 B3 3, A4 B4 4, A5 B5 5);
concat_shape!(1; A0 B0 0; A1 B1 1; A2 B2 2, A3 B3 3, A4 B4 4, A5 B5 5);
concat_shape!(2; A0 B0 0, A1 B1 1; A2 B2 2; A3 B3 3, A4 B4 4, A5 B5 5);
concat_shape!(3; A0 B0 0, A1 B1 1, A2 B2 2; A3 B3 3; A4 B4 4, A5 B5 5);
concat_shape!(4; A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3; A4 B4 4; A5 B5 5);
concat_shape!(5; A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3, A4 B4 4; A5 B5 5; );
