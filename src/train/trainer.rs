//! The [`Trainer`]: epochs of training and validation with a progress bar, early stopping,
//! best-model checkpoints, callbacks and curves.

mod fit;

use super::device::TrainDevice;
use super::history::{EpochRecord, History};
use super::source::BatchSource;
use super::step::{Meter, Step};
use crate::distributed::Collective;
use crate::dtype::Float;
use crate::error::Result;
use crate::optim::LrSchedule;
use rand::rngs::StdRng;
use std::path::PathBuf;

/// What an epoch callback sees and can change: the epoch's record (add metrics to it), the
/// epochs before it, the model (read-only, in evaluation mode), the trainer's generator,
/// and requests for the next epoch's learning rate or for stopping.
///
/// ```
/// # use shaped::train::EpochEnd;
/// fn halve_lr_when_stuck<M>(ctx: &mut EpochEnd<'_, M>) -> shaped::error::Result<()> {
///     let stuck = ctx.history.last().is_some_and(|prev| ctx.record.train_loss >= prev.train_loss);
///     if stuck {
///         ctx.set_lr(ctx.lr() / 2.0);
///     }
///     Ok(())
/// }
/// ```
pub struct EpochEnd<'x, M> {
    /// This epoch's numbers, still open for metrics.
    pub record: &'x mut EpochRecord,
    /// The epochs before this one.
    pub history: &'x History,
    /// The model after this epoch.
    pub model: &'x M,
    /// The trainer's generator (seeded by [`Trainer::seed`]).
    pub rng: &'x mut StdRng,
    next_lr: Option<f64>,
    stop: bool,
}

impl<M> EpochEnd<'_, M> {
    /// The epoch's number, from 1.
    pub fn epoch(&self) -> usize {
        self.record.epoch
    }
    /// The learning rate used in this epoch.
    pub fn lr(&self) -> f64 {
        self.record.lr
    }
    /// Records a custom metric for this epoch (a CSV column of the history).
    pub fn log(&mut self, name: impl Into<String>, value: f64) {
        self.record.metrics.insert(name.into(), value);
    }
    /// Sets the learning rate from the next epoch on (a [`Trainer::lr_schedule`] still sets
    /// its own at the start of every epoch).
    pub fn set_lr(&mut self, lr: f64) {
        self.next_lr = Some(lr);
    }
    /// Ends training after this epoch.
    pub fn stop(&mut self) {
        self.stop = true;
    }
}

/// What a batch callback sees, after the optimizer step for that batch (if any).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchEnd {
    /// The epoch's number, from 1.
    pub epoch: usize,
    /// The batch's index in the epoch, from 0.
    pub batch: usize,
    /// Optimizer steps taken so far in the whole run.
    pub global_step: u64,
    /// The batch's mean loss.
    pub loss: f64,
    /// The samples in the batch.
    pub samples: usize,
}

type EpochHook<'a, M> = Box<dyn FnMut(&mut EpochEnd<'_, M>) -> Result<()> + 'a>;
type BatchHook<'a> = Box<dyn FnMut(&BatchEnd) + 'a>;
type BestHook<'a, M> = Box<dyn FnMut(&M, &EpochRecord) -> Result<()> + 'a>;
type Validation<'a, M> = Box<dyn FnMut(&M, usize, &mut StdRng) -> Result<Meter> + 'a>;

