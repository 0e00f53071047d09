//! Named run-time dimensions: `Dyn<Batch>`, `Dyn<Seq>`, or `Dyn<YourTag>`.
//!
//! A `usize` dimension is checked only at run time, and two of them never differ in type, so
//! a `(T, B, I)` tensor fed where `(B, T, I)` is expected builds. A [`Dyn<Tag>`] is a run-time
//! size with a name in its type: two dimensions with the same tag are the same dimension
//! (their sizes are compared at run time, like `usize`), while two different tags, or a tag
//! and a `Const<N>`, are a compile error naming both (`Dyn<Seq>` must equal `Dyn<Batch>`).
//! A plain `usize` meets a named dimension and takes its name, so code written with `usize`
//! keeps building. Conversions are explicit: [`Dyn::rename`] and
//! [`Tensor::rename`](crate::tensor::Tensor::rename) change names (no check: a name is only
//! a type), [`Tensor::try_realize`](crate::tensor::Tensor::try_realize) turns a named size
//! into a static one with a run-time check returning `Err`.
//!
//! The tag is a zero-sized type and `Dyn<Tag>` is `#[repr(transparent)]` over its `usize`,
//! so a named dimension costs exactly what a `usize` dimension costs at run time.

use super::broadcast::{DimBroadcast, DimUnify};
use super::chunk::ChunkDim;
use super::dim::{Const, Dim, DimExpr};
use super::pad::PadDim;
use crate::error::{Error, Result};
use core::fmt::{self, Debug};
use core::marker::PhantomData;

/// The name of a run-time dimension ([`Dyn<Tag>`]): a zero-sized marker type. Declare your own
/// with [`dim_tag!`](crate::dim_tag).
///
/// ```
/// use shaped::shape::{Batch, DimTag};
/// assert_eq!(Batch::NAME, "Batch");
/// ```
pub trait DimTag: Copy + Default + Debug + Send + Sync + 'static {
    /// The name shown in run-time messages.
    const NAME: &'static str;
}

/// Declares dimension tags for [`Dyn`]: `shaped::dim_tag!(pub Heads);` or several at once
/// (`dim_tag!(pub Frames, pub Tokens);`), each a zero-sized marker type.
///
/// ```
/// use shaped::shape::{Dim, Dyn};
/// shaped::dim_tag!(pub Frames);
/// let d = Dyn::<Frames>::new(25);
/// assert_eq!(d.size(), 25);
/// assert_eq!(format!("{d:?}"), "Frames=25");
/// ```
#[macro_export]
macro_rules! dim_tag {
    ($($(#[$m:meta])* $vis:vis $name:ident),+ $(,)?) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        $vis struct $name;
        impl $crate::shape::DimTag for $name {
            const NAME: &'static str = stringify!($name);
        }
    )+};
}

dim_tag!(
    /// The batch dimension (`N` in PyTorch's docs); what a named
    /// [`DataLoader`](crate::data::DataLoader) batch is indexed by.
    pub Batch,
    /// A sequence (time) dimension: the `T` of an RNN's input, the `L` of self-attention.
    pub Seq,
    /// The source (key/value) sequence of attention (`S` in PyTorch's docs).
    pub Src,
    /// The target (query) sequence of attention (`L` in PyTorch's docs).
    pub Tgt,
);

/// A run-time dimension named by `Tag`: sizes known only when the program runs, names
/// checked by the compiler.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::shape::{Batch, Seq};
/// let x = Tensor::<(Dyn<Batch>, Dyn<Seq>)>::zeros_with_shape((Dyn::new(2), Dyn::new(5)));
/// let col_sums = x.clone().sum_dim::<0>(); // (Dyn<Seq>,)
/// let y = x + col_sums.unsqueeze::<0>(); // (1, Seq) broadcast against (Batch, Seq)
/// assert_eq!(y.dims().as_slice(), &[2, 5]);
/// ```
///
/// Two different names do not meet: `(Dyn<Batch>, Dyn<Seq>)` plus `(Dyn<Seq>, Const<1>)` is a
/// compile error, ``dimensions `Dyn<Batch>` and `Dyn<Seq>` do not broadcast``.
#[repr(transparent)]
pub struct Dyn<Tag: DimTag>(usize, PhantomData<Tag>);

impl<Tag: DimTag> Dyn<Tag> {
    /// A dimension of `size` named `Tag`.
    #[inline(always)]
    pub const fn new(size: usize) -> Self {
        Dyn(size, PhantomData)
    }

    /// The same size under another name: the explicit conversion where one dimension
    /// becomes another (a sequence read as a batch, a target length used as a source length).
    ///
    /// ```
    /// use shaped::shape::{Batch, Dim, Dyn, Seq};
    /// let s: Dyn<Seq> = Dyn::<Batch>::new(4).rename();
    /// assert_eq!(s.size(), 4);
    /// ```
    #[inline(always)]
    pub const fn rename<Tag2: DimTag>(self) -> Dyn<Tag2> {
        Dyn(self.0, PhantomData)
    }
}

impl<Tag: DimTag> Clone for Dyn<Tag> {
    #[inline(always)]
    fn clone(&self) -> Self {
        *self
    }
}
impl<Tag: DimTag> Copy for Dyn<Tag> {}
impl<Tag: DimTag> PartialEq for Dyn<Tag> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<Tag: DimTag> Eq for Dyn<Tag> {}
impl<Tag: DimTag> core::hash::Hash for Dyn<Tag> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl<Tag: DimTag> Debug for Dyn<Tag> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", Tag::NAME, self.0)
    }
}

