//! Shapes: tuples of dimensions, rank 0 to 6.

use super::dim::{Const, ConstDim, Dim};
use super::target::LossTarget;
use core::fmt;

/// The largest rank a shape may have.
pub const MAX_RANK: usize = 6;

/// The run-time sizes of a shape, stored inline (no allocation).
///
/// ```
/// use shaped::shape::{Rank2, Shape};
/// let dims = <Rank2<3, 4>>::default().dims();
/// assert_eq!(&dims[..], &[3, 4]);
/// assert_eq!(dims.numel(), 12);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Dims {
    len: u8,
    sizes: [usize; MAX_RANK],
}

impl Dims {
    /// Dims from a slice of at most [`MAX_RANK`] sizes, or `None` when it is longer.
    pub fn new(sizes: &[usize]) -> Option<Self> {
        if sizes.len() > MAX_RANK {
            return None;
        }
        let mut out = Dims {
            len: sizes.len() as u8,
            sizes: [0; MAX_RANK],
        };
        out.sizes[..sizes.len()].copy_from_slice(sizes);
        Some(out)
    }
    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.len as usize
    }
    /// The number of elements (1 for rank 0).
    ///
    /// Panics when the shape is too large to exist (see [`checked_numel`](Self::checked_numel)).
    pub fn numel(&self) -> usize {
        match self.checked_numel() {
            Some(n) => n,
            None => panic!("{}", self.too_large("shape")),
        }
    }
    /// The number of elements, or `None` when the shape is too large to exist: when the
    /// product of its nonzero sizes exceeds `isize::MAX`. Zero sizes are left out of the
    /// product so that every partial product a kernel forms (row lengths, strides, outer
    /// and inner extents) fits in a `usize` as well, even for an empty tensor.
    ///
    /// ```
    /// use shaped::shape::Dims;
    /// assert_eq!(Dims::new(&[3, 4]).unwrap().checked_numel(), Some(12));
    /// assert_eq!(Dims::new(&[0, 5]).unwrap().checked_numel(), Some(0));
    /// assert_eq!(Dims::new(&[1 << 32, 1 << 32]).unwrap().checked_numel(), None);
    /// assert_eq!(Dims::new(&[0, 3, usize::MAX / 2]).unwrap().checked_numel(), None);
    /// ```
    pub fn checked_numel(&self) -> Option<usize> {
        let mut product: usize = 1;
        let mut empty = false;
        for &d in self.as_slice() {
            if d == 0 {
                empty = true;
            } else {
                product = product.checked_mul(d)?;
            }
        }
        if product > isize::MAX as usize {
            return None;
        }
        Some(if empty { 0 } else { product })
    }
    /// The number of elements, or an error naming `op` and the sizes when the shape is too
    /// large to exist (see [`checked_numel`](Self::checked_numel)).
    ///
    /// ```
    /// use shaped::shape::Dims;
    /// let err = Dims::new(&[3, usize::MAX / 3]).unwrap().try_numel("matmul").unwrap_err();
    /// assert!(err.to_string().contains("matmul"));
    /// ```
    pub fn try_numel(&self, op: &'static str) -> crate::error::Result<usize> {
        self.checked_numel().ok_or_else(|| self.too_large(op))
    }
    fn too_large(&self, op: &'static str) -> crate::error::Error {
        crate::error::Error::shape(
            op,
            format!(
                "shape {:?} is too large: the product of its sizes does not fit in isize::MAX ({})",
                self.as_slice(),
                isize::MAX
            ),
        )
    }
    /// The sizes as a slice.
    pub fn as_slice(&self) -> &[usize] {
        &self.sizes[..self.len as usize]
    }
    /// Row-major strides (in elements) of a contiguous tensor with these dims.
    pub fn strides(&self) -> Dims {
        let mut out = *self;
        let mut acc = 1;
        for i in (0..self.rank()).rev() {
            out.sizes[i] = acc;
            // Wrapping: only the last product can exceed a valid shape's element count,
            // and it is never used.
            acc = acc.wrapping_mul(self.sizes[i]);
        }
        out
    }
    /// These dims with `axis` removed.
    pub fn remove(&self, axis: usize) -> Dims {
        let mut v = [0; MAX_RANK];
        let mut n = 0;
        for (i, &d) in self.as_slice().iter().enumerate() {
            if i != axis {
                v[n] = d;
                n += 1;
            }
        }
        Dims {
            len: n as u8,
            sizes: v,
        }
    }
    /// These dims with `size` inserted before position `axis`.
    pub fn insert(&self, axis: usize, size: usize) -> Dims {
        assert!(axis <= self.rank() && self.rank() < MAX_RANK);
        let mut out = *self;
        out.sizes.copy_within(axis..self.rank(), axis + 1);
        out.sizes[axis] = size;
        out.len += 1;
        out
    }
    /// These dims with the size at `axis` replaced.
    pub fn with(&self, axis: usize, size: usize) -> Dims {
        let mut out = *self;
        out.sizes[axis] = size;
        out
    }
}

