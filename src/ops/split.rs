//! Cutting a tensor along an axis into pieces: `split` (by sizes, or into pieces of one
//! size) and `chunk` (into a number of pieces), returning a `Vec` with a run-time axis, and
//! their typed twins `split_static` (a tuple, each piece's size in its type) and
//! `chunk_static` (an array of equal pieces).
//!
//! Each piece is a copy of a contiguous range of the axis; its gradient is added back into
//! that range of the input's, so using several pieces gives the input every one of their
//! gradients.

use crate::autograd::Tape;
use crate::backend::layout;
use crate::backend::reduce::split_axis;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::shape_ops::layout_op;
use crate::shape::{ChunkDim, ConstDim, Dim, HasAxis, ReplaceAxis, Shape};
use crate::tensor::Tensor;

/// Elements `start..start + len` of axis `axis` of `x`, shaped `out`.
fn piece_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: &Tensor<S, E, T>,
    axis: usize,
    start: usize,
    len: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    let (outer, n, inner) = split_axis(&x.shape.dims(), axis);
    debug_assert!(start + len <= n);
    let idx: Vec<usize> = (start..start + len).collect();
    let fwd = idx.clone();
    layout_op(
        x.clone(),
        out,
        move |x| layout::take_axis(x, outer, n, inner, &fwd),
        move |gx, gy| layout::take_axis_backward(gx, gy, outer, n, inner, &idx),
    )
}

/// The build-time check of `split_static`: the piece sizes add up to a static axis.
pub(crate) const fn check_split_total(total: usize, axis_size: Option<usize>, axis: usize) {
    if let Some(n) = axis_size
        && total != n
    {
        crate::shape::const_msg::ConstMsg::new()
            .s("split_static: the piece sizes add up to ")
            .n(total)
            .s(", but axis ")
            .n(axis)
            .s(" has size ")
            .n(n)
            .fail();
    }
}

/// The run-time check of `split_static`, naming the sizes.
pub(crate) fn split_total_fits(sizes: Vec<usize>, n: usize, axis: usize) -> Result<()> {
    if sizes.iter().sum::<usize>() != n {
        return Err(Error::shape(
            "split_static",
            format!("the sizes {sizes:?} do not add up to the size {n} of axis {axis}"),
        ));
    }
    Ok(())
}

/// The build-time check of `chunk_static`: `chunks` >= 1 divides a static axis.
pub(crate) const fn check_chunks(chunks: usize, axis_size: Option<usize>, axis: usize) {
    if chunks == 0 {
        panic!("chunk_static: the number of chunks must be at least 1");
    }
    if let Some(n) = axis_size
        && n % chunks != 0
    {
        crate::shape::const_msg::ConstMsg::new()
            .s("chunk_static: ")
            .n(chunks)
            .s(" equal chunks do not divide axis ")
            .n(axis)
            .s(" of size ")
            .n(n)
            .fail();
    }
}

/// The length of each of `chunks` equal pieces of axis `axis` of `dims`, or the run-time
/// error of `chunk_static` naming them.
pub(crate) fn chunk_len(chunks: usize, dims: &[usize], axis: usize) -> Result<usize> {
    let n = dims[axis];
    if chunks == 0 || !n.is_multiple_of(chunks) {
        return Err(Error::shape(
            "chunk_static",
            format!("{chunks} equal chunks do not divide axis {axis} of size {n} (shape {dims:?})"),
        ));
    }
    Ok(n / chunks)
}

/// How [`split`](Tensor::split) cuts an axis, as `torch.split`'s `split_size_or_sections`:
/// a `usize` gives pieces of that size (the last one smaller when it does not divide the
/// axis), a list of sizes gives one piece per size.
///
/// ```
/// use shaped::ops::split::SplitSizes;
/// assert_eq!(SplitSizes::from(2).sizes(5).unwrap(), vec![2, 2, 1]);
/// assert_eq!(SplitSizes::from([1, 4]).sizes(5).unwrap(), vec![1, 4]);
/// assert!(SplitSizes::from(vec![1, 2]).sizes(5).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitSizes {
    /// Pieces of this size, the last one holding the rest.
    Every(usize),
    /// One piece per size; the sizes must add up to the axis size.
    Sections(Vec<usize>),
}

