//! Batch normalisation over the channel axis: `BatchNorm1d`, `BatchNorm2d`, `BatchNorm3d`.

use super::mode::ModeFlag;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use super::running_stats::{PendingStats, blend};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::norm::{BatchStats, batch_norm_op};
use crate::shape::check::{BatchNormChannels, DimCheck};
use crate::shape::{Const, Dim, DimEq, Shape, ShapeMismatch};
use crate::tensor::Tensor;

/// PyTorch's `nn.BatchNorm1d/2d/3d` (`affine=True`, `track_running_stats=True`), generic
/// over a static (`Const<C>`) or run-time (`usize`) channel count `C` and the number `K` of
/// axes after the channel axis (1 for `BatchNorm1d`, which also takes `(N, C)`; 2 for
/// `BatchNorm2d`; 3 for `BatchNorm3d`). Use the aliases [`BatchNorm1d`], [`BatchNorm2d`],
/// [`BatchNorm3d`] and their `Dyn` forms.
///
/// * Evaluation ([`Module::forward`] of a fresh layer, or after [`Params::eval`]):
///   `y = (x - running_mean) / sqrt(running_var + eps) * weight + bias`, per channel (axis 1).
/// * Training ([`Module::forward_train`], or `forward` after [`Params::train`]): normalises
///   with the mean and the biased variance of the batch over every axis but 1, and updates
///   `running = (1 - momentum) * running + momentum * batch_stat`, where the variance
///   statistic is the unbiased one, as PyTorch does.
///
/// `forward` in training mode updates the running statistics through `&self`: the new values
/// are kept inside the layer (behind a mutex, so the layer stays `Send + Sync`) and written
/// into the `running_mean` / `running_var` fields at the next `&mut` access: `eval()`,
/// `train()`, `forward_train`, an optimizer step, loading, or any `visit_mut`. Until then
/// evaluation, `visit`, `state_dict` and saving already see the new values; only a direct read
/// of the two fields does not, and a direct write to them is replaced by the pending values
/// (call `eval()` or [`sync_running`](Self::sync_running) first, as PyTorch code calls
/// `eval()` before evaluating). Evaluation takes no lock when nothing is pending.
///
/// A batch holding NaN or infinity makes the running statistics NaN or infinite, and they stay
/// so (every later update mixes in the old value), as in PyTorch; evaluation outputs are
/// then NaN. The [`Trainer`](crate::train::Trainer) checks the buffers after every forward
/// pass and stops with an error naming the poisoned one.
///
/// `state_dict` names: `weight`, `bias` (parameters), `running_mean`, `running_var`
/// (buffers). PyTorch's `num_batches_tracked` buffer is not kept: it only matters for
/// `momentum=None` (a cumulative average), which is not supported.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BatchNormLayer, Module};
/// // The generic form, as the aliases spell it: 4 static channels, one axis after them.
/// let mut bn = BatchNormLayer::<Const<4>, 1, f64>::new();
/// bn.momentum = 0.5;
/// let _ = bn.forward_train(Tensor::<Rank3<2, 4, 3>, f64>::ones().mul_scalar(2.0));
/// assert_eq!(bn.running_mean.to_vec(), vec![1.0; 4]); // 0.5 * 0 + 0.5 * 2
/// ```
#[derive(Clone, Debug)]
pub struct BatchNormLayer<C: Dim, const K: usize, E: Float = f32> {
    /// Scale, `(C,)`, initially ones.
    pub weight: Tensor<(C,), E>,
    /// Shift, `(C,)`, initially zeros.
    pub bias: Tensor<(C,), E>,
    /// Running mean used in evaluation, `(C,)`, initially zeros.
    pub running_mean: Tensor<(C,), E>,
    /// Running (unbiased) variance used in evaluation, `(C,)`, initially ones.
    pub running_var: Tensor<(C,), E>,
    /// Added to the variance inside the square root (PyTorch's default `1e-5`).
    pub eps: f64,
    /// Weight of the newest batch in the running statistics (default `0.1`).
    pub momentum: f64,
    mode: ModeFlag,
    pending: PendingStats<E>,
}

