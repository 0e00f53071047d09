//! The other elementwise functions on GPU tensors (GELU, SiLU, leaky ReLU, softplus, abs,
//! sqrt, sin, cos, clamp, powf) with their derivatives, and the activation layers that use
//! them (`GELU`, `GELUTanh`, `SiLU`, `LeakyReLU`, `Softplus`) in GPU models.

use super::nn::{GpuParamMut, GpuParams};
use super::tensor::with_tape;
use super::tensor::{GpuTensor, ToCpu, ToDevice, add_grad, gpu_tensor, split, take_grad, wants};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::Wgpu;
use crate::device::layer_kernels::{self, UnaryExt};
use crate::error::Result;
use crate::nn::{GELU, GELUTanh, LeakyReLU, Module, SiLU, Softplus};
use crate::shape::Shape;

fn unary_ext_op<S: Shape, T: Tape<f32>>(x: GpuTensor<S, T>, op: UnaryExt) -> GpuTensor<S, T> {
    let (x, mut tape) = split(x);
    let y = layer_kernels::unary_ext(op, &x.data);
    let out = gpu_tensor(x.shape, y.clone(), NoTape);
    if wants(&tape, x.id) {
        let (xd, x_id, out_id) = (x.data, x.id, out.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<f32>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                add_grad(g, x_id, layer_kernels::unary_ext_backward(op, &xd, &y, &gy));
            }),
        );
    }
    with_tape(out, tape)
}

/// The activations and elementwise functions of GPU tensors beyond [`GpuOps`](super::GpuOps),
/// under the CPU tensor's method names and with its maths (see those methods); each
/// records its derivative. In `use shaped::gpu::prelude::*`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank1<3>>::from_array([-1.0, 0.0, 2.0]).to_device(&gpu)?;
/// let y = x.clone().gelu().to_cpu()?;
/// assert!((y.to_vec()[2] - 1.9545).abs() < 1e-4);
/// let z = x.leaky_relu(0.1).to_cpu()?;
/// assert_eq!(z.to_vec(), vec![-0.1, 0.0, 2.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuActivations<S: Shape, T: Tape<f32>>: Sized {
    /// `|x|` (gradient 0 at 0, as in PyTorch).
    fn abs(self) -> GpuTensor<S, T>;
    /// Square root.
    fn sqrt(self) -> GpuTensor<S, T>;
    /// Sine.
    fn sin(self) -> GpuTensor<S, T>;
    /// Cosine.
    fn cos(self) -> GpuTensor<S, T>;
    /// `x` if positive, else `negative_slope * x` (PyTorch's default slope is 0.01).
    fn leaky_relu(self, negative_slope: f32) -> GpuTensor<S, T>;
    /// GELU with the exact normal CDF (`approximate="none"`, PyTorch's default).
    fn gelu(self) -> GpuTensor<S, T>;
    /// GELU with the tanh approximation (`approximate="tanh"`).
    fn gelu_tanh(self) -> GpuTensor<S, T>;
    /// `x * sigmoid(x)` (SiLU, swish).
    fn silu(self) -> GpuTensor<S, T>;
    /// `ln(1 + e^(beta x)) / beta`, linear above `threshold` (PyTorch defaults: 1, 20).
    fn softplus(self, beta: f32, threshold: f32) -> GpuTensor<S, T>;
    /// Clamps every element to `[min, max]` (gradient 1 inside and at the bounds).
    fn clamp(self, min: f32, max: f32) -> GpuTensor<S, T>;
    /// `x^exponent` for a constant exponent.
    fn powf(self, exponent: f32) -> GpuTensor<S, T>;
}

impl<S: Shape, T: Tape<f32>> GpuActivations<S, T> for GpuTensor<S, T> {
    fn abs(self) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::Abs)
    }
    fn sqrt(self) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::Sqrt)
    }
    fn sin(self) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::Sin)
    }
    fn cos(self) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::Cos)
    }
    fn leaky_relu(self, negative_slope: f32) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::LeakyRelu(f64::from(negative_slope)))
    }
    fn gelu(self) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::GeluErf)
    }
    fn gelu_tanh(self) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::GeluTanh)
    }
    fn silu(self) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::Silu)
    }
    fn softplus(self, beta: f32, threshold: f32) -> GpuTensor<S, T> {
        unary_ext_op(
            self,
            UnaryExt::Softplus(f64::from(beta), f64::from(threshold)),
        )
    }
    fn clamp(self, min: f32, max: f32) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::Clamp(f64::from(min), f64::from(max)))
    }
    fn powf(self, exponent: f32) -> GpuTensor<S, T> {
        unary_ext_op(self, UnaryExt::Pow(f64::from(exponent)))
    }
}

/// A parameterless layer: the same value on both devices.
macro_rules! same_on_gpu {
    ($name:ty) => {
        impl ToDevice for $name {
            type Output = $name;
            fn to_device(&self, _: &Wgpu) -> Result<$name> {
                Ok(*self)
            }
        }
        impl ToCpu for $name {
            type Output = $name;
            fn to_cpu(&self) -> Result<$name> {
                Ok(*self)
            }
        }
        impl GpuParams for $name {
            fn visit_gpu(&mut self, _: &str, _: &mut dyn FnMut(GpuParamMut<'_>)) {}
        }
    };
}

macro_rules! gpu_activation_layer {
    ($name:ty, |$layer:ident, $x:ident| $body:expr) => {
        impl<S: Shape, T: Tape<f32>> Module<GpuTensor<S, T>> for $name {
            type Output = GpuTensor<S, T>;
            fn try_forward(&self, $x: GpuTensor<S, T>) -> Result<Self::Output> {
                let $layer = self;
                Ok($body)
            }
        }
        same_on_gpu!($name);
    };
}

gpu_activation_layer!(GELU, |_l, x| x.gelu());
gpu_activation_layer!(GELUTanh, |_l, x| x.gelu_tanh());
gpu_activation_layer!(SiLU, |_l, x| x.silu());
gpu_activation_layer!(LeakyReLU, |l, x| x.leaky_relu(l.0 as f32));
gpu_activation_layer!(Softplus, |l, x| x
    .softplus(l.beta as f32, l.threshold as f32));
