//! The [`Trainer`](crate::train::Trainer) on the GPU: a GPU model (`model.to_device(&gpu)`)
//! with a [`GpuOptimizer`] trains through the same `fit` as on the CPU, with the same
//! progress output, history, callbacks, schedules, early stopping and best-model handling.
//! Batches are uploaded by the step closure; the losses stay on the GPU and are read back
//! together once every [`LOG_EVERY`] batches and at the end of every epoch, so the GPU is not
//! made to wait once per batch (batch callbacks run at those read-backs, in batch order).
//!
//! ```no_run
//! use shaped::prelude::*;
//! use shaped::gpu::prelude::*;
//! use shaped::gpu::mse_loss;
//! use shaped::nn::{Linear, Module};
//! use shaped::optim::Sgd;
//! use shaped::rand::{SeedableRng, rngs::StdRng};
//! use shaped::train::{Step, Trainer};
//! let gpu = Wgpu::new()?;
//! let mut model = Linear::<3, 1>::new(&mut StdRng::seed_from_u64(0)).to_device(&gpu)?;
//! let mut opt = GpuOptimizer::new(Sgd::new(0.1));
//! let x = Tensor::<Rank2<8, 3>>::randn(&mut StdRng::seed_from_u64(1));
//! let y = x.clone().matmul(Tensor::<Rank2<3, 1>>::from_array([[1.0], [-2.0], [0.5]]));
//! let history = Trainer::new(&mut model, &mut opt)
//!     .epochs(20)
//!     .quiet(true)
//!     .fit(vec![(x, y)], |m, (x, y)| {
//!         let (x, y) = (x.to_device(&gpu)?, y.to_device(&gpu)?);
//!         Ok(Step::new(mse_loss(m.forward_train(x.trace_constant()), y), 8))
//!     })?;
//! assert!(history.last().unwrap().train_loss < history.epochs[0].train_loss);
//! # Ok::<(), shaped::error::Error>(())
//! ```

use super::nn::GpuParams;
use super::optim::{GpuOptimizer, GpuStep};
use super::tensor::{GpuBackward, ToCpu, add_grad, take_grad};
use crate::autograd::{Gradients, OwnedTape, UniqueId};
use crate::device::kernels::{self, UnaryOp};
use crate::device::{GpuStorage, Wgpu, pipelines};
use crate::distributed::Collective;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::Params;
use crate::tensor::Tensor;
use crate::train::device::{Pending, sealed};
use crate::train::{Meter, Step, TrainDevice};
use std::path::Path;

/// Batches between two read-backs of the training losses on the GPU.
pub const LOG_EVERY: usize = 32;

impl sealed::Sealed for Wgpu {}

/// A GPU model of element type `E` (f32, or f64 where the adapter has it) with a
/// [`GpuOptimizer`] of the same element type (`GpuOptimizer::new(Adam::<f64>::new(1e-3))`).
impl<M, X, E> TrainDevice<M, GpuOptimizer<X, E>, E> for Wgpu
where
    E: Float,
    M: GpuParams<E> + Clone + ToCpu,
    M::Output: Params<E>,
    X: GpuStep<E>,
{
    type Loss = GpuStorage<E>;
    /// A clone of the GPU model: its buffers are shared, and the optimizer copies a shared
    /// buffer before it writes (BatchNorm replaces its statistics), so the clone keeps the
    /// values of the epoch it was taken at.
    type Snapshot = M;
    const LOG_EVERY: usize = LOG_EVERY;
    fn check_settings(_: Option<f64>, group: bool) -> Result<()> {
        if group {
            return Err(Error::value(
                "Trainer on the GPU",
                "distributed training is not on the GPU yet".to_string(),
            ));
        }
        Ok(())
    }
    fn group_lrs(o: &GpuOptimizer<X, E>) -> Vec<f64> {
        o.group_lrs()
    }
    fn set_group_lrs(o: &mut GpuOptimizer<X, E>, lrs: &[f64]) {
        o.set_group_lrs(lrs)
    }
    fn set_lr(o: &mut GpuOptimizer<X, E>, lr: f64) {
        o.set_lr(lr)
    }
    fn set_momentum(o: &mut GpuOptimizer<X, E>, m: f64) {
        o.opt.set_momentum(m)
    }
    fn parameter_ids(model: &mut M) -> Vec<UniqueId> {
        let mut ids = Vec::new();
        model.visit_gpu("", &mut |p| ids.push(p.id));
        ids
    }
    fn broadcast(_: &dyn Collective, _: &mut M) {
        // Refused by `check_settings`.
    }
    fn keep<T>(step: &Step<E, T, Self>) -> Pending<GpuStorage<E>> {
        Pending {
            loss: step.loss.data.clone(),
            samples: step.samples,
            correct: step.correct,
            metrics: step.metrics.clone(),
        }
    }
    fn read_back(kept: &mut Vec<Pending<GpuStorage<E>>>, meter: &mut Meter) -> Result<Vec<f64>> {
        let losses: Vec<GpuStorage<E>> = kept.iter().map(|p| p.loss.clone()).collect();
        let values = gather_scalars(&losses)?;
        Ok(kept
            .drain(..)
            .zip(values)
            .map(|(p, v)| {
                let loss = v.to_f64();
                meter.add_values(loss, p.samples, p.correct, &p.metrics);
                loss
            })
            .collect())
    }
    fn backward(loss: Tensor<(), E, OwnedTape<E>, Self>) -> Gradients<E> {
        GpuBackward::backward(loss)
    }
    fn update(
        model: &mut M,
        optimizer: &mut GpuOptimizer<X, E>,
        mut grads: Gradients<E>,
        micro: usize,
        params: &[UniqueId],
        max_grad_norm: Option<f64>,
        _: Option<&dyn Collective>,
        _: &crate::train::finite::At,
    ) -> Result<()> {
        if micro > 1 {
            // 1 / micro in E, as the f32 build always computed it (and the CPU computes f64's).
            let scale = E::ONE / E::from_usize(micro);
            for &id in params {
                if let Some(g) = take_grad(&mut grads, id) {
                    add_grad(&mut grads, id, kernels::unary(UnaryOp::Scale, &g, scale));
                }
            }
        }
        if let Some(max_norm) = max_grad_norm {
            // On the device, the norm never read back (gpu::clip_grad_norm).
            super::clip::clip_grad_norm(model, &mut grads, max_norm);
        }
        optimizer.step(model, &grads)
    }
    fn snapshot(model: &mut M) -> Result<M> {
        Ok(model.clone())
    }
    fn restore(model: &mut M, state: &M) {
        *model = state.clone();
    }
    fn save_safetensors(model: &M, path: &Path) -> Result<()> {
        crate::serialize::save_safetensors(&model.to_cpu()?, path)
    }
}

/// The first value of each buffer, copied into one buffer and read back at once.
fn gather_scalars<E: Float>(scalars: &[GpuStorage<E>]) -> Result<Vec<E>> {
    let Some(first) = scalars.first() else {
        return Ok(Vec::new());
    };
    let device = first.device();
    let out = device.alloc_as::<E>(scalars.len());
    let size = core::mem::size_of::<E>() as u64;
    pipelines::record(device, |enc| {
        for (i, s) in scalars.iter().enumerate() {
            enc.copy_buffer_to_buffer(&s.buf, 0, &out.buf, i as u64 * size, size);
        }
    });
    device.download(&out)
}
