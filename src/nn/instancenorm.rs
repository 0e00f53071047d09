//! Instance normalisation: each sample's channel normalised over its own spatial axes,
//! GroupNorm with one group per channel (`ops::norm::group_norm_op`).

use super::mode::ModeFlag;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use super::running_stats::{PendingStats, blend};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::norm::{BatchStats, batch_norm_op, group_norm_op, instance_stats};
use crate::shape::check::{DimCheck, InstanceNormChannels};
use crate::shape::{Const, Dim, DimEq, Shape, ShapeMismatch};
use crate::tensor::Tensor;

/// PyTorch's `nn.InstanceNorm1d/2d/3d`, generic over a static (`Const<C>`) or run-time
/// (`usize`) channel count `C` and the number `K` of axes after the channel axis; use the
/// aliases [`InstanceNorm1d`], [`InstanceNorm2d`], [`InstanceNorm3d`] and their `Dyn` forms.
///
/// Every `(sample, channel)` slice of `(N, C, *)` is normalised by its own mean and biased
/// variance, `(x - mean) / sqrt(var + eps)`; with `affine` (PyTorch's `affine=True`, off by
/// default) channel `c` is then scaled by `weight[c]` and shifted by `bias[c]`.
///
/// With [`track_running_stats`](Self::track_running_stats) (off by default, as in PyTorch)
/// the layer also keeps `running_mean` and `running_var` buffers `(C,)` (zeros and ones at
/// first), as BatchNorm does: a training-mode call ([`Module::forward_train`], or `forward`
/// after [`Params::train`]) normalises each slice by its own statistics and updates
/// `running = (1 - momentum) * running + momentum * stat`, `stat` being the average over
/// the batch of the slices' means and unbiased variances (PyTorch's rule); evaluation
/// normalises channel `c` by `running_mean[c]` and `running_var[c]` instead. A training
/// forward through `&self` keeps the new values pending until the next `&mut` access, as
/// [`BatchNormLayer`](super::BatchNormLayer) documents. Without tracking, training and
/// evaluation are the same.
///
/// `state_dict` names: `weight`, `bias` when affine; `running_mean`, `running_var` when
/// tracking (PyTorch's `num_batches_tracked` is not kept, as for BatchNorm: it only matters
/// for `momentum=None`, which is not supported).
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
    /// Running mean `(C,)` used in evaluation, initially zeros, when tracking.
    pub running_mean: Option<Tensor<(C,), E>>,
    /// Running (unbiased) variance `(C,)` used in evaluation, initially ones, when tracking.
    pub running_var: Option<Tensor<(C,), E>>,
    /// Added to the variance inside the square root (PyTorch's default `1e-5`).
    pub eps: f64,
    /// Weight of the newest batch in the running statistics (default `0.1`).
    pub momentum: f64,
    channels: C,
    mode: ModeFlag,
    pending: PendingStats<E>,
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
    /// `channels` channels, with ones and zeros for the affine map when `affine`, without
    /// running statistics.
    ///
    /// ```
    /// use shaped::nn::InstanceNorm2dDyn;
    /// assert_eq!(InstanceNorm2dDyn::<f32>::with_dims(6, true).num_features(), 6);
    /// ```
    pub fn with_dims(channels: C, affine: bool) -> Self {
        InstanceNormLayer {
            weight: affine.then(|| Tensor::ones_with_shape((channels,))),
            bias: affine.then(|| Tensor::zeros_with_shape((channels,))),
            running_mean: None,
            running_var: None,
            eps: 1e-5,
            momentum: 0.1,
            channels,
            mode: ModeFlag::default(),
            pending: PendingStats::default(),
        }
    }
    /// Keeps running statistics (`track_running_stats=True`): fresh buffers, mean zeros and
    /// variance ones, when `on`; none when off.
    ///
    /// ```
    /// use shaped::nn::{InstanceNorm1d, Params};
    /// let norm = InstanceNorm1d::<3>::new().track_running_stats(true);
    /// assert_eq!(Params::<f32>::param_names(&norm), ["running_mean", "running_var"]);
    /// assert!(norm.tracks_running_stats());
    /// ```
    pub fn track_running_stats(mut self, on: bool) -> Self {
        let _ = self.pending.take();
        self.running_mean = on.then(|| Tensor::zeros_with_shape((self.channels,)));
        self.running_var = on.then(|| Tensor::ones_with_shape((self.channels,)));
        self
    }
    /// Whether the layer keeps running statistics.
    ///
    /// ```
    /// use shaped::nn::InstanceNorm2d;
    /// assert!(!InstanceNorm2d::<3>::new().tracks_running_stats());
    /// ```
    pub fn tracks_running_stats(&self) -> bool {
        self.running_mean.is_some() && self.running_var.is_some()
    }
    /// The number of channels.
    ///
    /// ```
    /// use shaped::nn::InstanceNorm3d;
    /// assert_eq!(InstanceNorm3d::<4>::new().num_features(), 4);
    /// ```
    pub fn num_features(&self) -> usize {
        self.channels.size()
    }
    /// The channel dimension, as its type holds it (for the GPU layer).
    #[cfg(feature = "wgpu")]
    pub(crate) fn channel_dim(&self) -> C {
        self.channels
    }
    /// Writes running statistics updated through `&self` into `running_mean` and
    /// `running_var` (every `&mut` access does this first).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{InstanceNorm1d, Module, Params};
    /// let mut norm = InstanceNorm1d::<1>::new().track_running_stats(true);
    /// norm.train();
    /// let _ = norm.forward(Tensor::<Rank3<1, 1, 2>>::from_array([[[1.0, 3.0]]]));
    /// norm.sync_running();
    /// let mean = norm.running_mean.as_ref().unwrap().as_slice()[0];
    /// assert!((mean - 0.2).abs() < 1e-6); // 0.1 * mean 2
    /// ```
    pub fn sync_running(&mut self) {
        if let Some((mean, var)) = self.pending.take()
            && let (Some(rm), Some(rv)) = (&mut self.running_mean, &mut self.running_var)
        {
            rm.as_mut_slice().copy_from_slice(&mean);
            rv.as_mut_slice().copy_from_slice(&var);
        }
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
    fn check_channels<S: Shape>(&self, shape: &S) -> Result<()> {
        let dims = shape.dims();
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
        Ok(())
    }

    /// Normalises by each slice's own statistics, or by the running ones (the pending
    /// values if a `&self` training call left some) when `by_running` and the layer has them.
    fn normalize<S: Shape, T: Tape<E>>(
        &self,
        x: Tensor<S, E, T>,
        by_running: bool,
    ) -> Tensor<S, E, T> {
        let weight = self.weight.as_ref().map(|w| w.traced_as::<T>());
        let bias = self.bias.as_ref().map(|b| b.traced_as::<T>());
        if by_running && let (Some(mean), Some(var)) = (&self.running_mean, &self.running_var) {
            let y = match self.pending.snapshot() {
                Some((m, v)) => batch_norm_op(x, weight, bias, Some((&m, &v)), self.eps),
                None => {
                    let running = Some((mean.as_slice(), var.as_slice()));
                    batch_norm_op(x, weight, bias, running, self.eps)
                }
            };
            return y.0;
        }
        group_norm_op(x, self.num_features(), weight, bias, self.eps)
    }

    /// The statistics a training call blends into the running ones, and the number of values
    /// per slice (which makes the variance unbiased); an error for slices of one value.
    fn slice_stats<S: Shape, T: Tape<E>>(
        &self,
        x: &Tensor<S, E, T>,
    ) -> Result<(BatchStats<E>, usize)> {
        let dims = x.shape.dims();
        let per_slice: usize = dims[2..].iter().product();
        if per_slice < 2 {
            return Err(Error::value(
                "InstanceNorm input",
                format!(
                    "training with running statistics needs more than 1 value per channel \
                     of each sample, got input of shape {:?}",
                    dims.as_slice()
                ),
            ));
        }
        Ok((instance_stats(x), per_slice))
    }

    /// A call through `&self`: a tracking layer in training mode leaves its update pending.
    fn forward_shared<S: Shape, T: Tape<E>>(&self, x: Tensor<S, E, T>) -> Result<Tensor<S, E, T>> {
        self.check_channels(&x.shape)?;
        let training = self.mode.active();
        if training && let (Some(mean), Some(var)) = (&self.running_mean, &self.running_var) {
            let (stats, count) = self.slice_stats(&x)?;
            let m = self.momentum;
            self.pending
                .update(mean.as_slice(), var.as_slice(), |mean, var| {
                    blend(mean, var, &stats, count, m)
                });
        }
        Ok(self.normalize(x, !training))
    }

    /// A training call through `&mut self`: the running statistics are written at once.
    fn forward_owned<S: Shape, T: Tape<E>>(
        &mut self,
        x: Tensor<S, E, T>,
    ) -> Result<Tensor<S, E, T>> {
        self.check_channels(&x.shape)?;
        if self.tracks_running_stats() {
            self.sync_running();
            let (stats, count) = self.slice_stats(&x)?;
            if let (Some(mean), Some(var)) = (&mut self.running_mean, &mut self.running_var) {
                let m = self.momentum;
                blend(mean.as_mut_slice(), var.as_mut_slice(), &stats, count, m);
            }
        }
        Ok(self.normalize(x, false))
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
                self.forward_shared(x)
            }
            fn try_forward_train(&mut self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                let () = <Self as Module<Tensor<(N, C2, $($A,)*), E, T>>>::SHAPE_CHECK;
                self.forward_owned(x)
            }
            fn try_forward_unchecked(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                self.forward_shared(x)
            }
            fn try_forward_train_unchecked(&mut self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                self.forward_owned(x)
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
        let pending = self.pending.snapshot();
        for (t, name, newer) in [
            (
                &self.running_mean,
                "running_mean",
                pending.as_ref().map(|p| &p.0),
            ),
            (
                &self.running_var,
                "running_var",
                pending.as_ref().map(|p| &p.1),
            ),
        ] {
            let Some(t) = t else { continue };
            let name = format!("{prefix}{name}");
            match newer {
                Some(data) => f(ParamView {
                    name: &name,
                    dims: t.shape.dims(),
                    data,
                    id: t.id,
                    kind: TensorKind::Buffer,
                }),
                None => visit_tensor(t, &name, TensorKind::Buffer, f),
            }
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.sync_running();
        for (t, name) in [(&mut self.weight, "weight"), (&mut self.bias, "bias")] {
            if let Some(t) = t {
                visit_tensor_mut(t, &format!("{prefix}{name}"), TensorKind::Parameter, f);
            }
        }
        for (t, name) in [
            (&mut self.running_mean, "running_mean"),
            (&mut self.running_var, "running_var"),
        ] {
            if let Some(t) = t {
                visit_tensor_mut(t, &format!("{prefix}{name}"), TensorKind::Buffer, f);
            }
        }
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        let py_bool = |b: bool| if b { "True" } else { "False" };
        f(
            super::module_name(prefix),
            format!(
                "InstanceNorm{K}d({}, eps={}, momentum={}, affine={}, track_running_stats={})",
                self.num_features(),
                super::summary::py_float(self.eps),
                super::summary::py_float(self.momentum),
                py_bool(self.weight.is_some()),
                py_bool(self.tracks_running_stats()),
            ),
        )
    }
    fn set_training(&mut self, training: bool) {
        self.sync_running();
        self.mode.set(training);
    }
    fn is_training(&self) -> bool {
        self.mode.get()
    }
}