impl SplitSizes {
    /// The sizes of the pieces of an axis of size `n`, or an error naming the sizes and `n`.
    ///
    /// ```
    /// use shaped::ops::split::SplitSizes;
    /// assert_eq!(SplitSizes::Every(3).sizes(7).unwrap(), vec![3, 3, 1]);
    /// assert!(SplitSizes::Every(0).sizes(7).is_err());
    /// ```
    pub fn sizes(&self, n: usize) -> Result<Vec<usize>> {
        match self {
            SplitSizes::Every(0) if n > 0 => Err(Error::value(
                "split size",
                format!("pieces of size 0 cannot cover an axis of size {n}"),
            )),
            SplitSizes::Every(0) => Ok(vec![0]),
            SplitSizes::Every(size) => {
                let count = n.div_ceil(*size).max(1);
                Ok((0..count)
                    .map(|k| (*size).min(n - (k * size).min(n)))
                    .collect())
            }
            SplitSizes::Sections(sizes) => {
                let total = sizes.iter().try_fold(0usize, |a, &s| a.checked_add(s));
                if total != Some(n) {
                    return Err(Error::shape(
                        "split",
                        format!("the sizes {sizes:?} do not add up to the axis size {n}"),
                    ));
                }
                Ok(sizes.clone())
            }
        }
    }
}

impl From<usize> for SplitSizes {
    fn from(size: usize) -> Self {
        SplitSizes::Every(size)
    }
}
impl From<Vec<usize>> for SplitSizes {
    fn from(sizes: Vec<usize>) -> Self {
        SplitSizes::Sections(sizes)
    }
}
impl From<&Vec<usize>> for SplitSizes {
    fn from(sizes: &Vec<usize>) -> Self {
        SplitSizes::Sections(sizes.clone())
    }
}
impl From<&[usize]> for SplitSizes {
    fn from(sizes: &[usize]) -> Self {
        SplitSizes::Sections(sizes.to_vec())
    }
}
impl<const N: usize> From<[usize; N]> for SplitSizes {
    fn from(sizes: [usize; N]) -> Self {
        SplitSizes::Sections(sizes.to_vec())
    }
}
impl<const N: usize> From<&[usize; N]> for SplitSizes {
    fn from(sizes: &[usize; N]) -> Self {
        SplitSizes::Sections(sizes.to_vec())
    }
}

/// The piece sizes of `torch.chunk(x, chunks)` on an axis of size `n`: pieces of
/// `ceil(n / chunks)`, the last holding the rest, so there may be fewer than `chunks`.
pub(crate) fn chunk_sizes(n: usize, chunks: usize) -> Result<Vec<usize>> {
    if chunks == 0 {
        return Err(Error::value(
            "chunk",
            "the number of chunks must be at least 1",
        ));
    }
    if n == 0 {
        // PyTorch gives `chunks` empty pieces here.
        return Ok(vec![0; chunks]);
    }
    SplitSizes::Every(n.div_ceil(chunks)).sizes(n)
}

/// A tuple of two to six static dimensions: the piece sizes of
/// [`split_static`](Tensor::split_static), each piece's axis in its own type.
///
/// ```
/// use shaped::ops::split::SplitParts;
/// use shaped::prelude::*;
/// let sizes = <(Const<2>, Const<3>) as SplitParts<Rank1<5>, f32, NoTape, 0>>::sizes();
/// assert_eq!(sizes, vec![2, 3]);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a tuple of two to six static piece sizes",
    note = "write the sizes as a tuple of `Const`s, e.g. `(Const<2>, Const<3>)`"
)]
pub trait SplitParts<S: ReplaceAxis<I>, E: Float, T: Tape<E>, const I: usize> {
    /// The pieces: one tensor per size, axis `I` replaced by that size.
    type Output;
    /// The sum of the sizes.
    const TOTAL: usize;
    /// The sizes in order.
    fn sizes() -> Vec<usize>;
    /// Cuts `x`, whose axis `I` has size [`TOTAL`](Self::TOTAL) (checked by the caller).
    fn pieces(x: Tensor<S, E, T>) -> Self::Output;
}

