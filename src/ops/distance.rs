//! Distances and similarities along an axis: `F.normalize` ([`normalize`],
//! [`Tensor::normalize`]), `F.cosine_similarity` ([`cosine_similarity`]) and
//! `F.pairwise_distance` ([`pairwise_distance`]), with PyTorch's formulas, values and
//! gradients.
//!
//! All are compositions of primitive ops (abs, square, powers, sums over an axis, clamps,
//! division), so each derivative rule stays written once. The p-norm of a vector is
//! `sum(|x|)` for `p = 1`, `max(|x|)` for `p = inf` and `(sum |x|^p)^(1/p)` otherwise, with the
//! sum floored at the element type's smallest normal number (1.2e-38 for `f32`, 2.2e-308 for
//! `f64`) before its root: the root's derivative is then finite at a zero vector, where
//! PyTorch's norm backward gives 0 (and so does this composition, once the floor's clamp
//! stops the gradient). The floor shows only in the value of a vector whose p-th powers sum
//! below it: `pairwise_distance` of two `f32` vectors exactly `eps` apart in every
//! coordinate gives 1.1e-19 (p = 2) instead of 0.
//!
//! The free functions work along the last axis (PyTorch's `dim=-1`; `F.normalize` and
//! `F.cosine_similarity` default to `dim=1`, the same axis for `(N, D)` inputs); `x1` and `x2`
//! broadcast as in PyTorch, static shapes that do not broadcast do not compile, and the
//! `try_` forms return an `Err` for run-time sizes that do not. `p` must be positive (or
//! infinite): the `try_` forms return an `Err` otherwise, the plain ones panic.

use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::ops::binary::{DivKernel, MulKernel, SubKernel, binary_op};
use crate::ops::reduce::{broadcast_op, extreme_axis_op, keep, sum_axis_op};
use crate::ops::unary::{ClampMinPassThroughKernel, unary_op};
use crate::shape::check::{BroadcastCheck, OpName};
use crate::shape::{BroadcastShapes, Const, HasAxis, LastDim, Shape, broadcast_for};
use crate::tensor::Tensor;

/// The floor under a sum of p-th powers before its root: the element type's smallest
/// normal number (an `f32` floor would also cut `f64` norms below 1e-19).
pub(crate) fn sum_floor<E: Float>() -> E {
    E::from_f64(if core::mem::size_of::<E>() == 8 {
        f64::MIN_POSITIVE
    } else {
        f32::MIN_POSITIVE as f64
    })
}

fn infinity<E: Float>() -> E {
    E::from_f64(f64::INFINITY)
}

/// Rejects `p <= 0` and NaN, naming `op`.
pub(crate) fn check_p(op: &str, p: f64) -> Result<()> {
    if p > 0.0 {
        Ok(())
    } else {
        Err(Error::value(
            format!("{op} p"),
            format!("p = {p}; only norms with p > 0 (or infinite) are supported"),
        ))
    }
}

/// `||x||_p` along `axis` into `out` (the reduced or the keepdim shape).
pub(crate) fn norm_axis_op<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    p: f64,
    out: SO,
) -> Tensor<SO, E, T> {
    let floor = sum_floor::<E>();
    if p == 1.0 {
        sum_axis_op(x.abs(), axis, out)
    } else if p == 2.0 {
        sum_axis_op(x.square(), axis, out)
            .clamp(floor, infinity())
            .sqrt()
    } else if p == f64::INFINITY {
        extreme_axis_op(x.abs(), axis, out, true, false).0
    } else {
        sum_axis_op(x.abs().powf(E::from_f64(p)), axis, out)
            .clamp(floor, infinity())
            .powf(E::from_f64(1.0 / p))
    }
}

/// `x / max(||x||_p, eps)` along `axis` (`F.normalize`), `p` already checked.
pub(crate) fn normalize_op<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    p: f64,
    eps: f64,
) -> Tensor<S, E, T> {
    let (shape, dims) = (x.shape, x.shape.dims());
    let norm = norm_axis_op(x.clone(), axis, p, keep(&dims, axis));
    let denom = norm.clamp(E::from_f64(eps), infinity());
    binary_op(x, denom, shape, DivKernel)
}

/// `x / max(||x||_2, eps)` along `axis` as PyTorch's `cosine_similarity` divides: the norm
/// is clamped in place without recording it, so the gradient flows through the clamp as if
/// it were not there ([`ClampMinPassThroughKernel`]).
fn unit_for_cosine<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    axis: usize,
    eps: f64,
) -> Tensor<S, E, T> {
    let (shape, dims) = (x.shape, x.shape.dims());
    let kept = keep(&dims, axis);
    let norm = norm_axis_op(x.clone(), axis, 2.0, kept);
    let denom = unary_op(norm, ClampMinPassThroughKernel(E::from_f64(eps)));
    binary_op(x, denom, shape, DivKernel)
}

