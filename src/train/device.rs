//! What the [`Trainer`](super::Trainer) needs from the device a model trains on: how a batch's
//! loss reaches the epoch's [`Meter`] (at once on the CPU; gathered and read back once per
//! log interval on a GPU), backward and the optimizer step with its checks, the learning
//! rates, and the snapshots behind `restore_best` and `save_best`. Implemented for [`Cpu`]
//! (any [`Params`] model with any [`Optimizer`]) and, with the feature `wgpu`, for `Wgpu`
//! (a GPU model with a `GpuOptimizer`); the trainer picks it from the device of the loss the
//! step closure returns.

use super::finite::{At, check_after_step, check_before_step};
use super::step::{Meter, Step};
use crate::autograd::{Gradients, OwnedTape, UniqueId};
use crate::device::{Cpu, Device};
use crate::distributed::{Collective, average_gradients, broadcast_parameters};
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::{Params, TensorKind};
use crate::optim::{Optimizer, clip_grad_norm};
use crate::tensor::Tensor;
use std::path::Path;

pub(crate) mod sealed {
    /// Only the crate's devices train.
    pub trait Sealed {}
}

impl sealed::Sealed for Cpu {}

/// One finished batch whose loss may still be on the device.
pub struct Pending<L> {
    pub(crate) loss: L,
    pub(crate) samples: usize,
    pub(crate) correct: Option<usize>,
    pub(crate) metrics: Vec<(String, f64)>,
}

/// A device on which the [`Trainer`](super::Trainer) trains model `M` with optimizer `O` in
/// element type `E`: [`Cpu`], and `Wgpu` with the feature `wgpu`. Sealed; the trainer
/// calls it, users only name it in bounds.
pub trait TrainDevice<M, O, E: Float>: Device + sealed::Sealed + Sized {
    /// A batch's loss as kept until it is read back.
    #[doc(hidden)]
    type Loss;
    /// The model's state kept for `restore_best`.
    #[doc(hidden)]
    type Snapshot;
    /// Batches between read-backs of the losses (progress bar, batch callbacks, the check
    /// for a loss that is not finite); every epoch's end reads back too.
    #[doc(hidden)]
    const LOG_EVERY: usize;
    /// An `Err` naming a trainer setting this device does not have.
    #[doc(hidden)]
    fn check_settings(max_grad_norm: Option<f64>, group: bool) -> Result<()>;
    #[doc(hidden)]
    fn group_lrs(o: &O) -> Vec<f64>;
    #[doc(hidden)]
    fn set_group_lrs(o: &mut O, lrs: &[f64]);
    #[doc(hidden)]
    fn set_lr(o: &mut O, lr: f64);
    #[doc(hidden)]
    fn set_momentum(o: &mut O, m: f64);
    /// The ids of the trainable parameters.
    #[doc(hidden)]
    fn parameter_ids(model: &mut M) -> Vec<UniqueId>;
    /// Makes every rank start from rank 0's parameters.
    #[doc(hidden)]
    fn broadcast(group: &dyn Collective, model: &mut M);
    /// Keeps a step's loss (and figures) for [`read_back`](Self::read_back).
    #[doc(hidden)]
    fn keep<T>(step: &Step<E, T, Self>) -> Pending<Self::Loss>;
    /// Adds the kept batches to `meter`; returns each batch's loss, in order.
    #[doc(hidden)]
    fn read_back(kept: &mut Vec<Pending<Self::Loss>>, meter: &mut Meter) -> Result<Vec<f64>>;
    #[doc(hidden)]
    fn backward(loss: Tensor<(), E, OwnedTape<E>, Self>) -> Gradients<E>;
    /// One optimizer step from gradients summed over `micro` batches, with the checks.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    fn update(
        model: &mut M,
        optimizer: &mut O,
        grads: Gradients<E>,
        micro: usize,
        params: &[UniqueId],
        max_grad_norm: Option<f64>,
        group: Option<&dyn Collective>,
        at: &At,
    ) -> Result<()>;
    #[doc(hidden)]
    fn snapshot(model: &mut M) -> Result<Self::Snapshot>;
    #[doc(hidden)]
    fn restore(model: &mut M, state: &Self::Snapshot);
    #[doc(hidden)]
    fn save_safetensors(model: &M, path: &Path) -> Result<()>;
}

