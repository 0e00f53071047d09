//! Learning-rate schedules. A schedule gives the rate (and, for [`OneCycleLr`], the
//! momentum) as a function of the number of scheduler steps taken, like PyTorch's closed
//! forms; [`ReduceLrOnPlateau`] also watches a metric. An [`LrScheduler`] applies one to an
//! optimizer in a plain loop, like PyTorch's `scheduler.step()`, and
//! [`Trainer::lr_schedule`](crate::train::Trainer::lr_schedule) applies one every epoch.
//!
//! [`OneCycleLr`]: super::OneCycleLr
//! [`ReduceLrOnPlateau`]: super::ReduceLrOnPlateau

use super::Optimizer;
use crate::dtype::Float;

/// A learning rate as a function of the number of scheduler steps taken and the base rate.
///
/// ```
/// use shaped::optim::LrSchedule;
/// /// Halves the rate every 10 steps.
/// struct Halving;
/// impl LrSchedule for Halving {
///     fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
///         base_lr * 0.5f64.powi((step / 10) as i32)
///     }
/// }
/// assert_eq!(Halving.lr_at(1.0, 25), 0.25);
/// ```
pub trait LrSchedule {
    /// The learning rate after `step` scheduler steps, starting from `base_lr`.
    fn lr_at(&self, base_lr: f64, step: u64) -> f64;
    /// The momentum (or Adam's first beta) after `step` steps, for schedules that cycle it
    /// ([`OneCycleLr`](super::OneCycleLr), [`CyclicLr`](super::CyclicLr)); `None` leaves the
    /// optimizer's unchanged.
    ///
    /// ```
    /// use shaped::optim::{LrSchedule, StepLr};
    /// assert_eq!(StepLr { step_size: 2, gamma: 0.5 }.momentum_at(3), None);
    /// ```
    fn momentum_at(&self, _step: u64) -> Option<f64> {
        None
    }
    /// Takes the metric measured with the rate of step `step` (a validation loss, say), for
    /// schedules that react to it ([`ReduceLrOnPlateau`](super::ReduceLrOnPlateau)); the
    /// others ignore it.
    ///
    /// ```
    /// use shaped::optim::{LrSchedule, ReduceLrOnPlateau};
    /// let mut s = ReduceLrOnPlateau::new().patience(0);
    /// s.observe(0, 1.0);
    /// s.observe(1, 2.0); // worse: reduce now
    /// assert!((s.lr_at(1.0, 2) - 0.1).abs() < 1e-12);
    /// ```
    fn observe(&mut self, _step: u64, _metric: f64) {}
    /// The learning rate of parameter group `group` (0 is the optimizer's own settings)
    /// after `step` steps, starting from that group's `base_lr`. Schedules with settings
    /// per group ([`CyclicLr`](super::CyclicLr), [`OneCycleLr`](super::OneCycleLr) with
    /// per-group peaks) override it; the others give [`lr_at`](Self::lr_at).
    ///
    /// ```
    /// use shaped::optim::{LrSchedule, OneCycleLr, StepLr};
    /// assert_eq!(StepLr { step_size: 1, gamma: 0.5 }.group_lr_at(3, 1.0, 1), 0.5);
    /// let s = OneCycleLr::new(0.5, 30).group_max_lrs(vec![0.5, 2.5]);
    /// assert!((s.group_lr_at(1, 0.0, 0) - 0.1).abs() < 1e-12); // 2.5 / 25
    /// ```
    fn group_lr_at(&self, _group: usize, base_lr: f64, step: u64) -> f64 {
        self.lr_at(base_lr, step)
    }
    /// Checks the schedule's settings for an optimizer with `groups` parameter groups
    /// (a per-group list of the wrong length, a zero step size), as PyTorch's constructors
    /// do; [`LrScheduler::try_new`] and the [`Trainer`](crate::train::Trainer) call it.
    ///
    /// ```
    /// use shaped::optim::{CyclicLr, LrSchedule};
    /// assert!(CyclicLr::new(0.01, 0.1).validate(1).is_ok());
    /// let err = CyclicLr::new(0.01, 0.1).group_max_lrs(vec![0.1, 0.2]).validate(3).unwrap_err();
    /// assert!(err.to_string().contains("3 parameter groups"));
    /// ```
    fn validate(&self, _groups: usize) -> crate::error::Result<()> {
        Ok(())
    }
}

