//! PReLU: a leaky ReLU whose negative slopes are learned, one for the whole input
//! ([`PReLU`], PyTorch's `nn.PReLU()`) or one per channel ([`ChannelPReLU`],
//! `nn.PReLU(num_parameters=C)`).

use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::{PreluKernel, binary_op};
use crate::shape::check::{DimCheck, PReluChannels};
use crate::shape::{Const, Dim, DimEq, DynShape, Shape, ShapeMismatch};
use crate::tensor::Tensor;

/// PyTorch's initial slope (`init=0.25`).
const DEFAULT_INIT: f64 = 0.25;

/// `nn.PReLU()`: `x` where `x > 0`, else `weight * x`, with one learned slope for every
/// element of any input. `state_dict` name: `weight`, shape `(1,)`, initially 0.25.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, PReLU, Params};
/// let prelu = PReLU::<f32>::new();
/// let y = prelu.forward(Tensor::<Rank2<1, 3>>::from_array([[-4.0, 0.0, 2.0]]));
/// assert_eq!(y.to_vec(), vec![-1.0, 0.0, 2.0]);
/// assert_eq!(prelu.param_names(), ["weight"]);
/// ```
#[derive(Clone, Debug)]
pub struct PReLU<E: Float = f32> {
    /// The slope below 0, `(1,)`.
    pub weight: Tensor<(Const<1>,), E>,
}

impl<E: Float> PReLU<E> {
    /// A slope of 0.25, PyTorch's default.
    pub fn new() -> Self {
        Self::with_init(DEFAULT_INIT)
    }
    /// A slope of `init` (PyTorch's `init` argument).
    ///
    /// ```
    /// use shaped::nn::PReLU;
    /// assert_eq!(PReLU::<f64>::with_init(0.1).weight.to_vec(), vec![0.1]);
    /// ```
    pub fn with_init(init: f64) -> Self {
        PReLU {
            weight: Tensor::full(E::from_f64(init)),
        }
    }
}

impl<E: Float> Default for PReLU<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for PReLU<E> {
    type Output = Tensor<S, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let slope = self.weight.traced_as::<T>().reshape::<()>();
        let shape = x.shape;
        Ok(binary_op(x, slope, shape, PreluKernel))
    }
}

/// `nn.PReLU(num_parameters=C)`: one learned slope per channel (axis 1) of `(N, C)`,
/// `(N, C, L)`, `(N, C, H, W)` or `(N, C, D, H, W)` inputs, generic over a static
/// (`Const<C>`) or run-time (`usize`) channel count; use the aliases [`ChannelPReLU`] and
/// [`ChannelPReLUDyn`]. `state_dict` name: `weight`, shape `(C,)`, initially 0.25.
#[derive(Clone, Debug)]
pub struct ChannelPReLULayer<C: Dim, E: Float = f32> {
    /// The slopes below 0, `(C,)`.
    pub weight: Tensor<(C,), E>,
}

/// [`ChannelPReLULayer`] with `C` channels in the type; an input with another channel count
/// does not compile.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{ChannelPReLU, Module};
/// let mut prelu = ChannelPReLU::<2>::new();
/// prelu.weight = Tensor::from_array([0.5, 0.1]);
/// let y = prelu.forward(Tensor::<Rank3<1, 2, 2>>::from_array([[[-2.0, 1.0], [-10.0, 3.0]]]));
/// assert_eq!(y.to_vec(), vec![-1.0, 1.0, -1.0, 3.0]);
/// ```
///
/// ```compile_fail
/// use shaped::prelude::*;
/// use shaped::nn::{ChannelPReLU, Module};
/// let _ = ChannelPReLU::<3>::new().forward(Tensor::<Rank4<1, 4, 2, 2>>::zeros());
/// ```
pub type ChannelPReLU<const C: usize, E = f32> = ChannelPReLULayer<Const<C>, E>;
/// [`ChannelPReLULayer`] with a channel count known only at run time; an input with another
/// count is an `Err` from `try_forward`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{ChannelPReLUDyn, Module};
/// let prelu = ChannelPReLUDyn::<f32>::new_dyn(3);
/// assert!(prelu.try_forward(Tensor::<Rank4<2, 3, 4, 4>>::ones()).is_ok());
/// assert!(prelu.try_forward(Tensor::<Rank2<2, 5>>::ones()).is_err());
/// ```
pub type ChannelPReLUDyn<E = f32> = ChannelPReLULayer<usize, E>;

