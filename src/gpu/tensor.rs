//! GPU tensors: transfers, tracing, `backward()` and reading gradients back.

use crate::autograd::{BackwardTape, DeviceGrad, Gradients, NoTape, OwnedTape, Tape, UniqueId};
use crate::device::{GpuStorage, Wgpu};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::{ScalarShape, Shape};
use crate::tensor::Tensor;
use std::any::{Any, TypeId};
use std::sync::Arc;

/// A GPU tensor: `Tensor<S, E, T, Wgpu>`, of `f32`s unless `E` says `f64` (which runs where
/// the adapter has `SHADER_F64`, see [`Wgpu::supports_f64`]).
pub type GpuTensor<S, T = NoTape, E = f32> = Tensor<S, E, T, Wgpu>;

/// An op's output on the GPU: a fresh id, the buffer and the (moved) tape.
pub(crate) fn gpu_tensor<S: Shape, E: Float, T>(
    shape: S,
    data: GpuStorage<E>,
    tape: T,
) -> GpuTensor<S, T, E> {
    debug_assert_eq!(shape.numel(), data.len());
    Tensor {
        shape,
        data,
        id: UniqueId::new(),
        tape,
    }
}

/// The untraced GPU tensor `t` carrying `tape` (the inverse of [`split`]).
pub(crate) fn with_tape<S: Shape, E: Float, T>(
    t: GpuTensor<S, NoTape, E>,
    tape: T,
) -> GpuTensor<S, T, E> {
    Tensor {
        shape: t.shape,
        data: t.data,
        id: t.id,
        tape,
    }
}

/// Separates a GPU tensor's tape from its values (same id).
pub(crate) fn split<S: Shape, E: Float, T>(t: GpuTensor<S, T, E>) -> (GpuTensor<S, NoTape, E>, T) {
    (
        Tensor {
            shape: t.shape,
            data: t.data,
            id: t.id,
            tape: NoTape,
        },
        t.tape,
    )
}

/// Moving a tensor, a layer or a whole model to a device (`model.to_device(&gpu)`).
pub trait ToDevice {
    /// The same thing on the device.
    type Output;
    /// A copy on `gpu`; an `Err` names what cannot go there (f64 on an adapter without
    /// `SHADER_F64`).
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output>;
}

/// Moving a GPU tensor, layer or model back to main memory.
pub trait ToCpu {
    /// The same thing on the CPU.
    type Output;
    /// A copy in main memory (waits for the GPU).
    fn to_cpu(&self) -> Result<Self::Output>;
}

/// A CPU tensor's values on the GPU, untraced (as PyTorch's `.to(device)` of a leaf). `f64`
/// needs an adapter with `SHADER_F64` ([`Wgpu::supports_f64`]); elsewhere it is an `Err`.
impl<S: Shape, E: Float, T> ToDevice for Tensor<S, E, T> {
    type Output = Tensor<S, E, NoTape, Wgpu>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        check_dtype::<E>("to_device", gpu)?;
        Ok(gpu_tensor(self.shape, gpu.upload(self.as_slice()), NoTape))
    }
}

/// An `Err` when the adapter cannot run kernels of element type `E` (f64 without
/// `SHADER_F64`).
pub(crate) fn check_dtype<E: Float>(op: &str, gpu: &Wgpu) -> Result<()> {
    if TypeId::of::<E>() == TypeId::of::<f64>() && !gpu.supports_f64() {
        return Err(Error::value(
            op,
            format!(
                "the adapter {:?} has no f64 shaders (SHADER_F64); f64 tensors stay on the \
                 CPU there (convert to f32 to use this GPU)",
                gpu.adapter().name
            ),
        ));
    }
    Ok(())
}

impl<S: Shape, E: Float, T> ToCpu for Tensor<S, E, T, Wgpu> {
    type Output = Tensor<S, E>;
    fn to_cpu(&self) -> Result<Tensor<S, E>> {
        let values = self.data.device.download(&self.data)?;
        Ok(Tensor::from_parts(self.shape, values))
    }
}

/// Autograd entry points of GPU tensors (the CPU tensor's inherent methods of the same names).
pub trait GpuAutograd<S: Shape, E: Float = f32>: Sized {
    /// Starts tracing (see [`Tensor::trace`]).
    fn trace(self) -> GpuTensor<S, OwnedTape<E>, E>;
    /// Traces without asking for this tensor's own gradient (see [`Tensor::trace_constant`]).
    fn trace_constant(self) -> GpuTensor<S, OwnedTape<E>, E>;
    /// The values under a new id, without the tape (`torch.detach`).
    fn detach(self) -> GpuTensor<S, NoTape, E>;
}

