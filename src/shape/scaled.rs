//! A dimension multiplied by a constant factor: the output size of an integer upsampling.

use super::const_msg::ConstMsg;
use super::dim::{ConstDim, Dim, DimExpr};

const fn static_scaled(d: usize, factor: usize) -> usize {
    if factor == 0 {
        ConstMsg::new()
            .s("upsampling: the scale factor must be at least 1")
            .fail();
    }
    d * factor
}

/// `D * F`: the size of dimension `D` upsampled by the integer factor `F` (PyTorch's
/// `floor(D * scale_factor)` for an integer factor).
///
/// It holds the input dimension (nothing when static); with a static input the size is a
/// constant, so a later layer that needs a fixed size is checked when the code is built.
///
/// ```
/// use shaped::shape::{Const, ConstDim, Dim, Scaled};
/// assert_eq!(<Scaled<Const<7>, 2> as ConstDim>::SIZE, 14);
/// assert_eq!(Scaled::<usize, 3>::new(5).size(), 15);
/// ```
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct Scaled<D: Dim, const F: usize>(D);

impl<D: Dim, const F: usize> Scaled<D, F> {
    /// `input` scaled by `F`; a factor of 0 fails the build.
    ///
    /// ```
    /// use shaped::shape::{Dim, Scaled};
    /// assert_eq!(Scaled::<usize, 2>::new(4).size(), 8);
    /// ```
    pub fn new(input: D) -> Self {
        const { static_scaled(0, F) };
        Scaled(input)
    }

    /// The dimension before scaling.
    ///
    /// ```
    /// use shaped::shape::Scaled;
    /// assert_eq!(Scaled::<usize, 2>::new(4).input(), 4);
    /// ```
    pub fn input(&self) -> D {
        self.0
    }
}

impl<D: Dim, const F: usize> Dim for Scaled<D, F> {
    const STATIC_SIZE: Option<usize> = match D::STATIC_SIZE {
        Some(d) => Some(static_scaled(d, F)),
        None => None,
    };
    #[inline]
    fn size(&self) -> usize {
        self.0.size() * F
    }
    fn from_size(size: usize) -> Option<Self> {
        if F == 0 || !size.is_multiple_of(F) {
            return None;
        }
        D::from_size(size / F).map(Scaled)
    }
}

impl<D: ConstDim, const F: usize> ConstDim for Scaled<D, F> {
    const SIZE: usize = match Self::STATIC_SIZE {
        Some(s) => s,
        None => unreachable!(),
    };
}

impl<D: Dim, const F: usize> DimExpr for Scaled<D, F> {}
