//! Distances and similarities on GPU tensors, composed from the GPU ops (so their backward
//! steps are those ops'), with the CPU's formulas of [`crate::ops::distance`]:
//! [`normalize`] and `x.normalize::<I>()` (`F.normalize`), [`cosine_similarity`]
//! (`F.cosine_similarity`), [`pairwise_distance`] (`F.pairwise_distance`), and the
//! [`CosineSimilarity`] and [`PairwiseDistance`] layers on pairs of GPU tensors.
//!
//! The same eps rules as on the CPU: the sum of p-th powers is floored at the element type's
//! smallest normal number before its root, `normalize` divides by `max(||x||, eps)` with the
//! gradient stopped where the clamp holds, and `cosine_similarity` divides each input by its
//! clamped norm with the clamp transparent to the gradient (PyTorch's in-place clamp).

use super::activations::GpuActivations;
use super::index_ops::broadcast_op;
use super::ops::{GpuOps, binary_op};
use super::recurrent::retype;
use super::reduce::{extreme_axis, sum_axis};
use super::tensor::{GpuAutograd, GpuTensor};
use crate::autograd::{Merge, Tape};
use crate::device::kernels::BinaryOp;
use crate::dtype::Float;
use crate::error::{OrPanic, Result};
use crate::nn::{CosineSimilarity, Module, PairwiseDistance};
use crate::ops::distance::{CosineSimilarityOp, PairwiseDistanceOp, check_p, sum_floor};
use crate::ops::reduce::keep;
use crate::shape::check::BroadcastCheck;
use crate::shape::{BroadcastShapes, Const, HasAxis, LastDim, Shape, broadcast_for};

/// The shape `x1` (`S`) and `x2` (`S2`) broadcast to.
type Broadcast<S, S2> = <S as BroadcastShapes<S2>>::Output;
/// The tape of a result of `x1` (tape `T`) and `x2` (tape `T2`).
type Merged<E, T, T2> = <T as Merge<E, T2>>::Output;

fn infinity<E: Float>() -> E {
    E::from_f64(f64::INFINITY)
}

/// `||x||_p` along `axis` into `out`, as the CPU's `norm_axis_op`.
fn norm_axis<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    p: f64,
    out: SO,
) -> Result<GpuTensor<SO, T, E>> {
    let floor = sum_floor::<E>();
    Ok(if p == 1.0 {
        sum_axis(x.abs(), axis, out, false)
    } else if p == 2.0 {
        sum_axis(x.square(), axis, out, false)
            .clamp(floor, infinity())
            .sqrt()
    } else if p == f64::INFINITY {
        extreme_axis(x.abs(), axis, out, false)?.0
    } else {
        sum_axis(x.abs().powf(E::from_f64(p)), axis, out, false)
            .clamp(floor, infinity())
            .powf(E::from_f64(1.0 / p))
    })
}

/// `x / max(||x||_p, eps)` along `axis`, `p` already checked.
fn normalize_along<S: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    p: f64,
    eps: f64,
) -> Result<GpuTensor<S, T, E>> {
    let (shape, dims) = (x.shape, x.shape.dims());
    let norm = norm_axis(x.clone(), axis, p, keep(&dims, axis))?;
    let denom = norm.clamp(E::from_f64(eps), infinity());
    binary_op(x, denom, shape, BinaryOp::Div)
}

/// `x / max(||x||_2, eps)` along `axis` as PyTorch's `cosine_similarity` divides: the value
/// of the clamp, the gradient of the unclamped norm (the CPU's `ClampMinPassThroughKernel`),
/// as `norm + detach(max(norm, eps) - norm)`.
fn unit_for_cosine<S: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    axis: usize,
    eps: f64,
) -> Result<GpuTensor<S, T, E>> {
    let (shape, dims) = (x.shape, x.shape.dims());
    let kept = keep(&dims, axis);
    let norm = norm_axis(x.clone(), axis, 2.0, kept)?;
    let value = norm.clone().detach();
    let lift = binary_op(
        value.clone().clamp(E::from_f64(eps), infinity()),
        value,
        kept,
        BinaryOp::Sub,
    )?;
    let denom = binary_op(norm, lift, kept, BinaryOp::Add)?;
    binary_op(x, denom, shape, BinaryOp::Div)
}

