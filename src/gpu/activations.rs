//! The other elementwise functions on GPU tensors (GELU, SiLU, leaky ReLU, softplus, the
//! ELU family, the hard and shrink functions, Mish, softsign, log-sigmoid, abs, sqrt, sin,
//! cos, clamp, powf) with their derivatives, and the activation layers that use them
//! (`GELU`, `SiLU`, `ELU`, `Hardswish`, ...) in GPU models.

use super::tensor::with_tape;
use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::layer_kernels::{self, UnaryExt};
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::{
    CELU, ELU, GELU, GELUTanh, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid,
    Mish, Module, ReLU6, SELU, SiLU, Softplus, Softshrink, Softsign, Tanhshrink, Threshold,
};
use crate::ops::activation::{SELU_ALPHA, SELU_SCALE};
use crate::shape::Shape;

fn unary_ext_op<S: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    op: UnaryExt,
) -> GpuTensor<S, T, E> {
    let (x, mut tape) = split(x);
    let y = layer_kernels::unary_ext(op, &x.data);
    let out = gpu_tensor(x.shape, y.clone(), NoTape);
    if wants(&tape, x.id) {
        let (xd, x_id, out_id) = (x.data, x.id, out.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
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
/// records its derivative. In `use shaped::gpu::prelude::*`. For f32 and f64 tensors (`E`);
/// the constants are of the tensor's element type, as on the CPU.
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
pub trait GpuActivations<S: Shape, T: Tape<E>, E: Float = f32>: Sized {
    /// `|x|` (gradient 0 at 0, as in PyTorch).
    fn abs(self) -> GpuTensor<S, T, E>;
    /// Square root.
    fn sqrt(self) -> GpuTensor<S, T, E>;
    /// Sine.
    fn sin(self) -> GpuTensor<S, T, E>;
    /// Cosine.
    fn cos(self) -> GpuTensor<S, T, E>;
    /// `x` if positive, else `negative_slope * x` (PyTorch's default slope is 0.01).
    fn leaky_relu(self, negative_slope: E) -> GpuTensor<S, T, E>;
    /// GELU with the exact normal CDF (`approximate="none"`, PyTorch's default).
    fn gelu(self) -> GpuTensor<S, T, E>;
    /// GELU with the tanh approximation (`approximate="tanh"`).
    fn gelu_tanh(self) -> GpuTensor<S, T, E>;
    /// `x * sigmoid(x)` (SiLU, swish).
    fn silu(self) -> GpuTensor<S, T, E>;
    /// `ln(1 + e^(beta x)) / beta`, linear above `threshold` (PyTorch defaults: 1, 20).
    fn softplus(self, beta: E, threshold: E) -> GpuTensor<S, T, E>;
    /// Clamps every element to `[min, max]` (gradient 1 inside and at the bounds).
    fn clamp(self, min: E, max: E) -> GpuTensor<S, T, E>;
    /// `x^exponent` for a constant exponent.
    fn powf(self, exponent: E) -> GpuTensor<S, T, E>;
    /// ELU: `x` for `x > 0`, else `alpha * (e^x - 1)`.
    fn elu(self, alpha: E) -> GpuTensor<S, T, E>;
    /// SELU with PyTorch's constants.
    fn selu(self) -> GpuTensor<S, T, E>;
    /// CELU: `x` for `x > 0`, else `alpha * (e^(x / alpha) - 1)`.
    fn celu(self, alpha: E) -> GpuTensor<S, T, E>;
    /// Clamps to `[min, max]`, with no gradient at the bounds (PyTorch's `hardtanh`).
    fn hardtanh(self, min: E, max: E) -> GpuTensor<S, T, E>;
    /// `min(max(x, 0), 6)`.
    fn relu6(self) -> GpuTensor<S, T, E>;
    /// `min(max(x + 3, 0), 6) / 6`.
    fn hardsigmoid(self) -> GpuTensor<S, T, E>;
    /// `x * hardsigmoid(x)`.
    fn hardswish(self) -> GpuTensor<S, T, E>;
    /// `x * tanh(softplus(x))`.
    fn mish(self) -> GpuTensor<S, T, E>;
    /// `x / (1 + |x|)`.
    fn softsign(self) -> GpuTensor<S, T, E>;
    /// `ln(sigmoid(x))`.
    fn logsigmoid(self) -> GpuTensor<S, T, E>;
    /// `x - tanh(x)`.
    fn tanhshrink(self) -> GpuTensor<S, T, E>;
    /// 0 on `[-lambda, lambda]`, else `x`.
    fn hardshrink(self, lambda: E) -> GpuTensor<S, T, E>;
    /// `x` moved toward 0 by `lambda`, 0 on `[-lambda, lambda]`.
    fn softshrink(self, lambda: E) -> GpuTensor<S, T, E>;
    /// `x` where `x > threshold`, else `value`.
    fn threshold(self, threshold: E, value: E) -> GpuTensor<S, T, E>;
}

impl<S: Shape, E: Float, T: Tape<E>> GpuActivations<S, T, E> for GpuTensor<S, T, E> {
    fn abs(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Abs)
    }
    fn sqrt(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Sqrt)
    }
    fn sin(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Sin)
    }
    fn cos(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Cos)
    }
    fn leaky_relu(self, negative_slope: E) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::LeakyRelu(Float::to_f64(negative_slope)))
    }
    fn gelu(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::GeluErf)
    }
    fn gelu_tanh(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::GeluTanh)
    }
    fn silu(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Silu)
    }
    fn softplus(self, beta: E, threshold: E) -> GpuTensor<S, T, E> {
        unary_ext_op(
            self,
            UnaryExt::Softplus(Float::to_f64(beta), Float::to_f64(threshold)),
        )
    }
    fn clamp(self, min: E, max: E) -> GpuTensor<S, T, E> {
        unary_ext_op(
            self,
            UnaryExt::Clamp(Float::to_f64(min), Float::to_f64(max)),
        )
    }
    fn powf(self, exponent: E) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Pow(Float::to_f64(exponent)))
    }
    fn elu(self, alpha: E) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Elu(Float::to_f64(alpha), 1.0, 1.0))
    }
    fn selu(self) -> GpuTensor<S, T, E> {
        // The constants as the CPU kernel has them at `E`'s precision.
        let (alpha, scale) = (E::from_f64(SELU_ALPHA), E::from_f64(SELU_SCALE));
        let negative_coef = Float::to_f64(alpha * scale);
        unary_ext_op(
            self,
            UnaryExt::Elu(negative_coef, Float::to_f64(scale), 1.0),
        )
    }
    fn celu(self, alpha: E) -> GpuTensor<S, T, E> {
        let input_scale = Float::to_f64(E::ONE / alpha);
        unary_ext_op(self, UnaryExt::Elu(Float::to_f64(alpha), 1.0, input_scale))
    }
    fn hardtanh(self, min: E, max: E) -> GpuTensor<S, T, E> {
        unary_ext_op(
            self,
            UnaryExt::Hardtanh(Float::to_f64(min), Float::to_f64(max)),
        )
    }
    fn relu6(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Hardtanh(0.0, 6.0))
    }
    fn hardsigmoid(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Hardsigmoid)
    }
    fn hardswish(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Hardswish)
    }
    fn mish(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Mish)
    }
    fn softsign(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Softsign)
    }
    fn logsigmoid(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::LogSigmoid)
    }
    fn tanhshrink(self) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Tanhshrink)
    }
    fn hardshrink(self, lambda: E) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Hardshrink(Float::to_f64(lambda)))
    }
    fn softshrink(self, lambda: E) -> GpuTensor<S, T, E> {
        unary_ext_op(self, UnaryExt::Softshrink(Float::to_f64(lambda)))
    }
    fn threshold(self, threshold: E, value: E) -> GpuTensor<S, T, E> {
        unary_ext_op(
            self,
            UnaryExt::Threshold(Float::to_f64(threshold), Float::to_f64(value)),
        )
    }
}

