//! The reductions of GPU losses: the CPU's [`Reduction`](crate::nn::loss::Reduction) values
//! (`Mean`, `Sum`, `None`, and `BatchMean` for the KL divergence) applied to GPU tensors, with
//! the same output shapes, so that a loss moves between devices unchanged.

use super::ops::GpuOps;
use super::tensor::GpuTensor;
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::nn::loss::{
    BatchMeanReduction, KlDivReduce, MeanReduction, NoReduction, Reduce, SumReduction,
};
use crate::shape::Shape;

/// A [`Reduce`] that also reduces GPU tensors: [`Reduction::Mean`](crate::nn::loss::Reduction::Mean),
/// [`Reduction::Sum`](crate::nn::loss::Reduction::Sum) and
/// [`Reduction::None`](crate::nn::loss::Reduction::None), as on the CPU.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::gpu::GpuReduce;
/// use shaped::nn::loss::Reduction;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank1<4>>::from_array([1.0, 2.0, 3.0, 6.0]).to_device(&gpu)?;
/// assert_eq!(Reduction::Mean.reduce_gpu(x.clone()).to_cpu()?.to_vec(), vec![3.0]);
/// assert_eq!(Reduction::Sum.reduce_gpu(x).to_cpu()?.to_vec(), vec![12.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuReduce: Reduce {
    /// Reduces the unreduced GPU loss `x` ([`Reduce::reduce`] on the GPU).
    fn reduce_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
    ) -> GpuTensor<<Self as Reduce>::Output<S>, T, E>;
    /// Reduces `x` whose mean divides by `total` ([`Reduce::reduce_weighted`] on the GPU):
    /// NaN with zero gradients when `total` is 0, as PyTorch.
    fn reduce_weighted_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
        total: f64,
    ) -> GpuTensor<<Self as Reduce>::Output<S>, T, E>;
}

impl GpuReduce for MeanReduction {
    fn reduce_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
    ) -> GpuTensor<(), T, E> {
        x.mean()
    }
    fn reduce_weighted_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
        total: f64,
    ) -> GpuTensor<(), T, E> {
        if total == 0.0 {
            // PyTorch's 0 / 0 with the gradient it gives ignored targets: zero.
            x.sum() * E::ZERO + E::from_f64(f64::NAN)
        } else {
            x.sum() * E::from_f64(1.0 / total)
        }
    }
}

impl GpuReduce for SumReduction {
    fn reduce_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
    ) -> GpuTensor<(), T, E> {
        x.sum()
    }
    fn reduce_weighted_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
        _: f64,
    ) -> GpuTensor<(), T, E> {
        x.sum()
    }
}

impl GpuReduce for NoReduction {
    fn reduce_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
    ) -> GpuTensor<S, T, E> {
        x
    }
    fn reduce_weighted_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
        _: f64,
    ) -> GpuTensor<S, T, E> {
        x
    }
}

/// A [`KlDivReduce`] that also reduces GPU tensors: the three of [`GpuReduce`] and
/// [`Reduction::BatchMean`](crate::nn::loss::Reduction::BatchMean) (the sum over the size of
/// the first dimension; a 0-d loss is summed).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::gpu::GpuKlDivReduce;
/// use shaped::nn::loss::Reduction;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank2<2, 3>>::ones().to_device(&gpu)?;
/// assert_eq!(Reduction::BatchMean.reduce_kl_gpu(x).to_cpu()?.to_vec(), vec![3.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuKlDivReduce: KlDivReduce {
    /// Reduces the unreduced GPU loss `x`.
    fn reduce_kl_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
    ) -> GpuTensor<<Self as KlDivReduce>::Output<S>, T, E>;
}

macro_rules! kl_div_reduce_as_reduce {
    ($($r:ty),*) => {$(
        impl GpuKlDivReduce for $r {
            fn reduce_kl_gpu<S: Shape, E: Float, T: Tape<E>>(
                self,
                x: GpuTensor<S, T, E>,
            ) -> GpuTensor<<Self as KlDivReduce>::Output<S>, T, E> {
                self.reduce_gpu(x)
            }
        }
    )*};
}
kl_div_reduce_as_reduce!(MeanReduction, SumReduction, NoReduction);

impl GpuKlDivReduce for BatchMeanReduction {
    fn reduce_kl_gpu<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: GpuTensor<S, T, E>,
    ) -> GpuTensor<(), T, E> {
        let dims = x.shape.dims();
        let sum = x.sum();
        match dims.as_slice().first() {
            Some(&batch) => sum * E::from_f64(1.0 / batch as f64),
            None => sum,
        }
    }
}
