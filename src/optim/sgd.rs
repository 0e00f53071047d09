//! Stochastic gradient descent (`torch.optim.SGD`).

use super::groups::{Grouped, Groups, Hyper};
use super::{Optimizer, StateMap, for_each_grouped};
use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::Params;
use crate::ops::optim::{SgdStep, sgd_update};

/// SGD with optional momentum, dampening, Nesterov momentum and weight decay, as in
/// PyTorch: `g = grad + wd p`; with momentum the buffer starts as `g` and then becomes
/// `momentum buf + (1 - dampening) g`; Nesterov uses `g + momentum buf`; `p -= lr g`.
///
/// ```
/// use shaped::optim::Sgd;
/// let opt = Sgd::<f32>::new(0.1).momentum(0.9).nesterov(true).weight_decay(1e-4);
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<E = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 = none).
    pub momentum: f64,
    /// Dampening for momentum.
    pub dampening: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
    state: StateMap<E>,
    steps: u64,
    groups: Groups,
}

impl<E: Float> Sgd<E> {
    /// SGD with learning rate `lr` and PyTorch's other defaults (no momentum, no decay).
    pub fn new(lr: f64) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
            state: StateMap::default(),
            steps: 0,
            groups: Groups::default(),
        }
    }
    /// Sets the momentum factor.
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    /// Sets dampening.
    pub fn dampening(mut self, d: f64) -> Self {
        self.dampening = d;
        self
    }
    /// Sets weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Enables Nesterov momentum.
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }
    /// Maximizes instead of minimizing.
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
}

impl<E: Float> Grouped<E> for Sgd<E> {
    fn hyper(&self) -> Hyper {
        Hyper {
            lr: self.lr,
            weight_decay: self.weight_decay,
            momentum: Some(self.momentum),
            betas: None,
        }
    }
    fn set_hyper(&mut self, h: Hyper) {
        self.lr = h.lr;
        self.weight_decay = h.weight_decay;
        self.momentum = h.momentum.unwrap_or(self.momentum);
    }
    fn groups(&self) -> &Groups {
        &self.groups
    }
    fn groups_mut(&mut self) -> &mut Groups {
        &mut self.groups
    }
    fn kind(&self) -> &'static str {
        "SGD"
    }
}

impl<E: Float> Optimizer<E> for Sgd<E> {
    super::grouped_optimizer_methods!(&["momentum_buffer"]);
    // Never inlined: programs at `f32` link to this crate's instance (see
    // `backend::precompiled`).
    #[inline(never)]
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.state.check_lengths(model, grads, "SGD")?;
        let kernels: Vec<SgdStep<E>> = self
            .groups
            .resolve(self.hyper())
            .iter()
            .map(|h| SgdStep {
                lr: E::from_f64(h.lr),
                momentum: E::from_f64(h.momentum.unwrap_or(0.0)),
                dampening: E::from_f64(self.dampening),
                weight_decay: E::from_f64(h.weight_decay),
                nesterov: self.nesterov,
                maximize: self.maximize,
            })
            .collect();
        let state = &mut self.state;
        for_each_grouped(model, grads, &mut self.groups, |group, name, p, g| {
            let kernel = &kernels[group];
            if kernel.momentum == E::ZERO {
                sgd_update(kernel, p, g, None);
                return;
            }
            // PyTorch starts the buffer at the first gradient, without dampening.
            let first = !state.contains(name, "momentum_buffer");
            let buf = state.get(name, "momentum_buffer", || vec![E::ZERO; p.len()]);
            sgd_update(kernel, p, g, Some((buf, first)));
        });
        self.steps += 1;
        Ok(())
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.momentum)
    }
    fn set_momentum(&mut self, momentum: f64) {
        super::groups::set_all_momentum(self, momentum)
    }
}

crate::instances::shared_instances!(<Sgd<f32> as Optimizer<f32>>::try_step);