macro_rules! gpu_activation_layer {
    ($name:ident, |$layer:ident, $x:ident| $body:expr) => {
        impl<S: Shape, E: Float, T: Tape<E>> Module<GpuTensor<S, T, E>> for $name {
            type Output = GpuTensor<S, T, E>;
            fn try_forward(&self, $x: GpuTensor<S, T, E>) -> Result<Self::Output> {
                let $layer = self;
                Ok($body)
            }
        }
        no_params_on_gpu!([] $name);
    };
}

gpu_activation_layer!(GELU, |_l, x| x.gelu());
gpu_activation_layer!(GELUTanh, |_l, x| x.gelu_tanh());
gpu_activation_layer!(SiLU, |_l, x| x.silu());
gpu_activation_layer!(LeakyReLU, |l, x| x.leaky_relu(E::from_f64(l.0)));
gpu_activation_layer!(Softplus, |l, x| x
    .softplus(E::from_f64(l.beta), E::from_f64(l.threshold)));
gpu_activation_layer!(ELU, |l, x| x.elu(E::from_f64(l.alpha)));
gpu_activation_layer!(CELU, |l, x| x.celu(E::from_f64(l.alpha)));
gpu_activation_layer!(SELU, |_l, x| x.selu());
gpu_activation_layer!(Hardtanh, |l, x| x
    .hardtanh(E::from_f64(l.min_val), E::from_f64(l.max_val)));
gpu_activation_layer!(ReLU6, |_l, x| x.relu6());
gpu_activation_layer!(Hardsigmoid, |_l, x| x.hardsigmoid());
gpu_activation_layer!(Hardswish, |_l, x| x.hardswish());
gpu_activation_layer!(Mish, |_l, x| x.mish());
gpu_activation_layer!(Softsign, |_l, x| x.softsign());
gpu_activation_layer!(LogSigmoid, |_l, x| x.logsigmoid());
gpu_activation_layer!(Tanhshrink, |_l, x| x.tanhshrink());
gpu_activation_layer!(Hardshrink, |l, x| x.hardshrink(E::from_f64(l.lambd)));
gpu_activation_layer!(Softshrink, |l, x| x.softshrink(E::from_f64(l.lambd)));
gpu_activation_layer!(Threshold, |l, x| x
    .threshold(E::from_f64(l.threshold), E::from_f64(l.value)));