/// `x` under the broadcast shape `to` (a copy only where the sizes differ).
fn broadcast_to_shape<S: Shape, SB: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    to: SB,
) -> Result<GpuTensor<SB, T, E>> {
    if x.shape.dims() == to.dims() {
        Ok(retype(x, to))
    } else {
        broadcast_op(x, to)
    }
}

/// Cosine similarity along the axis `axis_of` picks from the broadcast shape, into the
/// output shape it gives: the body of [`try_cosine_similarity`] and of the layer.
fn cosine_similarity_along<S, S2, SO, E, T, T2>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S2, T2, E>,
    eps: f64,
    axis_of: impl FnOnce(&Broadcast<S, S2>) -> (usize, SO),
) -> Result<GpuTensor<SO, Merged<E, T, T2>, E>>
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
    let u1 = unit_for_cosine(broadcast_to_shape(x1, shape)?, axis, eps)?;
    let u2 = unit_for_cosine(broadcast_to_shape(x2, shape)?, axis, eps)?;
    Ok(sum_axis(
        binary_op(u1, u2, shape, BinaryOp::Mul)?,
        axis,
        out,
        false,
    ))
}

/// `||x1 - x2 + eps||_p` over the last axis of the broadcast shape into `out`.
fn pairwise_distance_into<S, S2, SO, E, T, T2>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S2, T2, E>,
    (p, eps): (f64, f64),
    out_of: impl FnOnce(&Broadcast<S, S2>) -> SO,
) -> Result<GpuTensor<SO, Merged<E, T, T2>, E>>
where
    S: BroadcastShapes<S2>,
    S2: Shape,
    SO: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    let () = BroadcastCheck::<S, S2, PairwiseDistanceOp>::OK;
    check_p("pairwise_distance", p)?;
    let shape = broadcast_for("pairwise_distance", &x1.shape, &x2.shape)?;
    let axis = shape.dims().rank() - 1;
    let out = out_of(&shape);
    let diff = binary_op(x1, x2, shape, BinaryOp::Sub)? + E::from_f64(eps);
    norm_axis(diff, axis, p, out)
}

/// Cosine similarity of GPU tensors along the last axis, as the CPU's
/// [`cosine_similarity`](crate::ops::distance::cosine_similarity) (`F.cosine_similarity(x1,
/// x2, dim=-1, eps)`, the inputs broadcast). Panics if run-time sizes do not broadcast (see
/// [`try_cosine_similarity`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [3.0, 4.0]]).to_device(&gpu)?;
/// let b = Tensor::<Rank2<2, 2>>::from_array([[0.0, 2.0], [6.0, 8.0]]).to_device(&gpu)?;
/// let cos = shaped::gpu::cosine_similarity(a, b, 1e-8).to_cpu()?.to_vec();
/// assert!(cos[0].abs() < 1e-6 && (cos[1] - 1.0).abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn cosine_similarity<S, S2, E, T, T2>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S2, T2, E>,
    eps: f64,
) -> GpuTensor<<Broadcast<S, S2> as LastDim>::WithoutLast, Merged<E, T, T2>, E>
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

/// [`cosine_similarity`], with an `Err` naming the shapes when run-time sizes do not
/// broadcast.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<(usize, usize)>::ones_with_shape((2, 3)).to_device(&gpu)?;
/// let b = Tensor::<(usize, usize)>::ones_with_shape((2, 4)).to_device(&gpu)?;
/// assert!(shaped::gpu::try_cosine_similarity(a, b, 1e-8).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_cosine_similarity<S, S2, E, T, T2>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S2, T2, E>,
    eps: f64,
) -> Result<GpuTensor<<Broadcast<S, S2> as LastDim>::WithoutLast, Merged<E, T, T2>, E>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    cosine_similarity_along(x1, x2, eps, |s| (s.dims().rank() - 1, s.without_last()))
}

