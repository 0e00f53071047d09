//! The one-cycle policy (`torch.optim.lr_scheduler.OneCycleLR`).

use super::LrSchedule;

/// How [`OneCycleLr`] moves between two values.
///
/// ```
/// use shaped::optim::{Anneal, OneCycleLr};
/// let s = OneCycleLr::new(0.1, 100).anneal_strategy(Anneal::Linear);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Anneal {
    /// Half a cosine wave (`"cos"`, the default).
    #[default]
    Cos,
    /// A straight line (`"linear"`).
    Linear,
}

impl Anneal {
    fn apply(self, start: f64, end: f64, pct: f64) -> f64 {
        match self {
            Anneal::Cos => end + (start - end) / 2.0 * ((core::f64::consts::PI * pct).cos() + 1.0),
            Anneal::Linear => (end - start) * pct + start,
        }
    }
}

/// The one-cycle policy, stepped once per batch: the rate rises from
/// `max_lr / div_factor` to `max_lr` over the first `pct_start` of `total_steps`, then falls
/// to `max_lr / (div_factor * final_div_factor)`; with `three_phase` it first falls back to
/// the initial rate symmetrically, then to the minimum. With `cycle_momentum` the momentum
/// (Adam's first beta) moves the opposite way between `max_momentum` and `base_momentum`.
/// The optimizer's own rate is ignored. Defaults as PyTorch: pct_start 0.3, cosine
/// annealing, cycle_momentum on, momentum 0.85 to 0.95, div_factor 25, final_div_factor
/// 1e4. Past `total_steps` (where PyTorch raises) the rate stays at its value for
/// `total_steps`.
///
/// ```
/// use shaped::optim::{LrSchedule, OneCycleLr};
/// let s = OneCycleLr::new(0.5, 30);
/// assert!((s.lr_at(0.0, 0) - 0.02).abs() < 1e-12);   // max_lr / 25
/// assert!((s.lr_at(0.0, 8) - 0.5).abs() < 1e-12);    // the peak, at 30% - 1
/// assert_eq!(s.momentum_at(8), Some(0.85));
/// assert!(s.lr_at(0.0, 29) < 1e-5);
/// ```
///
/// PyTorch's list of `max_lr`, one per parameter group, is
/// [`group_max_lrs`](Self::group_max_lrs).
#[derive(Clone, Copy, Debug)]
pub struct OneCycleLr {
    /// The peak rate.
    pub max_lr: f64,
    /// Steps in the cycle.
    pub total_steps: u64,
    /// The fraction of the cycle spent increasing the rate.
    pub pct_start: f64,
    /// The shape of each phase.
    pub anneal_strategy: Anneal,
    /// Move the momentum inversely to the rate.
    pub cycle_momentum: bool,
    /// The momentum at the peak rate.
    pub base_momentum: f64,
    /// The momentum at the start and end.
    pub max_momentum: f64,
    /// The initial rate is `max_lr / div_factor`.
    pub div_factor: f64,
    /// The final rate is the initial rate divided by this.
    pub final_div_factor: f64,
    /// Use a third phase (back down to the initial rate, then to the minimum).
    pub three_phase: bool,
}

