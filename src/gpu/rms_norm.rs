//! [`GpuRMSNorm`]: RMSNorm on the GPU, composed from the GPU ops (square, mean along the
//! last axis, `sqrt`, a broadcast division and product), whose backward steps give its
//! gradient.

use super::activations::GpuActivations;
use super::nn::{GpuParamMut, GpuParams};
use super::ops::{GpuOps, binary_op};
use super::recurrent::retag;
use super::reduce::sum_axis;
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use crate::autograd::{NoTape, Tape};
use crate::device::Wgpu;
use crate::device::kernels::BinaryOp;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{Module, RMSNormLayer};
use crate::shape::check::{DimCheck, RmsNormInput};
use crate::shape::{Dim, DimEq, DynShape, LastDim, Shape, ShapeMismatch};

/// [`RMSNormLayer`] (`RMSNorm<D>`, `RMSNormDyn`) on the GPU, made by
/// `rms_norm.to_device(&gpu)`: `x / sqrt(mean(x^2) + eps) * weight` over the last
/// dimension, the same `(D,)` weight and `eps` (`None`: the element type's machine
/// epsilon, PyTorch's default); of the CPU layer's element type `E` (f32 or f64).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, RMSNorm};
/// let gpu = Wgpu::new()?;
/// let norm = RMSNorm::<2>::new().to_device(&gpu)?;
/// let x = Tensor::<Rank2<1, 2>>::from_array([[3.0, 4.0]]).to_device(&gpu)?;
/// let y = norm.forward(x).to_cpu()?.to_vec(); // divided by sqrt(12.5)
/// assert!((y[0] - 3.0 / 12.5f32.sqrt()).abs() < 1e-5);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuRMSNorm<D: Dim, E: Float = f32> {
    /// Scale, `(D,)`.
    pub weight: GpuTensor<(D,), NoTape, E>,
    /// Added to the mean square inside the square root; `None` is `E`'s machine epsilon.
    pub eps: Option<f64>,
}

impl<D: Dim, E: Float> ToDevice for RMSNormLayer<D, E> {
    type Output = GpuRMSNorm<D, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuRMSNorm<D, E>> {
        Ok(GpuRMSNorm {
            weight: self.weight.to_device(gpu)?,
            eps: self.eps,
        })
    }
}

impl<D: Dim, E: Float> ToCpu for GpuRMSNorm<D, E> {
    type Output = RMSNormLayer<D, E>;
    fn to_cpu(&self) -> Result<RMSNormLayer<D, E>> {
        Ok(RMSNormLayer {
            weight: self.weight.to_cpu()?,
            eps: self.eps,
        })
    }
}

impl<D: Dim, E: Float> GpuParams<E> for GpuRMSNorm<D, E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        f(GpuParamMut {
            name: &format!("{prefix}weight"),
            id: self.weight.id,
            data: &mut self.weight.data,
        });
    }
}

impl<D: Dim, E: Float, S: Shape + LastDim, T: Tape<E>> Module<GpuTensor<S, T, E>>
    for GpuRMSNorm<D, E>
where
    S::Last: DimEq<D>,
{
    type Output = GpuTensor<S, T, E>;
    const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<S::Last, D, RmsNormInput>::MISMATCH;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        let () = <Self as Module<GpuTensor<S, T, E>>>::SHAPE_CHECK;
        let (shape, dims) = (x.shape, x.shape.dims());
        let d = self.weight.shape.0.size();
        if shape.last().size() != d {
            return Err(Error::shape(
                "RMSNorm",
                format!(
                    "input of shape {:?} has last dimension {}, the layer normalises {d}",
                    dims.as_slice(),
                    shape.last().size(),
                ),
            ));
        }
        let axis = dims.rank() - 1;
        let mut kept = dims.as_slice().to_vec();
        kept[axis] = 1;
        let kept = DynShape::new(&kept).ok_or_else(|| Error::shape("RMSNorm", "rank above 6"))?;
        let eps = E::from_f64(self.eps.unwrap_or(E::EPSILON.to_f64()));
        let mean_square = sum_axis(x.clone().square(), axis, kept, true);
        let rms = (mean_square + eps).sqrt();
        let unit = binary_op(x, rms, shape, BinaryOp::Div)?;
        let weight = retag(self.weight.clone(), T::leaf(self.weight.id));
        binary_op(unit, weight, shape, BinaryOp::Mul)
    }
}
