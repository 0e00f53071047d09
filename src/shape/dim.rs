//! Dimensions: static (`Const<N>`), dynamic (`usize`) and computed ones.

use super::broadcast::{DimBroadcast, DimUnify};
use super::target::LossTargetDim;
use core::fmt::Debug;

/// One dimension of a shape.
///
/// A dimension is either known to the compiler ([`Const<N>`], or a computed dimension
/// such as [`Prod`]) or only at run time (`usize`).
///
/// ```
/// use shaped::shape::{Const, Dim};
/// assert_eq!(Const::<3>.size(), 3);
/// assert_eq!(7usize.size(), 7);
/// ```
///
/// Every dimension equals and broadcasts with itself ([`DimUnify`], [`DimBroadcast`] giving
/// `Self`, hence [`DimEq`](super::DimEq) and [`BroadcastDim`](super::BroadcastDim)), so generic code over `D: Dim` can add two `Tensor<(D,)>`s without extra
/// bounds. A dimension type of your own gets these by implementing [`DimExpr`].
pub trait Dim:
    Copy
    + Debug
    + Send
    + Sync
    + 'static
    + DimUnify<Self, Unified = Self>
    + DimBroadcast<Self, Broadcast = Self>
    + LossTargetDim<Self>
{
    /// The number of elements along this dimension.
    fn size(&self) -> usize;
    /// The size when the compiler knows it, `None` for a run-time dimension.
    const STATIC_SIZE: Option<usize>;
    /// Builds the dimension from a run-time size, or `None` when the size does not fit
    /// (a `Const<N>` only accepts `N`).
    fn from_size(size: usize) -> Option<Self>;
}

/// A dimension whose size is known at compile time.
///
/// ```
/// use shaped::shape::{Const, ConstDim, Prod};
/// assert_eq!(<Prod<Const<3>, Const<4>> as ConstDim>::SIZE, 12);
/// ```
pub trait ConstDim: Dim + Default {
    /// The size, usable in constant expressions.
    const SIZE: usize;
}

/// A static dimension of size `N`.
///
/// ```
/// use shaped::shape::{Const, Dim};
/// let d = Const::<784>;
/// assert_eq!(d.size(), 784);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Const<const N: usize>;

impl<const N: usize> Debug for Const<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Const<{N}>")
    }
}

impl<const N: usize> Dim for Const<N> {
    const STATIC_SIZE: Option<usize> = Some(N);
    #[inline(always)]
    fn size(&self) -> usize {
        N
    }
    fn from_size(size: usize) -> Option<Self> {
        (size == N).then_some(Const)
    }
}

impl<const N: usize> ConstDim for Const<N> {
    const SIZE: usize = N;
}

impl Dim for usize {
    const STATIC_SIZE: Option<usize> = None;
    #[inline(always)]
    fn size(&self) -> usize {
        *self
    }
    fn from_size(size: usize) -> Option<Self> {
        Some(size)
    }
}

/// Marker for dimensions computed from other dimensions (products, sums, convolution
/// output sizes). Their size is an associated constant when the inputs are static.
pub trait DimExpr: Dim {}

/// The product of two dimensions, produced by `flatten`.
///
/// ```
/// use shaped::shape::{Const, Dim, Prod};
/// let d = Prod(Const::<2>, 5usize);
/// assert_eq!(d.size(), 10);
/// ```
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Prod<A: Dim, B: Dim>(pub A, pub B);

impl<A: Dim, B: Dim> Dim for Prod<A, B> {
    #[inline]
    fn size(&self) -> usize {
        self.0.size() * self.1.size()
    }
    const STATIC_SIZE: Option<usize> = match (A::STATIC_SIZE, B::STATIC_SIZE) {
        (Some(a), Some(b)) => Some(a * b),
        _ => None,
    };
    fn from_size(size: usize) -> Option<Self> {
        // With one factor known the other follows; two run-time factors are ambiguous.
        let (a, b) = match (A::STATIC_SIZE, B::STATIC_SIZE) {
            (Some(0), _) | (_, Some(0)) => (A::from_size(0)?, B::from_size(0)?),
            (Some(a), _) => (A::from_size(a)?, B::from_size(size / a)?),
            (None, Some(b)) => (A::from_size(size / b)?, B::from_size(b)?),
            (None, None) => return None,
        };
        (a.size() * b.size() == size).then_some(Prod(a, b))
    }
}
impl<A: ConstDim, B: ConstDim> ConstDim for Prod<A, B> {
    const SIZE: usize = A::SIZE * B::SIZE;
}
impl<A: Dim, B: Dim> DimExpr for Prod<A, B> {}

/// The sum of two dimensions, produced by `concat`.
///
/// ```
/// use shaped::shape::{Const, ConstDim, Sum};
/// assert_eq!(<Sum<Const<2>, Const<4>> as ConstDim>::SIZE, 6);
/// ```
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Sum<A: Dim, B: Dim>(pub A, pub B);

impl<A: Dim, B: Dim> Dim for Sum<A, B> {
    #[inline]
    fn size(&self) -> usize {
        self.0.size() + self.1.size()
    }
    const STATIC_SIZE: Option<usize> = match (A::STATIC_SIZE, B::STATIC_SIZE) {
        (Some(a), Some(b)) => Some(a + b),
        _ => None,
    };
    fn from_size(size: usize) -> Option<Self> {
        let (a, b) = match (A::STATIC_SIZE, B::STATIC_SIZE) {
            (Some(a), _) => (A::from_size(a)?, B::from_size(size.checked_sub(a)?)?),
            (None, Some(b)) => (A::from_size(size.checked_sub(b)?)?, B::from_size(b)?),
            (None, None) => return None,
        };
        (a.size() + b.size() == size).then_some(Sum(a, b))
    }
}
impl<A: ConstDim, B: ConstDim> ConstDim for Sum<A, B> {
    const SIZE: usize = A::SIZE + B::SIZE;
}
impl<A: Dim, B: Dim> DimExpr for Sum<A, B> {}
