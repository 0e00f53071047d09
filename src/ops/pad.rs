//! Padding the last dimensions, as `torch.nn.functional.pad`: constant, reflect and
//! replicate. Every mode is separable: several dimensions are padded in one pass, whose
//! backward sends every output gradient back to the element it copied (reflected or
//! replicated elements accumulate several).

use crate::autograd::Tape;
use crate::backend::pad::{
    PadFill, pad_axis, pad_axis_backward, pad_last_axes, pad_last_axes_backward, pad_last_axes_crop,
};
use crate::backend::reduce::split_axis;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::shape_ops::{layout_op, moving_op};
use crate::shape::{PadLast, PadLast2, PadLast3, Shape};
use crate::tensor::Tensor;

/// How `pad` fills the new border (`mode` of `torch.nn.functional.pad`).
///
/// ```
/// use shaped::ops::pad::PadMode;
/// use shaped::prelude::*;
/// let x = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
/// assert_eq!(x.clone().pad::<2, 1>(PadMode::Constant(0.0)).to_vec(), vec![0.0, 0.0, 1.0, 2.0, 3.0, 0.0]);
/// assert_eq!(x.clone().pad::<2, 1>(PadMode::Reflect).to_vec(), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
/// assert_eq!(x.pad::<2, 1>(PadMode::Replicate).to_vec(), vec![1.0, 1.0, 1.0, 2.0, 3.0, 3.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PadMode<E> {
    /// Every new element is this value (`mode="constant", value=...`).
    Constant(E),
    /// The mirror image without repeating the edge (`mode="reflect"`): each padding must be
    /// smaller than the dimension it pads.
    Reflect,
    /// The edge element repeated (`mode="replicate"`): the padded dimension must not be
    /// empty.
    Replicate,
}

impl<E: Float> PadMode<E> {
    fn fill(self) -> PadFill<E> {
        match self {
            PadMode::Constant(v) => PadFill::Constant(v),
            PadMode::Reflect => PadFill::Reflect,
            PadMode::Replicate => PadFill::Replicate,
        }
    }
}

/// Checks that `mode` can pad axis `axis` of `dims` by `left` and `right`.
fn check_pad<E>(
    dims: &[usize],
    axis: usize,
    left: usize,
    right: usize,
    mode: &PadMode<E>,
) -> Result<()> {
    let n = dims[axis];
    let fail = |why: String| {
        Err(Error::shape(
            "pad",
            format!("{why} (axis {axis} of shape {dims:?})"),
        ))
    };
    match mode {
        PadMode::Constant(_) => Ok(()),
        PadMode::Reflect if left >= n || right >= n => fail(format!(
            "reflect padding ({left}, {right}) must be smaller than the size {n} of the padded dimension"
        )),
        PadMode::Replicate if n == 0 => {
            fail("replicate padding needs a non-empty dimension, but it has size 0".to_string())
        }
        _ => Ok(()),
    }
}

/// Pads axis `axis` by `left` and `right` into `out` (checked by the caller).
fn pad_axis_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    left: usize,
    right: usize,
    mode: PadMode<E>,
    out: SO,
) -> Tensor<SO, E, T> {
    let (outer, n, inner) = split_axis(&x.shape.dims(), axis);
    let fill = mode.fill();
    layout_op(
        x,
        out,
        |x| pad_axis(x, outer, n, inner, left, right, fill),
        move |gx, gy| pad_axis_backward(gx, gy, outer, n, inner, left, right, fill),
    )
}

