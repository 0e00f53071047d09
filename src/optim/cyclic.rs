//! Cyclical learning rates (`torch.optim.lr_scheduler.CyclicLR`).

use super::LrSchedule;
use crate::error::{Error, Result};
use std::fmt;
use std::sync::Arc;

/// The amplitude policy of a [`CyclicLr`] (PyTorch's `mode`).
///
/// ```
/// use shaped::optim::{CyclicLr, CyclicMode};
/// let s = CyclicLr::new(0.001, 0.01).mode(CyclicMode::Triangular2);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum CyclicMode {
    /// The same triangle every cycle (`"triangular"`, the default).
    #[default]
    Triangular,
    /// The amplitude halves every cycle (`"triangular2"`).
    Triangular2,
    /// The amplitude is scaled by `gamma^step` (`"exp_range"`, with [`CyclicLr::gamma`]).
    ExpRange,
}

/// What a custom scale function of a [`CyclicLr`] is given (PyTorch's `scale_mode`).
///
/// ```
/// use shaped::optim::ScaleMode;
/// assert_ne!(ScaleMode::Cycle, ScaleMode::Iterations);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleMode {
    /// The cycle number, from 1 (`"cycle"`).
    Cycle,
    /// The number of steps taken (`"iterations"`).
    Iterations,
}

type ScaleFn = Arc<dyn Fn(f64) -> f64 + Send + Sync>;

/// The cyclical learning rate policy (`CyclicLR`), stepped once per batch: the rate climbs
/// linearly from `base_lr` to `max_lr` over `step_size_up` steps, falls back over
/// `step_size_down` steps (`step_size_up` unless set), and repeats, the amplitude scaled by
/// the [`CyclicMode`] or a custom scale function. With `cycle_momentum` (on by default, as
/// PyTorch's) the momentum (Adam's first beta) moves the opposite way between
/// `max_momentum` (0.9, at `base_lr`) and `base_momentum` (0.8, at `max_lr`).
///
/// The rates are absolute, as PyTorch's: the optimizer's own rate is ignored, and
/// [`LrScheduler::new`](super::LrScheduler::new) sets it to `base_lr` at once, as PyTorch's
/// constructor does. `base_lr` above `max_lr` is allowed (the cycle dips instead of
/// peaking), as in PyTorch. Per-group rates (PyTorch's lists) are
/// [`group_base_lrs`](Self::group_base_lrs) and [`group_max_lrs`](Self::group_max_lrs).
///
/// Deviations from PyTorch: the momentum range is one for every group (PyTorch also
/// accepts lists); an optimizer without momentum or betas keeps training with cycling
/// momentum ignored (PyTorch raises); `step_size_up` 0, where PyTorch's rates are NaN, is
/// an error from [`validate`](LrSchedule::validate).
///
/// ```
/// use shaped::optim::{CyclicLr, LrSchedule};
/// let s = CyclicLr::new(0.1, 1.0).step_size_up(4);
/// assert_eq!(s.lr_at(0.0, 0), 0.1);
/// assert!((s.lr_at(0.0, 2) - 0.55).abs() < 1e-12);
/// assert!((s.lr_at(0.0, 4) - 1.0).abs() < 1e-12); // the peak
/// assert!((s.lr_at(0.0, 8) - 0.1).abs() < 1e-12); // the next cycle starts
/// assert!((s.momentum_at(4).unwrap() - 0.8).abs() < 1e-12);
/// ```
#[derive(Clone)]
pub struct CyclicLr {
    /// The lower rate of each parameter group, group 0 first (one value: every group's).
    pub base_lrs: Vec<f64>,
    /// The upper rate of each parameter group, group 0 first (one value: every group's).
    pub max_lrs: Vec<f64>,
    /// Steps from `base_lr` to `max_lr` (PyTorch's default 2000).
    pub step_size_up: u64,
    /// Steps from `max_lr` back to `base_lr` (`None`: `step_size_up`).
    pub step_size_down: Option<u64>,
    /// The amplitude policy, unless a custom scale function is set.
    pub mode: CyclicMode,
    /// The factor of [`CyclicMode::ExpRange`] (PyTorch's default 1).
    pub gamma: f64,
    /// Move the momentum inversely to the rate.
    pub cycle_momentum: bool,
    /// The momentum at `max_lr`.
    pub base_momentum: f64,
    /// The momentum at `base_lr`.
    pub max_momentum: f64,
    scale_fn: Option<(ScaleFn, ScaleMode)>,
}

