//! Reductions along a type-level axis (`x.sum_dim::<1>()`), whole-tensor reductions, and the
//! broadcast that is their backward.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::{broadcast, elementwise, reduce as kernels, softmax};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::ops::binary::{SubKernel, binary_op};
use crate::ops::grad_target;
use crate::ops::unary::{MulScalarKernel, SquareKernel, unary_op};
use crate::shape::{Dims, DynShape, HasAxis, KeepDimTwo, ReducedTwo, Shape};
use crate::tensor::{Indices, Tensor};
use std::sync::Arc;

/// Sums along `axis` into `out` (which must have the dims of the input without `axis`, or
/// with it set to 1).
pub(crate) fn sum_axis_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    let dims = x.shape.dims();
    let (x, tape) = x.split_tape();
    let (data, id, tape) = sum_axis_untyped(&x.data, x.id, tape, &dims, axis);
    Tensor {
        shape: out,
        data,
        id,
        tape,
    }
}

/// [`sum_axis_op`] without the shape types; never inlined, so that programs at `f32` link
/// to this crate's instances (see `backend::precompiled`).
#[inline(never)]
fn sum_axis_untyped<E: Float, T: Tape<E>>(
    x: &[E],
    x_id: UniqueId,
    mut tape: T,
    dims: &Dims,
    axis: usize,
) -> (Arc<Vec<E>>, UniqueId, T) {
    let (outer, n, inner) = kernels::split_axis(dims, axis);
    let y = kernels::sum_axis(x, outer, n, inner);
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x_id) {
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                if outer == 1 && inner == 1 {
                    // The sum of everything: every element of x's gradient is gy, kept as
                    // one number until an op needs a buffer (the next op's backward may
                    // read it as such, see `Gradients::take_uniform`).
                    g.add_uniform(x_id, n, gy[0], elementwise::filled::<E>);
                    return;
                }
                if g.has(x_id) {
                    let gx = g.entry(x_id, outer * n * inner);
                    kernels::spread_axis(gx, &gy, outer, n, inner, E::ONE);
                } else {
                    g.insert(x_id, kernels::spread_axis_new(&gy, outer, n, inner));
                }
            }),
        );
    }
    (Arc::new(y), out_id, tape)
}

crate::instances::shared_instances!(
    sum_axis_untyped::<f32, crate::autograd::NoTape>,
    sum_axis_untyped::<f32, crate::autograd::OwnedTape<f32>>,
);

/// Max (or min) of every element, with PyTorch's backward for full reductions: the
/// gradient is divided evenly among the elements equal to the result, NaN counting as equal
/// to a NaN result (`evenly_distribute_backward`).
fn extreme_all_op<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    max: bool,
) -> Tensor<(), E, T> {
    let (x, mut tape) = x.split_tape();
    let n = x.data.len();
    let y = if max {
        kernels::extreme_axis(&x.data, 1, n, 1, |a, b| a > b)
    } else {
        kernels::extreme_axis(&x.data, 1, n, 1, |a, b| a < b)
    };
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let (x_id, xd) = (x.id, x.data.clone());
        let m = y.first().copied().unwrap_or(E::ZERO);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                let hit = |v: E| v == m || (v.is_nan() && m.is_nan());
                let count = xd.iter().filter(|&&v| hit(v)).count().max(1);
                let share = gy[0] / E::from_usize(count);
                let gx = g.entry(x_id, xd.len());
                for (d, &v) in gx.iter_mut().zip(xd.iter()) {
                    if hit(v) {
                        *d += share;
                    }
                }
            }),
        );
    }
    Tensor {
        shape: (),
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}

