//! Activation functions as zero-sized layers, for use in tuples.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::shape::{ChunkDim, Dim, HasAxis, ReplaceAxis, Shape};
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
activation!(/// SELU, `nn.SELU`: `scale * elu(x, alpha)` with PyTorch's fixed constants.
    SELU, |x| x.selu());
activation!(/// `min(max(x, 0), 6)`, `nn.ReLU6` (no gradient at 0 and 6, as PyTorch).
    ReLU6, |x| x.relu6());
activation!(/// `min(max(x + 3, 0), 6) / 6`, `nn.Hardsigmoid`.
    Hardsigmoid, |x| x.hardsigmoid());
activation!(/// `x * hardsigmoid(x)`, `nn.Hardswish` (MobileNetV3).
    Hardswish, |x| x.hardswish());
activation!(/// `x * tanh(softplus(x))`, `nn.Mish`.
    Mish, |x| x.mish());
activation!(/// `x / (1 + |x|)`, `nn.Softsign`.
    Softsign, |x| x.softsign());
activation!(/// `ln(sigmoid(x))`, `nn.LogSigmoid`.
    LogSigmoid, |x| x.logsigmoid());
activation!(/// `x - tanh(x)`, `nn.Tanhshrink`.
    Tanhshrink, |x| x.tanhshrink());

/// An activation with hyperparameters: the struct, its `Module` impl, no parameters, and
/// PyTorch's `print(model)` line; with `default (..)`, PyTorch's defaults as `Default`.
macro_rules! activation_with {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident),* } default ($($default:expr),*),
        |$layer:ident, $x:ident| $body:expr, $repr:literal) => {
        activation_with!($(#[$m])* $name { $($(#[$fm])* $field),* }, |$layer, $x| $body, $repr);
        impl Default for $name {
            fn default() -> Self {
                let [$($field),*] = [$($default),*];
                $name { $($field),* }
            }
        }
    };
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident),* },
        |$layer:ident, $x:ident| $body:expr, $repr:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub struct $name {
            $($(#[$fm])* pub $field: f64,)*
        }
        impl<S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for $name {
            type Output = Tensor<S, E, T>;
            fn try_forward(&self, $x: Tensor<S, E, T>) -> Result<Self::Output> {
                let $layer = self;
                Ok($body)
            }
        }
        impl<E: Float> Params<E> for $name {
            fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
            fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                let [$($field),*] = [$(super::summary::py_float(self.$field)),*];
                f(super::module_name(prefix), format!($repr))
            }
        }
    };
}

