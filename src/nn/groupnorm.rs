//! Group normalisation, a fused primitive (`ops::norm::group_norm_op`).
//!
//! A sample's channels `(C, *)` split into `G` contiguous groups of `C/G` channels; viewed as
//! `(N*G, C/G * spatial)` rows, GroupNorm's statistics are exactly LayerNorm's row statistics
//! (biased variance, `eps` inside the square root), and the per-channel `weight` and `bias`
//! are applied in the same pass.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::ops::norm::group_norm_op;
use crate::shape::const_msg::ConstMsg;
use crate::shape::{Const, Dim, DimEq, Rank1, Shape};
use crate::tensor::Tensor;

const fn check_groups(groups: usize, channels: usize) {
    if groups == 0 || !channels.is_multiple_of(groups) {
        ConstMsg::new()
            .s("GroupNorm: num_groups ")
            .n(groups)
            .s(" must divide num_channels ")
            .n(channels)
            .fail();
    }
}

/// PyTorch's `nn.GroupNorm(G, C)` (`affine=True`): `G` groups of `C` channels.
///
/// For input `(N, C, *)` (rank 2 to 5), each sample's channels are split into `G`
/// contiguous groups of `C / G`; every group is normalised by its own mean and biased
/// variance, `(x - mean) / sqrt(var + eps)`, then channel `c` is scaled by `weight[c]` and
/// shifted by `bias[c]`. The same in training and evaluation. `G` must divide `C` (a build
/// error naming both); an input whose channels are not `C` is a compile error when static.
/// `state_dict` names: `weight`, `bias`, initially ones and zeros; `eps` is `1e-5`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{GroupNorm, Module};
/// let gn = GroupNorm::<2, 4>::new();
/// let x = Tensor::<Rank3<1, 4, 2>>::from_vec(vec![1.0, 3.0, 5.0, 7.0, 0.0, 0.0, 2.0, 2.0]).unwrap();
/// let y = gn.forward(x);
/// // Group 0 holds 1, 3, 5, 7 (mean 4, variance 5); group 1 holds 0, 0, 2, 2.
/// let first = -3.0 / (5.0f32 + 1e-5).sqrt();
/// assert!((y.as_slice()[0] - first).abs() < 1e-6);
/// assert!((y.as_slice()[4] + 1.0).abs() < 1e-4 && (y.as_slice()[7] - 1.0).abs() < 1e-4);
/// ```
#[derive(Clone, Debug)]
pub struct GroupNorm<const G: usize, const C: usize, E: Float = f32> {
    /// Per-channel scale, `(C,)`, initially ones.
    pub weight: Tensor<Rank1<C>, E>,
    /// Per-channel shift, `(C,)`, initially zeros.
    pub bias: Tensor<Rank1<C>, E>,
    /// Added to the variance inside the square root (PyTorch's default `1e-5`).
    pub eps: f64,
}

impl<const G: usize, const C: usize, E: Float> GroupNorm<G, C, E> {
    const CHECKED: () = check_groups(G, C);

    /// A layer initialised like PyTorch: weight 1, bias 0, `eps = 1e-5`.
    ///
    /// ```
    /// use shaped::nn::{GroupNorm, Params};
    /// let gn = GroupNorm::<3, 6>::new();
    /// assert_eq!(gn.param_names(), ["weight", "bias"]);
    /// assert_eq!(gn.weight.to_vec(), vec![1.0; 6]);
    /// ```
    pub fn new() -> Self {
        let () = Self::CHECKED;
        GroupNorm {
            weight: Tensor::ones(),
            bias: Tensor::zeros(),
            eps: 1e-5,
        }
    }

    /// The normalisation of `x` (`(N, C, *)`).
    fn normalize<S: Shape, T: Tape<E>>(&self, x: Tensor<S, E, T>) -> Result<Tensor<S, E, T>> {
        let () = Self::CHECKED;
        group_norm("GroupNorm", G, &self.weight, &self.bias, self.eps, x)
    }
}