macro_rules! split_parts {
    ($($D:ident),+) => {
        impl<S: ReplaceAxis<I>, E: Float, T: Tape<E>, const I: usize, $($D: ConstDim),+>
            SplitParts<S, E, T, I> for ($($D,)+)
        {
            type Output = ($(Tensor<<S as ReplaceAxis<I>>::Output<$D>, E, T>,)+);
            const TOTAL: usize = 0 $(+ $D::SIZE)+;
            fn sizes() -> Vec<usize> {
                vec![$($D::SIZE),+]
            }
            #[allow(unused_assignments)] // the last piece's end is not needed
            fn pieces(x: Tensor<S, E, T>) -> Self::Output {
                let mut start = 0;
                ($({
                    let piece = piece_op(&x, I, start, $D::SIZE, x.shape.replace_axis($D::default()));
                    start += $D::SIZE;
                    piece
                },)+)
            }
        }
    };
}
split_parts!(A, B);
split_parts!(A, B, C);
split_parts!(A, B, C, D);
split_parts!(A, B, C, D, F);
split_parts!(A, B, C, D, F, G);

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Cuts axis `I` into consecutive pieces (`torch.split(x, split_size_or_sections,
    /// dim=I)`): a `usize` gives pieces of that size (the last one smaller if needed), a list
    /// (`[2, 3]`, `&v`, `vec![..]`) one piece per size. Axis `I` of each piece is a `usize`.
    /// Each piece's gradient flows back into its range of `self`. Panics on sizes that do
    /// not cover the axis (see [`try_split`](Self::try_split)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 5>>::from_array([[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0]]);
    /// let parts = x.clone().split::<1>([2, 3]);
    /// assert_eq!(parts[1].to_vec(), vec![2.0, 3.0, 4.0, 7.0, 8.0, 9.0]);
    /// let rows = x.split::<0>(1);
    /// assert_eq!(rows.len(), 2);
    /// assert_eq!(rows[1].dims().as_slice(), &[1, 5]);
    /// ```
    #[track_caller]
    pub fn split<const I: usize>(
        self,
        sizes: impl Into<SplitSizes>,
    ) -> Vec<Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>>
    where
        S: ReplaceAxis<I>,
    {
        self.try_split::<I>(sizes).or_panic()
    }

    /// [`split`](Self::split), with an error naming the sizes and the axis size when they do
    /// not add up, or when a piece size of 0 is asked for a non-empty axis.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let err = Tensor::<Rank1<5>>::zeros().try_split::<0>([2, 2]).unwrap_err();
    /// assert!(err.to_string().contains("[2, 2]") && err.to_string().contains("5"));
    /// ```
    pub fn try_split<const I: usize>(
        self,
        sizes: impl Into<SplitSizes>,
    ) -> Result<Vec<Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>>>
    where
        S: ReplaceAxis<I>,
    {
        let sizes = sizes.into().sizes(self.shape.dims()[I])?;
        Ok(self.pieces::<I>(&sizes))
    }

    fn pieces<const I: usize>(
        self,
        sizes: &[usize],
    ) -> Vec<Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>>
    where
        S: ReplaceAxis<I>,
    {
        let mut start = 0;
        sizes
            .iter()
            .map(|&len| {
                let piece = piece_op(&self, I, start, len, self.shape.replace_axis(len));
                start += len;
                piece
            })
            .collect()
    }

    /// Cuts axis `I` into `chunks` pieces as `torch.chunk(x, chunks, dim=I)` does: pieces
    /// of `ceil(n / chunks)`, the last holding the rest, so fewer than `chunks` pieces come
    /// back when that size covers the axis sooner. Panics if `chunks` is 0 (see
    /// [`try_chunk`](Self::try_chunk)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank1<5>>::arange(0.0, 1.0);
    /// let sizes: Vec<usize> = x.chunk::<0>(3).iter().map(|c| c.numel()).collect();
    /// assert_eq!(sizes, vec![2, 2, 1]);
    /// ```
    #[track_caller]
    pub fn chunk<const I: usize>(
        self,
        chunks: usize,
    ) -> Vec<Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>>
    where
        S: ReplaceAxis<I>,
    {
        self.try_chunk::<I>(chunks).or_panic()
    }

    /// [`chunk`](Self::chunk), with an error when `chunks` is 0.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert!(Tensor::<Rank1<5>>::zeros().try_chunk::<0>(0).is_err());
    /// ```
    pub fn try_chunk<const I: usize>(
        self,
        chunks: usize,
    ) -> Result<Vec<Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>>>
    where
        S: ReplaceAxis<I>,
    {
        let sizes = chunk_sizes(self.shape.dims()[I], chunks)?;
        Ok(self.pieces::<I>(&sizes))
    }

    /// Cuts axis `I` into pieces whose sizes are in the type, given as a tuple of two to
    /// six `Const`s: returns a tuple of tensors, piece `k` with axis `I` of the `k`-th size.
    /// For a static axis, sizes that do not add up to it fail to build; for a run-time axis
    /// they panic (see [`try_split_static`](Self::try_split_static)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 5>>::from_array([[0.0, 1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0, 9.0]]);
    /// let (a, b): (Tensor<Rank2<2, 2>>, Tensor<Rank2<2, 3>>) =
    ///     x.split_static::<1, (Const<2>, Const<3>)>();
    /// assert_eq!(a.to_vec(), vec![0.0, 1.0, 5.0, 6.0]);
    /// assert_eq!(b.to_vec(), vec![2.0, 3.0, 4.0, 7.0, 8.0, 9.0]);
    /// ```
    #[track_caller]
    pub fn split_static<const I: usize, P: SplitParts<S, E, T, I>>(self) -> P::Output
    where
        S: ReplaceAxis<I>,
    {
        const { check_split_total(P::TOTAL, <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE, I) }
        self.try_split_static::<I, P>().or_panic()
    }

    /// [`split_static`](Self::split_static), with an error naming the sizes when a run-time
    /// axis does not have their total size.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((4,));
    /// assert!(x.try_split_static::<0, (Const<2>, Const<3>)>().is_err());
    /// ```
    pub fn try_split_static<const I: usize, P: SplitParts<S, E, T, I>>(self) -> Result<P::Output>
    where
        S: ReplaceAxis<I>,
    {
        split_total_fits(P::sizes(), self.shape.dims()[I], I)?;
        Ok(P::pieces(self))
    }

    /// Cuts axis `I` into `N` equal pieces, returned as an array (the typed
    /// `torch.chunk(x, N, dim=I)` when `N` divides the axis). A static axis becomes
    /// [`Quot<D, N>`](crate::shape::Quot) (`realize` gives a `Const`), a `usize` axis stays
    /// `usize`. For a static axis, `N` that does not divide it fails to build; for a run-time
    /// axis it panics (see [`try_chunk_static`](Self::try_chunk_static)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 6>>::ones();
    /// let [a, b, c] = x.chunk_static::<1, 3>();
    /// let a: Tensor<Rank2<2, 2>> = a.realize();
    /// assert_eq!(c.dims().as_slice(), &[2, 2]);
    /// ```
    #[track_caller]
    pub fn chunk_static<const I: usize, const N: usize>(
        self,
    ) -> [Tensor<
        <S as ReplaceAxis<I>>::Output<<<S as HasAxis<I>>::Dim as ChunkDim<N>>::Output>,
        E,
        T,
    >; N]
    where
        S: ReplaceAxis<I>,
        <S as HasAxis<I>>::Dim: ChunkDim<N>,
    {
        const { check_chunks(N, <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE, I) }
        self.try_chunk_static::<I, N>().or_panic()
    }

    /// [`chunk_static`](Self::chunk_static), with an error naming `N` and the shape when `N`
    /// is 0 or does not divide a run-time axis.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((5,));
    /// assert!(x.try_chunk_static::<0, 2>().is_err());
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn try_chunk_static<const I: usize, const N: usize>(
        self,
    ) -> Result<
        [Tensor<
            <S as ReplaceAxis<I>>::Output<<<S as HasAxis<I>>::Dim as ChunkDim<N>>::Output>,
            E,
            T,
        >; N],
    >
    where
        S: ReplaceAxis<I>,
        <S as HasAxis<I>>::Dim: ChunkDim<N>,
    {
        let len = chunk_len(N, &self.shape.dims(), I)?;
        let out = self.shape.replace_axis(self.shape.axis_dim().chunk());
        Ok(core::array::from_fn(|k| {
            piece_op(&self, I, k * len, len, out)
        }))
    }
}