/// BatchNorm over `(N, C)` or `(N, C, L)` inputs with `C` channels in the type.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BatchNorm1d, Module};
/// let mut bn = BatchNorm1d::<2>::new();
/// let x = Tensor::<Rank2<4, 2>>::from_array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0], [4.0, 1.0]]);
/// let y = bn.forward_train(x.clone()); // batch statistics; running ones are updated
/// assert!(y.as_slice()[0] < 0.0 && y.as_slice()[6] > 0.0);
/// assert!((bn.running_mean.as_slice()[0] - 0.25).abs() < 1e-6); // 0.9 * 0 + 0.1 * 2.5
/// let y_eval = bn.forward(x); // running statistics
/// assert_eq!(y_eval.dims().as_slice(), &[4, 2]);
/// ```
///
/// Images need [`BatchNorm2d`]: a 4-D input does not compile.
///
/// ```compile_fail
/// use shaped::prelude::*;
/// use shaped::nn::{BatchNorm1d, Module};
/// let _ = BatchNorm1d::<3>::new().forward(Tensor::<Rank4<2, 3, 4, 4>>::zeros());
/// ```
pub type BatchNorm1d<const C: usize, E = f32> = BatchNormLayer<Const<C>, 1, E>;
/// BatchNorm over `(N, C, H, W)` inputs with `C` channels in the type.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BatchNorm2d, Module};
/// let mut bn = BatchNorm2d::<3>::new();
/// let y = bn.forward_train(Tensor::<Rank4<2, 3, 4, 4>>::ones());
/// assert_eq!(y.to_vec(), vec![0.0; 96]); // a constant batch normalises to zero
/// ```
pub type BatchNorm2d<const C: usize, E = f32> = BatchNormLayer<Const<C>, 2, E>;
/// BatchNorm over `(N, C, D, H, W)` inputs with `C` channels in the type.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BatchNorm3d, Module};
/// let bn = BatchNorm3d::<2>::new();
/// assert_eq!(bn.forward(Tensor::<Rank5<1, 2, 2, 2, 2>>::ones()).numel(), 16);
/// ```
pub type BatchNorm3d<const C: usize, E = f32> = BatchNormLayer<Const<C>, 3, E>;
/// [`BatchNorm1d`] with the channel count known only at run time; an input with another
/// number of channels is an `Err` from `try_forward`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BatchNorm1dDyn, Module};
/// let bn = BatchNorm1dDyn::<f32>::new_dyn(3);
/// assert!(bn.try_forward(Tensor::<Rank2<4, 3>>::ones()).is_ok());
/// assert!(bn.try_forward(Tensor::<Rank2<4, 5>>::ones()).is_err());
/// ```
pub type BatchNorm1dDyn<E = f32> = BatchNormLayer<usize, 1, E>;
/// [`BatchNorm2d`] with the channel count known only at run time.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BatchNorm2dDyn, Module};
/// let bn = BatchNorm2dDyn::<f32>::new_dyn(3);
/// assert!(bn.try_forward(Tensor::<Rank4<1, 3, 2, 2>>::ones()).is_ok());
/// ```
pub type BatchNorm2dDyn<E = f32> = BatchNormLayer<usize, 2, E>;
/// [`BatchNorm3d`] with the channel count known only at run time.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BatchNorm3dDyn, Module};
/// let bn = BatchNorm3dDyn::<f32>::new_dyn(2);
/// assert!(bn.try_forward(Tensor::<Rank5<1, 2, 1, 2, 2>>::ones()).is_ok());
/// ```
pub type BatchNorm3dDyn<E = f32> = BatchNormLayer<usize, 3, E>;

impl<C: Dim, const K: usize, E: Float> BatchNormLayer<C, K, E> {
    /// A layer with `channels` channels and PyTorch's initial values: weight 1, bias 0,
    /// running mean 0, running variance 1, `eps = 1e-5`, `momentum = 0.1`.
    ///
    /// ```
    /// use shaped::nn::BatchNorm2dDyn;
    /// let bn = BatchNorm2dDyn::<f32>::with_dims(8);
    /// assert_eq!(bn.num_features(), 8);
    /// ```
    pub fn with_dims(channels: C) -> Self {
        BatchNormLayer {
            weight: Tensor::ones_with_shape((channels,)),
            bias: Tensor::zeros_with_shape((channels,)),
            running_mean: Tensor::zeros_with_shape((channels,)),
            running_var: Tensor::ones_with_shape((channels,)),
            eps: 1e-5,
            momentum: 0.1,
            mode: ModeFlag::default(),
            pending: PendingStats::default(),
        }
    }

