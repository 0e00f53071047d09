//! RAdam (`torch.optim.RAdam`).

use super::groups::{Grouped, Groups, Hyper};
use super::{Optimizer, StateMap, for_each_grouped};
use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::Params;
use crate::ops::optim::{RAdamStep, radam_update};

/// RAdam (rectified Adam) as in PyTorch. With `rho_inf = 2 / (1 - b2) - 1` and
/// `rho_t = rho_inf - 2 t b2^t / (1 - b2^t)`: while `rho_t <= 5` the step is plain
/// bias-corrected momentum, `p -= lr m / (1 - b1^t)`; afterwards it is Adam's step times the
/// rectification `r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2)
/// rho_t))`. Weight decay is L2 unless `decoupled_weight_decay`. Defaults: lr 1e-3, betas
/// (0.9, 0.999), eps 1e-8.
///
/// ```
/// use shaped::optim::RAdam;
/// let opt = RAdam::<f32>::new(1e-3).weight_decay(0.01).decoupled_weight_decay(true);
/// assert_eq!(opt.betas, (0.9, 0.999));
/// ```
#[derive(Clone, Debug)]
pub struct RAdam<E = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Decay rates of the first and second moments.
    pub betas: (f64, f64),
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay (L2, or decoupled when `decoupled_weight_decay` is set).
    pub weight_decay: f64,
    /// Decoupled weight decay (`p *= 1 - lr wd`) instead of L2.
    pub decoupled_weight_decay: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
    state: StateMap<E>,
    steps: u64,
    groups: Groups,
}

impl<E: Float> RAdam<E> {
    /// RAdam with learning rate `lr` and PyTorch's other defaults.
    ///
    /// ```
    /// let opt = shaped::optim::RAdam::<f64>::new(1e-3);
    /// assert_eq!(opt.eps, 1e-8);
    /// ```
    pub fn new(lr: f64) -> Self {
        RAdam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled_weight_decay: false,
            maximize: false,
            state: StateMap::default(),
            steps: 0,
            groups: Groups::default(),
        }
    }
    /// Sets the moment decay rates.
    ///
    /// ```
    /// let opt = shaped::optim::RAdam::<f32>::new(1e-3).betas(0.9, 0.99);
    /// ```
    pub fn betas(mut self, b1: f64, b2: f64) -> Self {
        self.betas = (b1, b2);
        self
    }
    /// Sets eps.
    ///
    /// ```
    /// let opt = shaped::optim::RAdam::<f32>::new(1e-3).eps(1e-6);
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Sets weight decay.
    ///
    /// ```
    /// let opt = shaped::optim::RAdam::<f32>::new(1e-3).weight_decay(1e-4);
    /// ```
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Uses decoupled weight decay (AdamW style).
    ///
    /// ```
    /// let opt = shaped::optim::RAdam::<f32>::new(1e-3).weight_decay(0.01).decoupled_weight_decay(true);
    /// ```
    pub fn decoupled_weight_decay(mut self, on: bool) -> Self {
        self.decoupled_weight_decay = on;
        self
    }
    /// Maximizes instead of minimizing.
    ///
    /// ```
    /// let opt = shaped::optim::RAdam::<f32>::new(1e-3).maximize(true);
    /// ```
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
    /// The number of steps taken.
    ///
    /// ```
    /// assert_eq!(shaped::optim::RAdam::<f32>::new(1e-3).steps(), 0);
    /// ```
    pub fn steps(&self) -> u64 {
        self.steps
    }
}

impl<E: Float> Grouped<E> for RAdam<E> {
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
        "RAdam"
    }
}

impl<E: Float> Optimizer<E> for RAdam<E> {
    super::grouped_optimizer_methods!(&["exp_avg", "exp_avg_sq"]);
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.state.check_lengths(model, grads, "RAdam")?;
        self.steps += 1;
        let t = self.steps as f64;
        let decoupled = self.decoupled_weight_decay;
        let kernels: Vec<RAdamStep<E>> = self
            .groups
            .resolve(self.hyper())
            .iter()
            .map(|h| {
                let (b1, b2) = h.betas.unwrap_or(self.betas);
                let bias_correction1 = 1.0 - b1.powf(t);
                let bias_correction2 = 1.0 - b2.powf(t);
                let rho_inf = 2.0 / (1.0 - b2) - 1.0;
                let rho_t = rho_inf - 2.0 * t * b2.powf(t) / bias_correction2;
                let rect = (rho_t > 5.0).then(|| {
                    let r = (rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                        / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t);
                    E::from_f64(r.sqrt())
                });
                RAdamStep {
                    lr: E::from_f64(h.lr),
                    beta1: E::from_f64(b1),
                    beta2: E::from_f64(b2),
                    eps: E::from_f64(self.eps),
                    bias_correction1: E::from_f64(bias_correction1),
                    bias_correction2_sqrt: E::from_f64(bias_correction2.sqrt()),
                    rect,
                    weight_decay: E::from_f64(if decoupled { 0.0 } else { h.weight_decay }),
                    decay: E::from_f64(if decoupled {
                        1.0 - h.lr * h.weight_decay
                    } else {
                        1.0
                    }),
                    sign: if self.maximize { -E::ONE } else { E::ONE },
                }
            })
            .collect();
        let state = &mut self.state;
        for_each_grouped(model, grads, &mut self.groups, |group, name, p, g| {
            let n = p.len();
            let mut m = std::mem::take(state.get(name, "exp_avg", || vec![E::ZERO; n]));
            let v = state.get(name, "exp_avg_sq", || vec![E::ZERO; n]);
            radam_update(&kernels[group], p, g, &mut m, v);
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
