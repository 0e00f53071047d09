//! Adagrad (`torch.optim.Adagrad`).

use super::groups::{Grouped, Groups, Hyper};
use super::{Optimizer, StateMap, for_each_grouped};
use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::Params;
use crate::ops::optim::{AdagradStep, adagrad_update};

/// Adagrad as in PyTorch: at step `t` the rate is `lr / (1 + (t - 1) lr_decay)`; the sum of
/// squared gradients starts at `initial_accumulator_value`, and
/// `p -= rate g / (sqrt(sum) + eps)`, `g` including the L2 term `weight_decay p`.
/// Defaults: lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10 (PyTorch's
/// default lr is 0.01).
///
/// ```
/// use shaped::optim::Adagrad;
/// let opt = Adagrad::<f32>::new(0.01).lr_decay(1e-3).initial_accumulator_value(0.1);
/// assert_eq!(opt.eps, 1e-10);
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad<E = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Rate decay per step.
    pub lr_decay: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// The starting value of the sum of squared gradients.
    pub initial_accumulator_value: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Ascend instead of descend.
    pub maximize: bool,
    state: StateMap<E>,
    steps: u64,
    groups: Groups,
}

impl<E: Float> Adagrad<E> {
    /// Adagrad with learning rate `lr` and PyTorch's other defaults.
    ///
    /// ```
    /// let opt = shaped::optim::Adagrad::<f64>::new(0.01);
    /// assert_eq!(opt.lr_decay, 0.0);
    /// ```
    pub fn new(lr: f64) -> Self {
        Adagrad {
            lr,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
            maximize: false,
            state: StateMap::default(),
            steps: 0,
            groups: Groups::default(),
        }
    }
    /// Sets the rate decay.
    ///
    /// ```
    /// let opt = shaped::optim::Adagrad::<f32>::new(0.1).lr_decay(0.01);
    /// ```
    pub fn lr_decay(mut self, d: f64) -> Self {
        self.lr_decay = d;
        self
    }
    /// Sets weight decay.
    ///
    /// ```
    /// let opt = shaped::optim::Adagrad::<f32>::new(0.1).weight_decay(1e-4);
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Sets the starting value of the accumulator.
    ///
    /// ```
    /// let opt = shaped::optim::Adagrad::<f32>::new(0.1).initial_accumulator_value(0.1);
    /// ```
    pub fn initial_accumulator_value(mut self, v: f64) -> Self {
        self.initial_accumulator_value = v;
        self
    }
    /// Sets eps.
    ///
    /// ```
    /// let opt = shaped::optim::Adagrad::<f32>::new(0.1).eps(1e-8);
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Maximizes instead of minimizing.
    ///
    /// ```
    /// let opt = shaped::optim::Adagrad::<f32>::new(0.1).maximize(true);
    /// ```
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
    /// The number of steps taken.
    ///
    /// ```
    /// assert_eq!(shaped::optim::Adagrad::<f32>::new(0.1).steps(), 0);
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

impl<E: Float> Grouped<E> for Adagrad<E> {
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
        "Adagrad"
    }
}

impl<E: Float> Optimizer<E> for Adagrad<E> {
    super::grouped_optimizer_methods!(&["sum"]);
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.state.check_lengths(model, grads, "Adagrad")?;
        self.steps += 1;
        let decay = 1.0 + (self.steps - 1) as f64 * self.lr_decay;
        let kernels: Vec<AdagradStep<E>> = self
            .groups
            .resolve(self.hyper())
            .iter()
            .map(|h| AdagradStep {
                clr: E::from_f64(h.lr / decay),
                eps: E::from_f64(self.eps),
                weight_decay: E::from_f64(h.weight_decay),
                sign: if self.maximize { -E::ONE } else { E::ONE },
            })
            .collect();
        let init = E::from_f64(self.initial_accumulator_value);
        let state = &mut self.state;
        for_each_grouped(model, grads, &mut self.groups, |group, name, p, g| {
            let sum = state.get(name, "sum", || vec![init; p.len()]);
            adagrad_update(&kernels[group], p, g, sum);
        });
        Ok(())
    }
}
