//! Instance normalisation: each sample's channel normalised over its own spatial axes,
//! GroupNorm with one group per channel (`ops::norm::group_norm_op`).

use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::norm::group_norm_op;
use crate::shape::check::{DimCheck, InstanceNormChannels};
use crate::shape::{Const, Dim, DimEq, Shape, ShapeMismatch};
use crate::tensor::Tensor;

/// PyTorch's `nn.InstanceNorm1d/2d/3d` (`track_running_stats=False`, the default), generic
/// over a static (`Const<C>`) or run-time (`usize`) channel count `C` and the number `K` of
/// axes after the channel axis; use the aliases [`InstanceNorm1d`], [`InstanceNorm2d`],
/// [`InstanceNorm3d`] and their `Dyn` forms.
///
/// Every `(sample, channel)` slice of `(N, C, *)` is normalised by its own mean and biased
/// variance, `(x - mean) / sqrt(var + eps)`, in training and evaluation alike; with
/// `affine` (PyTorch's `affine=True`, off by default) channel `c` is then scaled by
/// `weight[c]` and shifted by `bias[c]`. `state_dict` names: `weight`, `bias` when affine,
/// none otherwise.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{InstanceNorm1d, Module, Params};
/// let norm = InstanceNorm1d::<2>::new();
/// assert!(Params::<f32>::param_names(&norm).is_empty());
/// let x = Tensor::<Rank3<1, 2, 2>>::from_array([[[1.0, 3.0], [10.0, 10.0]]]);
/// let y = norm.forward(x).to_vec();
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[1] - 1.0).abs() < 1e-4 && y[2] == 0.0);
/// ```
#[derive(Clone, Debug)]
pub struct InstanceNormLayer<C: Dim, const K: usize, E: Float = f32> {
    /// Per-channel scale `(C,)`, initially ones, when affine.
    pub weight: Option<Tensor<(C,), E>>,
    /// Per-channel shift `(C,)`, initially zeros, when affine.
    pub bias: Option<Tensor<(C,), E>>,
    /// Added to the variance inside the square root (PyTorch's default `1e-5`).
    pub eps: f64,
    channels: C,
}

/// InstanceNorm over `(N, C, L)` with `C` channels in the type.
pub type InstanceNorm1d<const C: usize, E = f32> = InstanceNormLayer<Const<C>, 1, E>;
/// InstanceNorm over `(N, C, H, W)` with `C` channels in the type.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{InstanceNorm2d, Module, Params};
/// let norm = InstanceNorm2d::<3>::new_affine();
/// assert_eq!(Params::<f32>::param_names(&norm), ["weight", "bias"]);
/// let y = norm.forward(Tensor::<Rank4<2, 3, 4, 4>>::ones());
/// assert_eq!(y.to_vec(), vec![0.0; 96]);
/// ```
pub type InstanceNorm2d<const C: usize, E = f32> = InstanceNormLayer<Const<C>, 2, E>;
/// InstanceNorm over `(N, C, D, H, W)` with `C` channels in the type.
pub type InstanceNorm3d<const C: usize, E = f32> = InstanceNormLayer<Const<C>, 3, E>;
/// [`InstanceNorm1d`] with the channel count known only at run time.
pub type InstanceNorm1dDyn<E = f32> = InstanceNormLayer<usize, 1, E>;
/// [`InstanceNorm2d`] with the channel count known only at run time; an input with another
/// number of channels is an `Err` from `try_forward`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{InstanceNorm2dDyn, Module};
/// let norm = InstanceNorm2dDyn::<f32>::new_dyn(3, false);
/// assert!(norm.try_forward(Tensor::<Rank4<2, 3, 4, 4>>::ones()).is_ok());
/// assert!(norm.try_forward(Tensor::<Rank4<2, 5, 4, 4>>::ones()).is_err());
/// ```
pub type InstanceNorm2dDyn<E = f32> = InstanceNormLayer<usize, 2, E>;
/// [`InstanceNorm3d`] with the channel count known only at run time.
pub type InstanceNorm3dDyn<E = f32> = InstanceNormLayer<usize, 3, E>;