impl OneCycleLr {
    /// A cycle of `total_steps` steps peaking at `max_lr`, with PyTorch's other defaults.
    /// For a cycle over epochs of batches, `total_steps` is `epochs * steps_per_epoch`.
    ///
    /// ```
    /// let s = shaped::optim::OneCycleLr::new(0.01, 10 * 100);
    /// assert_eq!(s.div_factor, 25.0);
    /// ```
    pub fn new(max_lr: f64, total_steps: u64) -> Self {
        OneCycleLr {
            max_lr,
            total_steps,
            pct_start: 0.3,
            anneal_strategy: Anneal::Cos,
            cycle_momentum: true,
            base_momentum: 0.85,
            max_momentum: 0.95,
            div_factor: 25.0,
            final_div_factor: 1e4,
            three_phase: false,
        }
    }
    /// The same cycle with each parameter group peaking at its own rate, group 0 (the
    /// optimizer's own settings) first, as PyTorch's `max_lr=[...]`: each group starts at
    /// its `max_lr / div_factor` and ends at that divided by `final_div_factor`; the momentum
    /// is every group's. [`validate`](LrSchedule::validate) (called by
    /// [`LrScheduler::try_new`](super::LrScheduler::try_new) and the
    /// [`Trainer`](crate::train::Trainer)) refuses a list whose length is not the number of
    /// groups (a one-value list is every group's).
    ///
    /// ```
    /// use shaped::optim::{LrScheduler, OneCycleLr, Optimizer, ParamGroup, Sgd};
    /// let mut opt = Sgd::<f32>::new(0.1).with_param_group(ParamGroup::prefix("head."));
    /// let s = OneCycleLr::new(0.0, 100).group_max_lrs(vec![0.5, 5.0]);
    /// let _sched = LrScheduler::try_new(&mut opt, s.clone()).unwrap();
    /// let lrs = opt.group_lrs(); // max_lr / 25 each
    /// assert!((lrs[0] - 0.02).abs() < 1e-12 && (lrs[1] - 0.2).abs() < 1e-12);
    /// let mut three = opt.with_param_group(ParamGroup::prefix("tail."));
    /// assert!(LrScheduler::try_new(&mut three, s).is_err());
    /// ```
    pub fn group_max_lrs(self, max_lrs: Vec<f64>) -> OneCycleLrGroups {
        OneCycleLrGroups {
            cycle: self,
            max_lrs,
        }
    }
    /// Sets the fraction of the cycle spent increasing the rate.
    ///
    /// ```
    /// let s = shaped::optim::OneCycleLr::new(0.01, 100).pct_start(0.25);
    /// ```
    pub fn pct_start(mut self, pct: f64) -> Self {
        self.pct_start = pct;
        self
    }
    /// Sets the annealing shape.
    ///
    /// ```
    /// use shaped::optim::{Anneal, OneCycleLr};
    /// let s = OneCycleLr::new(0.01, 100).anneal_strategy(Anneal::Linear);
    /// ```
    pub fn anneal_strategy(mut self, a: Anneal) -> Self {
        self.anneal_strategy = a;
        self
    }
    /// Turns momentum cycling on or off.
    ///
    /// ```
    /// use shaped::optim::{LrSchedule, OneCycleLr};
    /// assert_eq!(OneCycleLr::new(0.01, 100).cycle_momentum(false).momentum_at(0), None);
    /// ```
    pub fn cycle_momentum(mut self, on: bool) -> Self {
        self.cycle_momentum = on;
        self
    }
    /// Sets the momentum range: `base` at the peak rate, `max` at the ends.
    ///
    /// ```
    /// let s = shaped::optim::OneCycleLr::new(0.01, 100).momentum_range(0.8, 0.9);
    /// ```
    pub fn momentum_range(mut self, base: f64, max: f64) -> Self {
        self.base_momentum = base;
        self.max_momentum = max;
        self
    }
    /// Sets the initial division factor.
    ///
    /// ```
    /// let s = shaped::optim::OneCycleLr::new(0.01, 100).div_factor(10.0);
    /// ```
    pub fn div_factor(mut self, f: f64) -> Self {
        self.div_factor = f;
        self
    }
    /// Sets the final division factor.
    ///
    /// ```
    /// let s = shaped::optim::OneCycleLr::new(0.01, 100).final_div_factor(100.0);
    /// ```
    pub fn final_div_factor(mut self, f: f64) -> Self {
        self.final_div_factor = f;
        self
    }
    /// Uses three phases.
    ///
    /// ```
    /// let s = shaped::optim::OneCycleLr::new(0.01, 100).three_phase(true);
    /// ```
    pub fn three_phase(mut self, on: bool) -> Self {
        self.three_phase = on;
        self
    }