impl<S: LrSchedule + ?Sized> LrSchedule for Box<S> {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        (**self).lr_at(base_lr, step)
    }
    fn momentum_at(&self, step: u64) -> Option<f64> {
        (**self).momentum_at(step)
    }
    fn observe(&mut self, step: u64, metric: f64) {
        (**self).observe(step, metric)
    }
    fn group_lr_at(&self, group: usize, base_lr: f64, step: u64) -> f64 {
        (**self).group_lr_at(group, base_lr, step)
    }
    fn validate(&self, groups: usize) -> crate::error::Result<()> {
        (**self).validate(groups)
    }
}

/// The base rate, unchanged.
///
/// ```
/// use shaped::optim::{Constant, LrSchedule};
/// assert_eq!(Constant.lr_at(0.1, 1000), 0.1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Constant;
impl LrSchedule for Constant {
    fn lr_at(&self, base_lr: f64, _: u64) -> f64 {
        base_lr
    }
}

/// Multiplies the rate by `gamma` every `step_size` steps (`StepLR`; PyTorch's gamma
/// default is 0.1).
///
/// ```
/// use shaped::optim::{LrSchedule, StepLr};
/// let s = StepLr { step_size: 7, gamma: 0.5 };
/// assert_eq!((s.lr_at(0.1, 6), s.lr_at(0.1, 7)), (0.1, 0.05));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StepLr {
    /// Steps between decays.
    pub step_size: u64,
    /// Decay factor.
    pub gamma: f64,
}
impl LrSchedule for StepLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        base_lr * self.gamma.powf((step / self.step_size.max(1)) as f64)
    }
}

/// Multiplies the rate by `gamma` at each milestone step (`MultiStepLR`; a milestone listed
/// twice multiplies twice, as in PyTorch). Milestones may be in any order.
///
/// ```
/// use shaped::optim::{LrSchedule, MultiStepLr};
/// let s = MultiStepLr::new(vec![5, 12], 0.5);
/// assert_eq!((s.lr_at(1.0, 4), s.lr_at(1.0, 5), s.lr_at(1.0, 12)), (1.0, 0.5, 0.25));
/// ```
#[derive(Clone, Debug)]
pub struct MultiStepLr {
    /// The steps at which the rate is multiplied by `gamma`.
    pub milestones: Vec<u64>,
    /// Decay factor (PyTorch's default is 0.1).
    pub gamma: f64,
}
impl MultiStepLr {
    /// Decays by `gamma` at each of `milestones`.
    ///
    /// ```
    /// let s = shaped::optim::MultiStepLr::new(vec![30, 80], 0.1);
    /// ```
    pub fn new(milestones: Vec<u64>, gamma: f64) -> Self {
        MultiStepLr { milestones, gamma }
    }
}
impl LrSchedule for MultiStepLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        let passed = self.milestones.iter().filter(|&&m| m <= step).count();
        base_lr * self.gamma.powf(passed as f64)
    }
}

/// Multiplies the rate by `gamma` every step (`ExponentialLR`).
///
/// ```
/// use shaped::optim::{ExponentialLr, LrSchedule};
/// assert!((ExponentialLr { gamma: 0.9 }.lr_at(1.0, 2) - 0.81).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ExponentialLr {
    /// Decay factor per step.
    pub gamma: f64,
}
impl LrSchedule for ExponentialLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        base_lr * self.gamma.powf(step as f64)
    }
}