/// Max (or min) along `axis` into `out`, with the indices when `indices` asks for them
/// (else an empty `Vec`); the gradient goes to the first extreme element, as with PyTorch's
/// `max(dim)`. Untraced, without indices, only the values are computed.
pub(crate) fn extreme_axis_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
    max: bool,
    indices: bool,
) -> (Tensor<SO, E, T>, Vec<usize>) {
    let dims = x.shape.dims();
    let (outer, n, inner) = kernels::split_axis(&dims, axis);
    let (x, mut tape) = x.split_tape();
    let traced = T::TRACING && tape.tracks(x.id);
    let (y, idx) = match (indices || traced, max) {
        (true, true) => kernels::arg_extreme_axis(&x.data, outer, n, inner, |a, b| a > b),
        (true, false) => kernels::arg_extreme_axis(&x.data, outer, n, inner, |a, b| a < b),
        (false, true) => (
            kernels::extreme_axis(&x.data, outer, n, inner, |a, b| a > b),
            Vec::new(),
        ),
        (false, false) => (
            kernels::extreme_axis(&x.data, outer, n, inner, |a, b| a < b),
            Vec::new(),
        ),
    };
    let out_id = UniqueId::new();
    let idx = if traced {
        let kept = if indices { idx.clone() } else { Vec::new() };
        let x_id = x.id;
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                let gx = g.entry(x_id, outer * n * inner);
                for o in 0..outer {
                    for i in 0..inner {
                        let j = o * inner + i;
                        gx[(o * n + idx[j]) * inner + i] += gy[j];
                    }
                }
            }),
        );
        kept
    } else {
        idx
    };
    (
        Tensor {
            shape: out,
            data: Arc::new(y),
            id: out_id,
            tape,
        },
        idx,
    )
}

/// Broadcasts `x` to `out` (dims checked by the caller); the backward sums back.
pub(crate) fn broadcast_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: SO,
) -> Tensor<SO, E, T> {
    let (xd, od) = (x.shape.dims(), out.dims());
    let (x, mut tape) = x.split_tape();
    if xd == od {
        return Tensor {
            shape: out,
            data: x.data,
            id: x.id,
            tape,
        };
    }
    // The axes merged as a binary op with an operand of the output's shape merges them.
    let (xd, _, od) = super::binary::merge_axes(xd, od, od);
    let y = broadcast::broadcast_to(&x.data, &xd, &od);
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let x_id = x.id;
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                let gx = g.entry(x_id, xd.numel());
                broadcast::sum_to_shape(gx, &xd, &gy, &od);
            }),
        );
    }
    Tensor {
        shape: out,
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}

/// Dims of `dims` with `axis` set to 1: the keepdim shape, at run time.
pub(crate) fn keep(dims: &Dims, axis: usize) -> DynShape {
    DynShape(dims.with(axis, 1))
}

/// Mean along `axis` into `out`.
pub(crate) fn mean_axis_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    let n = x.shape.dims()[axis];
    unary_op(
        sum_axis_op(x, axis, out),
        MulScalarKernel(E::ONE / E::from_usize(n)),
    )
}

/// Variance along `axis` with Bessel's `correction` (1 = unbiased, PyTorch's default).
pub(crate) fn var_axis_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    correction: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    let dims = x.shape.dims();
    let n = dims[axis];
    let mean = mean_axis_op(x.clone(), axis, keep(&dims, axis));
    let centered = binary_op(x, mean, x_shape_of(&dims), SubKernel);
    let sq = unary_op(centered, SquareKernel);
    let denom = E::from_usize(n.saturating_sub(correction));
    unary_op(sum_axis_op(sq, axis, out), MulScalarKernel(E::ONE / denom))
}

fn x_shape_of(dims: &Dims) -> DynShape {
    DynShape(*dims)
}

/// ln(sum(exp(x))) along `axis`, shifted by the maximum so that no exp overflows; its
/// backward is `gy * exp(x - result)` (softmax times the gradient, as PyTorch's).
pub(crate) fn logsumexp_axis_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    let dims = x.shape.dims();
    let layout = kernels::split_axis(&dims, axis);
    let (outer, n, inner) = layout;
    let (x, mut tape) = x.split_tape();
    let lse = Arc::new(softmax::logsumexp_axis(&x.data, outer, n, inner));
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let (xd, x_id, lse) = (x.data, x.id, lse.clone());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                // SAFETY: given new memory, `logsumexp_backward` writes all of it.
                unsafe {
                    g.contribute(x_id, xd.len(), |slot| {
                        softmax::logsumexp_backward(grad_target(slot), &gy, &xd, &lse, layout)
                    })
                };
            }),
        );
    }
    Tensor {
        shape: out,
        data: lse,
        id: out_id,
        tape,
    }
}

