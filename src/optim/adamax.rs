//! Adamax (`torch.optim.Adamax`).

use super::groups::{Grouped, Groups, Hyper};
use super::{Optimizer, StateMap, for_each_grouped};
use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::Params;
use crate::ops::optim::{AdamaxStep, adamax_update};

/// Adamax (Adam with the infinity norm) as in PyTorch: `m = b1 m + (1 - b1) g`,
/// `u = max(b2 u, |g| + eps)`, `p -= lr / (1 - b1^t) m / u`, `g` including the L2 term
/// `weight_decay p`. Defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8.
///
/// ```
/// use shaped::optim::Adamax;
/// let opt = Adamax::<f32>::new(2e-3).betas(0.9, 0.99);
/// assert_eq!(opt.eps, 1e-8);
/// ```
#[derive(Clone, Debug)]
pub struct Adamax<E = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first moment and of the infinity norm.
    pub betas: (f64, f64),
    /// Added to the norm.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Ascend instead of descend.
    pub maximize: bool,
    state: StateMap<E>,
    steps: u64,
    groups: Groups,
}

impl<E: Float> Adamax<E> {
    /// Adamax with learning rate `lr` and PyTorch's other defaults.
    ///
    /// ```
    /// let opt = shaped::optim::Adamax::<f64>::new(2e-3);
    /// assert_eq!(opt.betas, (0.9, 0.999));
    /// ```
    pub fn new(lr: f64) -> Self {
        Adamax {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            maximize: false,
            state: StateMap::default(),
            steps: 0,
            groups: Groups::default(),
        }
    }
    /// Sets the decay rates.
    ///
    /// ```
    /// let opt = shaped::optim::Adamax::<f32>::new(2e-3).betas(0.8, 0.99);
    /// ```
    pub fn betas(mut self, b1: f64, b2: f64) -> Self {
        self.betas = (b1, b2);
        self
    }
    /// Sets eps.
    ///
    /// ```
    /// let opt = shaped::optim::Adamax::<f32>::new(2e-3).eps(1e-6);
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets weight decay.
    ///
    /// ```
    /// let opt = shaped::optim::Adamax::<f32>::new(2e-3).weight_decay(1e-4);
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Maximizes instead of minimizing.
    ///
    /// ```
    /// let opt = shaped::optim::Adamax::<f32>::new(2e-3).maximize(true);
    /// ```
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
    /// The number of steps taken.
    ///
    /// ```
    /// assert_eq!(shaped::optim::Adamax::<f32>::new(2e-3).steps(), 0);
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

impl<E: Float> Grouped<E> for Adamax<E> {
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
        "Adamax"
    }
}

impl<E: Float> Optimizer<E> for Adamax<E> {
    super::grouped_optimizer_methods!(&["exp_avg", "exp_inf"]);
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.state.check_lengths(model, grads, "Adamax")?;
        self.steps += 1;
        let t = self.steps.min(i32::MAX as u64) as i32;
        let kernels: Vec<AdamaxStep<E>> = self
            .groups
            .resolve(self.hyper())
            .iter()
            .map(|h| {
                let (b1, b2) = h.betas.unwrap_or(self.betas);
                let bias_correction = 1.0 - b1.powi(t);
                AdamaxStep {
                    clr: E::from_f64(h.lr / bias_correction),
                    beta1: E::from_f64(b1),
                    beta2: E::from_f64(b2),
                    eps: E::from_f64(self.eps),
                    weight_decay: E::from_f64(h.weight_decay),
                    sign: if self.maximize { -E::ONE } else { E::ONE },
                }
            })
            .collect();
        let state = &mut self.state;
        for_each_grouped(model, grads, &mut self.groups, |group, name, p, g| {
            let n = p.len();
            let mut m = std::mem::take(state.get(name, "exp_avg", || vec![E::ZERO; n]));
            let u = state.get(name, "exp_inf", || vec![E::ZERO; n]);
            adamax_update(&kernels[group], p, g, &mut m, u);
            *state.get(name, "exp_avg", Vec::new) = m;
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