impl fmt::Debug for CyclicLr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CyclicLr")
            .field("base_lrs", &self.base_lrs)
            .field("max_lrs", &self.max_lrs)
            .field("step_size_up", &self.step_size_up)
            .field("step_size_down", &self.step_size_down)
            .field("mode", &self.mode)
            .field("gamma", &self.gamma)
            .field("scale_fn", &self.scale_fn.as_ref().map(|(_, m)| m))
            .field("cycle_momentum", &self.cycle_momentum)
            .field("base_momentum", &self.base_momentum)
            .field("max_momentum", &self.max_momentum)
            .finish()
    }
}

impl CyclicLr {
    /// Cycles between `base_lr` and `max_lr` in every group, with PyTorch's other defaults:
    /// 2000 steps up and as many down, triangular, momentum cycled between 0.8 and 0.9.
    ///
    /// ```
    /// let s = shaped::optim::CyclicLr::new(1e-3, 1e-2);
    /// assert_eq!(s.step_size_up, 2000);
    /// ```
    pub fn new(base_lr: f64, max_lr: f64) -> Self {
        CyclicLr {
            base_lrs: vec![base_lr],
            max_lrs: vec![max_lr],
            step_size_up: 2000,
            step_size_down: None,
            mode: CyclicMode::Triangular,
            gamma: 1.0,
            cycle_momentum: true,
            base_momentum: 0.8,
            max_momentum: 0.9,
            scale_fn: None,
        }
    }
    /// Sets each parameter group's lower rate, group 0 first (PyTorch's `base_lr` list).
    ///
    /// ```
    /// use shaped::optim::{CyclicLr, LrSchedule};
    /// let s = CyclicLr::new(0.1, 1.0).group_base_lrs(vec![0.1, 0.5]);
    /// assert_eq!(s.group_lr_at(1, 0.0, 0), 0.5);
    /// ```
    pub fn group_base_lrs(mut self, base_lrs: Vec<f64>) -> Self {
        self.base_lrs = base_lrs;
        self
    }
    /// Sets each parameter group's upper rate, group 0 first (PyTorch's `max_lr` list).
    ///
    /// ```
    /// use shaped::optim::{CyclicLr, LrSchedule};
    /// let s = CyclicLr::new(0.0, 1.0).step_size_up(2).group_max_lrs(vec![1.0, 3.0]);
    /// assert_eq!(s.group_lr_at(1, 0.0, 2), 3.0);
    /// ```
    pub fn group_max_lrs(mut self, max_lrs: Vec<f64>) -> Self {
        self.max_lrs = max_lrs;
        self
    }
    /// Sets the number of steps of the rising half.
    ///
    /// ```
    /// let s = shaped::optim::CyclicLr::new(1e-3, 1e-2).step_size_up(500);
    /// ```
    pub fn step_size_up(mut self, steps: u64) -> Self {
        self.step_size_up = steps;
        self
    }
    /// Sets the number of steps of the falling half.
    ///
    /// ```
    /// let s = shaped::optim::CyclicLr::new(1e-3, 1e-2).step_size_up(100).step_size_down(300);
    /// ```
    pub fn step_size_down(mut self, steps: u64) -> Self {
        self.step_size_down = Some(steps);
        self
    }
    /// Sets the amplitude policy.
    ///
    /// ```
    /// use shaped::optim::{CyclicLr, CyclicMode};
    /// let s = CyclicLr::new(1e-3, 1e-2).mode(CyclicMode::ExpRange).gamma(0.999);
    /// ```
    pub fn mode(mut self, mode: CyclicMode) -> Self {
        self.mode = mode;
        self
    }
    /// Sets the factor of [`CyclicMode::ExpRange`].
    ///
    /// ```
    /// let s = shaped::optim::CyclicLr::new(1e-3, 1e-2).gamma(0.99);
    /// ```
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }
    /// Replaces the mode's amplitude policy with `scale_fn`, given the cycle number or the
    /// step count as `scale_mode` says (PyTorch's `scale_fn` and `scale_mode`).
    ///
    /// ```
    /// use shaped::optim::{CyclicLr, LrSchedule, ScaleMode};
    /// // A third of the amplitude from the second cycle on.
    /// let s = CyclicLr::new(0.0, 3.0)
    ///     .step_size_up(1)
    ///     .scale_fn(|cycle| if cycle > 1.0 { 1.0 / 3.0 } else { 1.0 }, ScaleMode::Cycle);
    /// assert_eq!((s.lr_at(0.0, 1), s.lr_at(0.0, 3)), (3.0, 1.0));
    /// ```
    pub fn scale_fn(
        mut self,
        scale_fn: impl Fn(f64) -> f64 + Send + Sync + 'static,
        scale_mode: ScaleMode,
    ) -> Self {
        self.scale_fn = Some((Arc::new(scale_fn), scale_mode));
        self
    }
    /// Turns momentum cycling on or off.
    ///
    /// ```
    /// use shaped::optim::{CyclicLr, LrSchedule};
    /// assert_eq!(CyclicLr::new(0.1, 1.0).cycle_momentum(false).momentum_at(0), None);
    /// ```
    pub fn cycle_momentum(mut self, on: bool) -> Self {
        self.cycle_momentum = on;
        self
    }
    /// Sets the momentum range: `base` at `max_lr`, `max` at `base_lr`.
    ///
    /// ```
    /// let s = shaped::optim::CyclicLr::new(0.1, 1.0).momentum_range(0.85, 0.95);
    /// ```
    pub fn momentum_range(mut self, base: f64, max: f64) -> Self {
        self.base_momentum = base;
        self.max_momentum = max;
        self
    }

    fn step_size_down_or_up(&self) -> u64 {
        self.step_size_down.unwrap_or(self.step_size_up)
    }

    /// The position in the cycle at `step` as `(height, scale)`: the rate is
    /// `base + (max - base) * height * scale`, the momentum
    /// `max_m - (max_m - base_m) * height * scale` (PyTorch's `scale_factor` and
    /// `scale_fn(...)`).
    fn position(&self, step: u64) -> (f64, f64) {
        let up = self.step_size_up as f64;
        let total = up + self.step_size_down_or_up() as f64;
        if total == 0.0 {
            // Refused by `validate`; a flat rate at `base_lr` rather than NaN.
            return (0.0, 1.0);
        }
        let ratio = up / total;
        let last = step as f64;
        let cycle = (1.0 + last / total).floor();
        let x = 1.0 + last / total - cycle;
        let height = if x <= ratio {
            x / ratio
        } else {
            (x - 1.0) / (ratio - 1.0)
        };
        let scale = match &self.scale_fn {
            Some((f, ScaleMode::Cycle)) => f(cycle),
            Some((f, ScaleMode::Iterations)) => f(last),
            None => match self.mode {
                CyclicMode::Triangular => 1.0,
                CyclicMode::Triangular2 => 1.0 / 2f64.powf(cycle - 1.0),
                CyclicMode::ExpRange => self.gamma.powf(last),
            },
        };
        (height, scale)
    }
}

