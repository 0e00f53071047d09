//! Sorting along a type-level axis: `sort` and `topk`. Both find a permutation of each line
//! and read the values through it with `gather`, so the one derivative rule is gather's:
//! each output gradient goes back to the position its value came from.

use crate::autograd::Tape;
use crate::backend::layout;
use crate::backend::reduce::split_axis;
use crate::backend::sort::argsort_axis;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::shape_ops::layout_op;
use crate::shape::{Const, Dim, HasAxis, ReplaceAxis, Shape};
use crate::tensor::{Indices, Tensor};

/// The first `k` elements of each line along `axis` in sorted order, shaped `out`, with
/// their positions in `x`.
fn sorted_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    k: usize,
    descending: bool,
    out: SO,
) -> (Tensor<SO, E, T>, Indices<SO>) {
    let xd = x.shape.dims();
    let (outer, n, inner) = split_axis(&xd, axis);
    let idx = argsort_axis(&x.data, outer, n, inner, k, descending);
    let od = out.dims();
    let (fwd, bwd) = (idx.clone(), idx.clone());
    let y = layout_op(
        x,
        out,
        move |x| layout::gather(x, &xd, axis, &fwd, &od),
        move |gx, gy| layout::gather_backward(gx, gy, &xd, axis, &bwd, &od),
    );
    (y, Indices::from_parts(out, idx))
}

fn k_error(k: usize, dims: &[usize], axis: usize) -> Error {
    Error::shape(
        "topk",
        format!(
            "k = {k} is larger than axis {axis} of size {} (shape {dims:?})",
            dims[axis]
        ),
    )
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Sorts every line along axis `I` (`torch.sort(x, dim=I, descending, stable=True)`),
    /// returning the sorted values and, for each, its position along the axis in `x`. Equal
    /// values keep their order; NaN sorts above every number, as in PyTorch. The values are
    /// differentiable: each gradient goes back to the element it came from.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[3.0, 1.0, 2.0], [0.0, 5.0, 0.0]]);
    /// let (y, idx) = x.sort::<1>(false);
    /// assert_eq!(y.to_vec(), vec![1.0, 2.0, 3.0, 0.0, 0.0, 5.0]);
    /// assert_eq!(idx.to_vec(), vec![1, 2, 0, 0, 2, 1]);
    /// ```
    pub fn sort<const I: usize>(self, descending: bool) -> (Tensor<S, E, T>, Indices<S>)
    where
        S: HasAxis<I>,
    {
        let (n, out) = (self.shape.dims()[I], self.shape);
        sorted_op(self, I, n, descending, out)
    }

    /// The `K` largest (or, with `largest = false`, smallest) elements of every line along
    /// axis `I`, sorted, with their positions (`torch.topk(x, K, dim=I, largest,
    /// sorted=True)`). Axis `I` becomes `Const<K>`. Ties go to the lower position. For a
    /// static axis, `K` above its size fails to build; for a run-time axis it panics (see
    /// [`try_topk`](Self::try_topk)). The values are differentiable.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 4>>::from_array([[1.0, 9.0, 3.0, 7.0], [4.0, 2.0, 8.0, 6.0]]);
    /// let (y, idx) = x.clone().topk::<1, 2>(true);
    /// let y: Tensor<Rank2<2, 2>> = y;
    /// assert_eq!(y.to_vec(), vec![9.0, 7.0, 8.0, 6.0]);
    /// assert_eq!(idx.to_vec(), vec![1, 3, 2, 3]);
    /// assert_eq!(x.topk::<1, 1>(false).0.to_vec(), vec![1.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn topk<const I: usize, const K: usize>(
        self,
        largest: bool,
    ) -> (
        Tensor<<S as ReplaceAxis<I>>::Output<Const<K>>, E, T>,
        Indices<<S as ReplaceAxis<I>>::Output<Const<K>>>,
    )
    where
        S: ReplaceAxis<I>,
    {
        const {
            if let Some(n) = <<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE
                && K > n
            {
                crate::shape::const_msg::ConstMsg::new()
                    .s("topk: k = ")
                    .n(K)
                    .s(" is larger than axis ")
                    .n(I)
                    .s(" of size ")
                    .n(n)
                    .fail();
            }
        }
        self.try_topk::<I, K>(largest).or_panic()
    }

    /// [`topk`](Self::topk), with an error naming `K` and the shape when a run-time axis is
    /// shorter than `K`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((2,));
    /// assert!(x.try_topk::<0, 3>(true).is_err());
    /// ```
    pub fn try_topk<const I: usize, const K: usize>(
        self,
        largest: bool,
    ) -> Result<(
        Tensor<<S as ReplaceAxis<I>>::Output<Const<K>>, E, T>,
        Indices<<S as ReplaceAxis<I>>::Output<Const<K>>>,
    )>
    where
        S: ReplaceAxis<I>,
    {
        let dims = self.shape.dims();
        if K > dims[I] {
            return Err(k_error(K, &dims, I));
        }
        let out = self.shape.replace_axis(Const::<K>);
        Ok(sorted_op(self, I, K, largest, out))
    }

    /// [`topk`](Self::topk) with `k` chosen at run time: axis `I` becomes a `usize` of size
    /// `k`. Panics if `k` is larger than the axis (see [`try_topk_n`](Self::try_topk_n)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank1<4>>::from_array([1.0, 9.0, 3.0, 7.0]);
    /// let (y, idx) = x.topk_n::<0>(3, false);
    /// assert_eq!((y.to_vec(), idx.to_vec()), (vec![1.0, 3.0, 7.0], vec![0, 2, 3]));
    /// ```
    #[track_caller]
    pub fn topk_n<const I: usize>(
        self,
        k: usize,
        largest: bool,
    ) -> (
        Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>,
        Indices<<S as ReplaceAxis<I>>::Output<usize>>,
    )
    where
        S: ReplaceAxis<I>,
    {
        self.try_topk_n::<I>(k, largest).or_panic()
    }

    /// [`topk_n`](Self::topk_n), with an error naming `k` and the shape when the axis is
    /// shorter than `k`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let err = Tensor::<Rank2<2, 3>>::zeros().try_topk_n::<1>(4, true).unwrap_err();
    /// assert!(err.to_string().contains("k = 4"));
    /// ```
    pub fn try_topk_n<const I: usize>(
        self,
        k: usize,
        largest: bool,
    ) -> Result<(
        Tensor<<S as ReplaceAxis<I>>::Output<usize>, E, T>,
        Indices<<S as ReplaceAxis<I>>::Output<usize>>,
    )>
    where
        S: ReplaceAxis<I>,
    {
        let dims = self.shape.dims();
        if k > dims[I] {
            return Err(k_error(k, &dims, I));
        }
        let out = self.shape.replace_axis(k);
        Ok(sorted_op(self, I, k, largest, out))
    }
}