impl<Tag: DimTag> From<Dyn<Tag>> for usize {
    fn from(d: Dyn<Tag>) -> usize {
        d.0
    }
}

impl<Tag: DimTag> Dim for Dyn<Tag> {
    const STATIC_SIZE: Option<usize> = None;
    #[inline(always)]
    fn size(&self) -> usize {
        self.0
    }
    fn from_size(size: usize) -> Option<Self> {
        Some(Dyn::new(size))
    }
}

fn named_mismatch<Tag: DimTag>(a: usize, b: usize) -> Error {
    Error::shape(
        "dimension check",
        format!(
            "dimension {} has size {a} on one side and {b} on the other",
            Tag::NAME
        ),
    )
}

#[inline]
fn same_size<Tag: DimTag>(a: usize, b: usize) -> Result<Dyn<Tag>> {
    if a == b {
        Ok(Dyn::new(a))
    } else {
        Err(named_mismatch::<Tag>(a, b))
    }
}

#[inline]
fn broadcast_size<Tag: DimTag>(a: usize, b: usize) -> Result<Dyn<Tag>> {
    if a == b || b == 1 {
        Ok(Dyn::new(a))
    } else if a == 1 {
        Ok(Dyn::new(b))
    } else {
        Err(Error::shape(
            "broadcast",
            format!(
                "dimension {} has sizes {a} and {b}, which do not broadcast (they differ and neither is 1)",
                Tag::NAME
            ),
        ))
    }
}

/// Where a computed dimension `kept` names the result of a broadcast with a named one.
fn broadcast_into_expr(kept: usize, other: usize) -> Result<()> {
    if kept == other || other == 1 {
        Ok(())
    } else {
        Err(Error::shape(
            "broadcast",
            format!(
                "a computed dimension of size {kept} and a named dimension of size {other} do not broadcast"
            ),
        ))
    }
}

// Equality. Same tag: the same dimension, sizes compared at run time (as two `usize`s are).
// A `usize` takes the tag. A computed dimension keeps its own type (it may be static), as it
// does against a `usize`. No impl against `Const<N>` or another tag: a compile error naming
// both.
impl<Tag: DimTag> DimUnify<Dyn<Tag>> for Dyn<Tag> {
    type Unified = Dyn<Tag>;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn unify(self, rhs: Dyn<Tag>) -> Result<Dyn<Tag>> {
        same_size(self.0, rhs.0)
    }
}
impl<Tag: DimTag> DimUnify<usize> for Dyn<Tag> {
    type Unified = Dyn<Tag>;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn unify(self, rhs: usize) -> Result<Dyn<Tag>> {
        same_size(self.0, rhs)
    }
}
impl<Tag: DimTag> DimUnify<Dyn<Tag>> for usize {
    type Unified = Dyn<Tag>;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn unify(self, rhs: Dyn<Tag>) -> Result<Dyn<Tag>> {
        same_size(self, rhs.0)
    }
}
impl<Tag: DimTag, E: DimExpr> DimUnify<E> for Dyn<Tag> {
    type Unified = E;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    fn unify(self, rhs: E) -> Result<E> {
        same_size::<Tag>(self.0, rhs.size()).map(|_| rhs)
    }
}
impl<Tag: DimTag, E: DimExpr> DimUnify<Dyn<Tag>> for E {
    type Unified = E;
    const UNIFY_MISMATCH: Option<(usize, usize)> = None;
    fn unify(self, rhs: Dyn<Tag>) -> Result<E> {
        same_size::<Tag>(self.size(), rhs.0).map(|_| self)
    }
}