/// `||x1 - x2 + eps||_p` over the last axis of GPU tensors, as the CPU's
/// [`pairwise_distance`](crate::ops::distance::pairwise_distance) (`F.pairwise_distance`;
/// `p` = 1, 2, infinity or any other positive number; the inputs broadcast). Panics if
/// run-time sizes do not broadcast or `p <= 0` (see [`try_pairwise_distance`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<Rank2<1, 2>>::from_array([[0.0, 0.0]]).to_device(&gpu)?;
/// let b = Tensor::<Rank2<1, 2>>::from_array([[3.0, 4.0]]).to_device(&gpu)?;
/// let d = shaped::gpu::pairwise_distance(a, b, 2.0, 0.0).to_cpu()?.to_vec();
/// assert!((d[0] - 5.0).abs() < 1e-5);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn pairwise_distance<S, S2, E, T, T2>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S2, T2, E>,
    p: f64,
    eps: f64,
) -> GpuTensor<<Broadcast<S, S2> as LastDim>::WithoutLast, Merged<E, T, T2>, E>
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

/// [`pairwise_distance`], with an `Err` when run-time sizes do not broadcast or `p <= 0`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<Rank2<2, 3>>::ones().to_device(&gpu)?;
/// assert!(shaped::gpu::try_pairwise_distance(a.clone(), a, 0.0, 1e-6).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_pairwise_distance<S, S2, E, T, T2>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S2, T2, E>,
    p: f64,
    eps: f64,
) -> Result<GpuTensor<<Broadcast<S, S2> as LastDim>::WithoutLast, Merged<E, T, T2>, E>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    pairwise_distance_into(x1, x2, (p, eps), |s| s.without_last())
}

/// [`pairwise_distance`] keeping the last axis with size 1 (`keepdim=True`).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<Rank2<2, 3>>::ones().to_device(&gpu)?;
/// let d = shaped::gpu::pairwise_distance_keepdim(a.clone(), a, 1.0, 0.5);
/// assert_eq!(d.to_cpu()?.to_vec(), vec![1.5, 1.5]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn pairwise_distance_keepdim<S, S2, E, T, T2>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S2, T2, E>,
    p: f64,
    eps: f64,
) -> GpuTensor<<Broadcast<S, S2> as LastDim>::WithLast<Const<1>>, Merged<E, T, T2>, E>
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

/// [`pairwise_distance_keepdim`], with an `Err` when run-time sizes do not broadcast or
/// `p <= 0`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<(usize, usize)>::ones_with_shape((2, 3)).to_device(&gpu)?;
/// let d = shaped::gpu::try_pairwise_distance_keepdim(a.clone(), a, 2.0, 0.0)?;
/// assert_eq!(d.to_cpu()?.dims().as_slice(), &[2, 1]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_pairwise_distance_keepdim<S, S2, E, T, T2>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S2, T2, E>,
    p: f64,
    eps: f64,
) -> Result<GpuTensor<<Broadcast<S, S2> as LastDim>::WithLast<Const<1>>, Merged<E, T, T2>, E>>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    pairwise_distance_into(x1, x2, (p, eps), |s| s.with_last(Const::<1>))
}

/// `x / max(||x||_p, eps)` along the last axis of a GPU tensor, as the CPU's
/// [`normalize`](crate::ops::distance::normalize) (`F.normalize(x, p, dim=-1, eps)`). Panics
/// if `p <= 0` (see [`try_normalize`]); `x.normalize::<I>(p, eps)` takes any axis.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let x = Tensor::<Rank2<1, 2>>::from_array([[3.0, 4.0]]).to_device(&Wgpu::new()?)?;
/// let y = shaped::gpu::normalize(x, 2.0, 1e-12).to_cpu()?.to_vec();
/// assert!((y[0] - 0.6).abs() < 1e-6 && (y[1] - 0.8).abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn normalize<S: LastDim, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    p: f64,
    eps: f64,
) -> GpuTensor<S, T, E> {
    try_normalize(x, p, eps).or_panic()
}

