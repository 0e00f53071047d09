//! Adam and AdamW (`torch.optim.Adam`, `torch.optim.AdamW`).

use super::{Optimizer, StateMap, for_each_param_with_grad};
use crate::autograd::Gradients;
use crate::dtype::Float;
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
    fn step<M: Params<E> + ?Sized>(&mut self, model: &mut M, grads: &Gradients<E>) {
        self.0.step(model, grads)
    }
    fn lr(&self) -> f64 {
        self.0.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.0.lr = lr;
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.0.betas.0)
    }
    fn set_momentum(&mut self, momentum: f64) {
        self.0.betas.0 = momentum;
    }
    fn state(&self) -> Vec<(String, Vec<E>)> {
        self.0.state()
    }
    fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> crate::error::Result<()> {
        self.0.load_state(state)
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

impl<E: Float> Optimizer<E> for Adam<E> {
    fn step<M: Params<E> + ?Sized>(&mut self, model: &mut M, grads: &Gradients<E>) {
        self.steps += 1;
        let t = self.steps as i32;
        let (b1, b2) = self.betas;
        let bc1 = 1.0 - b1.powi(t);
        let bc2_sqrt = (1.0 - b2.powi(t)).sqrt();
        let step_size = E::from_f64(self.lr / bc1);
        let (e_b1, e_b2, eps) = (E::from_f64(b1), E::from_f64(b2), E::from_f64(self.eps));
        let bc2_sqrt = E::from_f64(bc2_sqrt);
        let wd = E::from_f64(self.weight_decay);
        let decay = E::from_f64(1.0 - self.lr * self.weight_decay);
        let (amsgrad, maximize, decoupled) = (self.amsgrad, self.maximize, self.decoupled);
        let kernel = AdamStep {
            step_size,
            beta1: e_b1,
            beta2: e_b2,
            eps,
            bc2_sqrt,
            l2: if decoupled { E::ZERO } else { wd },
            decoupled,
            decay,
            sign: if maximize { -E::ONE } else { E::ONE },
        };
        let state = &mut self.state;
        for_each_param_with_grad(model, grads, |name, p, g| {
            let n = p.len();
            let mut m = std::mem::take(state.get(name, "exp_avg", || vec![E::ZERO; n]));
            let mut v = std::mem::take(state.get(name, "exp_avg_sq", || vec![E::ZERO; n]));
            let mut vmax = if amsgrad {
                std::mem::take(state.get(name, "max_exp_avg_sq", || vec![E::ZERO; n]))
            } else {
                Vec::new()
            };
            let vmax_slice = if amsgrad { Some(&mut vmax[..]) } else { None };
            adam_update(&kernel, p, g, &mut m, &mut v, vmax_slice);
            *state.get(name, "exp_avg", Vec::new) = m;
            *state.get(name, "exp_avg_sq", Vec::new) = v;
            if amsgrad {
                *state.get(name, "max_exp_avg_sq", Vec::new) = vmax;
            }
        });
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.betas.0)
    }
    fn set_momentum(&mut self, momentum: f64) {
        self.betas.0 = momentum;
    }
    fn state(&self) -> Vec<(String, Vec<E>)> {
        self.state.export(self.steps)
    }
    fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> crate::error::Result<()> {
        self.steps = self
            .state
            .import(state, &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])?;
        Ok(())
    }
}