/// A training loop with the usual trimmings: made from a model and an optimizer by
/// [`new`](Trainer::new), configured by builder methods, and run by [`fit`](Trainer::fit)
/// with the training data and the step closure:
///
/// * every epoch: training on the batches of a [`BatchSource`], then validation if
///   [`validate`](Trainer::validate) was given, each reporting mean loss and (when the step
///   counts correct predictions) accuracy into a [`History`];
/// * a progress bar (epoch, batch, running loss, samples/s), shown only when stdout is a
///   terminal and [`quiet`](Trainer::quiet) is off; one summary line per epoch otherwise;
/// * [`patience`](Trainer::patience): early stopping on the validation loss (training loss
///   without validation data); [`save_best`](Trainer::save_best),
///   [`on_best`](Trainer::on_best) and [`restore_best`](Trainer::restore_best) keep the
///   best model;
/// * [`clip_grad_norm`](Trainer::clip_grad_norm), [`accumulate`](Trainer::accumulate),
///   [`lr_schedule`](Trainer::lr_schedule) (per epoch) or
///   [`lr_schedule_per_batch`](Trainer::lr_schedule_per_batch);
/// * callbacks [`on_epoch_end`](Trainer::on_epoch_end) and
///   [`on_batch_end`](Trainer::on_batch_end) for custom metrics and control;
/// * [`output_dir`](Trainer::output_dir): `history.csv` and `curves.svg`, rewritten after
///   every epoch.
///
/// The step closure gets the model (`&mut`, for [`forward_train`](crate::nn::Module::forward_train))
/// and a batch of whatever type the source yields, and returns a traced [`Step`]; the
/// trainer runs backward and the optimizer. Runs are deterministic: the same model, data
/// and [`seed`](Trainer::seed) give the same [`History`] (timings aside).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Linear, Module, ReLU};
/// use shaped::optim::Adam;
/// use shaped::train::{Step, Trainer};
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// // Two classes: is x0 + x1 positive?
/// let x = Tensor::<Rank2<64, 2>>::randn(&mut rng);
/// let y = Indices::<Rank1<64>>::from_vec(x.as_slice().chunks(2).map(|r| (r[0] + r[1] > 0.0) as usize).collect()).unwrap();
/// let mut model = (Linear::<2, 16>::new(&mut rng), ReLU, Linear::<16, 2>::new(&mut rng));
/// let mut opt = Adam::new(0.05);
///
/// let history = Trainer::new(&mut model, &mut opt)
///     .epochs(30)
///     .quiet(true)
///     .patience(5)
///     .validate(vec![(x.clone(), y.clone())], |m, (x, y)| Step::cross_entropy(m.forward(x), &y))
///     .fit(vec![(x, y)], |m, (x, y)| Step::cross_entropy(m.forward_train(x.trace_constant()), &y))
///     .unwrap();
/// assert!(history.last().unwrap().val_accuracy.unwrap() > 0.9);
/// ```
pub struct Trainer<'a, M, O> {
    model: &'a mut M,
    optimizer: &'a mut O,
    epochs: usize,
    seed: u64,
    quiet: bool,
    patience: Option<usize>,
    min_delta: f64,
    best_path: Option<PathBuf>,
    restore_best: bool,
    output_dir: Option<PathBuf>,
    max_grad_norm: Option<f64>,
    accumulate: usize,
    schedule: Option<Box<dyn LrSchedule + 'a>>,
    /// Step the schedule per optimizer step instead of per epoch.
    schedule_per_batch: bool,
    validation: Option<Validation<'a, M>>,
    epoch_hooks: Vec<EpochHook<'a, M>>,
    batch_hooks: Vec<BatchHook<'a>>,
    best_hooks: Vec<BestHook<'a, M>>,
    group: Option<&'a dyn Collective>,
}

