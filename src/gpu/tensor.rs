//! GPU tensors: transfers, tracing, `backward()` and reading gradients back.

use crate::autograd::{BackwardTape, DeviceGrad, Gradients, NoTape, OwnedTape, Tape, UniqueId};
use crate::device::{GpuStorage, Wgpu};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::{ScalarShape, Shape};
use crate::tensor::Tensor;
use std::any::{Any, TypeId};
use std::sync::Arc;

/// A GPU tensor of `f32`s: `Tensor<S, f32, T, Wgpu>`.
pub type GpuTensor<S, T = NoTape> = Tensor<S, f32, T, Wgpu>;

/// An op's output on the GPU: a fresh id, the buffer and the (moved) tape.
pub(crate) fn gpu_tensor<S: Shape, T>(shape: S, data: GpuStorage<f32>, tape: T) -> GpuTensor<S, T> {
    debug_assert_eq!(shape.numel(), data.len());
    Tensor {
        shape,
        data,
        id: UniqueId::new(),
        tape,
    }
}

/// The untraced GPU tensor `t` carrying `tape` (the inverse of [`split`]).
pub(crate) fn with_tape<S: Shape, T>(t: GpuTensor<S>, tape: T) -> GpuTensor<S, T> {
    Tensor {
        shape: t.shape,
        data: t.data,
        id: t.id,
        tape,
    }
}

/// Separates a GPU tensor's tape from its values (same id).
pub(crate) fn split<S: Shape, T>(t: GpuTensor<S, T>) -> (GpuTensor<S>, T) {
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
    /// A copy on `gpu`; an `Err` names what cannot go there (f64 tensors, a layer without GPU
    /// kernels yet).
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output>;
}

/// Moving a GPU tensor, layer or model back to main memory.
pub trait ToCpu {
    /// The same thing on the CPU.
    type Output;
    /// A copy in main memory (waits for the GPU).
    fn to_cpu(&self) -> Result<Self::Output>;
}

/// A CPU tensor's values on the GPU, untraced (as PyTorch's `.to(device)` of a leaf). Only
/// `f32` runs on the GPU: an `f64` tensor is an `Err`.
impl<S: Shape, E: Float, T> ToDevice for Tensor<S, E, T> {
    type Output = Tensor<S, E, NoTape, Wgpu>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        if TypeId::of::<E>() != TypeId::of::<f32>() {
            return Err(Error::value(
                "to_device",
                format!(
                    "the GPU kernels are f32 only; this tensor is {} (adapter f64 support: {})",
                    E::DTYPE,
                    gpu.supports_f64()
                ),
            ));
        }
        let values: Vec<f32> = self.as_slice().iter().map(|x| x.to_f64() as f32).collect();
        let s = gpu.upload(&values);
        Ok(Tensor {
            shape: self.shape,
            data: GpuStorage::new(s.device, s.buf, s.len),
            id: UniqueId::new(),
            tape: NoTape,
        })
    }
}

impl<S: Shape, E: Float, T> ToCpu for Tensor<S, E, T, Wgpu> {
    type Output = Tensor<S, E>;
    fn to_cpu(&self) -> Result<Tensor<S, E>> {
        let s: GpuStorage<f32> = GpuStorage::new(
            self.data.device.clone(),
            self.data.buf.clone(),
            self.data.len,
        );
        let values = s.device.download(&s)?;
        Ok(Tensor::from_parts(
            self.shape,
            values.into_iter().map(|x| E::from_f64(x as f64)).collect(),
        ))
    }
}

/// Autograd entry points of GPU tensors (the CPU tensor's inherent methods of the same names).
pub trait GpuAutograd<S: Shape>: Sized {
    /// Starts tracing (see [`Tensor::trace`]).
    fn trace(self) -> GpuTensor<S, OwnedTape<f32>>;
    /// Traces without asking for this tensor's own gradient (see [`Tensor::trace_constant`]).
    fn trace_constant(self) -> GpuTensor<S, OwnedTape<f32>>;
    /// The values under a new id, without the tape (`torch.detach`).
    fn detach(self) -> GpuTensor<S>;
}