impl<C: Dim, const K: usize, E: Float> InstanceNormLayer<C, K, E> {
    /// `channels` channels, with ones and zeros for the affine map when `affine`.
    pub fn with_dims(channels: C, affine: bool) -> Self {
        InstanceNormLayer {
            weight: affine.then(|| Tensor::ones_with_shape((channels,))),
            bias: affine.then(|| Tensor::zeros_with_shape((channels,))),
            eps: 1e-5,
            channels,
        }
    }
    /// The number of channels.
    pub fn num_features(&self) -> usize {
        self.channels.size()
    }
    /// The channel dimension, as its type holds it (for the GPU layer).
    #[cfg(feature = "wgpu")]
    pub(crate) fn channel_dim(&self) -> C {
        self.channels
    }
}

impl<const C: usize, const K: usize, E: Float> InstanceNormLayer<Const<C>, K, E> {
    /// PyTorch's defaults: no affine map, `eps = 1e-5`.
    pub fn new() -> Self {
        Self::with_dims(Const, false)
    }
    /// With the affine map (`affine=True`): weight ones, bias zeros.
    pub fn new_affine() -> Self {
        Self::with_dims(Const, true)
    }
}

impl<const C: usize, const K: usize, E: Float> Default for InstanceNormLayer<Const<C>, K, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize, E: Float> InstanceNormLayer<usize, K, E> {
    /// `channels` channels known at run time, with the affine map when `affine`.
    pub fn new_dyn(channels: usize, affine: bool) -> Self {
        Self::with_dims(channels, affine)
    }
}

impl<C: Dim, const K: usize, E: Float> InstanceNormLayer<C, K, E> {
    fn normalize<S: Shape, T: Tape<E>>(&self, x: Tensor<S, E, T>) -> Result<Tensor<S, E, T>> {
        let dims = x.shape.dims();
        let c = self.num_features();
        if dims[1] != c {
            return Err(Error::shape(
                "InstanceNorm",
                format!(
                    "the input of shape {:?} has {} channels, but the layer has {c} \
                     (num_features)",
                    dims.as_slice(),
                    dims[1]
                ),
            ));
        }
        let weight = self.weight.as_ref().map(|w| w.traced_as::<T>());
        let bias = self.bias.as_ref().map(|b| b.traced_as::<T>());
        Ok(group_norm_op(x, c, weight, bias, self.eps))
    }
}

// One impl per layer kind: the channel dimension must equal `C` (checked by type when both
// are static).
macro_rules! instancenorm_module {
    ($k:literal; $($A:ident),*) => {
        impl<C: Dim, E: Float, T: Tape<E>, N: Dim, C2: DimEq<C>, $($A: Dim),*>
            Module<Tensor<(N, C2, $($A,)*), E, T>> for InstanceNormLayer<C, $k, E>
        {
            type Output = Tensor<(N, C2, $($A,)*), E, T>;
            const SHAPE_MISMATCH: ShapeMismatch =
                DimCheck::<C2, C, InstanceNormChannels>::MISMATCH;
            fn try_forward(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                let () = <Self as Module<Tensor<(N, C2, $($A,)*), E, T>>>::SHAPE_CHECK;
                self.normalize(x)
            }
            fn try_forward_unchecked(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                self.normalize(x)
            }
        }
    };
}
instancenorm_module!(1; L);
instancenorm_module!(2; H, W);
instancenorm_module!(3; D, H, W);

impl<C: Dim, const K: usize, E: Float> Params<E> for InstanceNormLayer<C, K, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        for (t, name) in [(&self.weight, "weight"), (&self.bias, "bias")] {
            if let Some(t) = t {
                visit_tensor(t, &format!("{prefix}{name}"), TensorKind::Parameter, f);
            }
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        for (t, name) in [(&mut self.weight, "weight"), (&mut self.bias, "bias")] {
            if let Some(t) = t {
                visit_tensor_mut(t, &format!("{prefix}{name}"), TensorKind::Parameter, f);
            }
        }
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        let affine = if self.weight.is_some() {
            "True"
        } else {
            "False"
        };
        f(
            super::module_name(prefix),
            format!(
                "InstanceNorm{K}d({}, eps={}, momentum=0.1, affine={affine}, track_running_stats=False)",
                self.num_features(),
                super::summary::py_float(self.eps)
            ),
        )
    }
}