    /// The number of channels.
    ///
    /// ```
    /// use shaped::nn::BatchNorm1d;
    /// assert_eq!(BatchNorm1d::<5>::new().num_features(), 5);
    /// ```
    pub fn num_features(&self) -> usize {
        self.weight.shape.0.size()
    }

    pub(crate) fn check_channels<S: Shape>(&self, shape: &S) -> Result<()> {
        let dims = shape.dims();
        if dims[1] != self.num_features() {
            return Err(Error::shape(
                "BatchNorm",
                format!(
                    "input of shape {:?} has {} channels (axis 1), the layer has {}",
                    dims.as_slice(),
                    dims[1],
                    self.num_features()
                ),
            ));
        }
        Ok(())
    }

    /// Whether this call trains: the mode a scope on this thread imposes
    /// ([`forward_train`](Module::forward_train) of an enclosing model, the `Trainer`'s
    /// validation), else the layer's flag ([`Params::train`]).
    pub(crate) fn active(&self) -> bool {
        self.mode.active()
    }

    pub(crate) fn forward_running<S: Shape, T: Tape<E>>(
        &self,
        x: Tensor<S, E, T>,
    ) -> Result<Tensor<S, E, T>> {
        self.check_channels(&x.shape)?;
        let (w, b) = (self.weight.traced_as::<T>(), self.bias.traced_as::<T>());
        let y = match self.pending.snapshot() {
            Some((mean, var)) => batch_norm_op(x, Some(w), Some(b), Some((&mean, &var)), self.eps),
            None => {
                let running = Some((self.running_mean.as_slice(), self.running_var.as_slice()));
                batch_norm_op(x, Some(w), Some(b), running, self.eps)
            }
        };
        Ok(y.0)
    }

    /// Normalises with batch statistics; returns them with the number of values per channel.
    fn normalise_batch<S: Shape, T: Tape<E>>(
        &self,
        x: Tensor<S, E, T>,
    ) -> Result<(Tensor<S, E, T>, BatchStats<E>, usize)> {
        self.check_channels(&x.shape)?;
        let dims = x.shape.dims();
        let per_channel = x.numel().checked_div(dims[1]).unwrap_or(0);
        if per_channel < 2 {
            return Err(Error::value(
                "BatchNorm input",
                format!(
                    "training needs more than 1 value per channel, got input of shape {:?}",
                    dims.as_slice()
                ),
            ));
        }
        let (w, b) = (self.weight.traced_as::<T>(), self.bias.traced_as::<T>());
        let (y, stats) = batch_norm_op(x, Some(w), Some(b), None, self.eps);
        let stats = stats.expect("batch statistics are returned in training mode");
        Ok((y, stats, per_channel))
    }

    fn forward_batch<S: Shape, T: Tape<E>>(
        &mut self,
        x: Tensor<S, E, T>,
    ) -> Result<Tensor<S, E, T>> {
        let (y, stats, count) = self.normalise_batch(x)?;
        self.update_running(&stats, count);
        Ok(y)
    }

    /// Training through `&self`: the running statistics go to the pending values.
    fn forward_batch_shared<S: Shape, T: Tape<E>>(
        &self,
        x: Tensor<S, E, T>,
    ) -> Result<Tensor<S, E, T>> {
        let (y, stats, count) = self.normalise_batch(x)?;
        self.update_running_shared(&stats, count);
        Ok(y)
    }

    /// `running = (1 - momentum) running + momentum batch_stat`, the variance made unbiased
    /// for `count` values per channel.
    pub(crate) fn update_running(&mut self, stats: &BatchStats<E>, count: usize) {
        self.sync_running();
        let m = self.momentum;
        blend(
            self.running_mean.as_mut_slice(),
            self.running_var.as_mut_slice(),
            stats,
            count,
            m,
        );
    }

    /// [`update_running`](Self::update_running) through `&self`.
    pub(crate) fn update_running_shared(&self, stats: &BatchStats<E>, count: usize) {
        let m = self.momentum;
        self.pending.update(
            self.running_mean.as_slice(),
            self.running_var.as_slice(),
            |mean, var| blend(mean, var, stats, count, m),
        );
    }

