//! Ops that pick elements along an axis: `narrow`, `slice_step`, `select`, `index_select`
//! and `gather`. Each copies the picked elements; the gradient is added back to the places
//! they came from, so an index used twice receives both gradients.
//!
//! `index_select` and `gather` take their axis as a const generic and the index shape as a
//! type to infer, written `_` in the turbofish: `x.index_select::<1, _>(&idx)`.

use super::shape_ops::layout_op;
use crate::autograd::Tape;
use crate::backend::layout;
use crate::backend::reduce::split_axis;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::{Const, Dim, HasAxis, ReplaceAxis, SameRank, Shape};
use crate::tensor::{Indices, Tensor};

/// Picks positions `idx` along `axis` into `out`; every index must be below the axis size.
fn take_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
    idx: Vec<usize>,
) -> Tensor<SO, E, T> {
    let (outer, n, inner) = split_axis(&x.shape.dims(), axis);
    debug_assert!(idx.iter().all(|&i| i < n));
    let fwd_idx = idx.clone();
    layout_op(
        x,
        out,
        move |x| layout::take_axis(x, outer, n, inner, &fwd_idx),
        move |gx, gy| layout::take_axis_backward(gx, gy, outer, n, inner, &idx),
    )
}

/// The position of the first index of `idx` out of range for an axis of `n`, if any (the
/// check behind `gather`, `index_select` and embedding lookups).
pub(crate) fn first_out_of_range(idx: &[usize], n: usize) -> Option<usize> {
    layout::first_at_or_above(idx, n)
}

fn range_error(op: &'static str, dims: &[usize], axis: usize, what: String) -> Error {
    Error::shape(
        op,
        format!(
            "{what} is out of range for axis {axis} of size {} (shape {dims:?})",
            dims[axis]
        ),
    )
}