/// Scales the rate linearly from `start_factor` to `end_factor` over `total_iters` steps,
/// then keeps `end_factor` (`LinearLR`). [`Default`] is PyTorch's: 1/3 to 1 over 5 steps.
///
/// ```
/// use shaped::optim::{LinearLr, LrSchedule};
/// let s = LinearLr { start_factor: 0.25, end_factor: 1.0, total_iters: 8 };
/// assert_eq!((s.lr_at(0.1, 0), s.lr_at(0.1, 4), s.lr_at(0.1, 20)), (0.025, 0.0625, 0.1));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LinearLr {
    /// The rate's factor at step 0.
    pub start_factor: f64,
    /// The rate's factor from step `total_iters` on.
    pub end_factor: f64,
    /// Steps of the linear change.
    pub total_iters: u64,
}
impl Default for LinearLr {
    /// PyTorch's defaults: 1/3 to 1 over 5 steps.
    ///
    /// ```
    /// let s = shaped::optim::LinearLr::default();
    /// assert_eq!(s.total_iters, 5);
    /// ```
    fn default() -> Self {
        LinearLr {
            start_factor: 1.0 / 3.0,
            end_factor: 1.0,
            total_iters: 5,
        }
    }
}
impl LrSchedule for LinearLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        let done = if self.total_iters == 0 {
            1.0
        } else {
            step.min(self.total_iters) as f64 / self.total_iters as f64
        };
        base_lr * (self.start_factor + (self.end_factor - self.start_factor) * done)
    }
}

/// Cosine annealing from the base rate to `eta_min` over `t_max` steps (`CosineAnnealingLR`,
/// closed form), then back up, as PyTorch's formula does past `t_max`.
///
/// ```
/// use shaped::optim::{CosineAnnealingLr, LrSchedule};
/// let s = CosineAnnealingLr { t_max: 10, eta_min: 0.0 };
/// assert!((s.lr_at(1.0, 5) - 0.5).abs() < 1e-12);
/// assert!(s.lr_at(1.0, 10).abs() < 1e-12);
/// ```
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

/// Cosine annealing with warm restarts (`CosineAnnealingWarmRestarts`, SGDR): anneals from
/// the base rate towards `eta_min` over a period of `t_0` steps, then restarts, each period
/// `t_mult` times longer than the one before.
///
/// ```
/// use shaped::optim::{CosineAnnealingWarmRestarts, LrSchedule};
/// let s = CosineAnnealingWarmRestarts { t_0: 4, t_mult: 2, eta_min: 0.0 };
/// assert_eq!(s.lr_at(1.0, 4), 1.0); // restart after 4 steps
/// assert!((s.lr_at(1.0, 8) - 0.5).abs() < 1e-12); // halfway through the next 8
/// assert_eq!(s.lr_at(1.0, 12), 1.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CosineAnnealingWarmRestarts {
    /// The first period, in steps (at least 1).
    pub t_0: u64,
    /// The growth of the period at each restart (at least 1).
    pub t_mult: u64,
    /// Minimum rate.
    pub eta_min: f64,
}
impl LrSchedule for CosineAnnealingWarmRestarts {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        let mut period = self.t_0.max(1);
        let mut t_cur = step;
        if self.t_mult <= 1 {
            t_cur %= period;
        } else {
            while t_cur >= period {
                t_cur -= period;
                period = period.saturating_mul(self.t_mult);
            }
        }
        let x = t_cur as f64 / period as f64;
        self.eta_min + (base_lr - self.eta_min) * (1.0 + (core::f64::consts::PI * x).cos()) / 2.0
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
    fn momentum_at(&self, step: u64) -> Option<f64> {
        self.then.momentum_at(step.saturating_sub(self.warmup))
    }
    fn observe(&mut self, step: u64, metric: f64) {
        if step >= self.warmup {
            self.then.observe(step - self.warmup, metric);
        }
    }
    fn group_lr_at(&self, group: usize, base_lr: f64, step: u64) -> f64 {
        if step < self.warmup {
            let target = self.then.group_lr_at(group, base_lr, 0);
            let f =
                self.start_factor + (1.0 - self.start_factor) * step as f64 / self.warmup as f64;
            target * f
        } else {
            self.then.group_lr_at(group, base_lr, step - self.warmup)
        }
    }
    fn validate(&self, groups: usize) -> crate::error::Result<()> {
        self.then.validate(groups)
    }
}

