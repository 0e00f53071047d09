//! Adadelta (`torch.optim.Adadelta`).

use super::groups::{Grouped, Groups, Hyper};
use super::{Optimizer, StateMap, for_each_grouped};
use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::Params;
use crate::ops::optim::{AdadeltaStep, adadelta_update};

/// Adadelta as in PyTorch: `v = rho v + (1 - rho) g^2`,
/// `d = sqrt(u + eps) / sqrt(v + eps) g`, `u = rho u + (1 - rho) d^2`, `p -= lr d`, `g`
/// including the L2 term `weight_decay p`. Defaults: lr 1.0, rho 0.9, eps 1e-6.
///
/// ```
/// use shaped::optim::Adadelta;
/// let opt = Adadelta::<f32>::new(1.0).rho(0.95);
/// assert_eq!(opt.eps, 1e-6);
/// ```
#[derive(Clone, Debug)]
pub struct Adadelta<E = f32> {
    /// Learning rate (scales the computed step).
    pub lr: f64,
    /// Decay rate of both running averages.
    pub rho: f64,
    /// Added inside both square roots.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Ascend instead of descend.
    pub maximize: bool,
    state: StateMap<E>,
    steps: u64,
    groups: Groups,
}

impl<E: Float> Adadelta<E> {
    /// Adadelta with learning rate `lr` (PyTorch's default is 1.0) and PyTorch's other
    /// defaults.
    ///
    /// ```
    /// let opt = shaped::optim::Adadelta::<f64>::new(1.0);
    /// assert_eq!(opt.rho, 0.9);
    /// ```
    pub fn new(lr: f64) -> Self {
        Adadelta {
            lr,
            rho: 0.9,
            eps: 1e-6,
            weight_decay: 0.0,
            maximize: false,
            state: StateMap::default(),
            steps: 0,
            groups: Groups::default(),
        }
    }
    /// Sets rho.
    ///
    /// ```
    /// let opt = shaped::optim::Adadelta::<f32>::new(1.0).rho(0.95);
    /// ```
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = rho;
        self
    }
    /// Sets eps.
    ///
    /// ```
    /// let opt = shaped::optim::Adadelta::<f32>::new(1.0).eps(1e-8);
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets weight decay.
    ///
    /// ```
    /// let opt = shaped::optim::Adadelta::<f32>::new(1.0).weight_decay(1e-4);
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Maximizes instead of minimizing.
    ///
    /// ```
    /// let opt = shaped::optim::Adadelta::<f32>::new(1.0).maximize(true);
    /// ```
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
    /// The number of steps taken.
    ///
    /// ```
    /// assert_eq!(shaped::optim::Adadelta::<f32>::new(1.0).steps(), 0);
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

impl<E: Float> Grouped<E> for Adadelta<E> {
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
        "Adadelta"
    }
}

impl<E: Float> Optimizer<E> for Adadelta<E> {
    super::grouped_optimizer_methods!(&["square_avg", "acc_delta"]);
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.state.check_lengths(model, grads, "Adadelta")?;
        self.steps += 1;
        let kernels: Vec<AdadeltaStep<E>> = self
            .groups
            .resolve(self.hyper())
            .iter()
            .map(|h| AdadeltaStep {
                lr: E::from_f64(h.lr),
                rho: E::from_f64(self.rho),
                eps: E::from_f64(self.eps),
                weight_decay: E::from_f64(h.weight_decay),
                sign: if self.maximize { -E::ONE } else { E::ONE },
            })
            .collect();
        let state = &mut self.state;
        for_each_grouped(model, grads, &mut self.groups, |group, name, p, g| {
            let n = p.len();
            let mut v = std::mem::take(state.get(name, "square_avg", || vec![E::ZERO; n]));
            let u = state.get(name, "acc_delta", || vec![E::ZERO; n]);
            adadelta_update(&kernels[group], p, g, &mut v, u);
            *state.get(name, "square_avg", Vec::new) = v;
        });
        Ok(())
    }
}
