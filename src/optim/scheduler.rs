//! Learning-rate schedules. A schedule is a pure function of the step (or epoch) count; an
//! [`LrScheduler`] applies one to an optimizer, like PyTorch's `scheduler.step()`.

use super::Optimizer;
use crate::dtype::Float;

/// A learning rate as a function of the number of scheduler steps taken and the base rate.
pub trait LrSchedule {
    /// The learning rate after `step` scheduler steps, starting from `base_lr`.
    fn lr_at(&self, base_lr: f64, step: u64) -> f64;
}

/// The base rate, unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Constant;
impl LrSchedule for Constant {
    fn lr_at(&self, base_lr: f64, _: u64) -> f64 {
        base_lr
    }
}

/// Multiplies the rate by `gamma` every `step_size` steps (`StepLR`; PyTorch's gamma
/// default is 0.1).
#[derive(Clone, Copy, Debug)]
pub struct StepLr {
    /// Steps between decays.
    pub step_size: u64,
    /// Decay factor.
    pub gamma: f64,
}
impl LrSchedule for StepLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        base_lr * self.gamma.powi((step / self.step_size.max(1)) as i32)
    }
}

/// Multiplies the rate by `gamma` every step (`ExponentialLR`).
#[derive(Clone, Copy, Debug)]
pub struct ExponentialLr {
    /// Decay factor per step.
    pub gamma: f64,
}
impl LrSchedule for ExponentialLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        base_lr * self.gamma.powi(step as i32)
    }
}

/// Cosine annealing from the base rate to `eta_min` over `t_max` steps (`CosineAnnealingLR`,
/// closed form), then back up, as PyTorch's formula does past `t_max`.
#[derive(Clone, Copy, Debug)]
pub struct CosineAnnealingLr {
    /// Half period in steps.
    pub t_max: u64,
    /// Minimum rate.
    pub eta_min: f64,
}
impl LrSchedule for CosineAnnealingLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        let t = step as f64 / self.t_max.max(1) as f64;
        self.eta_min + (base_lr - self.eta_min) * (1.0 + (core::f64::consts::PI * t).cos()) / 2.0
    }
}

/// Linear warm-up over `warmup` steps from `start_factor * base` to the rate of `then`
/// (which then continues from its own step 0). Composes with any schedule.
///
/// ```
/// use shaped::optim::{CosineAnnealingLr, LinearWarmup, LrSchedule};
/// let s = LinearWarmup { warmup: 10, start_factor: 0.0, then: CosineAnnealingLr { t_max: 100, eta_min: 0.0 } };
/// assert_eq!(s.lr_at(1.0, 0), 0.0);
/// assert_eq!(s.lr_at(1.0, 5), 0.5);
/// assert_eq!(s.lr_at(1.0, 10), 1.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LinearWarmup<S> {
    /// Warm-up steps.
    pub warmup: u64,
    /// Fraction of the rate at step 0.
    pub start_factor: f64,
    /// The schedule after warm-up.
    pub then: S,
}
impl<S: LrSchedule> LrSchedule for LinearWarmup<S> {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        if step < self.warmup {
            let target = self.then.lr_at(base_lr, 0);
            let f =
                self.start_factor + (1.0 - self.start_factor) * step as f64 / self.warmup as f64;
            target * f
        } else {
            self.then.lr_at(base_lr, step - self.warmup)
        }
    }
}

/// Applies a schedule to an optimizer: call [`step`](LrScheduler::step) once per epoch (or
/// per batch), as with PyTorch's `scheduler.step()`.
///
/// ```
/// use shaped::optim::{LrScheduler, Optimizer, Sgd, StepLr};
/// let mut opt = Sgd::<f32>::new(1.0);
/// let mut sched = LrScheduler::new(&opt, StepLr { step_size: 2, gamma: 0.5 });
/// sched.step(&mut opt);
/// sched.step(&mut opt);
/// assert_eq!(opt.lr(), 0.5);
/// ```
#[derive(Clone, Debug)]
pub struct LrScheduler<S> {
    /// The schedule.
    pub schedule: S,
    /// The optimizer's rate when the scheduler was made.
    pub base_lr: f64,
    /// Steps taken.
    pub steps: u64,
}

impl<S: LrSchedule> LrScheduler<S> {
    /// A scheduler starting from the optimizer's current rate.
    pub fn new<E: Float, O: Optimizer<E>>(opt: &O, schedule: S) -> Self {
        LrScheduler {
            schedule,
            base_lr: opt.lr(),
            steps: 0,
        }
    }
    /// Advances one step and sets the optimizer's rate.
    pub fn step<E: Float, O: Optimizer<E>>(&mut self, opt: &mut O) {
        self.steps += 1;
        opt.set_lr(self.schedule.lr_at(self.base_lr, self.steps));
    }
    /// The current rate.
    pub fn lr(&self) -> f64 {
        self.schedule.lr_at(self.base_lr, self.steps)
    }
}