activation_with!(
    /// ELU, `nn.ELU(alpha)`: `x` for `x > 0`, else `alpha * (e^x - 1)`; PyTorch's default
    /// `alpha` is 1.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{ELU, Module};
    /// let y = ELU { alpha: 2.0 }.forward(Tensor::<Rank1<2>, f64>::from_array([3.0, -40.0]));
    /// assert_eq!(y.to_vec(), vec![3.0, -2.0]);
    /// ```
    ELU {
        /// The negative side's limit is `-alpha`.
        alpha
    } default (1.0), |l, x| x.elu(E::from_f64(l.alpha)), "ELU(alpha={alpha})"
);
activation_with!(
    /// CELU, `nn.CELU(alpha)`: `x` for `x > 0`, else `alpha * (e^(x / alpha) - 1)`; default
    /// `alpha` 1.
    CELU {
        /// The negative side's limit is `-alpha`.
        alpha
    } default (1.0), |l, x| x.celu(E::from_f64(l.alpha)), "CELU(alpha={alpha})"
);
activation_with!(
    /// `nn.Hardtanh(min_val, max_val)`: clamps to the bounds (defaults -1 and 1), with no
    /// gradient at the bounds themselves.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Hardtanh, Module};
    /// let y = Hardtanh::default().forward(Tensor::<Rank1<3>>::from_array([-2.0, 0.5, 2.0]));
    /// assert_eq!(y.to_vec(), vec![-1.0, 0.5, 1.0]);
    /// ```
    Hardtanh {
        /// Lower bound.
        min_val,
        /// Upper bound.
        max_val
    } default (-1.0, 1.0), |l, x| x.hardtanh(E::from_f64(l.min_val), E::from_f64(l.max_val)),
    "Hardtanh(min_val={min_val}, max_val={max_val})"
);
activation_with!(
    /// `ln(1 + e^(beta x)) / beta`, linear above `threshold`, `nn.Softplus`; PyTorch's
    /// defaults are 1 and 20.
    Softplus {
        /// Sharpness.
        beta,
        /// Where the function becomes linear.
        threshold
    } default (1.0, 20.0), |l, x| x.softplus(E::from_f64(l.beta), E::from_f64(l.threshold)),
    "Softplus(beta={beta}, threshold={threshold})"
);
activation_with!(
    /// `nn.Hardshrink(lambd)`: 0 on `[-lambd, lambd]`, else `x`; default `lambd` 0.5.
    Hardshrink {
        /// Half the width of the zeroed interval.
        lambd
    } default (0.5), |l, x| x.hardshrink(E::from_f64(l.lambd)), "Hardshrink({lambd})"
);
activation_with!(
    /// `nn.Softshrink(lambd)`: `x` moved toward 0 by `lambd`, 0 in between; default 0.5.
    Softshrink {
        /// How far values move toward 0.
        lambd
    } default (0.5), |l, x| x.softshrink(E::from_f64(l.lambd)), "Softshrink({lambd})"
);

activation_with!(
    /// `nn.Threshold(threshold, value)`: `x` where `x > threshold`, else `value` (PyTorch has
    /// no defaults for either).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Module, Threshold};
    /// let layer = Threshold { threshold: 0.1, value: 20.0 };
    /// let y = layer.forward(Tensor::<Rank1<2>>::from_array([0.0, 1.0]));
    /// assert_eq!(y.to_vec(), vec![20.0, 1.0]);
    /// ```
    Threshold {
        /// Values at or below it are replaced.
        threshold,
        /// What replaces them.
        value
    }, |l, x| x.threshold(E::from_f64(l.threshold), E::from_f64(l.value)),
    "Threshold(threshold={threshold}, value={value})"
);

/// `x` if positive, else `negative_slope * x`; PyTorch's default slope is 0.01.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyReLU(pub f64);
impl Default for LeakyReLU {
    fn default() -> Self {
        LeakyReLU(0.01)
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

/// The gated linear unit along axis `I`, `nn.GLU(dim=I)`: `a * sigmoid(b)` for the halves
/// `a`, `b` of the axis (see [`Tensor::glu`]). PyTorch's default `dim=-1` is `GLU::<{rank - 1}>`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{GLU, Linear, Module};
/// use rand::SeedableRng;
/// // A gated projection: Linear to twice the width, then GLU back to it.
/// let model = (Linear::<4, 16>::new(&mut rand::rngs::StdRng::seed_from_u64(0)), GLU::<1>);
/// let y = model.forward(Tensor::<Rank2<3, 4>>::ones());
/// assert_eq!(y.dims().as_slice(), &[3, 8]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GLU<const I: usize>;

impl<const I: usize, S, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for GLU<I>
where
    S: ReplaceAxis<I>,
    <S as HasAxis<I>>::Dim: ChunkDim<2>,
{
    type Output = Tensor<
        <S as ReplaceAxis<I>>::Output<<<S as HasAxis<I>>::Dim as ChunkDim<2>>::Output>,
        E,
        T,
    >;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        const { crate::ops::activation::check_glu_axis(<<S as HasAxis<I>>::Dim as Dim>::STATIC_SIZE, I) };
        x.try_glu::<I>()
    }
}

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
impl<const I: usize, E: Float> Params<E> for GLU<I> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(super::module_name(prefix), format!("GLU(dim={I})"))
    }
}