/// Cosine similarity of `x1` and `x2` (one shape, already broadcast) along `axis` into `out`:
/// PyTorch 2's `sum((x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)))`.
pub(crate) fn cosine_similarity_op<S: Shape, SO: Shape, E: Float, T1, T2>(
    x1: Tensor<S, E, T1>,
    x2: Tensor<S, E, T2>,
    axis: usize,
    eps: f64,
    out: SO,
) -> Tensor<SO, E, <T1 as Merge<E, T2>>::Output>
where
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let shape = x1.shape;
    let u1 = unit_for_cosine(x1, axis, eps);
    let u2 = unit_for_cosine(x2, axis, eps);
    sum_axis_op(binary_op(u1, u2, shape, MulKernel), axis, out)
}

/// `||x1 - x2 + eps||_p` over the last axis of `broadcast` (the shape `x1` and `x2`
/// broadcast to) into `out`, `p` already checked.
pub(crate) fn pairwise_distance_op<S1: Shape, S2: Shape, SB: Shape, SO: Shape, E: Float, T1, T2>(
    x1: Tensor<S1, E, T1>,
    x2: Tensor<S2, E, T2>,
    broadcast: SB,
    (p, eps): (f64, f64),
    out: SO,
) -> Tensor<SO, E, <T1 as Merge<E, T2>>::Output>
where
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let axis = broadcast.dims().rank() - 1;
    let diff = binary_op(x1, x2, broadcast, SubKernel).add_scalar(E::from_f64(eps));
    norm_axis_op(diff, axis, p, out)
}

/// The op names of build-time broadcast errors.
pub(crate) struct CosineSimilarityOp;
impl OpName for CosineSimilarityOp {
    const NAME: &'static str = "cosine_similarity";
}
pub(crate) struct PairwiseDistanceOp;
impl OpName for PairwiseDistanceOp {
    const NAME: &'static str = "pairwise_distance";
}

/// The shape `x1` (`S`) and `x2` (`S2`) broadcast to.
type Broadcast<S, S2> = <S as BroadcastShapes<S2>>::Output;
/// The tape of a result of `x1` (tape `T`) and `x2` (tape `T2`).
type Merged<E, T, T2> = <T as Merge<E, T2>>::Output;

/// Cosine similarity along axis `axis_of(broadcast shape)` (which gives the axis and the
/// output shape): the body of [`try_cosine_similarity`] and of the
/// [`CosineSimilarity`](crate::nn::CosineSimilarity) layer.
pub(crate) fn try_cosine_similarity_along<S, S2, SO, E, T, T2>(
    x1: Tensor<S, E, T>,
    x2: Tensor<S2, E, T2>,
    eps: f64,
    axis_of: impl FnOnce(&Broadcast<S, S2>) -> (usize, SO),
) -> Result<Tensor<SO, E, Merged<E, T, T2>>>
where
    S: BroadcastShapes<S2>,
    S2: Shape,
    SO: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let () = BroadcastCheck::<S, S2, CosineSimilarityOp>::OK;
    let shape = broadcast_for("cosine_similarity", &x1.shape, &x2.shape)?;
    let (axis, out) = axis_of(&shape);
    let (x1, x2) = (broadcast_op(x1, shape), broadcast_op(x2, shape));
    Ok(cosine_similarity_op(x1, x2, axis, eps, out))
}

/// Cosine similarity along the last axis (`F.cosine_similarity(x1, x2, dim=-1, eps=eps)`;
/// PyTorch's defaults are `dim=1`, the same axis for `(N, D)` inputs, and `eps = 1e-8`): `sum(x1 * x2) / (max(||x1||, eps) max(||x2||, eps))`,
/// computed as PyTorch 2 does, each input divided by its clamped norm first, the clamp
/// transparent to the gradient. `x1` and `x2` broadcast. For another axis, use the
/// [`CosineSimilarity`](crate::nn::CosineSimilarity) layer. Panics if run-time sizes do not
/// broadcast (see [`try_cosine_similarity`]).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::distance::cosine_similarity;
/// let a = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [3.0, 4.0]]);
/// let b = Tensor::<Rank2<2, 2>>::from_array([[0.0, 2.0], [6.0, 8.0]]);
/// let cos: Tensor<Rank1<2>> = cosine_similarity(a, b, 1e-8);
/// assert_eq!(cos.to_vec(), vec![0.0, 1.0]);
/// ```
#[track_caller]
pub fn cosine_similarity<S, S2, E, T, T2>(
    x1: Tensor<S, E, T>,
    x2: Tensor<S2, E, T2>,
    eps: f64,
) -> Tensor<<Broadcast<S, S2> as LastDim>::WithoutLast, E, Merged<E, T, T2>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let () = BroadcastCheck::<S, S2, CosineSimilarityOp>::OK;
    try_cosine_similarity(x1, x2, eps).or_panic()
}