impl core::ops::Deref for Dims {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        self.as_slice()
    }
}

impl fmt::Debug for Dims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_slice())
    }
}

/// A tensor shape: a tuple of [`Dim`]s such as `(Const<3>, usize)`.
///
/// ```
/// use shaped::shape::{Const, Shape};
/// let s = (Const::<2>, 5usize);
/// assert_eq!(s.dims().as_slice(), &[2, 5]);
/// assert_eq!(s.numel(), 10);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tensor shape",
    note = "shapes are tuples of 0 to 6 dimensions such as `(Const<3>, usize)`"
)]
pub trait Shape: Copy + fmt::Debug + Send + Sync + 'static + LossTarget<Self> {
    /// The number of dimensions.
    const RANK: usize;
    /// The run-time sizes.
    fn dims(&self) -> Dims;
    /// The number of elements.
    fn numel(&self) -> usize {
        self.dims().numel()
    }
    /// The number of elements, or an error naming `op` and the sizes when the shape is too
    /// large to exist ([`Dims::checked_numel`]).
    fn try_numel(&self, op: &'static str) -> crate::error::Result<usize> {
        self.dims().try_numel(op)
    }
    /// Builds the shape from run-time sizes, or `None` when the rank or a static size differs.
    fn from_dims(dims: &[usize]) -> Option<Self>;
    /// The sizes the type fixes, `None` for a run-time dimension (padded with `None` to
    /// [`MAX_RANK`]).
    const STATIC_SIZES: [Option<usize>; MAX_RANK] = [None; MAX_RANK];
    /// The shape type in sizes, for error messages: `[_, 3]` for `(usize, Const<3>)`,
    /// `_` standing for any run-time size.
    ///
    /// ```
    /// use shaped::shape::{Const, Shape};
    /// assert_eq!(<(usize, Const<3>)>::describe(), "[_, 3]");
    /// ```
    fn describe() -> String {
        if Self::RANK > MAX_RANK {
            return "a shape of any rank".to_string();
        }
        let sizes: Vec<String> = Self::STATIC_SIZES[..Self::RANK]
            .iter()
            .map(|s| s.map_or_else(|| "_".to_string(), |n| n.to_string()))
            .collect();
        format!("[{}]", sizes.join(", "))
    }
}

/// A shape whose every dimension is known at compile time.
///
/// ```
/// use shaped::shape::{ConstShape, Rank3};
/// assert_eq!(<Rank3<2, 3, 4> as ConstShape>::NUMEL, 24);
/// ```
pub trait ConstShape: Shape + Default {
    /// The number of elements, usable in constant expressions.
    const NUMEL: usize;
    /// The sizes, padded with zeros to [`MAX_RANK`].
    const SIZES: [usize; MAX_RANK];
}