impl<S: Shape, E: Float, T> GpuAutograd<S, E> for GpuTensor<S, T, E> {
    fn trace(self) -> GpuTensor<S, OwnedTape<E>, E> {
        let (t, _) = split(self);
        let tape = OwnedTape::tracking(t.id);
        Tensor {
            shape: t.shape,
            data: t.data,
            id: t.id,
            tape,
        }
    }
    fn trace_constant(self) -> GpuTensor<S, OwnedTape<E>, E> {
        let (t, _) = split(self);
        Tensor {
            shape: t.shape,
            data: t.data,
            id: t.id,
            tape: OwnedTape::untracked(),
        }
    }
    fn detach(self) -> GpuTensor<S, NoTape, E> {
        let (t, _) = split(self);
        gpu_tensor(t.shape, t.data, NoTape)
    }
}

/// The GPU's [`DeviceGrad`]: a buffer on the device.
pub(crate) struct GpuGrad<E>(pub(crate) GpuStorage<E>);

impl<E: Float> DeviceGrad for GpuGrad<E> {
    fn add(&self, other: &dyn DeviceGrad) -> Arc<dyn DeviceGrad> {
        let other = other
            .as_any()
            .downcast_ref::<GpuGrad<E>>()
            .expect("a GPU gradient meets a gradient of another device");
        let n = [self.0.len()];
        let sum = crate::device::kernels::binary(
            crate::device::kernels::BinaryOp::Add,
            &self.0,
            &n,
            &other.0,
            &n,
            &n,
        )
        .expect("rank 1 is within the GPU kernels' limit");
        Arc::new(GpuGrad(sum))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Takes the GPU gradient of an op's output.
pub(crate) fn take_grad<E: Float>(g: &mut Gradients<E>, id: UniqueId) -> Option<GpuStorage<E>> {
    g.take_device(id)
        .and_then(|d| d.as_any().downcast_ref::<GpuGrad<E>>().map(|x| x.0.clone()))
}

/// Adds a GPU gradient for `id`.
pub(crate) fn add_grad<E: Float>(g: &mut Gradients<E>, id: UniqueId, grad: GpuStorage<E>) {
    g.add_device(id, Arc::new(GpuGrad(grad)));
}

/// `backward()` of a traced GPU scalar: gradients stay on the GPU, read with
/// [`Gradients::get_gpu`].
pub trait GpuBackward<E: Float = f32> {
    /// Runs the backward pass from this scalar (gradient 1).
    fn backward(self) -> Gradients<E>;
}

impl<S: ScalarShape, E: Float, T: BackwardTape<E>> GpuBackward<E> for GpuTensor<S, T, E> {
    fn backward(self) -> Gradients<E> {
        let tape = self.tape.into_owned();
        let mut grads = Gradients::default();
        add_grad(&mut grads, self.id, self.data.device.upload(&[E::ONE]));
        tape.backpropagate(&mut grads);
        grads
    }
}

impl<E: Float> Gradients<E> {
    /// The gradient of a GPU tensor, on the GPU (`None` if it got none).
    pub fn get_gpu<S: Shape, T>(&self, t: &GpuTensor<S, T, E>) -> Option<GpuTensor<S, NoTape, E>> {
        self.get_gpu_storage(t.id)
            .map(|g| gpu_tensor(t.shape, g, NoTape))
    }
    /// Sets the gradient of a GPU tensor (e.g. gradients computed elsewhere, before an
    /// optimizer step); an `Err` when the shapes differ.
    pub fn set_gpu<S: Shape, T>(
        &mut self,
        t: &GpuTensor<S, T, E>,
        grad: GpuTensor<S, NoTape, E>,
    ) -> Result<()> {
        if t.shape.dims() != grad.shape.dims() {
            return Err(Error::shape(
                "Gradients::set_gpu",
                format!(
                    "the gradient has shape {:?} but the tensor has shape {:?}",
                    grad.shape.dims().as_slice(),
                    t.shape.dims().as_slice()
                ),
            ));
        }
        self.take_device(t.id);
        add_grad(self, t.id, grad.data);
        Ok(())
    }
    /// The GPU gradient stored under `id`.
    pub(crate) fn get_gpu_storage(&self, id: UniqueId) -> Option<GpuStorage<E>> {
        self.get_device(id)
            .and_then(|d| d.as_any().downcast_ref::<GpuGrad<E>>().map(|x| x.0.clone()))
    }
}

/// Whether an op's backward step must compute the gradient of input `id`.
#[inline]
pub(crate) fn wants<E: Float, T: Tape<E>>(tape: &T, id: UniqueId) -> bool {
    T::TRACING && tape.tracks(id)
}

/// The shape and device; the values stay on the GPU (`to_cpu()` to print them).
impl<S: Shape, E: Float, T> core::fmt::Debug for Tensor<S, E, T, Wgpu> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Tensor(shape={:?}, dtype={}, device={:?})",
            self.shape.dims().as_slice(),
            E::DTYPE,
            self.data.device
        )
    }
}