// Broadcasting: the same rules, plus `Const<1>` stretching to a named size.
impl<Tag: DimTag> DimBroadcast<Dyn<Tag>> for Dyn<Tag> {
    type Broadcast = Dyn<Tag>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn broadcast(self, rhs: Dyn<Tag>) -> Result<Dyn<Tag>> {
        broadcast_size(self.0, rhs.0)
    }
}
impl<Tag: DimTag> DimBroadcast<usize> for Dyn<Tag> {
    type Broadcast = Dyn<Tag>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn broadcast(self, rhs: usize) -> Result<Dyn<Tag>> {
        broadcast_size(self.0, rhs)
    }
}
impl<Tag: DimTag> DimBroadcast<Dyn<Tag>> for usize {
    type Broadcast = Dyn<Tag>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline]
    fn broadcast(self, rhs: Dyn<Tag>) -> Result<Dyn<Tag>> {
        broadcast_size(self, rhs.0)
    }
}
impl<Tag: DimTag> DimBroadcast<Const<1>> for Dyn<Tag> {
    type Broadcast = Dyn<Tag>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline(always)]
    fn broadcast(self, _: Const<1>) -> Result<Dyn<Tag>> {
        Ok(self)
    }
}
impl<Tag: DimTag> DimBroadcast<Dyn<Tag>> for Const<1> {
    type Broadcast = Dyn<Tag>;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    #[inline(always)]
    fn broadcast(self, rhs: Dyn<Tag>) -> Result<Dyn<Tag>> {
        Ok(rhs)
    }
}
impl<Tag: DimTag, E: DimExpr> DimBroadcast<E> for Dyn<Tag> {
    type Broadcast = E;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    fn broadcast(self, rhs: E) -> Result<E> {
        broadcast_into_expr(rhs.size(), self.0).map(|_| rhs)
    }
}
impl<Tag: DimTag, E: DimExpr> DimBroadcast<Dyn<Tag>> for E {
    type Broadcast = E;
    const BROADCAST_MISMATCH: Option<(usize, usize)> = None;
    fn broadcast(self, rhs: Dyn<Tag>) -> Result<E> {
        broadcast_into_expr(self.size(), rhs.0).map(|_| self)
    }
}

// Chunks and padding of a named dimension are new, anonymous sizes.
impl<Tag: DimTag, const N: usize> ChunkDim<N> for Dyn<Tag> {
    type Output = usize;
    #[inline]
    fn chunk(self) -> usize {
        self.0 / N
    }
}
impl<Tag: DimTag, const L: usize, const R: usize> PadDim<L, R> for Dyn<Tag> {
    type Output = usize;
    #[inline]
    fn pad(self) -> usize {
        self.0 + L + R
    }
}

/// A dimension that can be read under another name without a check: a run-time size
/// (`usize` or any [`Dyn`]) as any other run-time size, and every other dimension as itself.
/// [`Tensor::rename`](crate::tensor::Tensor::rename) uses it axis by axis.
///
/// ```
/// use shaped::shape::{Batch, Dim, Dyn, RenameDim, Seq};
/// let b: Dyn<Batch> = 8usize.rename_dim();
/// let s: Dyn<Seq> = b.rename_dim();
/// let n: usize = s.rename_dim();
/// assert_eq!((b.size(), s.size(), n), (8, 8, 8));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be renamed to `{Rhs}`",
    label = "only run-time dimensions (`usize`, `Dyn<Tag>`) change names",
    note = "a static or computed size meets a name through `try_realize`, which checks the size at run time"
)]
pub trait RenameDim<Rhs: Dim>: Dim {
    /// The same size as `Rhs`.
    fn rename_dim(self) -> Rhs;
}
impl<A: DimTag, B: DimTag> RenameDim<Dyn<B>> for Dyn<A> {
    #[inline(always)]
    fn rename_dim(self) -> Dyn<B> {
        self.rename()
    }
}
impl<A: DimTag> RenameDim<usize> for Dyn<A> {
    #[inline(always)]
    fn rename_dim(self) -> usize {
        self.0
    }
}
impl<B: DimTag> RenameDim<Dyn<B>> for usize {
    #[inline(always)]
    fn rename_dim(self) -> Dyn<B> {
        Dyn::new(self)
    }
}
impl RenameDim<usize> for usize {
    #[inline(always)]
    fn rename_dim(self) -> usize {
        self
    }
}
impl<const N: usize> RenameDim<Const<N>> for Const<N> {
    #[inline(always)]
    fn rename_dim(self) -> Const<N> {
        self
    }
}
impl<E: DimExpr> RenameDim<E> for E {
    #[inline(always)]
    fn rename_dim(self) -> E {
        self
    }
}