impl<S: Shape, T> GpuAutograd<S> for GpuTensor<S, T> {
    fn trace(self) -> GpuTensor<S, OwnedTape<f32>> {
        let (t, _) = split(self);
        let tape = OwnedTape::tracking(t.id);
        Tensor {
            shape: t.shape,
            data: t.data,
            id: t.id,
            tape,
        }
    }
    fn trace_constant(self) -> GpuTensor<S, OwnedTape<f32>> {
        let (t, _) = split(self);
        Tensor {
            shape: t.shape,
            data: t.data,
            id: t.id,
            tape: OwnedTape::untracked(),
        }
    }
    fn detach(self) -> GpuTensor<S> {
        let (t, _) = split(self);
        gpu_tensor(t.shape, t.data, NoTape)
    }
}

/// The GPU's [`DeviceGrad`]: a buffer on the device.
pub(crate) struct GpuGrad(pub(crate) GpuStorage<f32>);

impl DeviceGrad for GpuGrad {
    fn add(&self, other: &dyn DeviceGrad) -> Arc<dyn DeviceGrad> {
        let other = other
            .as_any()
            .downcast_ref::<GpuGrad>()
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
pub(crate) fn take_grad(g: &mut Gradients<f32>, id: UniqueId) -> Option<GpuStorage<f32>> {
    g.take_device(id)
        .and_then(|d| d.as_any().downcast_ref::<GpuGrad>().map(|x| x.0.clone()))
}

/// Adds a GPU gradient for `id`.
pub(crate) fn add_grad(g: &mut Gradients<f32>, id: UniqueId, grad: GpuStorage<f32>) {
    g.add_device(id, Arc::new(GpuGrad(grad)));
}

/// `backward()` of a traced GPU scalar: gradients stay on the GPU, read with
/// [`Gradients::get_gpu`].
pub trait GpuBackward {
    /// Runs the backward pass from this scalar (gradient 1).
    fn backward(self) -> Gradients<f32>;
}

impl<S: ScalarShape, T: BackwardTape<f32>> GpuBackward for GpuTensor<S, T> {
    fn backward(self) -> Gradients<f32> {
        let tape = self.tape.into_owned();
        let mut grads = Gradients::default();
        add_grad(&mut grads, self.id, self.data.device.upload(&[1.0]));
        for node in tape.nodes() {
            let op = node.op.lock().ok().and_then(|mut op| op.take());
            match op {
                Some(op) => op(&mut grads),
                None => panic!(
                    "backward() reached an op whose backward step already ran: this graph was \
                     backpropagated before (trace the inputs again for a second backward pass)"
                ),
            }
        }
        grads
    }
}

impl Gradients<f32> {
    /// The gradient of a GPU tensor, on the GPU (`None` if it got none).
    pub fn get_gpu<S: Shape, T>(&self, t: &GpuTensor<S, T>) -> Option<GpuTensor<S>> {
        self.get_gpu_storage(t.id)
            .map(|g| gpu_tensor(t.shape, g, NoTape))
    }
    /// Sets the gradient of a GPU tensor (e.g. gradients computed elsewhere, before an
    /// optimizer step); an `Err` when the shapes differ.
    pub fn set_gpu<S: Shape, T>(&mut self, t: &GpuTensor<S, T>, grad: GpuTensor<S>) -> Result<()> {
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
    pub(crate) fn get_gpu_storage(&self, id: UniqueId) -> Option<GpuStorage<f32>> {
        self.get_device(id)
            .and_then(|d| d.as_any().downcast_ref::<GpuGrad>().map(|x| x.0.clone()))
    }
}

/// Whether an op's backward step must compute the gradient of input `id`.
#[inline]
pub(crate) fn wants<T: Tape<f32>>(tape: &T, id: UniqueId) -> bool {
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