/// The entry of a per-group list for `group`: a one-value list serves every group, and a
/// group past a longer list (refused by `validate`) takes the last value.
fn of_group(values: &[f64], group: usize) -> f64 {
    values.get(group).or(values.last()).copied().unwrap_or(0.0)
}

/// Refuses a per-group list `values` of the setting `what` that is neither empty nor one
/// value nor one value per group, as PyTorch's `_format_param` does.
pub(crate) fn check_group_list(
    schedule: &str,
    what: &str,
    values: &[f64],
    groups: usize,
) -> Result<()> {
    if values.len() > 1 && values.len() != groups {
        return Err(Error::value(
            schedule,
            format!(
                "{} values for `{what}`, but the optimizer has {groups} parameter groups \
                 (give one value, or one per group)",
                values.len()
            ),
        ));
    }
    Ok(())
}

impl LrSchedule for CyclicLr {
    fn lr_at(&self, base_lr: f64, step: u64) -> f64 {
        self.group_lr_at(0, base_lr, step)
    }
    fn momentum_at(&self, step: u64) -> Option<f64> {
        self.cycle_momentum.then(|| {
            let (height, scale) = self.position(step);
            self.max_momentum - (self.max_momentum - self.base_momentum) * height * scale
        })
    }
    fn group_lr_at(&self, group: usize, _base_lr: f64, step: u64) -> f64 {
        let (base, max) = (
            of_group(&self.base_lrs, group),
            of_group(&self.max_lrs, group),
        );
        let (height, scale) = self.position(step);
        base + (max - base) * height * scale
    }
    fn validate(&self, groups: usize) -> Result<()> {
        if self.step_size_up == 0 {
            return Err(Error::value(
                "CyclicLR",
                format!(
                    "step_size_up is 0 (step_size_down {}): the rising half needs at least \
                     one step",
                    self.step_size_down_or_up()
                ),
            ));
        }
        if self.base_lrs.is_empty() || self.max_lrs.is_empty() {
            return Err(Error::value(
                "CyclicLR",
                format!(
                    "{} values for `base_lr` and {} for `max_lr`: each needs one, or one \
                     per group",
                    self.base_lrs.len(),
                    self.max_lrs.len()
                ),
            ));
        }
        check_group_list("CyclicLR", "base_lr", &self.base_lrs, groups)?;
        check_group_list("CyclicLR", "max_lr", &self.max_lrs, groups)
    }
}
