//! The cosine embedding loss on the GPU, as [`GpuLoss`] (the loss struct moved with
//! `to_device`) and as an `F`-style function, composed from the GPU ops as the CPU composes it.

// The signatures spell out reduced shapes and merged tapes, as the CPU losses do.
#![allow(clippy::type_complexity)]

use super::activations::GpuActivations;
use super::loss::{GpuLossTape, check_same};
use super::loss_modules::GpuLoss;
use super::loss_reduce::GpuReduce;
use super::ops::{GpuOps, binary_op};
use super::reduce::sum_axis;
use super::tensor::{GpuTensor, ToDevice, gpu_tensor};
use crate::autograd::{Merge, NoTape, Tape};
use crate::device::Wgpu;
use crate::device::kernels::BinaryOp;
use crate::dtype::Float;
use crate::error::{OrPanic, Result};
use crate::nn::loss::CosineEmbeddingLoss;
use crate::shape::{LastDim, Shape, check_target_dims};
use crate::tensor::Tensor;

/// PyTorch's `EPSILON` in `cosine_embedding_loss`, added to each squared magnitude.
const EPSILON: f64 = 1e-12;

/// The loss on the GPU ([`GpuLoss`]); it holds no tensor, so nothing is uploaded.
impl<R: Clone> ToDevice for CosineEmbeddingLoss<R> {
    type Output = GpuLoss<CosineEmbeddingLoss<R>>;
    fn to_device(&self, _: &Wgpu) -> Result<Self::Output> {
        Ok(GpuLoss::settings(self.clone()))
    }
}

impl<R: GpuReduce> GpuLoss<CosineEmbeddingLoss<R>> {
    /// The cosine embedding loss of the pairs `x1`, `x2` (the last axis is the embedding)
    /// against labels `target` in {1, -1}, a CPU tensor (uploaded as two masks, as the CPU
    /// reads it): `1 - cos` where `y = 1`, `max(0, cos - margin)` where `y = -1`, 0 for
    /// other labels, with PyTorch's cosine `sum(x1 x2) / sqrt((sum(x1^2) + 1e-12) (sum(x2^2) +
    /// 1e-12))`, as the CPU struct's `forward`. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::{CosineEmbeddingLoss, Reduction};
    /// let gpu = Wgpu::new()?;
    /// let loss = CosineEmbeddingLoss::new().margin(0.5).reduction(Reduction::None);
    /// let loss = loss.to_device(&gpu)?;
    /// let x1 = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [1.0, 0.0]]).to_device(&gpu)?;
    /// let x2 = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [1.0, 1.0]]).to_device(&gpu)?;
    /// let y = Tensor::<Rank1<2>>::from_array([1.0, -1.0]);
    /// let per_pair: GpuTensor<Rank1<2>> = loss.forward(x1, x2, &y);
    /// assert!(per_pair.to_cpu()?.to_vec()[0].abs() < 1e-6);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<S: LastDim, SY: Shape, E: Float, T, T2, TY>(
        &self,
        x1: GpuTensor<S, T, E>,
        x2: GpuTensor<S, T2, E>,
        target: &Tensor<SY, E, TY>,
    ) -> GpuTensor<R::Output<S::WithoutLast>, GpuLossTape<T, T2, E>, E>
    where
        T: Tape<E> + Merge<E, T2>,
        T2: Tape<E>,
    {
        self.try_forward(x1, x2, target).or_panic()
    }

    /// [`forward`](Self::forward) with an `Err` when run-time sizes differ (the inputs, or
    /// the target and the inputs without their last axis).
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::CosineEmbeddingLoss;
    /// let gpu = Wgpu::new()?;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 2)).to_device(&gpu)?;
    /// let y = Tensor::<(usize,)>::ones_with_shape((2,));
    /// let loss = CosineEmbeddingLoss::new().to_device(&gpu)?;
    /// assert!(loss.try_forward(x.clone(), x, &y).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_forward<S: LastDim, SY: Shape, E: Float, T, T2, TY>(
        &self,
        x1: GpuTensor<S, T, E>,
        x2: GpuTensor<S, T2, E>,
        target: &Tensor<SY, E, TY>,
    ) -> Result<GpuTensor<R::Output<S::WithoutLast>, GpuLossTape<T, T2, E>, E>>
    where
        T: Tape<E> + Merge<E, T2>,
        T2: Tape<E>,
    {
        const OP: &str = "cosine_embedding_loss";
        check_same(OP, &x1.shape, &x2.shape)?;
        let pairs = x1.shape.without_last();
        check_target_dims(OP, pairs.dims().as_slice(), target.shape.dims().as_slice())?;
        let dev = x1.data.device().clone();
        let mask = |v: f64| {
            let m: Vec<E> = target
                .as_slice()
                .iter()
                .map(|&y| if y.to_f64() == v { E::ONE } else { E::ZERO })
                .collect();
            gpu_tensor(pairs, dev.upload(&m), NoTape)
        };
        let (similar, dissimilar) = (mask(1.0), mask(-1.0));
        let (eps, shape) = (E::from_f64(EPSILON), x1.shape);
        let last = shape.dims().len() - 1;
        let product = binary_op(x1.clone(), x2.clone(), shape, BinaryOp::Mul)?;
        let dot = sum_axis(product, last, pairs, false);
        let mag1 = sum_axis(x1.square(), last, pairs, false) + eps;
        let mag2 = sum_axis(x2.square(), last, pairs, false) + eps;
        let denom = binary_op(mag1, mag2, pairs, BinaryOp::Mul)?.sqrt();
        let cos = binary_op(dot, denom, pairs, BinaryOp::Div)?;
        let pos = -cos.clone() + E::ONE;
        let neg = (cos + E::from_f64(-self.loss.margin)).clamp(E::ZERO, E::INFINITY);
        let loss = binary_op(
            binary_op(pos, similar, pairs, BinaryOp::Mul)?,
            binary_op(neg, dissimilar, pairs, BinaryOp::Mul)?,
            pairs,
            BinaryOp::Add,
        )?;
        Ok(self.loss.reduction.reduce_gpu(loss))
    }
}