/// [`cosine_similarity`], with an error when run-time sizes do not broadcast.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::distance::try_cosine_similarity;
/// let a = Tensor::<(usize, usize)>::ones_with_shape((2, 3));
/// let b = Tensor::<(usize, usize)>::ones_with_shape((2, 4));
/// let err = try_cosine_similarity(a, b, 1e-8).unwrap_err().to_string();
/// assert!(err.contains("cosine_similarity"), "{err}");
/// ```
pub fn try_cosine_similarity<S, S2, E, T, T2>(
    x1: Tensor<S, E, T>,
    x2: Tensor<S2, E, T2>,
    eps: f64,
) -> Result<Tensor<<Broadcast<S, S2> as LastDim>::WithoutLast, E, Merged<E, T, T2>>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    try_cosine_similarity_along(x1, x2, eps, |s| (s.dims().rank() - 1, s.without_last()))
}

/// `||x1 - x2 + eps||_p` over the last axis (`F.pairwise_distance(x1, x2, p, eps)`;
/// PyTorch's defaults are `p = 2`, `eps = 1e-6`): `p = 1`, `2`, `f64::INFINITY` or any
/// other positive `p`. `x1` and `x2` broadcast. Panics if run-time sizes do not broadcast or
/// `p <= 0` (see [`try_pairwise_distance`]).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::distance::pairwise_distance;
/// let a = Tensor::<Rank2<2, 2>, f64>::from_array([[0.0, 0.0], [1.0, 1.0]]);
/// let b = Tensor::<Rank2<2, 2>, f64>::from_array([[3.0, 4.0], [1.0, 1.0]]);
/// let d: Tensor<Rank1<2>, f64> = pairwise_distance(a, b, 2.0, 0.0);
/// assert_eq!(d.to_vec()[0], 5.0);
/// assert!(d.to_vec()[1] < 1e-18); // the floor under the sum of squares, see the module
/// ```
#[track_caller]
pub fn pairwise_distance<S, S2, E, T, T2>(
    x1: Tensor<S, E, T>,
    x2: Tensor<S2, E, T2>,
    p: f64,
    eps: f64,
) -> Tensor<<Broadcast<S, S2> as LastDim>::WithoutLast, E, Merged<E, T, T2>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let () = BroadcastCheck::<S, S2, PairwiseDistanceOp>::OK;
    try_pairwise_distance(x1, x2, p, eps).or_panic()
}

/// [`pairwise_distance`], with an error when run-time sizes do not broadcast or `p <= 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::distance::try_pairwise_distance;
/// let a = Tensor::<(usize, usize)>::ones_with_shape((2, 3));
/// let b = Tensor::<(usize, usize)>::ones_with_shape((2, 3));
/// assert_eq!(try_pairwise_distance(a.clone(), b.clone(), 1.0, 0.5).unwrap().to_vec(), vec![1.5, 1.5]);
/// assert!(try_pairwise_distance(a.clone(), b, 0.0, 1e-6).is_err());
/// let c = Tensor::<(usize, usize)>::ones_with_shape((2, 4));
/// assert!(try_pairwise_distance(a, c, 2.0, 1e-6).is_err());
/// ```
pub fn try_pairwise_distance<S, S2, E, T, T2>(
    x1: Tensor<S, E, T>,
    x2: Tensor<S2, E, T2>,
    p: f64,
    eps: f64,
) -> Result<Tensor<<Broadcast<S, S2> as LastDim>::WithoutLast, E, Merged<E, T, T2>>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let () = BroadcastCheck::<S, S2, PairwiseDistanceOp>::OK;
    check_p("pairwise_distance", p)?;
    let shape = broadcast_for("pairwise_distance", &x1.shape, &x2.shape)?;
    let out = shape.without_last();
    Ok(pairwise_distance_op(x1, x2, shape, (p, eps), out))
}