    /// Writes running statistics updated through `&self` into `running_mean` and
    /// `running_var` (every `&mut` access does this first; see the type's documentation).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{BatchNorm1d, Module};
    /// let mut bn = BatchNorm1d::<1>::new();
    /// bn.train();
    /// let _ = bn.forward(Tensor::<Rank2<2, 1>>::from_array([[1.0], [3.0]]));
    /// bn.sync_running();
    /// assert!((bn.running_mean.as_slice()[0] - 0.2).abs() < 1e-6); // 0.1 * mean 2
    /// ```
    pub fn sync_running(&mut self) {
        if let Some((mean, var)) = self.pending.take() {
            self.running_mean.as_mut_slice().copy_from_slice(&mean);
            self.running_var.as_mut_slice().copy_from_slice(&var);
        }
    }
}

impl<const C: usize, const K: usize, E: Float> BatchNormLayer<Const<C>, K, E> {
    /// A layer with `C` channels and PyTorch's initial values (see
    /// [`with_dims`](Self::with_dims)).
    ///
    /// ```
    /// use shaped::nn::{BatchNorm2d, Params};
    /// let bn = BatchNorm2d::<16>::new();
    /// assert_eq!(bn.param_names(), ["weight", "bias", "running_mean", "running_var"]);
    /// assert_eq!(bn.num_params(), 32); // buffers are not trainable
    /// ```
    pub fn new() -> Self {
        Self::with_dims(Const)
    }
}

impl<const C: usize, const K: usize, E: Float> Default for BatchNormLayer<Const<C>, K, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize, E: Float> BatchNormLayer<usize, K, E> {
    /// A layer with a run-time channel count and PyTorch's initial values.
    ///
    /// ```
    /// use shaped::nn::BatchNorm1dDyn;
    /// assert_eq!(BatchNorm1dDyn::<f64>::new_dyn(7).running_var.to_vec(), vec![1.0; 7]);
    /// ```
    pub fn new_dyn(channels: usize) -> Self {
        Self::with_dims(channels)
    }
}

// One impl per accepted input rank; the channel dimension must equal `C` (checked by type
// when both are static).
macro_rules! batchnorm_module {
    ($k:literal; $($A:ident),*) => {
        impl<C: Dim, E: Float, T: Tape<E>, N: Dim, C2: DimEq<C>, $($A: Dim),*> Module<Tensor<(N, C2, $($A,)*), E, T>>
            for BatchNormLayer<C, $k, E>
        {
            type Output = Tensor<(N, C2, $($A,)*), E, T>;
            const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<C2, C, BatchNormChannels>::MISMATCH;
            fn try_forward(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                let () = <Self as Module<Tensor<(N, C2, $($A,)*), E, T>>>::SHAPE_CHECK;
                self.try_forward_unchecked(x)
            }
            fn try_forward_train(&mut self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                let () = <Self as Module<Tensor<(N, C2, $($A,)*), E, T>>>::SHAPE_CHECK;
                self.try_forward_train_unchecked(x)
            }
            fn try_forward_unchecked(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                if self.active() {
                    self.forward_batch_shared(x)
                } else {
                    self.forward_running(x)
                }
            }
            fn try_forward_train_unchecked(&mut self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                self.forward_batch(x)
            }
        }
    };
}
batchnorm_module!(1;);
batchnorm_module!(1; L);
batchnorm_module!(2; H, W);
batchnorm_module!(3; D, H, W);

impl<C: Dim, const K: usize, E: Float> Params<E> for BatchNormLayer<C, K, E> {
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
        visit_tensor_mut(
            &mut self.running_mean,
            &format!("{prefix}running_mean"),
            TensorKind::Buffer,
            f,
        );
        visit_tensor_mut(
            &mut self.running_var,
            &format!("{prefix}running_var"),
            TensorKind::Buffer,
            f,
        );
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!(
                "BatchNorm{K}d({}, eps={}, momentum={}, affine=True, track_running_stats=True)",
                self.weight.shape.0.size(),
                super::summary::py_float(self.eps),
                super::summary::py_float(self.momentum)
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
