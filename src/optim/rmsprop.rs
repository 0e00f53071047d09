//! RMSprop (`torch.optim.RMSprop`).

use super::groups::{Grouped, Groups, Hyper};
use super::{Optimizer, StateMap, for_each_grouped};
use crate::autograd::Gradients;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::Params;
use crate::ops::optim::{RmsPropStep, rmsprop_update};

/// RMSprop as in PyTorch: `sq = alpha sq + (1 - alpha) g^2`; centered subtracts the squared
/// running mean of `g`; `eps` is added after the square root; with momentum
/// `buf = momentum buf + g / avg` and `p -= lr buf`. Defaults: lr 0.01, alpha 0.99, eps 1e-8.
///
/// ```
/// use shaped::optim::RmsProp;
/// let opt = RmsProp::<f32>::new(0.01).centered(true).momentum(0.9);
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp<E = f32> {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant.
    pub alpha: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Normalise by the estimated variance instead of the second moment.
    pub centered: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
    state: StateMap<E>,
    steps: u64,
    groups: Groups,
}

impl<E: Float> RmsProp<E> {
    /// RMSprop with learning rate `lr` and PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
            state: StateMap::default(),
            steps: 0,
            groups: Groups::default(),
        }
    }
    /// Sets alpha.
    pub fn alpha(mut self, a: f64) -> Self {
        self.alpha = a;
        self
    }
    /// Sets eps.
    pub fn eps(mut self, e: f64) -> Self {
        self.eps = e;
        self
    }
    /// Sets weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
    /// Sets momentum.
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    /// Enables the centered variant.
    pub fn centered(mut self, on: bool) -> Self {
        self.centered = on;
        self
    }
    /// Maximizes instead of minimizing.
    pub fn maximize(mut self, on: bool) -> Self {
        self.maximize = on;
        self
    }
}

impl<E: Float> Grouped<E> for RmsProp<E> {
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
        "RMSprop"
    }
}

impl<E: Float> Optimizer<E> for RmsProp<E> {
    super::grouped_optimizer_methods!(&["square_avg", "grad_avg", "momentum_buffer"]);
    fn try_step(&mut self, model: &mut dyn Params<E>, grads: &Gradients<E>) -> Result<()> {
        self.state.check_lengths(model, grads, "RMSprop")?;
        self.steps += 1;
        let kernels: Vec<RmsPropStep<E>> = self
            .groups
            .resolve(self.hyper())
            .iter()
            .map(|h| RmsPropStep {
                lr: E::from_f64(h.lr),
                alpha: E::from_f64(self.alpha),
                eps: E::from_f64(self.eps),
                weight_decay: E::from_f64(h.weight_decay),
                momentum: E::from_f64(h.momentum.unwrap_or(0.0)),
                maximize: self.maximize,
            })
            .collect();
        let centered = self.centered;
        let state = &mut self.state;
        for_each_grouped(model, grads, &mut self.groups, |group, name, p, g| {
            let kernel = &kernels[group];
            let mom = kernel.momentum > E::ZERO;
            let n = p.len();
            let mut sq = std::mem::take(state.get(name, "square_avg", || vec![E::ZERO; n]));
            let mut ga = if centered {
                std::mem::take(state.get(name, "grad_avg", || vec![E::ZERO; n]))
            } else {
                Vec::new()
            };
            let mut buf = if mom {
                std::mem::take(state.get(name, "momentum_buffer", || vec![E::ZERO; n]))
            } else {
                Vec::new()
            };
            rmsprop_update(
                kernel,
                p,
                g,
                &mut sq,
                if centered { Some(&mut ga[..]) } else { None },
                if mom { Some(&mut buf[..]) } else { None },
            );
            *state.get(name, "square_avg", Vec::new) = sq;
            if centered {
                *state.get(name, "grad_avg", Vec::new) = ga;
            }
            if mom {
                *state.get(name, "momentum_buffer", Vec::new) = buf;
            }
        });
        Ok(())
    }
    fn momentum(&self) -> Option<f64> {
        Some(self.momentum)
    }
    fn set_momentum(&mut self, momentum: f64) {
        super::groups::set_all_momentum(self, momentum)
    }
}
