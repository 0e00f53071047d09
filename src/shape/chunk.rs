//! The dimension of one of `N` equal chunks: what the typed `chunk_static` makes of the axis
//! it cuts.

use super::dim::{ConstDim, Dim, DimExpr};

/// A dimension `D` cut into `N` equal parts: size `D / N`, produced by `chunk_static` on a
/// static axis (which must divide evenly).
///
/// ```
/// use shaped::shape::{Const, ConstDim, Quot};
/// assert_eq!(<Quot<Const<9>, 3> as ConstDim>::SIZE, 3);
/// ```
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Quot<D: Dim, const N: usize>(pub D);

impl<D: Dim, const N: usize> Dim for Quot<D, N> {
    #[inline]
    fn size(&self) -> usize {
        self.0.size() / N
    }
    const STATIC_SIZE: Option<usize> = match D::STATIC_SIZE {
        Some(d) => Some(d / N),
        None => None,
    };
    fn from_size(size: usize) -> Option<Self> {
        D::from_size(size.checked_mul(N)?).map(Quot)
    }
}
impl<D: ConstDim, const N: usize> ConstDim for Quot<D, N> {
    const SIZE: usize = D::SIZE / N;
}
impl<D: Dim, const N: usize> DimExpr for Quot<D, N> {}

/// What a dimension becomes when cut into `N` equal chunks: a static one becomes
/// [`Quot`], a run-time `usize` stays `usize`.
///
/// ```
/// use shaped::shape::{ChunkDim, Const, Quot};
/// let d: Quot<Const<8>, 4> = <Const<8> as ChunkDim<4>>::chunk(Const);
/// assert_eq!(<usize as ChunkDim<4>>::chunk(8), 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "cannot cut a dimension `{Self}` into equal chunks at compile time",
    label = "`chunk_static` cuts static dimensions and run-time `usize` ones",
    note = "a computed dimension whose size is only known at run time must be converted to `usize` first (`try_realize`)"
)]
pub trait ChunkDim<const N: usize>: Dim {
    /// The dimension of one chunk.
    type Output: Dim;
    /// The dimension of one chunk.
    fn chunk(self) -> Self::Output;
}
impl<D: ConstDim, const N: usize> ChunkDim<N> for D {
    type Output = Quot<D, N>;
    #[inline]
    fn chunk(self) -> Self::Output {
        Quot(self)
    }
}
impl<const N: usize> ChunkDim<N> for usize {
    type Output = usize;
    #[inline]
    fn chunk(self) -> usize {
        self / N
    }
}

/// A run-time size scaled by a constant (an upsampled or pixel-shuffled run-time axis) cuts
/// into run-time chunks, as `usize` does: `pixel_shuffle` then `pixel_unshuffle` on
/// run-time sizes needs no conversion in between.
///
/// ```
/// use shaped::shape::{ChunkDim, Scaled};
/// assert_eq!(<Scaled<usize, 2> as ChunkDim<4>>::chunk(Scaled::new(6)), 3);
/// ```
impl<const F: usize, const N: usize> ChunkDim<N> for super::Scaled<usize, F> {
    type Output = usize;
    #[inline]
    fn chunk(self) -> usize {
        self.size() / N
    }
}