/// The positions `start, start + step, ...` below `end`, with Python's clamping of `start`
/// and `end` to the axis size `n`.
fn slice_positions(start: usize, end: usize, step: usize, n: usize) -> Vec<usize> {
    let (start, end) = (start.min(n), end.min(n));
    (start..end).step_by(step).collect()
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// `LEN` consecutive elements along axis `I` from `START` (`x.narrow(I, START, LEN)`),
    /// with the length in the type. For a static axis, `START + LEN` past its end fails
    /// to build; for a run-time axis it panics ([`try_narrow`](Self::try_narrow) returns an
    /// `Err` instead). [`narrow_dyn`](Self::narrow_dyn) takes the range at run time.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 4>>::from_array([[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]);
    /// let y: Tensor<Rank2<2, 2>> = x.narrow::<1, 1, 2>();
    /// assert_eq!(y.to_vec(), vec![1.0, 2.0, 5.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn narrow<const I: usize, const START: usize, const LEN: usize>(
        self,
    ) -> Tensor<<S as ReplaceAxis<I>>::Output<Const<LEN>>, E, T>
    where
        S: ReplaceAxis<I>,
    {
        self.try_narrow::<I, START, LEN>().or_panic()
    }

    /// [`narrow`](Self::narrow), with an error naming the shape where a run-time axis is
    /// shorter than `START + LEN` (a static one fails to build, as in `narrow`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 4));
    /// let y: Tensor<(usize, Const<3>)> = x.clone().try_narrow::<1, 1, 3>().unwrap();
    /// assert_eq!(y.dims().as_slice(), &[2, 3]);
    /// assert!(x.try_narrow::<1, 2, 3>().is_err());
    /// ```
    pub fn try_narrow<const I: usize, const START: usize, const LEN: usize>(
        self,
    ) -> Result<Tensor<<S as ReplaceAxis<I>>::Output<Const<LEN>>, E, T>>
    where
        S: ReplaceAxis<I>,
    {
        const {
            assert!(
                match <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE {
                    Some(n) => START + LEN <= n,
                    None => true,
                },
                "narrow: START + LEN is past the end of the axis"
            )
        };
        let out = self.shape.replace_axis(Const::<LEN>);
        self.narrow_into(I, START, LEN, out)
    }

    /// `len` consecutive elements along axis `I` from `start`, sized at run time; panics
    /// when they run past the end of the axis ([`try_narrow_dyn`](Self::try_narrow_dyn)
    /// returns an `Err` instead).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 4>>::zeros();
    /// let y = x.narrow_dyn::<1>(1, 3);
    /// assert_eq!(y.dims().as_slice(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn narrow_dyn<const I: usize>(
        self,
        start: usize,
        len: usize,
    ) -> Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>
    where
        S: ReplaceAxis<I>,
    {
        self.try_narrow_dyn::<I>(start, len).or_panic()
    }

    /// [`narrow_dyn`](Self::narrow_dyn), with an error naming the shape when the range runs
    /// past the end of the axis.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 4>>::zeros();
    /// let y = x.clone().try_narrow_dyn::<1>(1, 3).unwrap();
    /// assert_eq!(y.dims().as_slice(), &[2, 3]);
    /// assert!(x.try_narrow_dyn::<1>(2, 3).is_err());
    /// ```
    pub fn try_narrow_dyn<const I: usize>(
        self,
        start: usize,
        len: usize,
    ) -> Result<Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>>
    where
        S: ReplaceAxis<I>,
    {
        let out = self.shape.replace_axis(len);
        self.narrow_into(I, start, len, out)
    }

    fn narrow_into<SO: Shape>(
        self,
        axis: usize,
        start: usize,
        len: usize,
        out: SO,
    ) -> Result<Tensor<SO, E, T>> {
        let dims = self.shape.dims();
        if start.checked_add(len).is_none_or(|end| end > dims[axis]) {
            return Err(range_error(
                "narrow",
                &dims,
                axis,
                format!("the range {start}..{start}+{len}"),
            ));
        }
        Ok(take_op(self, axis, out, (start..start + len).collect()))
    }

    /// Every `step`-th element along axis `I` from `start` up to (not including) `end`, like
    /// Python's `x[:, start:end:step]` for `I = 1`; as in Python, `start` and `end` are clamped
    /// to the axis size. Panics if `step` is 0 (see [`try_slice_step`](Self::try_slice_step)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank1<7>>::arange(0.0, 1.0);
    /// assert_eq!(x.slice_step::<0>(1, 6, 2).to_vec(), vec![1.0, 3.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn slice_step<const I: usize>(
        self,
        start: usize,
        end: usize,
        step: usize,
    ) -> Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>
    where
        S: ReplaceAxis<I>,
    {
        self.try_slice_step::<I>(start, end, step).or_panic()
    }

    /// [`slice_step`](Self::slice_step), with an error for a zero step.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert!(Tensor::<Rank1<7>>::zeros().try_slice_step::<0>(0, 7, 0).is_err());
    /// ```
    pub fn try_slice_step<const I: usize>(
        self,
        start: usize,
        end: usize,
        step: usize,
    ) -> Result<Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>>
    where
        S: ReplaceAxis<I>,
    {
        if step == 0 {
            return Err(Error::value("slice step", "the step must be at least 1"));
        }
        let idx = slice_positions(start, end, step, self.shape.dims()[I]);
        let out = self.shape.replace_axis(idx.len());
        out.try_numel("slice_step")?;
        Ok(take_op(self, I, out, idx))
    }

    /// The slice at position `index` of axis `I`, without that axis (`x.select(I, index)`,
    /// or `x[:, index]` for `I = 1`). Panics if `index` is out of range (see
    /// [`try_select`](Self::try_select)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let col: Tensor<Rank1<2>> = x.clone().select::<1>(2);
    /// assert_eq!(col.to_vec(), vec![3.0, 6.0]);
    /// assert_eq!(x.select::<0>(1).to_vec(), vec![4.0, 5.0, 6.0]);
    /// ```
    #[track_caller]
    pub fn select<const I: usize>(self, index: usize) -> Tensor<<S as HasAxis<I>>::Reduced, E, T>
    where
        S: HasAxis<I>,
    {
        self.try_select::<I>(index).or_panic()
    }

    /// [`select`](Self::select), with an error naming the shape when `index` is out of range.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert!(Tensor::<Rank2<2, 3>>::zeros().try_select::<1>(3).is_err());
    /// ```
    pub fn try_select<const I: usize>(
        self,
        index: usize,
    ) -> Result<Tensor<<S as HasAxis<I>>::Reduced, E, T>>
    where
        S: HasAxis<I>,
    {
        let dims = self.shape.dims();
        if index >= dims[I] {
            return Err(range_error("select", &dims, I, format!("index {index}")));
        }
        let out = self.shape.reduced();
        Ok(take_op(self, I, out, vec![index]))
    }

    /// The elements at `indices` along axis `I` (`torch.index_select(x, I, indices)`); axis `I`
    /// takes the length of `indices`, and repeated indices receive every gradient. Panics if
    /// an index is out of range (see [`try_index_select`](Self::try_index_select)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let idx = Indices::<Rank1<4>>::from_array([2, 0, 2, 1]);
    /// let y: Tensor<Rank2<2, 4>> = x.index_select::<1, _>(&idx);
    /// assert_eq!(y.to_vec(), vec![3.0, 1.0, 3.0, 2.0, 6.0, 4.0, 6.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn index_select<const I: usize, N: Dim>(
        self,
        indices: &Indices<(N,)>,
    ) -> Tensor<<S as ReplaceAxis<I>>::Output<N>, E, T>
    where
        S: ReplaceAxis<I>,
    {
        self.try_index_select::<I, N>(indices).or_panic()
    }

    /// [`index_select`](Self::index_select), with an error naming the index, the axis and the
    /// shape when an index is out of range.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let idx = Indices::<Rank1<2>>::from_array([0, 3]);
    /// assert!(Tensor::<Rank2<2, 3>>::zeros().try_index_select::<1, _>(&idx).is_err());
    /// ```
    pub fn try_index_select<const I: usize, N: Dim>(
        self,
        indices: &Indices<(N,)>,
    ) -> Result<Tensor<<S as ReplaceAxis<I>>::Output<N>, E, T>>
    where
        S: ReplaceAxis<I>,
    {
        let dims = self.shape.dims();
        let n = dims[I];
        if let Some(p) = first_out_of_range(indices.as_slice(), n) {
            let what = format!("index {} at position {p}", indices.as_slice()[p]);
            return Err(range_error("index_select", &dims, I, what));
        }
        let out = self.shape.replace_axis(indices.shape().0);
        out.try_numel("index_select")?;
        Ok(take_op(self, I, out, indices.to_vec()))
    }

    /// PyTorch's `torch.gather(x, I, indices)`: the output has the shape of `indices`, and
    /// takes `x` at each index position with coordinate `I` replaced by the index there
    /// (`y[i][j] = x[i][indices[i][j]]` for `I = 1`). `indices` has the rank of `x` and is no
    /// larger off axis `I`. Gradients scatter back and add up. Panics on a bad index or size
    /// (see [`try_gather`](Self::try_gather)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let idx = Indices::<Rank2<2, 2>>::from_array2([[2, 2], [0, 1]]);
    /// let y: Tensor<Rank2<2, 2>> = x.gather::<1, _>(&idx);
    /// assert_eq!(y.to_vec(), vec![3.0, 3.0, 4.0, 5.0]);
    /// ```
    #[track_caller]
    pub fn gather<const I: usize, SI: Shape>(self, indices: &Indices<SI>) -> Tensor<SI, E, T>
    where
        S: HasAxis<I> + SameRank<SI>,
    {
        self.try_gather::<I, SI>(indices).or_panic()
    }

    /// [`gather`](Self::gather), with an error naming the shapes or the index when an index
    /// is out of range or `indices` is larger than `x` off axis `I`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let idx = Indices::<Rank2<1, 1>>::from_array2([[5]]);
    /// let err = Tensor::<Rank2<2, 3>>::zeros().try_gather::<1, _>(&idx).unwrap_err();
    /// assert!(err.to_string().contains("index 5"));
    /// ```
    pub fn try_gather<const I: usize, SI: Shape>(
        self,
        indices: &Indices<SI>,
    ) -> Result<Tensor<SI, E, T>>
    where
        S: HasAxis<I> + SameRank<SI>,
    {
        let (xd, id) = (self.shape.dims(), indices.shape().dims());
        if let Some(k) = (0..xd.rank()).find(|&k| k != I && id[k] > xd[k]) {
            return Err(Error::shape(
                "gather",
                format!(
                    "indices of shape {:?} are larger than the input of shape {:?} at axis {k} (only axis {I} may differ)",
                    id.as_slice(),
                    xd.as_slice()
                ),
            ));
        }
        let n = xd[I];
        if let Some(p) = first_out_of_range(indices.as_slice(), n) {
            let what = format!("index {} at position {p}", indices.as_slice()[p]);
            return Err(range_error("gather", &xd, I, what));
        }
        let out = *indices.shape();
        let (fwd_idx, idx) = (indices.data.clone(), indices.data.clone());
        Ok(layout_op(
            self,
            out,
            move |x| layout::gather(x, &xd, I, &fwd_idx, &id),
            move |gx, gy| layout::gather_backward(gx, gy, &xd, I, &idx, &id),
        ))
    }
}