/// Schedules run one after another (`SequentialLR`): the first until the first milestone,
/// then the next, each starting from its own step 0 at its milestone, all from the same
/// base rate. Unlike PyTorch's, a [`ReduceLrOnPlateau`](super::ReduceLrOnPlateau) stage
/// works: it sees the metrics of its own steps.
///
/// ```
/// use shaped::optim::{CosineAnnealingLr, LinearLr, LrSchedule, SequentialLr};
/// // Five steps of warm-up from 10%, then cosine annealing over 20 steps.
/// let s = SequentialLr::new(LinearLr { start_factor: 0.1, end_factor: 1.0, total_iters: 5 })
///     .then(5, CosineAnnealingLr { t_max: 20, eta_min: 0.0 });
/// assert!((s.lr_at(1.0, 0) - 0.1).abs() < 1e-12);
/// assert_eq!(s.lr_at(1.0, 5), 1.0);
/// assert!((s.lr_at(1.0, 15) - 0.5).abs() < 1e-12);
/// ```
pub struct SequentialLr {
    schedules: Vec<Box<dyn LrSchedule + Send + Sync>>,
    milestones: Vec<u64>,
}

impl core::fmt::Debug for SequentialLr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SequentialLr")
            .field("schedules", &self.schedules.len())
            .field("milestones", &self.milestones)
            .finish()
    }
}

impl SequentialLr {
    /// Starts with `first`.
    ///
    /// ```
    /// use shaped::optim::{ExponentialLr, SequentialLr};
    /// let s = SequentialLr::new(ExponentialLr { gamma: 0.9 });
    /// ```
    pub fn new(first: impl LrSchedule + Send + Sync + 'static) -> Self {
        SequentialLr {
            schedules: vec![Box::new(first)],
            milestones: Vec::new(),
        }
    }
    /// Switches to `next` at step `milestone` (counted from the start of the whole
    /// sequence). Milestones should increase; one not above the previous milestone leaves
    /// the schedule before it no steps.
    ///
    /// ```
    /// use shaped::optim::{Constant, ExponentialLr, LrSchedule, SequentialLr};
    /// let s = SequentialLr::new(Constant).then(3, ExponentialLr { gamma: 0.5 });
    /// assert_eq!((s.lr_at(1.0, 2), s.lr_at(1.0, 4)), (1.0, 0.5));
    /// ```
    pub fn then(mut self, milestone: u64, next: impl LrSchedule + Send + Sync + 'static) -> Self {
        self.schedules.push(Box::new(next));
        self.milestones.push(milestone);
        self
    }
    /// The index of the schedule active at `step`, and `step` counted from its start.
    fn active(&self, step: u64) -> (usize, u64) {
        match self.milestones.iter().rposition(|&m| m <= step) {
            Some(i) => (i + 1, step - self.milestones[i]),
            None => (0, step),
        }
    }
}

impl LrSchedule for SequentialLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        let (i, local) = self.active(step);
        self.schedules[i].lr_at(base_lr, local)
    }
    fn momentum_at(&self, step: u64) -> Option<f64> {
        let (i, local) = self.active(step);
        self.schedules[i].momentum_at(local)
    }
    fn observe(&mut self, step: u64, metric: f64) {
        let (i, local) = self.active(step);
        self.schedules[i].observe(local, metric)
    }
    fn group_lr_at(&self, group: usize, base_lr: f64, step: u64) -> f64 {
        let (i, local) = self.active(step);
        self.schedules[i].group_lr_at(group, base_lr, local)
    }
    fn validate(&self, groups: usize) -> crate::error::Result<()> {
        self.schedules.iter().try_for_each(|s| s.validate(groups))
    }
}

