//! Optimizers, gradient clipping and learning-rate schedules, with PyTorch's update rules
//! and defaults.
//!
//! An optimizer updates a model through the [`Params`] visitor from the [`Gradients`] of a
//! backward pass. Parameters without a gradient (a frozen part of the model, or one the loss
//! does not reach) are skipped. Per-parameter state (momentum, moments) is keyed by the
//! parameter's `state_dict` name and visible as `"<param>.<state>"`, so it can be saved with
//! the model.
//!
//! ```
//! use shaped::prelude::*;
//! use shaped::nn::Linear;
//! use shaped::optim::{Optimizer, Sgd};
//! use rand::SeedableRng;
//! let mut model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
//! let mut opt = Sgd::new(0.1);
//! let x = Tensor::<Rank2<4, 2>>::ones();
//! let loss = model.forward(x.trace()).square().mean();
//! let before = loss.as_slice()[0];
//! opt.step(&mut model, &loss.backward());
//! let after = model.forward(Tensor::<Rank2<4, 2>>::ones()).square().mean();
//! assert!(after.as_slice()[0] < before);
//! ```

mod adadelta;
mod adagrad;
mod adam;
mod adamax;
mod clip;
mod lbfgs;
mod nadam;
mod onecycle;
mod plateau;
mod radam;
mod rmsprop;
mod scheduler;
mod sgd;

pub use adadelta::Adadelta;
pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use adamax::Adamax;
pub use clip::{clip_grad_norm, clip_grad_value};
pub use lbfgs::{Lbfgs, LbfgsLoss, LineSearch};
pub use nadam::NAdam;
pub use onecycle::{Anneal, OneCycleLr};
pub use plateau::{PlateauMode, ReduceLrOnPlateau, ThresholdMode};
pub use radam::RAdam;
pub use rmsprop::RmsProp;
pub use scheduler::{
    Constant, CosineAnnealingLr, CosineAnnealingWarmRestarts, ExponentialLr, LinearLr,
    LinearWarmup, LrSchedule, LrScheduler, MultiStepLr, SequentialLr, StepLr,
};
pub use sgd::Sgd;

use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::nn::{ParamMut, Params, TensorKind};
use std::collections::BTreeMap;

/// An optimizer: updates parameters from gradients.
pub trait Optimizer<E: Float> {
    /// One update of every parameter of `model` that has a gradient in `grads`.
    fn step<M: Params<E> + ?Sized>(&mut self, model: &mut M, grads: &Gradients<E>);
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (schedulers use this).
    fn set_lr(&mut self, lr: f64);
    /// The momentum factor (SGD, RMSprop) or first beta (the Adam family) that
    /// [`OneCycleLr`] cycles; `None` for optimizers without one (Adagrad, Adadelta).
    ///
    /// ```
    /// use shaped::optim::{Adam, Adagrad, Optimizer, Sgd};
    /// assert_eq!(Optimizer::<f32>::momentum(&Sgd::new(0.1).momentum(0.9)), Some(0.9));
    /// assert_eq!(Optimizer::<f32>::momentum(&Adam::new(1e-3)), Some(0.9));
    /// assert_eq!(Optimizer::<f32>::momentum(&Adagrad::new(0.01)), None);
    /// ```
    fn momentum(&self) -> Option<f64> {
        None
    }
    /// Sets the momentum factor or first beta; ignored by optimizers without one.
    ///
    /// ```
    /// use shaped::optim::{Adam, Optimizer};
    /// let mut opt = Adam::<f32>::new(1e-3);
    /// opt.set_momentum(0.95);
    /// assert_eq!(opt.betas.0, 0.95);
    /// ```
    fn set_momentum(&mut self, _momentum: f64) {}
    /// The optimizer's state: `(name, values)` for every buffer, named
    /// `"<param name>.<buffer>"`, plus `"step"` for the step count.
    fn state(&self) -> Vec<(String, Vec<E>)>;
    /// Restores state saved by [`state`](Optimizer::state); unknown names are an error.
    fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> crate::error::Result<()>;
}

/// Per-parameter buffers, keyed by parameter name, then buffer name. A BTreeMap keeps the
/// state's order stable for checkpoints.
#[derive(Clone, Debug, Default)]
pub(crate) struct StateMap<E> {
    pub(crate) buffers: BTreeMap<String, BTreeMap<&'static str, Vec<E>>>,
}

impl<E: Float> StateMap<E> {
    pub(crate) fn export(&self, step: u64) -> Vec<(String, Vec<E>)> {
        let mut out = vec![("step".to_string(), vec![E::from_f64(step as f64)])];
        for (param, bufs) in &self.buffers {
            for (buf, v) in bufs {
                out.push((format!("{param}.{buf}"), v.clone()));
            }
        }
        out
    }

    /// Loads `(name, values)` pairs, returning the step count; `names` lists the buffer names
    /// this optimizer uses.
    pub(crate) fn import(
        &mut self,
        state: Vec<(String, Vec<E>)>,
        names: &[&'static str],
    ) -> crate::error::Result<u64> {
        let mut step = 0;
        self.buffers.clear();
        for (name, v) in state {
            if name == "step" {
                step = v.first().map(|s| s.to_f64() as u64).unwrap_or(0);
                continue;
            }
            let buf = names.iter().find(|b| name.ends_with(&format!(".{b}")));
            let Some(&buf) = buf else {
                return Err(crate::error::Error::value(
                    "optimizer state",
                    format!("unknown entry `{name}`"),
                ));
            };
            let param = name[..name.len() - buf.len() - 1].to_string();
            self.buffers.entry(param).or_default().insert(buf, v);
        }
        Ok(step)
    }

    pub(crate) fn contains(&self, param: &str, buf: &'static str) -> bool {
        self.buffers.get(param).is_some_and(|b| b.contains_key(buf))
    }

    /// The buffer `buf` of `param`, created by `init` on first use.
    pub(crate) fn get(
        &mut self,
        param: &str,
        buf: &'static str,
        init: impl FnOnce() -> Vec<E>,
    ) -> &mut Vec<E> {
        // Look up before inserting so that the hot path allocates no key String.
        if !self.buffers.contains_key(param) {
            self.buffers.insert(param.to_string(), BTreeMap::new());
        }
        let bufs = self.buffers.get_mut(param).expect("inserted above");
        bufs.entry(buf).or_insert_with(init)
    }
}

/// Calls `f(name, param, grad)` for every trainable parameter of `model` that has a gradient.
pub(crate) fn for_each_param_with_grad<E: Float, M: Params<E> + ?Sized>(
    model: &mut M,
    grads: &Gradients<E>,
    mut f: impl FnMut(&str, &mut [E], &[E]),
) {
    model.visit_mut("", &mut |p: ParamMut<'_, E>| {
        if p.kind != TensorKind::Parameter {
            return;
        }
        if let Some(g) = grads.get_id(p.id) {
            f(p.name, p.data, g);
        }
    });
}