/// Pads the last `pads.len() / 2` axes, PyTorch's order (last axis first), into `out`.
fn pad_last_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    pads: &[(usize, usize)],
    mode: PadMode<E>,
    out: SO,
) -> Result<Tensor<SO, E, T>> {
    let mut dims = x.shape.dims();
    let rank = dims.rank();
    for (k, &(left, right)) in pads.iter().enumerate() {
        check_pad(&dims, rank - 1 - k, left, right, &mode)?;
        // Checked (issue 14): the padded shape must exist, as every shape made at run time.
        let padded = dims[rank - 1 - k]
            .checked_add(left)
            .and_then(|d| d.checked_add(right));
        let Some(padded) = padded else {
            return Err(crate::error::Error::shape(
                "pad",
                format!("padding shape {:?} overflows its size", dims.as_slice()),
            ));
        };
        dims = dims.with(rank - 1 - k, padded);
    }
    dims.try_numel("pad")?;
    if let PadMode::Constant(_) = mode {
        // Every input element is copied to exactly one output element: the backward crops
        // the output's gradient into a new buffer and hands it on, instead of adding it
        // into a zero-filled one row by row. (32, 64, 56, 56) padded by 1 on all four
        // sides, summed, backward, one thread: 8.5-8.9 -> 5.9-6.1 ms (PyTorch 6.0).
        let (fill, in_dims, pads) = (mode.fill(), x.shape.dims(), pads.to_vec());
        let forward_pads = pads.clone();
        return Ok(moving_op(
            x,
            out,
            move |x| match forward_pads[..] {
                [(left, right)] => {
                    let (outer, n, _) = split_axis(&in_dims, rank - 1);
                    pad_axis(x, outer, n, 1, left, right, fill)
                }
                _ => pad_last_axes(x, in_dims.as_slice(), &forward_pads, fill),
            },
            move |g, x_id, gy| g.add(x_id, pad_last_axes_crop(&gy, in_dims.as_slice(), &pads)),
        ));
    }
    if pads.len() == 1 {
        return Ok(pad_axis_op(x, rank - 1, pads[0].0, pads[0].1, mode, out));
    }
    // All axes in one pass, forward and backward.
    let (fill, in_dims, pads) = (mode.fill(), x.shape.dims(), pads.to_vec());
    let forward_pads = pads.clone();
    Ok(layout_op(
        x,
        out,
        move |x| pad_last_axes(x, in_dims.as_slice(), &forward_pads, fill),
        move |gx, gy| pad_last_axes_backward(gx, gy, in_dims.as_slice(), &pads, fill),
    ))
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Pads the last dimension by `L` elements before and `R` after
    /// (`F.pad(x, (L, R), mode)`). A static dimension `D` becomes
    /// [`Padded<D, L, R>`](crate::shape::Padded) (`realize` gives a `Const`); a `usize` one
    /// stays `usize`. Gradients flow back to the elements each border copied. Panics when
    /// reflect padding is not smaller than the dimension, or replicate pads an empty one (see
    /// [`try_pad`](Self::try_pad)).
    ///
    /// ```
    /// use shaped::ops::pad::PadMode;
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<1, 3>>::from_array([[1.0, 2.0, 3.0]]);
    /// let y: Tensor<Rank2<1, 5>> = x.pad::<1, 1>(PadMode::Reflect).realize();
    /// assert_eq!(y.to_vec(), vec![2.0, 1.0, 2.0, 3.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn pad<const L: usize, const R: usize>(
        self,
        mode: PadMode<E>,
    ) -> Tensor<<S as PadLast<L, R>>::Output, E, T>
    where
        S: PadLast<L, R>,
    {
        self.try_pad::<L, R>(mode).or_panic()
    }

    /// [`pad`](Self::pad), with an error naming the padding and the shape when the mode
    /// cannot pad the dimension.
    ///
    /// ```
    /// use shaped::ops::pad::PadMode;
    /// use shaped::prelude::*;
    /// let err = Tensor::<Rank1<2>>::zeros().try_pad::<2, 0>(PadMode::Reflect).unwrap_err();
    /// assert!(err.to_string().contains("size 2"));
    /// ```
    pub fn try_pad<const L: usize, const R: usize>(
        self,
        mode: PadMode<E>,
    ) -> Result<Tensor<<S as PadLast<L, R>>::Output, E, T>>
    where
        S: PadLast<L, R>,
    {
        let out = self.shape.pad_last();
        pad_last_op(self, &[(L, R)], mode, out)
    }

    /// Pads the last two dimensions (`F.pad(x, (L, R, T, B), mode)`): the last by `L`
    /// (left) and `R` (right), the one before by `T` (top) and `B` (bottom). Output
    /// dimensions as for [`pad`](Self::pad); panics where [`try_pad2`](Self::try_pad2)
    /// returns an error.
    ///
    /// ```
    /// use shaped::ops::pad::PadMode;
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank3<1, 2, 2>>::from_array([[[1.0, 2.0], [3.0, 4.0]]]);
    /// let y: Tensor<Rank3<1, 3, 4>> = x.pad2::<1, 1, 0, 1>(PadMode::Replicate).realize();
    /// assert_eq!(y.to_vec(), vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 3.0, 3.0, 4.0, 4.0]);
    /// ```
    #[track_caller]
    pub fn pad2<const L: usize, const R: usize, const TOP: usize, const B: usize>(
        self,
        mode: PadMode<E>,
    ) -> Tensor<<S as PadLast2<L, R, TOP, B>>::Output, E, T>
    where
        S: PadLast2<L, R, TOP, B>,
    {
        self.try_pad2::<L, R, TOP, B>(mode).or_panic()
    }

    /// [`pad2`](Self::pad2), with an error naming the padding and the shape when the mode
    /// cannot pad a dimension.
    ///
    /// ```
    /// use shaped::ops::pad::PadMode;
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 5));
    /// assert!(x.try_pad2::<1, 1, 2, 0>(PadMode::Reflect).is_err()); // 2 rows cannot reflect 2
    /// ```
    pub fn try_pad2<const L: usize, const R: usize, const TOP: usize, const B: usize>(
        self,
        mode: PadMode<E>,
    ) -> Result<Tensor<<S as PadLast2<L, R, TOP, B>>::Output, E, T>>
    where
        S: PadLast2<L, R, TOP, B>,
    {
        let out = self.shape.pad_last2();
        pad_last_op(self, &[(L, R), (TOP, B)], mode, out)
    }

    /// Pads the last three dimensions (`F.pad(x, (L, R, T, B, F, K), mode)`): the last by
    /// `L`, `R`, the one before by `T`, `B`, and the one before that by `F` (front) and `K`
    /// (back). Panics where [`try_pad3`](Self::try_pad3) returns an error.
    ///
    /// ```
    /// use shaped::ops::pad::PadMode;
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank3<1, 1, 1>>::from_array([[[1.0]]]);
    /// let y = x.pad3::<0, 0, 0, 0, 1, 1>(PadMode::Constant(0.0));
    /// assert_eq!(y.to_vec(), vec![0.0, 1.0, 0.0]);
    /// ```
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn pad3<
        const L: usize,
        const R: usize,
        const TOP: usize,
        const B: usize,
        const F: usize,
        const K: usize,
    >(
        self,
        mode: PadMode<E>,
    ) -> Tensor<<S as PadLast3<L, R, TOP, B, F, K>>::Output, E, T>
    where
        S: PadLast3<L, R, TOP, B, F, K>,
    {
        self.try_pad3::<L, R, TOP, B, F, K>(mode).or_panic()
    }

    /// [`pad3`](Self::pad3), with an error naming the padding and the shape when the mode
    /// cannot pad a dimension.
    ///
    /// ```
    /// use shaped::ops::pad::PadMode;
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank3<1, 2, 2>>::zeros();
    /// assert!(x.try_pad3::<0, 0, 0, 0, 1, 0>(PadMode::Reflect).is_err());
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn try_pad3<
        const L: usize,
        const R: usize,
        const TOP: usize,
        const B: usize,
        const F: usize,
        const K: usize,
    >(
        self,
        mode: PadMode<E>,
    ) -> Result<Tensor<<S as PadLast3<L, R, TOP, B, F, K>>::Output, E, T>>
    where
        S: PadLast3<L, R, TOP, B, F, K>,
    {
        let out = self.shape.pad_last3();
        pad_last_op(self, &[(L, R), (TOP, B), (F, K)], mode, out)
    }
}