macro_rules! axis_reductions {
    ($($(#[$m:meta])* $name:ident $keep:ident $op:path;)*) => {
        impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
            $(
                $(#[$m])*
                pub fn $name<const I: usize>(self) -> Tensor<<S as HasAxis<I>>::Reduced, E, T>
                where
                    S: HasAxis<I>,
                {
                    let out = <S as HasAxis<I>>::reduced(&self.shape);
                    $op(self, I, out)
                }

                #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name), ") keeping the axis with size 1 (`keepdim=True`).")]
                pub fn $keep<const I: usize>(self) -> Tensor<<S as HasAxis<I>>::KeepDim, E, T>
                where
                    S: HasAxis<I>,
                {
                    let out = <S as HasAxis<I>>::keepdim(&self.shape);
                    $op(self, I, out)
                }
            )*
        }
    };
}

fn max_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    extreme_axis_op(x, axis, out, true, false).0
}
fn min_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    extreme_axis_op(x, axis, out, false, false).0
}
fn var_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    var_axis_op(x, axis, 1, out)
}
fn std_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    out: SO,
) -> Tensor<SO, E, T> {
    var_axis_op(x, axis, 1, out).sqrt()
}

axis_reductions! {
    /// Sum along axis `I` (`x.sum(dim=I)`); the axis must exist, checked at compile time.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// let s: Tensor<Rank1<2>> = x.sum_dim::<1>();
    /// assert_eq!(s.to_vec(), vec![6.0, 15.0]);
    /// ```
    sum_dim sum_dim_keepdim sum_axis_op;
    /// Mean along axis `I`.
    mean_dim mean_dim_keepdim mean_axis_op;
    /// Maximum along axis `I` (values; see [`max_dim_with_indices`](Self::max_dim_with_indices)).
    max_dim max_dim_keepdim max_axis;
    /// Minimum along axis `I`.
    min_dim min_dim_keepdim min_axis;
    /// Unbiased variance along axis `I` (`correction=1`, PyTorch's default).
    var_dim var_dim_keepdim var_axis;
    /// Unbiased standard deviation along axis `I`.
    std_dim std_dim_keepdim std_axis;
    /// `log(sum(exp(x)))` along axis `I`, stable for large magnitudes.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<1, 2>>::from_array([[1000.0, 1000.0]]);
    /// let y = x.logsumexp_dim::<1>();
    /// assert!((y.to_vec()[0] - (1000.0 + 2f32.ln())).abs() < 1e-3);
    /// ```
    logsumexp_dim logsumexp_dim_keepdim logsumexp_axis_op;
}

/// Rejects `sum_dims::<I, J>` and its kin unless `I < J`, naming both.
const fn check_two_axes(i: usize, j: usize) {
    if i >= j {
        crate::shape::const_msg::ConstMsg::new()
            .s("sum_dims/mean_dims::<I, J>: the axes must be distinct and increasing, got I = ")
            .n(i)
            .s(", J = ")
            .n(j)
            .fail();
    }
}

