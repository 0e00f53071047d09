//! Reducing the rate when a metric stops improving
//! (`torch.optim.lr_scheduler.ReduceLROnPlateau`).

use super::LrSchedule;

/// Whether [`ReduceLrOnPlateau`] wants the metric to fall or to rise.
///
/// ```
/// use shaped::optim::{PlateauMode, ReduceLrOnPlateau};
/// let s = ReduceLrOnPlateau::new().mode(PlateauMode::Max); // e.g. for an accuracy
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlateauMode {
    /// Lower is better (a loss; the default).
    #[default]
    Min,
    /// Higher is better (an accuracy).
    Max,
}

/// How [`ReduceLrOnPlateau`] measures an improvement over the best value so far.
///
/// ```
/// use shaped::optim::{ReduceLrOnPlateau, ThresholdMode};
/// let s = ReduceLrOnPlateau::new().threshold(0.01).threshold_mode(ThresholdMode::Abs);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThresholdMode {
    /// Better by more than `threshold` times the best (`"rel"`, the default).
    #[default]
    Rel,
    /// Better by more than `threshold` (`"abs"`).
    Abs,
}

/// Multiplies the rate by `factor` once the metric has not improved for more than
/// `patience` steps, then waits `cooldown` steps before counting again; never below
/// `min_lr`, and a reduction smaller than `eps` is skipped. Feed it the metric through
/// [`LrScheduler::step_with_metric`](super::LrScheduler::step_with_metric) (or
/// [`LrSchedule::observe`]); the [`Trainer`](crate::train::Trainer) feeds it the
/// monitored loss after every epoch. Defaults as PyTorch: mode min, factor 0.1, patience
/// 10, threshold 1e-4 relative, cooldown 0, min_lr 0, eps 1e-8.
///
/// ```
/// use shaped::optim::{LrScheduler, Optimizer, ReduceLrOnPlateau, Sgd};
/// let mut opt = Sgd::<f32>::new(0.1);
/// let mut sched = LrScheduler::new(&mut opt, ReduceLrOnPlateau::new().factor(0.5).patience(2));
/// for val_loss in [1.0, 0.9, 0.9, 0.9, 0.9] {
///     sched.step_with_metric(&mut opt, val_loss);
/// }
/// assert!((opt.lr() - 0.05).abs() < 1e-12);
/// ```
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    /// Whether lower or higher metrics are better.
    pub mode: PlateauMode,
    /// The rate's multiplier at each reduction (below 1).
    pub factor: f64,
    /// Steps without improvement tolerated before a reduction.
    pub patience: u64,
    /// The smallest improvement that counts.
    pub threshold: f64,
    /// Whether `threshold` is relative or absolute.
    pub threshold_mode: ThresholdMode,
    /// Steps after a reduction during which bad steps are not counted.
    pub cooldown: u64,
    /// The rate never goes below this.
    pub min_lr: f64,
    /// A reduction smaller than this is skipped.
    pub eps: f64,
    best: f64,
    num_bad: u64,
    cooldown_counter: u64,
    reductions: u64,
}

impl Default for ReduceLrOnPlateau {
    /// PyTorch's defaults.
    ///
    /// ```
    /// let s = shaped::optim::ReduceLrOnPlateau::default();
    /// assert_eq!(s.patience, 10);
    /// ```
    fn default() -> Self {
        ReduceLrOnPlateau {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
            best: f64::INFINITY,
            num_bad: 0,
            cooldown_counter: 0,
            reductions: 0,
        }
    }
}

impl ReduceLrOnPlateau {
    /// A scheduler with PyTorch's defaults.
    ///
    /// ```
    /// let s = shaped::optim::ReduceLrOnPlateau::new();
    /// assert_eq!(s.factor, 0.1);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the mode (and resets the best value so far).
    ///
    /// ```
    /// use shaped::optim::{PlateauMode, ReduceLrOnPlateau};
    /// let s = ReduceLrOnPlateau::new().mode(PlateauMode::Max);
    /// ```
    pub fn mode(mut self, mode: PlateauMode) -> Self {
        self.mode = mode;
        self.best = match mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        };
        self
    }
    /// Sets the reduction factor.
    ///
    /// ```
    /// let s = shaped::optim::ReduceLrOnPlateau::new().factor(0.5);
    /// ```
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }
    /// Sets the patience.
    ///
    /// ```
    /// let s = shaped::optim::ReduceLrOnPlateau::new().patience(3);
    /// ```
    pub fn patience(mut self, steps: u64) -> Self {
        self.patience = steps;
        self
    }
    /// Sets the improvement threshold.
    ///
    /// ```
    /// let s = shaped::optim::ReduceLrOnPlateau::new().threshold(1e-3);
    /// ```
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }
    /// Sets whether the threshold is relative or absolute.
    ///
    /// ```
    /// use shaped::optim::{ReduceLrOnPlateau, ThresholdMode};
    /// let s = ReduceLrOnPlateau::new().threshold_mode(ThresholdMode::Abs);
    /// ```
    pub fn threshold_mode(mut self, mode: ThresholdMode) -> Self {
        self.threshold_mode = mode;
        self
    }
    /// Sets the cooldown.
    ///
    /// ```
    /// let s = shaped::optim::ReduceLrOnPlateau::new().cooldown(2);
    /// ```
    pub fn cooldown(mut self, steps: u64) -> Self {
        self.cooldown = steps;
        self
    }
    /// Sets the minimum rate.
    ///
    /// ```
    /// let s = shaped::optim::ReduceLrOnPlateau::new().min_lr(1e-5);
    /// ```
    pub fn min_lr(mut self, lr: f64) -> Self {
        self.min_lr = lr;
        self
    }
    /// Sets the smallest reduction applied.
    ///
    /// ```
    /// let s = shaped::optim::ReduceLrOnPlateau::new().eps(1e-10);
    /// ```
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    /// Reductions so far.
    ///
    /// ```
    /// assert_eq!(shaped::optim::ReduceLrOnPlateau::new().reductions(), 0);
    /// ```
    pub fn reductions(&self) -> u64 {
        self.reductions
    }

    fn is_better(&self, a: f64) -> bool {
        let (best, th) = (self.best, self.threshold);
        match (self.mode, self.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => a < best * (1.0 - th),
            (PlateauMode::Min, ThresholdMode::Abs) => a < best - th,
            (PlateauMode::Max, ThresholdMode::Rel) => a > best * (th + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => a > best + th,
        }
    }
}

impl LrSchedule for ReduceLrOnPlateau {
    /// The base rate after the reductions so far (the step count plays no part).
    fn lr_at(&self, base_lr: f64, _step: u64) -> f64 {
        let mut lr = base_lr;
        for _ in 0..self.reductions {
            let reduced = self.min_lr.max(lr * self.factor);
            if lr - reduced > self.eps {
                lr = reduced;
            } else {
                // Every later reduction would be skipped as well.
                break;
            }
        }
        lr
    }
    fn observe(&mut self, _step: u64, metric: f64) {
        if self.is_better(metric) {
            self.best = metric;
            self.num_bad = 0;
        } else {
            self.num_bad += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad = 0;
        }
        if self.num_bad > self.patience {
            self.reductions += 1;
            self.cooldown_counter = self.cooldown;
            self.num_bad = 0;
        }
    }
}
