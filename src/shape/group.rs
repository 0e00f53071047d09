//! The channels of one group of a grouped convolution, as a dimension type.
//!
//! A grouped convolution's weight is `(out, in/groups, kh, kw)`. Stable Rust cannot write
//! `Const<{ IN / G }>` for a generic `IN`, so the second dimension is [`PerGroup<Const<IN>,
//! G>`](PerGroup), whose size is `IN / G`; a `G` that does not divide a static `IN` fails the
//! build with a message naming both numbers.

use super::const_msg::ConstMsg;
use super::dim::{ConstDim, Dim, DimExpr};
use crate::error::{Error, Result};

/// `channels / groups` at build time, failing the build when `groups` does not divide
/// `channels`.
const fn static_per_group(channels: usize, groups: usize) -> usize {
    if groups == 0 {
        ConstMsg::new()
            .s("grouped convolution: groups must be at least 1")
            .fail();
    }
    if !channels.is_multiple_of(groups) {
        ConstMsg::new()
            .s("grouped convolution: groups ")
            .n(groups)
            .s(" does not divide ")
            .n(channels)
            .s(" channels")
            .fail();
    }
    channels / groups
}

/// The number of channels in each of `G` groups of a dimension of `D` channels: `D / G`.
///
/// It holds the full dimension `D` (nothing when `D` is static). With a static `D` the size is
/// a constant, and a `G` that does not divide it fails the build.
///
/// ```
/// use shaped::shape::{Const, ConstDim, Dim, PerGroup};
/// assert_eq!(<PerGroup<Const<12>, 3> as ConstDim>::SIZE, 4);
/// let d = PerGroup::<usize, 2>::new(6).unwrap();
/// assert_eq!((d.channels(), d.size()), (6, 3));
/// assert!(PerGroup::<usize, 4>::new(6).is_err());
/// ```
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct PerGroup<D: Dim, const G: usize>(D);

impl<D: Dim, const G: usize> PerGroup<D, G> {
    /// The per-group size of `channels`; an `Err` naming both numbers when `G` does not
    /// divide it (a build error for a static `D`).
    ///
    /// ```
    /// use shaped::shape::{Dim, PerGroup};
    /// assert_eq!(PerGroup::<usize, 3>::new(9).unwrap().size(), 3);
    /// assert!(PerGroup::<usize, 0>::new(9).is_err());
    /// ```
    pub fn new(channels: D) -> Result<Self> {
        const { Self::STATIC_SIZE };
        let c = channels.size();
        if G == 0 || !c.is_multiple_of(G) {
            return Err(Error::shape(
                "grouped convolution",
                format!("groups {G} does not divide {c} channels"),
            ));
        }
        Ok(PerGroup(channels))
    }

    /// The full (undivided) number of channels.
    ///
    /// ```
    /// use shaped::shape::{Const, PerGroup};
    /// assert_eq!(PerGroup::<Const<8>, 4>::default().channels(), Const::<8>);
    /// ```
    pub fn channels(&self) -> D {
        self.0
    }
}

impl<D: Dim, const G: usize> Dim for PerGroup<D, G> {
    const STATIC_SIZE: Option<usize> = match D::STATIC_SIZE {
        Some(c) => Some(static_per_group(c, G)),
        None => None,
    };
    #[inline]
    fn size(&self) -> usize {
        self.0.size().checked_div(G).unwrap_or(0)
    }
    fn from_size(size: usize) -> Option<Self> {
        if G == 0 {
            return None;
        }
        let channels = D::from_size(size.checked_mul(G)?)?;
        Some(PerGroup(channels))
    }
}

impl<D: ConstDim, const G: usize> ConstDim for PerGroup<D, G> {
    const SIZE: usize = match Self::STATIC_SIZE {
        Some(s) => s,
        None => unreachable!(),
    };
}

impl<D: Dim, const G: usize> DimExpr for PerGroup<D, G> {}