/// Sums `x` over its axes `i < j` into `out`, scaled by `1 / (n_i n_j)` for a mean. Two
/// adjacent axes are one run in memory: summed as one merged axis, in one pass (two
/// `sum_dim`s over the 7 x 7 planes of (32, 512, 7, 7) took 0.25 ms on one thread, the
/// merged axis 0.09, PyTorch's `x.mean((2, 3))` 0.12).
fn sum_two_axes_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    (i, j): (usize, usize),
    out: SO,
    mean: bool,
) -> Tensor<SO, E, T> {
    let dims = x.shape.dims();
    let (x, tape) = x.split_tape();
    let (data, id, tape) = if j == i + 1 {
        let merged = dims.remove(j).with(i, dims[i] * dims[j]);
        sum_axis_untyped(&x.data, x.id, tape, &merged, i)
    } else {
        let (data, id, tape) = sum_axis_untyped(&x.data, x.id, tape, &dims, j);
        sum_axis_untyped(&data, id, tape, &dims.remove(j), i)
    };
    let y = Tensor {
        shape: out,
        data,
        id,
        tape,
    };
    if mean {
        let n = dims[i] * dims[j];
        unary_op(y, MulScalarKernel(E::ONE / E::from_usize(n)))
    } else {
        y
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Sum over the two axes `I < J` (PyTorch's `x.sum((I, J))`); both axes must exist and
    /// `I < J`, checked at compile time. Adjacent axes are summed in one pass.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank3<2, 2, 3>>::from_array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[1.0; 3], [2.0; 3]]]);
    /// let s: Tensor<Rank1<2>> = x.clone().sum_dims::<1, 2>();
    /// assert_eq!(s.to_vec(), vec![21.0, 9.0]);
    /// let t: Tensor<Rank1<2>> = x.sum_dims::<0, 2>();
    /// assert_eq!(t.to_vec(), vec![9.0, 21.0]);
    /// ```
    pub fn sum_dims<const I: usize, const J: usize>(self) -> Tensor<ReducedTwo<S, I, J>, E, T>
    where
        S: HasAxis<J>,
        <S as HasAxis<J>>::Reduced: HasAxis<I>,
    {
        const { check_two_axes(I, J) };
        let out = <S as HasAxis<J>>::reduced(&self.shape).reduced();
        sum_two_axes_op(self, (I, J), out, false)
    }

    /// [`sum_dims`](Self::sum_dims) keeping both axes with size 1 (`keepdim=True`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank4<1, 2, 2, 2>>::ones();
    /// let s: Tensor<Rank4<1, 2, 1, 1>> = x.sum_dims_keepdim::<2, 3>();
    /// assert_eq!(s.to_vec(), vec![4.0, 4.0]);
    /// ```
    pub fn sum_dims_keepdim<const I: usize, const J: usize>(
        self,
    ) -> Tensor<KeepDimTwo<S, I, J>, E, T>
    where
        S: HasAxis<J>,
        <S as HasAxis<J>>::KeepDim: HasAxis<I>,
    {
        const { check_two_axes(I, J) };
        let out = <S as HasAxis<J>>::keepdim(&self.shape).keepdim();
        sum_two_axes_op(self, (I, J), out, false)
    }

    /// Mean over the two axes `I < J` (PyTorch's `x.mean((I, J))`: global average pooling
    /// is `x.mean_dims::<2, 3>()`); checked as [`sum_dims`](Self::sum_dims).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, Const<2>, usize, usize)>::ones_with_shape((3, Const, 5, 7));
    /// let m = x.mean_dims::<2, 3>(); // (3, 2)
    /// assert_eq!(m.dims().as_slice(), &[3, 2]);
    /// assert_eq!(m.to_vec(), vec![1.0; 6]);
    /// ```
    pub fn mean_dims<const I: usize, const J: usize>(self) -> Tensor<ReducedTwo<S, I, J>, E, T>
    where
        S: HasAxis<J>,
        <S as HasAxis<J>>::Reduced: HasAxis<I>,
    {
        const { check_two_axes(I, J) };
        let out = <S as HasAxis<J>>::reduced(&self.shape).reduced();
        sum_two_axes_op(self, (I, J), out, true)
    }

    /// [`mean_dims`](Self::mean_dims) keeping both axes with size 1 (`keepdim=True`: a
    /// squeeze-and-excitation block's `x.mean((2, 3), keepdim=True)`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank4<1, 1, 2, 2>>::from_array([[[[1.0, 2.0], [3.0, 6.0]]]]);
    /// let m: Tensor<Rank4<1, 1, 1, 1>> = x.mean_dims_keepdim::<2, 3>();
    /// assert_eq!(m.to_vec(), vec![3.0]);
    /// ```
    pub fn mean_dims_keepdim<const I: usize, const J: usize>(
        self,
    ) -> Tensor<KeepDimTwo<S, I, J>, E, T>
    where
        S: HasAxis<J>,
        <S as HasAxis<J>>::KeepDim: HasAxis<I>,
    {
        const { check_two_axes(I, J) };
        let out = <S as HasAxis<J>>::keepdim(&self.shape).keepdim();
        sum_two_axes_op(self, (I, J), out, true)
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Variance along axis `I` with an explicit Bessel correction (0 = biased).
    pub fn var_dim_correction<const I: usize>(
        self,
        correction: usize,
    ) -> Tensor<<S as HasAxis<I>>::Reduced, E, T>
    where
        S: HasAxis<I>,
    {
        let out = <S as HasAxis<I>>::reduced(&self.shape);
        var_axis_op(self, I, correction, out)
    }

    /// Maximum along axis `I` with the index of the first maximum (`torch.max(x, dim)`).
    pub fn max_dim_with_indices<const I: usize>(
        self,
    ) -> (
        Tensor<<S as HasAxis<I>>::Reduced, E, T>,
        Indices<<S as HasAxis<I>>::Reduced>,
    )
    where
        S: HasAxis<I>,
    {
        let out = <S as HasAxis<I>>::reduced(&self.shape);
        let (t, idx) = extreme_axis_op(self, I, out, true, true);
        (t, Indices::from_parts(out, idx))
    }

    /// Minimum along axis `I` with the index of the first minimum.
    pub fn min_dim_with_indices<const I: usize>(
        self,
    ) -> (
        Tensor<<S as HasAxis<I>>::Reduced, E, T>,
        Indices<<S as HasAxis<I>>::Reduced>,
    )
    where
        S: HasAxis<I>,
    {
        let out = <S as HasAxis<I>>::reduced(&self.shape);
        let (t, idx) = extreme_axis_op(self, I, out, false, true);
        (t, Indices::from_parts(out, idx))
    }

    /// Index of the maximum along axis `I` (forward only).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::from_array([[1.0, 9.0, 3.0], [7.0, 5.0, 6.0]]);
    /// assert_eq!(x.argmax::<1>().to_vec(), vec![1, 0]);
    /// ```
    pub fn argmax<const I: usize>(&self) -> Indices<<S as HasAxis<I>>::Reduced>
    where
        S: HasAxis<I>,
    {
        let (outer, n, inner) = kernels::split_axis(&self.shape.dims(), I);
        let (_, idx) = kernels::arg_extreme_axis(&self.data, outer, n, inner, |a, b| a > b);
        Indices::from_parts(<S as HasAxis<I>>::reduced(&self.shape), idx)
    }

    /// Index of the minimum along axis `I` (forward only).
    pub fn argmin<const I: usize>(&self) -> Indices<<S as HasAxis<I>>::Reduced>
    where
        S: HasAxis<I>,
    {
        let (outer, n, inner) = kernels::split_axis(&self.shape.dims(), I);
        let (_, idx) = kernels::arg_extreme_axis(&self.data, outer, n, inner, |a, b| a < b);
        Indices::from_parts(<S as HasAxis<I>>::reduced(&self.shape), idx)
    }

    fn flat(self) -> Tensor<(usize,), E, T> {
        let n = self.numel();
        Tensor {
            shape: (n,),
            data: self.data,
            id: self.id,
            tape: self.tape,
        }
    }

    /// Sum of every element, as a scalar.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(Tensor::<Rank2<2, 2>>::ones().sum().to_vec(), vec![4.0]);
    /// ```
    pub fn sum(self) -> Tensor<(), E, T> {
        sum_axis_op(self.flat(), 0, ())
    }
    /// Mean of every element, as a scalar.
    pub fn mean(self) -> Tensor<(), E, T> {
        mean_axis_op(self.flat(), 0, ())
    }
    /// Largest element, as a scalar.
    ///
    /// As PyTorch's `max()`, the gradient is shared evenly by every element equal to the
    /// result (every NaN, when the result is NaN).
    pub fn max(self) -> Tensor<(), E, T> {
        extreme_all_op(self, true)
    }
    /// Smallest element, as a scalar; the gradient is shared like [`max`](Self::max)'s.
    pub fn min(self) -> Tensor<(), E, T> {
        extreme_all_op(self, false)
    }
    /// Unbiased variance of every element.
    pub fn var(self) -> Tensor<(), E, T> {
        var_axis_op(self.flat(), 0, 1, ())
    }
    /// Unbiased standard deviation of every element.
    pub fn std(self) -> Tensor<(), E, T> {
        var_axis_op(self.flat(), 0, 1, ()).sqrt()
    }
    /// `log(sum(exp(x)))` over every element.
    pub fn logsumexp(self) -> Tensor<(), E, T> {
        logsumexp_axis_op(self.flat(), 0, ())
    }

    /// Broadcasts to a larger shape (`expand` / `broadcast_to`); the gradient is summed back.
    /// Sizes are checked when the code is built for static shapes, at run time otherwise
    /// (see [`broadcast_to_dyn`](Self::broadcast_to_dyn)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<3, 1>>::from_array([[1.0], [2.0], [3.0]]);
    /// let y: Tensor<Rank3<2, 3, 4>> = x.broadcast_to();
    /// assert_eq!(y.numel(), 24);
    /// ```
    pub fn broadcast_to<S2: crate::shape::ConstShape>(self) -> Tensor<S2, E, T>
    where
        S: crate::shape::ConstShape,
    {
        const {
            use crate::shape::const_msg::ConstMsg;
            let (a, b) = (S::SIZES, S2::SIZES);
            if S::RANK > S2::RANK {
                ConstMsg::new()
                    .s("broadcast_to: a rank-")
                    .n(S::RANK)
                    .s(" tensor cannot broadcast to rank ")
                    .n(S2::RANK)
                    .fail();
            }
            let off = S2::RANK - S::RANK;
            let mut i = 0;
            while i < S::RANK {
                if a[i] != b[off + i] && a[i] != 1 {
                    ConstMsg::new()
                        .s("broadcast_to: dimension ")
                        .n(i)
                        .s(" has size ")
                        .n(a[i])
                        .s(", which is neither 1 nor the target's ")
                        .n(b[off + i])
                        .fail();
                }
                i += 1;
            }
        }
        broadcast_op(self, S2::default())
    }

    /// Broadcasts to `shape`, given at run time (it may have run-time dimensions); panics if
    /// the sizes do not broadcast ([`try_broadcast_to_dyn`](Self::try_broadcast_to_dyn)
    /// returns an `Err` instead).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<3, 1>>::ones();
    /// let y = x.broadcast_to_dyn((2usize, Const::<3>, Const::<4>));
    /// assert_eq!(y.dims().as_slice(), &[2, 3, 4]);
    /// ```
    #[track_caller]
    pub fn broadcast_to_dyn<S2: Shape>(self, shape: S2) -> Tensor<S2, E, T> {
        self.try_broadcast_to_dyn(shape).or_panic()
    }

    /// [`broadcast_to_dyn`](Self::broadcast_to_dyn), with an error if the sizes do not
    /// broadcast.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<3, 1>>::ones();
    /// assert!(x.clone().try_broadcast_to_dyn((3usize, Const::<4>)).is_ok());
    /// assert!(x.try_broadcast_to_dyn((2usize, Const::<4>)).is_err());
    /// ```
    pub fn try_broadcast_to_dyn<S2: Shape>(
        self,
        shape: S2,
    ) -> crate::error::Result<Tensor<S2, E, T>> {
        let (a, b) = (self.shape.dims(), shape.dims());
        let ok = a.rank() <= b.rank()
            && a.iter()
                .zip(&b[b.rank() - a.rank()..])
                .all(|(&x, &y)| x == y || x == 1);
        if !ok {
            return Err(crate::error::Error::shape(
                "broadcast_to",
                format!(
                    "cannot broadcast shape {:?} to {:?}",
                    a.as_slice(),
                    b.as_slice()
                ),
            ));
        }
        shape.try_numel("broadcast_to")?;
        Ok(broadcast_op(self, shape))
    }
}