/// GroupNorm of `x` `(N, C, *)` with `groups` groups and per-channel `weight` and `bias`
/// `(C,)`: the one implementation of [`GroupNorm`] and [`GroupNormDyn`].
fn group_norm<SW: Shape, S: Shape, E: Float, T: Tape<E>>(
    layer: &'static str,
    groups: usize,
    weight: &Tensor<SW, E>,
    bias: &Tensor<SW, E>,
    eps: f64,
    x: Tensor<S, E, T>,
) -> Result<Tensor<S, E, T>> {
    let c = weight.numel();
    let dims = x.shape.dims();
    let dims = dims.as_slice();
    if dims.len() < 2 || dims[1] != c {
        return Err(Error::shape(
            layer,
            format!(
                "{layer} expects {c} channels, got {} (input shape {dims:?}, expected (N, {c}, *))",
                dims.get(1).copied().unwrap_or(0)
            ),
        ));
    }
    if groups == 0 || !c.is_multiple_of(groups) || bias.numel() != c {
        return Err(Error::value(
            layer,
            format!(
                "num_groups {groups} must divide num_channels {c} (bias of {} elements)",
                bias.numel()
            ),
        ));
    }
    let (w, b) = (weight.traced_as::<T>(), bias.traced_as::<T>());
    let y = group_norm_op(x, groups, Some(w), Some(b), eps);
    Ok(y)
}

impl<const G: usize, const C: usize, E: Float> Default for GroupNorm<G, C, E> {
    fn default() -> Self {
        Self::new()
    }
}

// One impl per accepted input rank; the channel dimension must equal `C`.
macro_rules! groupnorm_module {
    ($($A:ident),*) => {
        impl<const G: usize, const C: usize, E: Float, T: Tape<E>, N: Dim, C2: DimEq<Const<C>>, $($A: Dim),*>
            Module<Tensor<(N, C2, $($A,)*), E, T>> for GroupNorm<G, C, E>
        {
            type Output = Tensor<(N, C2, $($A,)*), E, T>;
            fn try_forward(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                self.normalize(x)
            }
        }
    };
}
groupnorm_module!();
groupnorm_module!(L);
groupnorm_module!(H, W);
groupnorm_module!(D, H, W);

impl<const G: usize, const C: usize, E: Float> Params<E> for GroupNorm<G, C, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_tensor(
            &self.weight,
            &format!("{prefix}weight"),
            TensorKind::Parameter,
            f,
        );
        visit_tensor(
            &self.bias,
            &format!("{prefix}bias"),
            TensorKind::Parameter,
            f,
        );
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        visit_tensor_mut(
            &mut self.weight,
            &format!("{prefix}weight"),
            TensorKind::Parameter,
            f,
        );
        visit_tensor_mut(
            &mut self.bias,
            &format!("{prefix}bias"),
            TensorKind::Parameter,
            f,
        );
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!(
                "GroupNorm({G}, {C}, eps={}, affine=True)",
                super::summary::py_float(self.eps)
            ),
        )
    }
}

/// PyTorch's `nn.GroupNorm(num_groups, num_channels)` with both sizes given at run time (e.g.
/// read from a configuration file): the run-time twin of [`GroupNorm`], with the same
/// computation, parameters (`weight`, `bias`, `(C,)`, ones and zeros) and `eps`. An input
/// whose channels are not `num_channels` is an `Err` from `try_forward` naming both.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{GroupNormDyn, Module};
/// let gn = GroupNormDyn::<f32>::new(2, 4);
/// let y = gn.forward(Tensor::<Rank3<1, 4, 2>>::from_vec(vec![1.0, 3.0, 5.0, 7.0, 0.0, 0.0, 2.0, 2.0]).unwrap());
/// assert!((y.as_slice()[0] + 3.0 / 5.0f32.sqrt()).abs() < 1e-4);
/// let err = gn.try_forward(Tensor::<Rank3<1, 6, 2>>::zeros()).unwrap_err();
/// assert!(err.to_string().contains("GroupNormDyn expects 4 channels, got 6"));
/// assert!(GroupNormDyn::<f32>::try_new(3, 4).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct GroupNormDyn<E: Float = f32> {
    /// Per-channel scale, `(C,)`, initially ones.
    pub weight: Tensor<(usize,), E>,
    /// Per-channel shift, `(C,)`, initially zeros.
    pub bias: Tensor<(usize,), E>,
    /// Added to the variance inside the square root (PyTorch's default `1e-5`).
    pub eps: f64,
    groups: usize,
}