/// Cosine embedding loss on the GPU with PyTorch's defaults (`margin=0`, the mean): the
/// GPU's [`cosine_embedding_loss`](crate::nn::loss::cosine_embedding_loss), the target a CPU
/// tensor. Panics where [`try_cosine_embedding_loss`] returns an error.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank2<2, 3>>::ones().to_device(&gpu)?;
/// let y = Tensor::<Rank1<2>>::ones();
/// let loss = shaped::gpu::cosine_embedding_loss(x.clone(), x, &y);
/// assert!(loss.to_cpu()?.to_vec()[0].abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn cosine_embedding_loss<S: LastDim, SY: Shape, E: Float, T, T2, TY>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S, T2, E>,
    target: &Tensor<SY, E, TY>,
) -> GpuTensor<(), GpuLossTape<T, T2, E>, E>
where
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    try_cosine_embedding_loss(x1, x2, target).or_panic()
}

/// [`cosine_embedding_loss`] with an `Err` when run-time sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<(usize, usize)>::zeros_with_shape((3, 2)).to_device(&gpu)?;
/// let y = Tensor::<(usize,)>::ones_with_shape((4,));
/// assert!(shaped::gpu::try_cosine_embedding_loss(x.clone(), x, &y).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_cosine_embedding_loss<S: LastDim, SY: Shape, E: Float, T, T2, TY>(
    x1: GpuTensor<S, T, E>,
    x2: GpuTensor<S, T2, E>,
    target: &Tensor<SY, E, TY>,
) -> Result<GpuTensor<(), GpuLossTape<T, T2, E>, E>>
where
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    GpuLoss::settings(CosineEmbeddingLoss::new()).try_forward(x1, x2, target)
}