    /// `(rate, momentum)` at `step` for a group peaking at `max_lr`, as PyTorch's `get_lr`.
    fn at(&self, max_lr: f64, step: u64) -> (f64, f64) {
        let initial = max_lr / self.div_factor;
        let min = initial / self.final_div_factor;
        let total = self.total_steps as f64;
        let (lo_m, hi_m) = (self.base_momentum, self.max_momentum);
        // (end step, start rate, end rate, start momentum, end momentum)
        let phases: &[(f64, f64, f64, f64, f64)] = if self.three_phase {
            &[
                (self.pct_start * total - 1.0, initial, max_lr, hi_m, lo_m),
                (
                    2.0 * self.pct_start * total - 2.0,
                    max_lr,
                    initial,
                    lo_m,
                    hi_m,
                ),
                (total - 1.0, initial, min, hi_m, hi_m),
            ]
        } else {
            &[
                (self.pct_start * total - 1.0, initial, max_lr, hi_m, lo_m),
                (total - 1.0, max_lr, min, lo_m, hi_m),
            ]
        };
        let step = step.min(self.total_steps) as f64;
        let mut start_step = 0.0;
        for (i, &(end_step, lr0, lr1, m0, m1)) in phases.iter().enumerate() {
            if step <= end_step || i == phases.len() - 1 {
                let span = end_step - start_step;
                // A zero-length phase (a one-step cycle) is complete at once.
                let pct = if span == 0.0 {
                    1.0
                } else {
                    (step - start_step) / span
                };
                let a = self.anneal_strategy;
                return (a.apply(lr0, lr1, pct), a.apply(m0, m1, pct));
            }
            start_step = end_step;
        }
        (min, hi_m)
    }
}

impl LrSchedule for OneCycleLr {
    fn lr_at(&self, _base_lr: f64, step: u64) -> f64 {
        self.at(self.max_lr, step).0
    }
    fn momentum_at(&self, step: u64) -> Option<f64> {
        self.cycle_momentum.then(|| self.at(self.max_lr, step).1)
    }
}

/// A [`OneCycleLr`] whose parameter groups peak at rates of their own (PyTorch's
/// `OneCycleLR(max_lr=[...])`), made by [`OneCycleLr::group_max_lrs`]. The cycle's own
/// `max_lr` is not used.
///
/// ```
/// use shaped::optim::{LrSchedule, OneCycleLr};
/// let s = OneCycleLr::new(0.0, 30).group_max_lrs(vec![0.5, 0.05]);
/// assert!((s.lr_at(0.0, 8) - 0.5).abs() < 1e-12); // group 0's peak
/// assert!((s.group_lr_at(1, 0.0, 8) - 0.05).abs() < 1e-12);
/// assert_eq!(s.momentum_at(8), Some(0.85));
/// ```
#[derive(Clone, Debug)]
pub struct OneCycleLrGroups {
    /// Every setting but the peak rates.
    pub cycle: OneCycleLr,
    /// The peak rate of each parameter group, group 0 first (one value: every group's).
    pub max_lrs: Vec<f64>,
}

impl LrSchedule for OneCycleLrGroups {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        self.group_lr_at(0, base_lr, step)
    }
    fn momentum_at(&self, step: u64) -> Option<f64> {
        self.cycle.momentum_at(step)
    }
    fn group_lr_at(&self, group: usize, _base_lr: f64, step: u64) -> f64 {
        // A group past the list (refused by `validate`) takes the last rate.
        let max_lr = self.max_lrs.get(group).or(self.max_lrs.last()).copied();
        self.cycle.at(max_lr.unwrap_or(self.cycle.max_lr), step).0
    }
    fn validate(&self, groups: usize) -> crate::error::Result<()> {
        if self.max_lrs.is_empty() {
            return Err(crate::error::Error::value(
                "OneCycleLR",
                format!("no values for `max_lr`: give one, or one per group ({groups})"),
            ));
        }
        super::cyclic::check_group_list("OneCycleLR", "max_lr", &self.max_lrs, groups)
    }
}
