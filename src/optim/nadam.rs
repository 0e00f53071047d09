//! NAdam (`torch.optim.NAdam`).

use super::groups::{Grouped, Groups, Hyper};
use super::{Optimizer, StateMap, for_each_grouped};
use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::Params;
use crate::ops::optim::{NAdamStep, nadam_update};

/// NAdam (Adam with Nesterov momentum) as in PyTorch. The momentum schedule is
/// `mu_t = b1 (1 - 0.5 * 0.96^(t momentum_decay))`; with `v_hat = v / (1 - b2^t)`:
/// `p -= lr (1 - mu_t) / (1 - prod mu_1..t) g / (sqrt(v_hat) + eps)
///     + lr mu_{t+1} / (1 - prod mu_1..t+1) m / (sqrt(v_hat) + eps)`.
/// Weight decay is L2 (added to `g`) unless `decoupled_weight_decay` (then
/// `p *= 1 - lr wd` first, as AdamW). Defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8,
/// momentum_decay 4e-3.
///
/// ```
/// use shaped::optim::NAdam;
/// let opt = NAdam::<f32>::new(2e-3).weight_decay(0.01).decoupled_weight_decay(true);
/// assert_eq!(opt.momentum_decay, 4e-3);
/// ```
#[derive(Clone, Debug)]
pub struct NAdam<E = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay (L2, or decoupled when `decoupled_weight_decay` is set).
    pub weight_decay: f64,
    /// The momentum schedule's decay (psi in the paper).
    pub momentum_decay: f64,
    /// Decoupled weight decay (`p *= 1 - lr wd`) instead of L2.
    pub decoupled_weight_decay: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
    state: StateMap<E>,
    steps: u64,
    groups: Groups,
    /// `prod mu_1..t`, a function of the step count (recomputed when state is loaded).
    mu_product: f64,
}

impl<E: Float> NAdam<E> {
    /// NAdam with learning rate `lr` and PyTorch's other defaults.
    ///
    /// ```
    /// let opt = shaped::optim::NAdam::<f64>::new(2e-3);
    /// assert_eq!(opt.betas, (0.9, 0.999));
    /// ```
    pub fn new(lr: f64) -> Self {
        NAdam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            momentum_decay: 4e-3,
            decoupled_weight_decay: false,
            maximize: false,
            state: StateMap::default(),
            steps: 0,
            groups: Groups::default(),
            mu_product: 1.0,
        }
    }
    /// Sets the moment decay rates.
    ///
    /// ```
    /// let opt = shaped::optim::NAdam::<f32>::new(2e-3).betas(0.9, 0.99);
    /// ```
    pub fn betas(mut self, b1: f64, b2: f64) -> Self {
        self.betas = (b1, b2);
        self
    }
    /// Sets eps.
    ///
    /// ```
    /// let opt = shaped::optim::NAdam::<f32>::new(2e-3).eps(1e-6);
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets weight decay.
    ///
    /// ```
    /// let opt = shaped::optim::NAdam::<f32>::new(2e-3).weight_decay(1e-4);
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Sets the momentum decay.
    ///
    /// ```
    /// let opt = shaped::optim::NAdam::<f32>::new(2e-3).momentum_decay(8e-3);
    /// ```
    pub fn momentum_decay(mut self, d: f64) -> Self {
        self.momentum_decay = d;
        self
    }
    /// Uses decoupled weight decay (AdamW style).
    ///
    /// ```
    /// let opt = shaped::optim::NAdam::<f32>::new(2e-3).weight_decay(0.01).decoupled_weight_decay(true);
    /// ```
    pub fn decoupled_weight_decay(mut self, on: bool) -> Self {
        self.decoupled_weight_decay = on;
        self
    }
    /// Maximizes instead of minimizing.
    ///
    /// ```
    /// let opt = shaped::optim::NAdam::<f32>::new(2e-3).maximize(true);
    /// ```
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
    /// The number of steps taken.
    ///
    /// ```
    /// assert_eq!(shaped::optim::NAdam::<f32>::new(2e-3).steps(), 0);
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The momentum coefficient `mu_t` of step `t`.
    fn mu(&self, t: u64) -> f64 {
        self.betas.0 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * self.momentum_decay))
    }
}

impl<E: Float> Grouped<E> for NAdam<E> {
    fn hyper(&self) -> Hyper {
        Hyper {
            lr: self.lr,
            weight_decay: self.weight_decay,
            momentum: None,
            betas: None,
        }
    }
    fn set_hyper(&mut self, h: Hyper) {
        self.lr = h.lr;
        self.weight_decay = h.weight_decay;
    }
    fn groups(&self) -> &Groups {
        &self.groups
    }
    fn groups_mut(&mut self) -> &mut Groups {
        &mut self.groups
    }
    fn kind(&self) -> &'static str {
        "NAdam"
    }
    fn after_load(&mut self) {
        self.mu_product = (1..=self.steps).map(|t| self.mu(t)).product();
    }
}

impl<E: Float> Optimizer<E> for NAdam<E> {
    super::grouped_optimizer_methods!(&["exp_avg", "exp_avg_sq"]);
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.state.check_lengths(model, grads, "NAdam")?;
        self.steps += 1;
        let t = self.steps;
        let (b1, b2) = self.betas;
        let mu = self.mu(t);
        let mu_next = self.mu(t + 1);
        self.mu_product *= mu;
        let mu_product_next = self.mu_product * mu_next;
        let decoupled = self.decoupled_weight_decay;
        let kernels: Vec<NAdamStep<E>> = self
            .groups
            .resolve(self.hyper())
            .iter()
            .map(|h| NAdamStep {
                beta1: E::from_f64(b1),
                beta2: E::from_f64(b2),
                eps: E::from_f64(self.eps),
                bias_correction2: E::from_f64(1.0 - b2.powf(t as f64)),
                grad_weight: E::from_f64(h.lr * (1.0 - mu) / (1.0 - self.mu_product)),
                avg_weight: E::from_f64(h.lr * mu_next / (1.0 - mu_product_next)),
                weight_decay: E::from_f64(if decoupled { 0.0 } else { h.weight_decay }),
                decay: E::from_f64(if decoupled {
                    1.0 - h.lr * h.weight_decay
                } else {
                    1.0
                }),
                sign: if self.maximize { -E::ONE } else { E::ONE },
            })
            .collect();
        let state = &mut self.state;
        for_each_grouped(model, grads, &mut self.groups, |group, name, p, g| {
            let n = p.len();
            let mut m = std::mem::take(state.get(name, "exp_avg", || vec![E::ZERO; n]));
            let v = state.get(name, "exp_avg_sq", || vec![E::ZERO; n]);
            nadam_update(&kernels[group], p, g, &mut m, v);
            *state.get(name, "exp_avg", Vec::new) = m;
        });
        Ok(())
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.betas.0)
    }
    fn set_momentum(&mut self, momentum: f64) {
        self.betas.0 = momentum;
    }
}
