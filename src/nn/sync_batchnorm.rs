//! [`SyncBatchNorm`]: BatchNorm with batch statistics over every replica of a data-parallel
//! run.

use super::batchnorm::BatchNormLayer;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::norm::BatchStats;
use crate::ops::sync_norm::{ReplicaSum, sync_batch_norm_op};
use crate::shape::{Dim, DimEq};
use crate::tensor::Tensor;
use std::sync::Arc;

/// PyTorch's `nn.SyncBatchNorm`: a [`BatchNormLayer`] whose training-mode statistics are the
/// mean and variance of the union of every replica's batch (each replica's sums are added
/// over the group, forward and backward), so small per-process batches normalise as one
/// large batch. Evaluation uses the running statistics, as BatchNorm. Parameters and
/// buffers are the wrapped layer's, under the same `state_dict` names.
///
/// Every replica must run its training-mode forward passes (`forward_train`, or `forward`
/// after `train()`) and backward passes in the same order, as with any collective. Wrap a layer with the group the ranks train over:
///
/// ```
/// use shaped::distributed::{Collective, ThreadGroup};
/// use shaped::nn::{BatchNorm1d, Module, SyncBatchNorm};
/// use shaped::prelude::*;
/// use std::sync::Arc;
/// // Two ranks with one value each per channel: only together is there a batch variance.
/// let means = ThreadGroup::run(2, |group| {
///     let group = Arc::new(group.clone());
///     let mut bn = SyncBatchNorm::new(BatchNorm1d::<1>::new(), group.clone());
///     let x = Tensor::<Rank2<1, 1>>::full(group.rank() as f32 * 2.0); // 0 and 2
///     let y = bn.forward_train(x);
///     (y.to_vec(), bn.norm.running_mean.to_vec())
/// });
/// assert!((means[0].0[0] + 1.0).abs() < 1e-3 && (means[1].0[0] - 1.0).abs() < 1e-3);
/// assert_eq!(means[0].1, vec![0.1]); // momentum 0.1 times the global mean 1
/// ```
pub struct SyncBatchNorm<C: Dim, const K: usize, E: Float = f32> {
    /// The wrapped layer: parameters, running statistics, `eps`, `momentum`.
    pub norm: BatchNormLayer<C, K, E>,
    replicas: Arc<dyn ReplicaSum>,
}

impl<C: Dim, const K: usize, E: Float> SyncBatchNorm<C, K, E> {
    /// Synchronises `norm`'s batch statistics over `replicas` (PyTorch's
    /// `SyncBatchNorm.convert_sync_batchnorm` for one layer).
    ///
    /// ```
    /// use shaped::distributed::ThreadGroup;
    /// use shaped::nn::{BatchNorm2d, Params, SyncBatchNorm};
    /// use std::sync::Arc;
    /// ThreadGroup::run(1, |g| {
    ///     let bn = SyncBatchNorm::new(BatchNorm2d::<4>::new(), Arc::new(g.clone()));
    ///     assert_eq!(bn.param_names(), ["weight", "bias", "running_mean", "running_var"]);
    /// });
    /// ```
    pub fn new(norm: BatchNormLayer<C, K, E>, replicas: Arc<dyn ReplicaSum>) -> Self {
        SyncBatchNorm { norm, replicas }
    }

    /// The plain layer back, e.g. to evaluate in a single process.
    ///
    /// ```
    /// use shaped::distributed::ThreadGroup;
    /// use shaped::nn::{BatchNorm1d, SyncBatchNorm};
    /// use std::sync::Arc;
    /// ThreadGroup::run(1, |g| {
    ///     let bn = SyncBatchNorm::new(BatchNorm1d::<3>::new(), Arc::new(g.clone()));
    ///     assert_eq!(bn.into_inner().num_features(), 3);
    /// });
    /// ```
    pub fn into_inner(self) -> BatchNormLayer<C, K, E> {
        self.norm
    }

    /// Normalises with the statistics of every replica's batch; returns them with the
    /// number of values per channel over all replicas.
    #[allow(clippy::type_complexity)]
    fn normalise_synced<S: crate::shape::Shape, T: Tape<E>>(
        &self,
        x: Tensor<S, E, T>,
    ) -> Result<(Tensor<S, E, T>, BatchStats<E>, usize)> {
        self.norm.check_channels(&x.shape)?;
        let (w, b) = (
            self.norm.weight.traced_as::<T>(),
            self.norm.bias.traced_as::<T>(),
        );
        let (y, stats, count) = sync_batch_norm_op(x, w, b, self.norm.eps, self.replicas.clone());
        if count < 2 {
            return Err(Error::value(
                "SyncBatchNorm input",
                format!(
                    "training needs more than 1 value per channel over all replicas, got {count}"
                ),
            ));
        }
        Ok((y, stats, count))
    }
}

impl<C: Dim, const K: usize, E: Float> Clone for SyncBatchNorm<C, K, E> {
    fn clone(&self) -> Self {
        SyncBatchNorm {
            norm: self.norm.clone(),
            replicas: self.replicas.clone(),
        }
    }
}

impl<C: Dim, const K: usize, E: Float> core::fmt::Debug for SyncBatchNorm<C, K, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SyncBatchNorm")
            .field("norm", &self.norm)
            .finish_non_exhaustive()
    }
}

macro_rules! sync_batchnorm_module {
    ($k:literal; $($A:ident),*) => {
        impl<C: Dim, E: Float, T: Tape<E>, N: Dim, C2: DimEq<C>, $($A: Dim),*> Module<Tensor<(N, C2, $($A,)*), E, T>>
            for SyncBatchNorm<C, $k, E>
        {
            type Output = Tensor<(N, C2, $($A,)*), E, T>;
            fn try_forward(&self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                if self.norm.active() {
                    let (y, stats, count) = self.normalise_synced(x)?;
                    self.norm.update_running_shared(&stats, count);
                    Ok(y)
                } else {
                    self.norm.forward_running(x)
                }
            }
            fn try_forward_train(&mut self, x: Tensor<(N, C2, $($A,)*), E, T>) -> Result<Self::Output> {
                let (y, stats, count) = self.normalise_synced(x)?;
                self.norm.update_running(&stats, count);
                Ok(y)
            }
        }
    };
}
sync_batchnorm_module!(1;);
sync_batchnorm_module!(1; L);
sync_batchnorm_module!(2; H, W);
sync_batchnorm_module!(3; D, H, W);

impl<C: Dim, const K: usize, E: Float> Params<E> for SyncBatchNorm<C, K, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.norm.visit(prefix, f)
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.norm.visit_mut(prefix, f)
    }
    fn set_training(&mut self, training: bool) {
        self.norm.set_training(training)
    }
    fn is_training(&self) -> bool {
        self.norm.is_training()
    }
}
