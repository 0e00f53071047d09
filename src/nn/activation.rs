//! Activation functions as zero-sized layers, for use in tuples.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::shape::{HasAxis, Shape};
use crate::tensor::Tensor;

macro_rules! activation {
    ($(#[$m:meta])* $name:ident, |$x:ident| $body:expr) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq)]
        pub struct $name;
        impl<S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for $name {
            type Output = Tensor<S, E, T>;
            fn try_forward(&self, $x: Tensor<S, E, T>) -> Result<Self::Output> {
                Ok($body)
            }
        }
        impl<E: Float> Params<E> for $name {
            fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
            fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
        }
    };
}

activation!(/// `max(x, 0)`, PyTorch's `nn.ReLU`.
    ReLU, |x| x.relu());
activation!(/// Logistic sigmoid, `nn.Sigmoid`.
    Sigmoid, |x| x.sigmoid());
activation!(/// Hyperbolic tangent, `nn.Tanh`.
    Tanh, |x| x.tanh());
activation!(/// GELU with the exact normal CDF, `nn.GELU()`.
    GELU, |x| x.gelu());
activation!(/// GELU with the tanh approximation, `nn.GELU(approximate="tanh")`.
    GELUTanh, |x| x.gelu_tanh());
activation!(/// `x * sigmoid(x)`, `nn.SiLU`.
    SiLU, |x| x.silu());

/// `x` if positive, else `negative_slope * x`; PyTorch's default slope is 0.01.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyReLU(pub f64);
impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU(0.01)
    }
}

/// `ln(1 + e^(beta x)) / beta`, linear above `threshold`; PyTorch's defaults are 1 and 20.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Softplus {
    /// Sharpness.
    pub beta: f64,
    /// Where the function becomes linear.
    pub threshold: f64,
}
impl Default for Softplus {
    fn default() -> Self {
        Softplus {
            beta: 1.0,
            threshold: 20.0,
        }
    }
}

/// Softmax along axis `I`, `nn.Softmax(dim=I)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Softmax<const I: usize>;
/// Log-softmax along axis `I`, `nn.LogSoftmax(dim=I)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LogSoftmax<const I: usize>;

impl<S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for LeakyReLU {
    type Output = Tensor<S, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        Ok(x.leaky_relu(E::from_f64(self.0)))
    }
}
impl<S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for Softplus {
    type Output = Tensor<S, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        Ok(x.softplus(E::from_f64(self.beta), E::from_f64(self.threshold)))
    }
}
impl<const I: usize, S: HasAxis<I>, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for Softmax<I> {
    type Output = Tensor<S, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        Ok(x.softmax::<I>())
    }
}
impl<const I: usize, S: HasAxis<I>, E: Float, T: Tape<E>> Module<Tensor<S, E, T>>
    for LogSoftmax<I>
{
    type Output = Tensor<S, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        Ok(x.log_softmax::<I>())
    }
}

macro_rules! no_params {
    ($($t:ty),*) => {$(
        impl<E: Float> Params<E> for $t {
            fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
            fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
        }
    )*};
}
no_params!(Softplus);
impl<E: Float> Params<E> for LeakyReLU {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!(
                "LeakyReLU(negative_slope={})",
                super::summary::py_float(self.0)
            ),
        )
    }
}
impl<const I: usize, E: Float> Params<E> for Softmax<I> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
}
impl<const I: usize, E: Float> Params<E> for LogSoftmax<I> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
}
