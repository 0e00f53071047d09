//! Adam and AdamW (`torch.optim.Adam`, `torch.optim.AdamW`).

use super::groups::{Grouped, Groups, Hyper};
use super::{Optimizer, ParamGroup, StateMap, for_each_grouped};
use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::Params;
use crate::ops::optim::{AdamStep, adam_update};

/// Adam with bias correction, optional amsgrad and L2 weight decay (added to the gradient).
/// Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8.
///
/// ```
/// use shaped::optim::Adam;
/// let opt = Adam::<f32>::new(1e-3).betas(0.9, 0.98).amsgrad(true);
/// ```
#[derive(Clone, Debug)]
pub struct Adam<E = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay: L2 for [`Adam`]; decoupled (`p *= 1 - lr wd`) when `decoupled` is set.
    pub weight_decay: f64,
    /// Keep the running maximum of the second moment.
    pub amsgrad: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
    /// Decoupled weight decay (set by [`AdamW`]).
    pub decoupled: bool,
    state: StateMap<E>,
    steps: u64,
    groups: Groups,
}

/// AdamW: Adam with decoupled weight decay (`p *= 1 - lr wd` before the update); PyTorch's
/// default weight decay is 0.01. The builder methods of [`Adam`] apply through `.0`.
///
/// ```
/// use shaped::optim::AdamW;
/// let opt = AdamW::<f32>::new(1e-3);
/// assert_eq!(opt.0.weight_decay, 0.01);
/// ```
#[derive(Clone, Debug)]
pub struct AdamW<E = f32>(pub Adam<E>);

impl<E: Float> AdamW<E> {
    /// AdamW with learning rate `lr` and PyTorch's defaults (weight decay 0.01).
    pub fn new(lr: f64) -> Self {
        AdamW(Adam {
            decoupled: true,
            weight_decay: 0.01,
            ..Adam::new(lr)
        })
    }
    /// Sets weight decay.
    pub fn weight_decay(self, wd: f64) -> Self {
        AdamW(self.0.weight_decay(wd))
    }
    /// Sets the moment decay rates.
    pub fn betas(self, b1: f64, b2: f64) -> Self {
        AdamW(self.0.betas(b1, b2))
    }
}

impl<E: Float> Optimizer<E> for AdamW<E> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) {
        self.0.step(model, grads)
    }
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.0.try_step(model, grads)
    }
    fn lr(&self) -> f64 {
        Optimizer::<E>::lr(&self.0)
    }
    fn set_lr(&mut self, lr: f64) {
        self.0.set_lr(lr)
    }
    fn momentum(&self) -> Option<f64> {
        Optimizer::<E>::momentum(&self.0)
    }
    fn set_momentum(&mut self, momentum: f64) {
        self.0.set_momentum(momentum)
    }
    fn state(&self) -> Vec<(String, Vec<E>)> {
        self.0.state()
    }
    fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> Result<()> {
        self.0.load_state(state)
    }
    fn group_lrs(&self) -> Vec<f64> {
        self.0.group_lrs()
    }
    fn set_group_lrs(&mut self, lrs: &[f64]) {
        self.0.set_group_lrs(lrs)
    }
    fn add_param_group(&mut self, group: ParamGroup) -> Result<()> {
        self.0.add_param_group(group)
    }
}

impl<E: Float> Adam<E> {
    /// Adam with learning rate `lr` and PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
            maximize: false,
            decoupled: false,
            state: StateMap::default(),
            steps: 0,
            groups: Groups::default(),
        }
    }
    /// Sets the moment decay rates.
    pub fn betas(mut self, b1: f64, b2: f64) -> Self {
        self.betas = (b1, b2);
        self
    }
    /// Sets eps.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Enables amsgrad.
    pub fn amsgrad(mut self, on: bool) -> Self {
        self.amsgrad = on;
        self
    }
    /// Maximizes instead of minimizing.
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
    /// The number of steps taken.
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

impl<E: Float> Grouped<E> for Adam<E> {
    fn hyper(&self) -> Hyper {
        Hyper {
            lr: self.lr,
            weight_decay: self.weight_decay,
            momentum: None,
            betas: Some(self.betas),
        }
    }
    fn set_hyper(&mut self, h: Hyper) {
        self.lr = h.lr;
        self.weight_decay = h.weight_decay;
        self.betas = h.betas.unwrap_or(self.betas);
    }
    fn groups(&self) -> &Groups {
        &self.groups
    }
    fn groups_mut(&mut self) -> &mut Groups {
        &mut self.groups
    }
    fn kind(&self) -> &'static str {
        if self.decoupled { "AdamW" } else { "Adam" }
    }
}

impl<E: Float> Optimizer<E> for Adam<E> {
    super::grouped_optimizer_methods!(&["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]);
    // Never inlined: programs at `f32` link to this crate's instance (see
    // `backend::precompiled`).
    #[inline(never)]
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.state.check_lengths(model, grads, self.kind())?;
        self.steps += 1;
        // Beyond i32::MAX steps `b^t` is 0 in f64 either way; the cap keeps `powi` exact.
        let t = self.steps.min(i32::MAX as u64) as i32;
        let (amsgrad, maximize, decoupled) = (self.amsgrad, self.maximize, self.decoupled);
        let kernels: Vec<AdamStep<E>> = self
            .groups
            .resolve(self.hyper())
            .iter()
            .map(|h| {
                let (b1, b2) = h.betas.unwrap_or(self.betas);
                let bc1 = 1.0 - b1.powi(t);
                let bc2_sqrt = (1.0 - b2.powi(t)).sqrt();
                AdamStep {
                    step_size: E::from_f64(h.lr / bc1),
                    beta1: E::from_f64(b1),
                    beta2: E::from_f64(b2),
                    eps: E::from_f64(self.eps),
                    bc2_sqrt: E::from_f64(bc2_sqrt),
                    l2: if decoupled {
                        E::ZERO
                    } else {
                        E::from_f64(h.weight_decay)
                    },
                    decoupled,
                    decay: E::from_f64(1.0 - h.lr * h.weight_decay),
                    sign: if maximize { -E::ONE } else { E::ONE },
                }
            })
            .collect();
        let state = &mut self.state;
        for_each_grouped(model, grads, &mut self.groups, |group, name, p, g| {
            let n = p.len();
            let mut m = std::mem::take(state.get(name, "exp_avg", || vec![E::ZERO; n]));
            let mut v = std::mem::take(state.get(name, "exp_avg_sq", || vec![E::ZERO; n]));
            let mut vmax = if amsgrad {
                std::mem::take(state.get(name, "max_exp_avg_sq", || vec![E::ZERO; n]))
            } else {
                Vec::new()
            };
            let vmax_slice = if amsgrad { Some(&mut vmax[..]) } else { None };
            adam_update(&kernels[group], p, g, &mut m, &mut v, vmax_slice);
            *state.get(name, "exp_avg", Vec::new) = m;
            *state.get(name, "exp_avg_sq", Vec::new) = v;
            if amsgrad {
                *state.get(name, "max_exp_avg_sq", Vec::new) = vmax;
            }
        });
        Ok(())
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.betas.0)
    }
    fn set_momentum(&mut self, momentum: f64) {
        super::groups::set_all_momentum(self, momentum)
    }
}

crate::instances::shared_instances!(<Adam<f32> as Optimizer<f32>>::try_step);