/// Two shapes of the same rank whose dimensions pairwise [`RenameDim`]: the names may change,
/// the sizes and static dimensions do not.
///
/// ```
/// use shaped::shape::{Batch, Const, Dyn, RenameShape, Seq, Shape};
/// let s: (Dyn<Seq>, Dyn<Batch>, Const<3>) = (4usize, 2usize, Const::<3>).rename_shape();
/// assert_eq!(s.dims().as_slice(), &[4, 2, 3]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be renamed to `{Rhs}`",
    label = "the ranks differ, or a static dimension would change",
    note = "rename changes only the names of run-time dimensions (`usize`, `Dyn<Tag>`)"
)]
pub trait RenameShape<Rhs>: super::Shape {
    /// The same sizes under `Rhs`'s names.
    fn rename_shape(self) -> Rhs;
}

macro_rules! rename_shape {
    ($($A:ident $B:ident $i:tt),*) => {
        impl<$($A: RenameDim<$B>, $B: Dim),*> RenameShape<($($B,)*)> for ($($A,)*) {
            #[allow(clippy::unused_unit)]
            #[inline(always)]
            fn rename_shape(self) -> ($($B,)*) {
                ($(self.$i.rename_dim(),)*)
            }
        }
    };
}

rename_shape!();
rename_shape!(A0 B0 0);
rename_shape!(A0 B0 0, A1 B1 1);
rename_shape!(A0 B0 0, A1 B1 1, A2 B2 2);
rename_shape!(A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3);
rename_shape!(A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3, A4 B4 4);
rename_shape!(A0 B0 0, A1 B1 1, A2 B2 2, A3 B3 3, A4 B4 4, A5 B5 5);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{BroadcastDim, DimEq, Shape};

    #[test]
    fn same_tag_sizes_are_checked_at_run_time() {
        let a = Dyn::<Batch>::new(3);
        assert_eq!(a.dim_eq(Dyn::new(3)).unwrap().size(), 3);
        let err = a.dim_eq(Dyn::new(4)).unwrap_err().to_string();
        assert!(
            err.contains("dimension Batch has size 3 on one side and 4"),
            "{err}"
        );
        let b: Dyn<Batch> = 3usize.dim_eq(a).unwrap();
        assert_eq!(b.size(), 3);
        assert!(5usize.dim_eq(a).is_err());
    }

    #[test]
    fn broadcasting_keeps_the_name() {
        let a = Dyn::<Seq>::new(7);
        let b: Dyn<Seq> = Const::<1>.broadcast_dim(a).unwrap();
        assert_eq!(b.size(), 7);
        let c: Dyn<Seq> = a.broadcast_dim(1usize).unwrap();
        assert_eq!(c.size(), 7);
        let d: Dyn<Seq> = Dyn::<Seq>::new(1).broadcast_dim(a).unwrap();
        assert_eq!(d.size(), 7);
        let err = a.broadcast_dim(Dyn::new(3)).unwrap_err().to_string();
        assert!(err.contains("dimension Seq has sizes 7 and 3"), "{err}");
    }

    #[test]
    fn rename_and_realize() {
        let s: (Dyn<Seq>, Dyn<Batch>, Const<4>) =
            (Dyn::<Batch>::new(2), 5usize, Const::<4>).rename_shape();
        assert_eq!(s.dims().as_slice(), &[2, 5, 4]);
        assert_eq!(format!("{s:?}"), "(Seq=2, Batch=5, Const<4>)");
        assert_eq!(<(Dyn<Seq>, Const<4>)>::describe(), "[_, 4]");
        assert!(<(Dyn<Seq>,)>::from_dims(&[9]).is_some());
    }
}