/// [`normalize`], with an `Err` when `p <= 0`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let x = Tensor::<Rank1<2>>::from_array([3.0, -1.0]).to_device(&Wgpu::new()?)?;
/// assert!(shaped::gpu::try_normalize(x, -1.0, 1e-12).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_normalize<S: LastDim, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    p: f64,
    eps: f64,
) -> Result<GpuTensor<S, T, E>> {
    check_p("normalize", p)?;
    let axis = x.shape.dims().rank() - 1;
    normalize_along(x, axis, p, eps)
}

impl<S: Shape, E: Float, T: Tape<E>> GpuTensor<S, T, E> {
    /// `x / max(||x||_p, eps)` along axis `I` on the GPU, as the CPU's
    /// [`normalize`](crate::tensor::Tensor::normalize) (`F.normalize(x, p, dim=I, eps)`).
    /// Panics if `p <= 0` (see [`try_normalize`](Self::try_normalize)).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 2>>::from_array([[3.0, 1.0], [4.0, 0.0]]);
    /// let y = x.to_device(&Wgpu::new()?)?.normalize::<0>(2.0, 1e-12).to_cpu()?.to_vec();
    /// assert!((y[0] - 0.6).abs() < 1e-6 && (y[3] - 0.0).abs() < 1e-6);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn normalize<const I: usize>(self, p: f64, eps: f64) -> Self
    where
        S: HasAxis<I>,
    {
        self.try_normalize::<I>(p, eps).or_panic()
    }

    /// [`normalize`](Self::normalize), with an `Err` when `p <= 0`.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let x = Tensor::<Rank2<2, 2>>::ones().to_device(&Wgpu::new()?)?;
    /// assert!(x.try_normalize::<1>(0.0, 1e-12).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_normalize<const I: usize>(self, p: f64, eps: f64) -> Result<Self>
    where
        S: HasAxis<I>,
    {
        check_p("normalize", p)?;
        normalize_along(self, I, p, eps)
    }
}

impl<const DIM: usize, S, S2, E, T, T2> Module<(GpuTensor<S, T, E>, GpuTensor<S2, T2, E>)>
    for CosineSimilarity<DIM>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: HasAxis<DIM>,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    type Output = GpuTensor<<Broadcast<S, S2> as HasAxis<DIM>>::Reduced, Merged<E, T, T2>, E>;
    fn try_forward(
        &self,
        (x1, x2): (GpuTensor<S, T, E>, GpuTensor<S2, T2, E>),
    ) -> Result<Self::Output> {
        cosine_similarity_along(x1, x2, self.eps, |s| (DIM, s.reduced()))
    }
}

impl<S, S2, E, T, T2> Module<(GpuTensor<S, T, E>, GpuTensor<S2, T2, E>)> for PairwiseDistance<false>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    type Output = GpuTensor<<Broadcast<S, S2> as LastDim>::WithoutLast, Merged<E, T, T2>, E>;
    fn try_forward(
        &self,
        (x1, x2): (GpuTensor<S, T, E>, GpuTensor<S2, T2, E>),
    ) -> Result<Self::Output> {
        try_pairwise_distance(x1, x2, self.p, self.eps)
    }
}

impl<S, S2, E, T, T2> Module<(GpuTensor<S, T, E>, GpuTensor<S2, T2, E>)> for PairwiseDistance<true>
where
    S: BroadcastShapes<S2>,
    Broadcast<S, S2>: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    type Output = GpuTensor<<Broadcast<S, S2> as LastDim>::WithLast<Const<1>>, Merged<E, T, T2>, E>;
    fn try_forward(
        &self,
        (x1, x2): (GpuTensor<S, T, E>, GpuTensor<S2, T2, E>),
    ) -> Result<Self::Output> {
        try_pairwise_distance_keepdim(x1, x2, self.p, self.eps)
    }
}

no_params_on_gpu!([const DIM: usize,] CosineSimilarity<DIM>);
no_params_on_gpu!([const KEEPDIM: bool,] PairwiseDistance<KEEPDIM>);