/// [`pairwise_distance`] keeping the last axis with size 1 (`keepdim=True`).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::distance::pairwise_distance_keepdim;
/// let a = Tensor::<Rank2<2, 2>>::from_array([[0.0, 0.0], [1.0, 1.0]]);
/// let b = Tensor::<Rank2<2, 2>>::from_array([[3.0, 4.0], [1.0, 2.0]]);
/// let d: Tensor<Rank2<2, 1>> = pairwise_distance_keepdim(a, b, 1.0, 0.0);
/// assert_eq!(d.to_vec(), vec![7.0, 1.0]);
/// ```
#[track_caller]
pub fn pairwise_distance_keepdim<S, S2, E, T, T2>(
    x1: Tensor<S, E, T>,
    x2: Tensor<S2, E, T2>,
    p: f64,
    eps: f64,
) -> Tensor<<Broadcast<S, S2> as LastDim>::WithLast<Const<1>>, E, Merged<E, T, T2>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let () = BroadcastCheck::<S, S2, PairwiseDistanceOp>::OK;
    try_pairwise_distance_keepdim(x1, x2, p, eps).or_panic()
}

/// [`pairwise_distance_keepdim`], with an error when run-time sizes do not broadcast or
/// `p <= 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::distance::try_pairwise_distance_keepdim;
/// let a = Tensor::<(usize, usize)>::ones_with_shape((2, 3));
/// let d = try_pairwise_distance_keepdim(a.clone(), a, 2.0, 0.0).unwrap();
/// assert_eq!(d.dims().as_slice(), &[2, 1]);
/// ```
pub fn try_pairwise_distance_keepdim<S, S2, E, T, T2>(
    x1: Tensor<S, E, T>,
    x2: Tensor<S2, E, T2>,
    p: f64,
    eps: f64,
) -> Result<Tensor<<Broadcast<S, S2> as LastDim>::WithLast<Const<1>>, E, Merged<E, T, T2>>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let () = BroadcastCheck::<S, S2, PairwiseDistanceOp>::OK;
    check_p("pairwise_distance", p)?;
    let shape = broadcast_for("pairwise_distance", &x1.shape, &x2.shape)?;
    let out = shape.with_last(Const::<1>);
    Ok(pairwise_distance_op(x1, x2, shape, (p, eps), out))
}

/// `x / max(||x||_p, eps)` along the last axis (`F.normalize(x, p, dim=-1, eps)`; PyTorch's
/// defaults are `p = 2`, `dim = 1` (the same axis for `(N, D)` inputs), `eps = 1e-12`): rows of embeddings scaled to unit length. Panics
/// if `p <= 0` (see [`try_normalize`]); [`Tensor::normalize`] takes any axis.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::distance::normalize;
/// let x = Tensor::<Rank2<2, 2>>::from_array([[3.0, 4.0], [0.0, 0.0]]);
/// assert_eq!(normalize(x, 2.0, 1e-12).to_vec(), vec![0.6, 0.8, 0.0, 0.0]);
/// ```
#[track_caller]
pub fn normalize<S: LastDim, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    p: f64,
    eps: f64,
) -> Tensor<S, E, T> {
    try_normalize(x, p, eps).or_panic()
}

/// [`normalize`], with an error when `p <= 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::ops::distance::try_normalize;
/// let x = Tensor::<Rank1<2>>::from_array([3.0, -1.0]);
/// assert_eq!(try_normalize(x.clone(), 1.0, 1e-12).unwrap().to_vec(), vec![0.75, -0.25]);
/// assert!(try_normalize(x, -1.0, 1e-12).is_err());
/// ```
pub fn try_normalize<S: LastDim, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    p: f64,
    eps: f64,
) -> Result<Tensor<S, E, T>> {
    check_p("normalize", p)?;
    let axis = x.shape.dims().rank() - 1;
    Ok(normalize_op(x, axis, p, eps))
}

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// `x / max(||x||_p, eps)` along axis `I` (`F.normalize(x, p, dim=I, eps)`; PyTorch's
    /// defaults are `p = 2`, `eps = 1e-12`); the gradient does not flow through the clamp
    /// where the norm is below `eps`, as in PyTorch. Panics if `p <= 0` (see
    /// [`try_normalize`](Self::try_normalize)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 2>>::from_array([[3.0, 1.0], [4.0, 0.0]]);
    /// assert_eq!(x.normalize::<0>(2.0, 1e-12).to_vec(), vec![0.6, 1.0, 0.8, 0.0]);
    /// ```
    #[track_caller]
    pub fn normalize<const I: usize>(self, p: f64, eps: f64) -> Self
    where
        S: HasAxis<I>,
    {
        self.try_normalize::<I>(p, eps).or_panic()
    }

    /// [`normalize`](Self::normalize), with an error when `p <= 0`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 2>>::ones();
    /// assert!(x.clone().try_normalize::<1>(2.0, 1e-12).is_ok());
    /// assert!(x.try_normalize::<1>(0.0, 1e-12).is_err());
    /// ```
    pub fn try_normalize<const I: usize>(self, p: f64, eps: f64) -> Result<Self>
    where
        S: HasAxis<I>,
    {
        check_p("normalize", p)?;
        Ok(normalize_op(self, I, p, eps))
    }
}