impl<C: Dim, E: Float> ChannelPReLULayer<C, E> {
    /// `channels` slopes of `init` each.
    pub fn with_dims(channels: C, init: f64) -> Self {
        ChannelPReLULayer {
            weight: Tensor::full_with_shape((channels,), E::from_f64(init)),
        }
    }
    /// The number of channels (slopes).
    pub fn num_parameters(&self) -> usize {
        self.weight.shape.0.size()
    }
}

impl<const C: usize, E: Float> ChannelPReLULayer<Const<C>, E> {
    /// `C` slopes of 0.25, PyTorch's default.
    pub fn new() -> Self {
        Self::with_dims(Const, DEFAULT_INIT)
    }
}

impl<const C: usize, E: Float> Default for ChannelPReLULayer<Const<C>, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Float> ChannelPReLULayer<usize, E> {
    /// `channels` slopes of 0.25.
    pub fn new_dyn(channels: usize) -> Self {
        Self::with_dims(channels, DEFAULT_INIT)
    }
}

impl<C: Dim, E: Float> ChannelPReLULayer<C, E> {
    /// The forward pass once the channel count is known to match: the slopes shaped
    /// `(C, 1, ..)` to broadcast over the axes after the channels.
    fn forward_channels<S: Shape, T: Tape<E>>(
        &self,
        x: Tensor<S, E, T>,
        channels: usize,
    ) -> Result<Tensor<S, E, T>> {
        let dims = x.shape.dims();
        if channels != self.num_parameters() {
            return Err(Error::shape(
                "PReLU",
                format!(
                    "the input of shape {:?} has {channels} channels, but the layer has {} \
                     (num_parameters)",
                    dims.as_slice(),
                    self.num_parameters()
                ),
            ));
        }
        let mut slope_dims = [1usize; 5];
        slope_dims[0] = channels;
        let slope_shape = DynShape::new(&slope_dims[..dims.rank() - 1]).ok_or_else(|| {
            Error::shape(
                "PReLU",
                format!("input of rank {} is not supported", dims.rank()),
            )
        })?;
        let slopes = self.weight.traced_as::<T>().try_reshape_dyn(slope_shape)?;
        let shape = x.shape;
        Ok(binary_op(x, slopes, shape, PreluKernel))
    }
}

// One impl per accepted input rank; the channel dimension must equal `C` (checked by type
// when both are static).
macro_rules! channel_prelu_module {
    ($($A:ident),*) => {
        impl<C: Dim, E: Float, T: Tape<E>, N: Dim, C2: DimEq<C>, $($A: Dim),*>
            Module<Tensor<(N, C2, $($A,)*), E, T>> for ChannelPReLULayer<C, E>
        {
            type Output = Tensor<(N, C2, $($A,)*), E, T>;
            const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<C2, C, PReluChannels>::MISMATCH;
            fn try_forward(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                let () = <Self as Module<Tensor<(N, C2, $($A,)*), E, T>>>::SHAPE_CHECK;
                self.try_forward_unchecked(x)
            }
            fn try_forward_unchecked(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                let channels = x.shape.1.size();
                self.forward_channels(x, channels)
            }
        }
    };
}
channel_prelu_module!();
channel_prelu_module!(L);
channel_prelu_module!(H, W);
channel_prelu_module!(D, H, W);

/// `visit`, `visit_mut` and `describe` of a layer whose one parameter is `weight`.
macro_rules! weight_only_params {
    ($layer:ty $(, $g:ident: $bound:ident)?) => {
        impl<$($g: $bound,)? E: Float> Params<E> for $layer {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
                visit_tensor(&self.weight, &format!("{prefix}weight"), TensorKind::Parameter, f);
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
                let name = format!("{prefix}weight");
                visit_tensor_mut(&mut self.weight, &name, TensorKind::Parameter, f);
            }
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                let count = self.weight.shape.0.size();
                f(super::module_name(prefix), format!("PReLU(num_parameters={count})"))
            }
        }
    };
}
weight_only_params!(PReLU<E>);
weight_only_params!(ChannelPReLULayer<C, E>, C: Dim);