/// Applies a schedule to an optimizer in a plain loop, like a PyTorch scheduler: made
/// after the optimizer (it sets the rate of step 0 at once), then
/// [`step`](LrScheduler::step) after every optimizer step (or epoch), or
/// [`step_with_metric`](LrScheduler::step_with_metric) for
/// [`ReduceLrOnPlateau`](super::ReduceLrOnPlateau). Schedules that cycle momentum set the
/// optimizer's momentum too. With parameter groups, each group's rate follows the schedule
/// from that group's own initial rate (PyTorch's `base_lrs`); [`OneCycleLr`](super::OneCycleLr)
/// and [`CyclicLr`](super::CyclicLr), whose rates are absolute, give every group the same
/// unless given per-group rates.
///
/// The optimizer may be a `&mut dyn Optimizer<E>` or a `Box<dyn Optimizer<E>>`, and the
/// schedule a `Box<dyn LrSchedule>`, both chosen at run time.
///
/// ```
/// use shaped::optim::{LrSchedule, LrScheduler, Optimizer, ParamGroup, Sgd, StepLr};
/// let mut opt: Box<dyn Optimizer<f32>> =
///     Box::new(Sgd::new(1.0).with_param_group(ParamGroup::prefix("head.").lr(0.1)));
/// let schedule: Box<dyn LrSchedule> = Box::new(StepLr { step_size: 2, gamma: 0.5 });
/// let mut sched = LrScheduler::new(&mut opt, schedule);
/// sched.step(&mut opt);
/// sched.step(&mut opt);
/// assert_eq!(opt.group_lrs(), vec![0.5, 0.05]);
/// assert_eq!(sched.last_lrs(), vec![0.5, 0.05]);
/// ```
#[derive(Clone, Debug)]
pub struct LrScheduler<S> {
    /// The schedule.
    pub schedule: S,
    /// Every parameter group's rate when the scheduler was made, group 0 first (PyTorch's
    /// `base_lrs`, from each group's `initial_lr`).
    pub base_lrs: Vec<f64>,
    /// Steps taken.
    pub steps: u64,
}