impl<M, O> core::fmt::Debug for Trainer<'_, M, O> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Trainer")
            .field("epochs", &self.epochs)
            .field("seed", &self.seed)
            .field("quiet", &self.quiet)
            .field("patience", &self.patience)
            .field("min_delta", &self.min_delta)
            .field("best_path", &self.best_path)
            .field("restore_best", &self.restore_best)
            .field("output_dir", &self.output_dir)
            .field("max_grad_norm", &self.max_grad_norm)
            .field("accumulate", &self.accumulate)
            .field("validation", &self.validation.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a, M, O> Trainer<'a, M, O> {
    /// A trainer of `model` by `optimizer`: one epoch, seed 0, progress shown, no early
    /// stopping, no output files. The builder methods change that; [`fit`](Trainer::fit)
    /// runs it.
    ///
    /// ```
    /// use shaped::nn::Linear;
    /// use shaped::optim::Sgd;
    /// use rand::SeedableRng;
    /// let mut model = Linear::<2, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let mut opt = Sgd::<f32>::new(0.1);
    /// let trainer = shaped::train::Trainer::new(&mut model, &mut opt).epochs(10);
    /// ```
    pub fn new(model: &'a mut M, optimizer: &'a mut O) -> Self {
        Trainer {
            model,
            optimizer,
            epochs: 1,
            seed: 0,
            quiet: false,
            patience: None,
            min_delta: 0.0,
            best_path: None,
            restore_best: false,
            output_dir: None,
            max_grad_norm: None,
            accumulate: 1,
            schedule: None,
            schedule_per_batch: false,
            validation: None,
            epoch_hooks: Vec::new(),
            batch_hooks: Vec::new(),
            best_hooks: Vec::new(),
            group: None,
        }
    }
    /// Trains data-parallel over `group` (PyTorch's `DistributedDataParallel`): every rank
    /// runs the same program on its own shard of the data (give the loaders a
    /// [`DistributedSampler`](crate::data::DistributedSampler)); the trainer starts every
    /// rank from rank 0's parameters, averages gradients across ranks after every backward
    /// pass, and sums the training and validation figures over ranks, so every rank records
    /// the same history and takes the same early-stopping decision. The progress bar, the
    /// epoch lines, `output_dir` files, `save_best` and `on_best` run on rank 0 only; rank 0's
    /// learning-rate and stop requests from `on_epoch_end` apply to every rank.
    ///
    /// ```
    /// use shaped::distributed::{Collective, ThreadGroup};
    /// use shaped::nn::{Linear, Module, Params, loss::mse_loss};
    /// use shaped::prelude::*;
    /// use shaped::train::{Step, Trainer};
    /// use rand::SeedableRng;
    /// let weights = ThreadGroup::run(2, |group| {
    ///     // Different initial weights and different halves of the data on each rank.
    ///     let mut rng = rand::rngs::StdRng::seed_from_u64(group.rank() as u64);
    ///     let mut model = Linear::<1, 1>::new(&mut rng);
    ///     let mut opt = shaped::optim::Sgd::new(0.1);
    ///     let x = Tensor::<Rank2<2, 1>>::full(group.rank() as f32 + 1.0);
    ///     Trainer::new(&mut model, &mut opt)
    ///         .distributed(group)
    ///         .epochs(20)
    ///         .quiet(true)
    ///         .fit(vec![(x.clone(), x.mul_scalar(3.0))], |m, (x, y)| {
    ///             Ok(Step::new(mse_loss(m.forward_train(x.trace_constant()), y), 2))
    ///         })
    ///         .unwrap();
    ///     model.weight.to_vec()
    /// });
    /// assert_eq!(weights[0], weights[1]); // the same model on both ranks
    /// ```
    pub fn distributed(mut self, group: &'a dyn Collective) -> Self {
        self.group = Some(group);
        self
    }
    /// The number of epochs to run (fewer if stopped early); default 1.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Seeds the trainer's generator, which sources that shuffle or make data
    /// ([`shuffled`](super::shuffled), [`from_fn`](super::from_fn)) and callbacks draw from.
    /// A [`DataLoader`](crate::data::DataLoader) keeps its own shuffle seed.
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).seed(42);
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// No progress bar and no summary lines.
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).quiet(true);
    /// ```
    pub fn quiet(mut self, on: bool) -> Self {
        self.quiet = on;
        self
    }
    /// Stops when the monitored loss (validation, else training) has not improved by more
    /// than [`min_delta`](Trainer::min_delta) for `epochs` epochs in a row.
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).patience(5).min_delta(1e-4);
    /// ```
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = Some(epochs);
        self
    }
    /// The smallest decrease of the monitored loss that counts as an improvement for early
    /// stopping (default 0).
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).patience(3).min_delta(1e-3);
    /// ```
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.min_delta = delta;
        self
    }
    /// Saves the model as safetensors to `path` (atomically, through
    /// [`save_safetensors`](crate::serialize::save_safetensors)) whenever the monitored
    /// loss reaches a new low.
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).save_best("best.safetensors");
    /// ```
    pub fn save_best(mut self, path: impl Into<PathBuf>) -> Self {
        self.best_path = Some(path.into());
        self
    }
    /// Calls `f(model, record)` whenever the monitored loss reaches a new low: for
    /// checkpoints in another format, e.g. a [`Checkpoint`](crate::serialize::Checkpoint)
    /// with the optimizer state.
    ///
    /// ```
    /// let mut best_epoch = 0;
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).on_best(|_model, record| {
    ///     best_epoch = record.epoch;
    ///     Ok(())
    /// });
    /// ```
    pub fn on_best(
        mut self,
        f: impl FnMut(&M, &crate::train::EpochRecord) -> Result<()> + 'a,
    ) -> Self {
        self.best_hooks.push(Box::new(f));
        self
    }
    /// At the end, puts back the parameters and buffers of the best epoch (kept in memory),
    /// so that an early-stopped model is its best version rather than its last.
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).patience(5).restore_best(true);
    /// ```
    pub fn restore_best(mut self, on: bool) -> Self {
        self.restore_best = on;
        self
    }
    /// Writes `history.csv` and `curves.svg` (loss and accuracy per epoch) into `dir` after
    /// every epoch, creating it if needed.
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).output_dir("runs/mlp");
    /// ```
    pub fn output_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.output_dir = Some(dir.into());
        self
    }
    /// Scales the gradients to a global L2 norm of at most `max_norm` before every
    /// optimizer step ([`clip_grad_norm`](crate::optim::clip_grad_norm)).
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).clip_grad_norm(1.0);
    /// ```
    pub fn clip_grad_norm(mut self, max_norm: f64) -> Self {
        self.max_grad_norm = Some(max_norm);
        self
    }
    /// Accumulates the gradients of `batches` batches (averaged) before each optimizer
    /// step, for an effective batch that many times larger; a shorter group at the end of
    /// an epoch is stepped too. Default 1; 0 counts as 1.
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// // Batches of 16, four per step: the gradient of a batch of 64.
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).accumulate(4);
    /// ```
    pub fn accumulate(mut self, batches: usize) -> Self {
        self.accumulate = batches.max(1);
        self
    }
    /// Sets the optimizer's learning rate at the start of epoch `e` (from 0) to
    /// `schedule.lr_at(base, e)`, `base` being its rate when [`fit`](Trainer::fit) starts,
    /// and its momentum (or first beta) to `schedule.momentum_at(e)` for schedules that
    /// cycle it. After every epoch the schedule is given the monitored loss (validation,
    /// else training) through [`observe`](LrSchedule::observe), which is what drives
    /// [`ReduceLrOnPlateau`](crate::optim::ReduceLrOnPlateau). Replaces any schedule set
    /// before.
    ///
    /// ```
    /// use shaped::optim::StepLr;
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).lr_schedule(StepLr { step_size: 10, gamma: 0.1 });
    /// ```
    pub fn lr_schedule(mut self, schedule: impl LrSchedule + 'a) -> Self {
        self.schedule = Some(Box::new(schedule));
        self.schedule_per_batch = false;
        self
    }
    /// Like [`lr_schedule`](Trainer::lr_schedule), but counted in optimizer steps over the
    /// whole run rather than in epochs: update `k` (from 0) uses `schedule.lr_at(base, k)`,
    /// as [`OneCycleLr`](crate::optim::OneCycleLr) and warm-up schedules are meant to be
    /// stepped. The epoch's recorded rate is that of its first update; the monitored loss
    /// is still given after every epoch.
    ///
    /// ```
    /// use shaped::optim::OneCycleLr;
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1).momentum(0.9);
    /// let (epochs, batches_per_epoch) = (10, 50);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt)
    ///     .epochs(epochs)
    ///     .lr_schedule_per_batch(OneCycleLr::new(0.1, epochs as u64 * batches_per_epoch));
    /// ```
    pub fn lr_schedule_per_batch(mut self, schedule: impl LrSchedule + 'a) -> Self {
        self.schedule = Some(Box::new(schedule));
        self.schedule_per_batch = true;
        self
    }
    /// Validation after every epoch: `step(&model, batch)` for every batch of `data`, with
    /// the model in evaluation mode ([`forward`](crate::nn::Module::forward), no tape
    /// needed; also after `model.train()`: validation runs every Dropout and BatchNorm in
    /// evaluation mode, as a PyTorch loop's `model.eval()` does). Its mean loss is what early stopping and best-model saving watch.
    ///
    /// `data` is taken by value: pass `&mut loader` to keep using a loader afterwards. The
    /// generator it is given starts from the same state every epoch, so validation data
    /// made from it is the same every epoch.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Linear, Module};
    /// use shaped::train::{Step, Trainer};
    /// use rand::SeedableRng;
    /// let mut model = Linear::<3, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let mut opt = shaped::optim::Sgd::new(0.1);
    /// let (x, y) = (Tensor::<Rank2<4, 3>>::ones(), Indices::<Rank1<4>>::from_array([0, 1, 1, 0]));
    /// let history = Trainer::new(&mut model, &mut opt)
    ///     .quiet(true)
    ///     .validate(vec![(x.clone(), y.clone())], |m, (x, y)| Step::cross_entropy(m.forward(x), &y))
    ///     .fit(vec![(x, y)], |m, (x, y)| Step::cross_entropy(m.forward_train(x.trace_constant()), &y))
    ///     .unwrap();
    /// assert!(history.epochs[0].val_loss.is_some());
    /// ```
    pub fn validate<S, E, T, D, F>(mut self, mut data: S, mut step: F) -> Self
    where
        S: BatchSource + 'a,
        E: Float,
        T: 'a,
        D: TrainDevice<M, O, E>,
        F: FnMut(&M, S::Batch) -> Result<Step<E, T, D>> + 'a,
    {
        self.validation = Some(Box::new(move |model: &M, epoch, rng: &mut StdRng| {
            let mut meter = Meter::default();
            let mut kept = Vec::new();
            for batch in data.batches(epoch, rng) {
                kept.push(D::keep(&step(model, batch?)?));
                if kept.len() >= D::LOG_EVERY {
                    D::read_back(&mut kept, &mut meter)?;
                }
            }
            D::read_back(&mut kept, &mut meter)?;
            Ok(meter)
        }));
        self
    }
    /// Calls `f` after every epoch (after validation), e.g. to log a custom metric, change
    /// the learning rate or stop.
    ///
    /// ```
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).on_epoch_end(|ctx| {
    ///     let gap = ctx.record.val_loss.unwrap_or(0.0) - ctx.record.train_loss;
    ///     ctx.log("generalization_gap", gap);
    ///     Ok(())
    /// });
    /// ```
    pub fn on_epoch_end(mut self, f: impl FnMut(&mut EpochEnd<'_, M>) -> Result<()> + 'a) -> Self {
        self.epoch_hooks.push(Box::new(f));
        self
    }
    /// Calls `f` after every training batch.
    ///
    /// ```
    /// let mut losses = Vec::new();
    /// # let mut model = shaped::nn::Linear::<2, 1>::new(&mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    /// # let mut opt = shaped::optim::Sgd::<f32>::new(0.1);
    /// let t = shaped::train::Trainer::new(&mut model, &mut opt).on_batch_end(|b| losses.push(b.loss));
    /// ```
    pub fn on_batch_end(mut self, f: impl FnMut(&BatchEnd) + 'a) -> Self {
        self.batch_hooks.push(Box::new(f));
        self
    }
}