macro_rules! impl_shape {
    ($rank:literal; $($D:ident $i:tt),*) => {
        impl<$($D: Dim),*> Shape for ($($D,)*) {
            const RANK: usize = $rank;
            #[allow(unused_mut)]
            const STATIC_SIZES: [Option<usize>; MAX_RANK] = {
                let mut s = [None; MAX_RANK];
                $(s[$i] = $D::STATIC_SIZE;)*
                s
            };
            #[inline]
            #[allow(unused_mut)]
            fn dims(&self) -> Dims {
                let mut sizes = [0; MAX_RANK];
                $(sizes[$i] = self.$i.size();)*
                Dims { len: $rank, sizes }
            }
            #[allow(unused_variables)]
            fn from_dims(dims: &[usize]) -> Option<Self> {
                if dims.len() != $rank {
                    return None;
                }
                Some(($($D::from_size(dims[$i])?,)*))
            }
        }
        impl<$($D: ConstDim),*> ConstShape for ($($D,)*) {
            const NUMEL: usize = 1 $(* $D::SIZE)*;
            #[allow(unused_mut)]
            const SIZES: [usize; MAX_RANK] = {
                let mut s = [0; MAX_RANK];
                $(s[$i] = $D::SIZE;)*
                s
            };
        }
    };
}

impl_shape!(0;);
impl_shape!(1; A 0);
impl_shape!(2; A 0, B 1);
impl_shape!(3; A 0, B 1, C 2);
impl_shape!(4; A 0, B 1, C 2, D 3);
impl_shape!(5; A 0, B 1, C 2, D 3, E 4);
impl_shape!(6; A 0, B 1, C 2, D 3, E 4, F 5);

/// A scalar shape.
pub type Rank0 = ();
/// A static vector shape `(M)`.
pub type Rank1<const M: usize> = (Const<M>,);
/// A static matrix shape `(M, N)`.
pub type Rank2<const M: usize, const N: usize> = (Const<M>, Const<N>);
/// A static rank-3 shape.
pub type Rank3<const M: usize, const N: usize, const O: usize> = (Const<M>, Const<N>, Const<O>);
/// A static rank-4 shape, e.g. `(batch, channels, height, width)`.
pub type Rank4<const M: usize, const N: usize, const O: usize, const P: usize> =
    (Const<M>, Const<N>, Const<O>, Const<P>);
/// A static rank-5 shape.
pub type Rank5<const M: usize, const N: usize, const O: usize, const P: usize, const Q: usize> =
    (Const<M>, Const<N>, Const<O>, Const<P>, Const<Q>);
/// A static rank-6 shape.
pub type Rank6<
    const M: usize,
    const N: usize,
    const O: usize,
    const P: usize,
    const Q: usize,
    const R: usize,
> = (Const<M>, Const<N>, Const<O>, Const<P>, Const<Q>, Const<R>);

/// A shape whose rank is only known at run time: the shape of an untyped tensor, such as one
/// read from a file before it is checked against a typed shape.
///
/// ```
/// use shaped::shape::{DynShape, Shape};
/// let s = DynShape::new(&[2, 3]).unwrap();
/// assert_eq!(s.numel(), 6);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DynShape(pub Dims);

impl DynShape {
    /// A dynamic shape from sizes, `None` above rank 6.
    pub fn new(sizes: &[usize]) -> Option<Self> {
        Dims::new(sizes).map(DynShape)
    }
}

impl fmt::Debug for DynShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl Shape for DynShape {
    /// Unknown at compile time; [`Dims::rank`] gives the real rank.
    const RANK: usize = usize::MAX;
    fn dims(&self) -> Dims {
        self.0
    }
    fn from_dims(dims: &[usize]) -> Option<Self> {
        DynShape::new(dims)
    }
}

/// Shapes with exactly one element and rank 0: what `backward()` needs.
#[diagnostic::on_unimplemented(
    message = "backward() needs a scalar (rank-0) loss, but this tensor has shape `{Self}`",
    label = "not a scalar",
    note = "reduce the tensor first, e.g. with `.sum()` or `.mean()`"
)]
pub trait ScalarShape: Shape {}
impl ScalarShape for () {}