impl<E: Float> GroupNormDyn<E> {
    /// `num_groups` groups of `num_channels` channels, initialised like PyTorch; an `Err`
    /// names the values when a size is 0 or the groups do not divide the channels.
    ///
    /// ```
    /// let err = shaped::nn::GroupNormDyn::<f32>::try_new(4, 6).unwrap_err();
    /// assert!(err.to_string().contains("num_groups 4 must divide num_channels 6"));
    /// ```
    pub fn try_new(num_groups: usize, num_channels: usize) -> Result<Self> {
        if num_groups == 0 || num_channels == 0 || !num_channels.is_multiple_of(num_groups) {
            return Err(Error::value(
                "GroupNormDyn",
                format!(
                    "num_groups {num_groups} must divide num_channels {num_channels} (both at least 1)"
                ),
            ));
        }
        Ok(GroupNormDyn {
            weight: Tensor::ones_with_shape((num_channels,)),
            bias: Tensor::zeros_with_shape((num_channels,)),
            eps: 1e-5,
            groups: num_groups,
        })
    }
    /// [`try_new`](Self::try_new), panicking at the caller's line.
    ///
    /// ```
    /// let gn = shaped::nn::GroupNormDyn::<f32>::new(3, 6);
    /// assert_eq!((gn.num_groups(), gn.weight.to_vec()), (3, vec![1.0; 6]));
    /// ```
    #[track_caller]
    pub fn new(num_groups: usize, num_channels: usize) -> Self {
        Self::try_new(num_groups, num_channels).or_panic()
    }
    /// The number of groups.
    ///
    /// ```
    /// assert_eq!(shaped::nn::GroupNormDyn::<f32>::new(2, 8).num_groups(), 2);
    /// ```
    pub fn num_groups(&self) -> usize {
        self.groups
    }
}

macro_rules! groupnorm_dyn_module {
    ($($A:ident),*) => {
        impl<E: Float, T: Tape<E>, N: Dim, C: Dim, $($A: Dim),*>
            Module<Tensor<(N, C, $($A,)*), E, T>> for GroupNormDyn<E>
        {
            type Output = Tensor<(N, C, $($A,)*), E, T>;
            fn try_forward(&self, x: Tensor<(N, C, $($A,)*), E, T>) -> Result<Self::Output> {
                group_norm("GroupNormDyn", self.groups, &self.weight, &self.bias, self.eps, x)
            }
        }
    };
}
groupnorm_dyn_module!();
groupnorm_dyn_module!(L);
groupnorm_dyn_module!(H, W);
groupnorm_dyn_module!(D, H, W);

impl<E: Float> Params<E> for GroupNormDyn<E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_tensor(
            &self.weight,
            &format!("{prefix}weight"),
            TensorKind::Parameter,
            f,
        );
        visit_tensor(
            &self.bias,
            &format!("{prefix}bias"),
            TensorKind::Parameter,
            f,
        );
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        visit_tensor_mut(
            &mut self.weight,
            &format!("{prefix}weight"),
            TensorKind::Parameter,
            f,
        );
        visit_tensor_mut(
            &mut self.bias,
            &format!("{prefix}bias"),
            TensorKind::Parameter,
            f,
        );
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!(
                "GroupNorm({}, {}, eps={}, affine=True)",
                self.groups,
                self.weight.numel(),
                super::summary::py_float(self.eps)
            ),
        )
    }
}