impl<S: LrSchedule> LrScheduler<S> {
    /// A scheduler starting from the optimizer's current rates, which it sets to the
    /// schedule's rates (and momentum) for step 0, as PyTorch's constructors do.
    ///
    /// ```
    /// use shaped::optim::{LinearLr, LrScheduler, Optimizer, Sgd};
    /// let mut opt = Sgd::<f32>::new(0.1);
    /// let sched = LrScheduler::new(&mut opt, LinearLr { start_factor: 0.5, end_factor: 1.0, total_iters: 4 });
    /// assert_eq!(opt.lr(), 0.05);
    /// ```
    ///
    /// # Panics
    ///
    /// If the schedule's settings do not fit the optimizer (see
    /// [`try_new`](Self::try_new)), with its message.
    pub fn new<E: Float, O: Optimizer<E> + ?Sized>(opt: &mut O, schedule: S) -> Self {
        match Self::try_new(opt, schedule) {
            Ok(sched) => sched,
            Err(e) => panic!("{e}"),
        }
    }
    /// [`new`](Self::new), or an `Err` when the schedule's settings do not fit the
    /// optimizer ([`LrSchedule::validate`]: a per-group list whose length is not the
    /// number of parameter groups, a zero step size), where PyTorch's constructors raise.
    ///
    /// ```
    /// use shaped::optim::{CyclicLr, LrScheduler, Sgd};
    /// let mut opt = Sgd::<f32>::new(0.1);
    /// assert!(LrScheduler::try_new(&mut opt, CyclicLr::new(0.01, 0.1)).is_ok());
    /// let bad = CyclicLr::new(0.01, 0.1).step_size_up(0);
    /// assert!(LrScheduler::try_new(&mut opt, bad).is_err());
    /// ```
    pub fn try_new<E: Float, O: Optimizer<E> + ?Sized>(
        opt: &mut O,
        schedule: S,
    ) -> crate::error::Result<Self> {
        let base_lrs = opt.group_lrs();
        schedule.validate(base_lrs.len())?;
        let sched = LrScheduler {
            schedule,
            base_lrs,
            steps: 0,
        };
        sched.apply(opt);
        Ok(sched)
    }
    /// Advances one step and sets the optimizer's rates (and momentum).
    ///
    /// ```
    /// use shaped::optim::{ExponentialLr, LrScheduler, Optimizer, Sgd};
    /// let mut opt = Sgd::<f64>::new(1.0);
    /// let mut sched = LrScheduler::new(&mut opt, ExponentialLr { gamma: 0.5 });
    /// sched.step(&mut opt);
    /// assert_eq!(opt.lr(), 0.5);
    /// ```
    pub fn step<E: Float, O: Optimizer<E> + ?Sized>(&mut self, opt: &mut O) {
        self.steps += 1;
        self.apply(opt);
    }
    /// Gives the schedule the metric measured at the current step (PyTorch's
    /// `scheduler.step(metric)`), then advances like [`step`](LrScheduler::step).
    ///
    /// ```
    /// use shaped::optim::{LrScheduler, Optimizer, ReduceLrOnPlateau, Sgd};
    /// let mut opt = Sgd::<f64>::new(1.0);
    /// let mut sched = LrScheduler::new(&mut opt, ReduceLrOnPlateau::new().patience(1).factor(0.5));
    /// for loss in [1.0, 1.0, 1.0] {
    ///     sched.step_with_metric(&mut opt, loss);
    /// }
    /// assert_eq!(opt.lr(), 0.5);
    /// ```
    pub fn step_with_metric<E: Float, O: Optimizer<E> + ?Sized>(
        &mut self,
        opt: &mut O,
        metric: f64,
    ) {
        self.schedule.observe(self.steps, metric);
        self.step(opt);
    }
    /// The current rate of group 0.
    ///
    /// ```
    /// use shaped::optim::{Constant, LrScheduler, Sgd};
    /// let sched = LrScheduler::new(&mut Sgd::<f32>::new(0.1), Constant);
    /// assert_eq!(sched.lr(), 0.1);
    /// ```
    pub fn lr(&self) -> f64 {
        let base = self.base_lrs.first().copied().unwrap_or(0.0);
        self.schedule.lr_at(base, self.steps)
    }
    /// The current rate of every group, group 0 first (PyTorch's `get_last_lr()`).
    ///
    /// ```
    /// use shaped::optim::{ExponentialLr, LrScheduler, Optimizer, ParamGroup, Sgd};
    /// let mut opt = Sgd::<f32>::new(1.0).with_param_group(ParamGroup::prefix("b").lr(0.5));
    /// let mut sched = LrScheduler::new(&mut opt, ExponentialLr { gamma: 0.5 });
    /// sched.step(&mut opt);
    /// assert_eq!(sched.last_lrs(), vec![0.5, 0.25]);
    /// ```
    pub fn last_lrs(&self) -> Vec<f64> {
        self.base_lrs
            .iter()
            .enumerate()
            .map(|(group, &base)| self.schedule.group_lr_at(group, base, self.steps))
            .collect()
    }
    /// The current momentum, for schedules that cycle it.
    ///
    /// ```
    /// use shaped::optim::{LrScheduler, OneCycleLr, Sgd};
    /// let sched = LrScheduler::new(&mut Sgd::<f32>::new(0.1).momentum(0.9), OneCycleLr::new(0.5, 30));
    /// assert_eq!(sched.momentum(), Some(0.95));
    /// ```
    pub fn momentum(&self) -> Option<f64> {
        self.schedule.momentum_at(self.steps)
    }
    fn apply<E: Float, O: Optimizer<E> + ?Sized>(&self, opt: &mut O) {
        opt.set_group_lrs(&self.last_lrs());
        if let Some(m) = self.momentum() {
            opt.set_momentum(m);
        }
    }
}
