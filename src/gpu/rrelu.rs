//! [`RReLU`] on GPU tensors: in evaluation mode the leaky ReLU of the fixed slope
//! `(lower + upper) / 2`; in training mode random slopes drawn on the CPU from the layer's
//! own generator and uploaded (as GPU Dropout draws its mask).

use super::activations::GpuActivations;
use super::compare::GpuCompare;
use super::nn::{GpuParamMut, GpuParams};
use super::ops::binary_op;
use super::tensor::{GpuTensor, ToCpu, ToDevice, gpu_tensor};
use crate::autograd::{NoTape, Tape};
use crate::device::Wgpu;
use crate::device::compare_kernels;
use crate::device::kernels::BinaryOp;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::{Module, RReLU};
use crate::ops::activation::check_rrelu_bounds;
use crate::shape::Shape;

/// RReLU on GPU tensors (`nn.RReLU(lower, upper)` on CUDA): `x` where positive, else `x`
/// times a slope. In evaluation mode the slope is `(lower + upper) / 2`, as on the CPU. In
/// training mode (`train()`, `forward_train`) every element's slope is drawn uniformly from
/// `[lower, upper]` by the layer's generator on the CPU, one draw per element, and uploaded;
/// the CPU layer draws only for the non-positive elements (it reads `x`, which the GPU layer
/// does not download), so the two take different slopes from one seed. The gradient is the
/// slope used (1 where `x > 0`). `to_device` copies the layer with its generator state.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, RReLU};
/// let gpu = Wgpu::new()?;
/// let layer = RReLU::with_seed(0.1, 0.3, 0).to_device(&gpu)?;
/// let x = Tensor::<Rank1<2>>::from_array([-1.0, 2.0]).to_device(&gpu)?;
/// let y = layer.forward(x).to_cpu()?.to_vec();
/// assert!((y[0] + 0.2).abs() < 1e-6 && y[1] == 2.0);
/// # Ok::<(), shaped::error::Error>(())
/// ```
impl<S: Shape, E: Float, T: Tape<E>> Module<GpuTensor<S, T, E>> for RReLU {
    type Output = GpuTensor<S, T, E>;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        let (lower, upper) = self.bounds();
        check_rrelu_bounds(lower, upper)?;
        if !self.active() {
            return Ok(x.leaky_relu(E::from_f64((lower + upper) / 2.0)));
        }
        let dims = x.shape.dims().to_vec();
        let dev = x.data.device();
        let drawn = dev.upload(&self.draw_slopes::<E>(x.shape.numel()));
        let one = dev.upload(&[E::ONE]);
        let positive = x.gt_scalar(E::ZERO);
        let slopes =
            compare_kernels::where_((&positive.data, &dims), (&one, &[]), (&drawn, &dims), &dims)?;
        let slopes = gpu_tensor(x.shape, slopes, NoTape);
        let shape = x.shape;
        binary_op(x, slopes, shape, BinaryOp::Mul)
    }
}

/// The layer on the GPU: the same layer, its generator state and mode copied.
impl ToDevice for RReLU {
    type Output = RReLU;
    fn to_device(&self, _: &Wgpu) -> Result<RReLU> {
        Ok(self.clone())
    }
}

/// The layer back, its generator state and mode copied.
impl ToCpu for RReLU {
    type Output = RReLU;
    fn to_cpu(&self) -> Result<RReLU> {
        Ok(self.clone())
    }
}

/// No parameters; `train()` / `eval()` switch its mode.
impl<E: Float> GpuParams<E> for RReLU {
    fn visit_gpu(&mut self, _: &str, _: &mut dyn FnMut(GpuParamMut<'_, E>)) {}
    fn set_training(&mut self, training: bool) {
        crate::nn::Params::<E>::set_training(self, training)
    }
    fn is_training(&self) -> bool {
        crate::nn::Params::<E>::is_training(self)
    }
}