impl<E: Float, M: Params<E>, O: Optimizer<E>> TrainDevice<M, O, E> for Cpu {
    type Loss = f64;
    type Snapshot = Vec<Vec<E>>;
    const LOG_EVERY: usize = 1;
    fn check_settings(_: Option<f64>, _: bool) -> Result<()> {
        Ok(())
    }
    fn group_lrs(o: &O) -> Vec<f64> {
        o.group_lrs()
    }
    fn set_group_lrs(o: &mut O, lrs: &[f64]) {
        o.set_group_lrs(lrs)
    }
    fn set_lr(o: &mut O, lr: f64) {
        o.set_lr(lr)
    }
    fn set_momentum(o: &mut O, m: f64) {
        o.set_momentum(m)
    }
    fn parameter_ids(model: &mut M) -> Vec<UniqueId> {
        let mut ids = Vec::new();
        model.visit("", &mut |p| {
            if p.kind == TensorKind::Parameter {
                ids.push(p.id)
            }
        });
        ids
    }
    fn broadcast(group: &dyn Collective, model: &mut M) {
        broadcast_parameters(group, model);
    }
    fn keep<T>(step: &Step<E, T, Self>) -> Pending<f64> {
        Pending {
            loss: step.loss.as_slice()[0].to_f64(),
            samples: step.samples,
            correct: step.correct,
            metrics: step.metrics.clone(),
        }
    }
    fn read_back(kept: &mut Vec<Pending<f64>>, meter: &mut Meter) -> Result<Vec<f64>> {
        Ok(kept
            .drain(..)
            .map(|p| {
                meter.add_values(p.loss, p.samples, p.correct, &p.metrics);
                p.loss
            })
            .collect())
    }
    fn backward(loss: Tensor<(), E, OwnedTape<E>, Self>) -> Gradients<E> {
        loss.backward()
    }
    fn update(
        model: &mut M,
        optimizer: &mut O,
        mut grads: Gradients<E>,
        micro: usize,
        params: &[UniqueId],
        max_grad_norm: Option<f64>,
        group: Option<&dyn Collective>,
        at: &At,
    ) -> Result<()> {
        if micro > 1 {
            let scale = E::from_f64(1.0 / micro as f64);
            for &id in params {
                if let Some(g) = grads.get_id_mut(id) {
                    g.iter_mut().for_each(|v| *v *= scale);
                }
            }
        }
        if let Some(group) = group {
            average_gradients(group, model, &mut grads);
        }
        // After averaging, so that every rank sees the same gradients and stops together;
        // buffers are each rank's own, so with a group only gradients (which a NaN batch on
        // any rank poisons everywhere through the average) and parameters are checked.
        check_before_step(model, &grads, group.is_none(), at)?;
        if let Some(max_norm) = max_grad_norm {
            clip_grad_norm(model, &mut grads, max_norm);
        }
        optimizer.try_step(model, &grads)?;
        check_after_step(model, at)
    }
    fn snapshot(model: &mut M) -> Result<Vec<Vec<E>>> {
        let mut state = Vec::new();
        model.visit("", &mut |p| state.push(p.data.to_vec()));
        Ok(state)
    }
    fn restore(model: &mut M, state: &Vec<Vec<E>>) {
        let mut i = 0;
        model.visit_mut("", &mut |p| {
            p.data.copy_from_slice(&state[i]);
            i += 1;
        });
    }
    fn save_safetensors(model: &M, path: &Path) -> Result<()> {
        crate::serialize::save_safetensors(model, path)
    }
}
