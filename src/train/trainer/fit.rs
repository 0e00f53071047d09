//! [`Trainer::fit`] and its steps: one epoch of training, the epoch's record with
//! validation, the best model, the callbacks, the report and the stopping rule.

use super::{BatchEnd, EpochEnd, Trainer};
use crate::autograd::{Gradients, OwnedTape, UniqueId};
use crate::distributed::broadcast;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::train::device::TrainDevice;
use crate::train::finite::At;
use crate::train::history::{EpochRecord, History, StopReason};
use crate::train::progress::Progress;
use crate::train::source::BatchSource;
use crate::train::step::{Meter, Step};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::io::IsTerminal;
use std::marker::PhantomData;
use std::time::Instant;

impl<M, O> Trainer<'_, M, O> {
    /// Runs the epochs: for every batch of `train`, `step(&mut model, batch)` gives a traced
    /// [`Step`], whose loss is backpropagated and applied by `optimizer` (after
    /// accumulation and clipping when configured). Returns the [`History`]; an error from
    /// the data, the step, a callback or a file write ends training with that error.
    ///
    /// Training also stops with an error naming the first value that is not finite: a
    /// buffer after the forward pass (BatchNorm's running statistics, which a NaN batch
    /// poisons for good, as in PyTorch) or a gradient, before the optimizer step (which is
    /// then not taken), or a parameter after it. The best-model file of
    /// [`save_best`](Self::save_best) keeps the last good epoch's state, and with
    /// [`restore_best`](Self::restore_best) the model returns to it.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Linear, Module, loss::mse_loss};
    /// use shaped::train::{Step, Trainer};
    /// use rand::SeedableRng;
    /// let mut model = Linear::<1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let mut opt = shaped::optim::Sgd::new(0.5);
    /// let x = Tensor::<Rank2<4, 1>>::from_array([[0.0], [1.0], [2.0], [3.0]]);
    /// let y = x.clone().mul_scalar(2.0);
    /// let history = Trainer::new(&mut model, &mut opt)
    ///     .epochs(200)
    ///     .quiet(true)
    ///     .fit(vec![(x.mul_scalar(0.25), y.mul_scalar(0.25))], |m, (x, y)| {
    ///         Ok(Step::new(mse_loss(m.forward_train(x.trace_constant()), y), 4))
    ///     })
    ///     .unwrap();
    /// assert!(history.last().unwrap().train_loss < 1e-6);
    /// assert!((model.weight.as_slice()[0] - 2.0).abs() < 1e-3);
    /// ```
    pub fn fit<E, D, S, F>(mut self, mut train: S, mut step: F) -> Result<History>
    where
        E: Float,
        D: TrainDevice<M, O, E>,
        S: BatchSource,
        F: FnMut(&mut M, S::Batch) -> Result<Step<E, OwnedTape<E>, D>>,
    {
        D::check_settings(self.max_grad_norm, self.group.is_some())?;
        let mut run = FitState::<E, D, M, O> {
            rng: StdRng::seed_from_u64(self.seed),
            base_lrs: D::group_lrs(&*self.optimizer),
            params: D::parameter_ids(&mut *self.model),
            global_step: 0,
            best: BestModel::default(),
            early_stop: EarlyStop::default(),
            _types: PhantomData,
        };
        if let Some(s) = &self.schedule {
            s.validate(run.base_lrs.len())?;
        }
        if let Some(group) = self.group {
            D::broadcast(group, &mut *self.model);
        }
        let mut history = History::default();
        for epoch in 0..self.epochs {
            // Per batch, the epoch starts at the rate of its first update.
            let at = if self.schedule_per_batch {
                run.global_step
            } else {
                epoch as u64
            };
            self.apply_schedule::<E, D>(&run.base_lrs, at);
            let lr = D::group_lrs(&*self.optimizer)
                .first()
                .copied()
                .unwrap_or(0.0);
            let bar = progress(
                !self.speaks(),
                epoch,
                self.epochs,
                train.batches_per_epoch(),
            );
            let started = Instant::now();
            let mut meter =
                self.train_epoch(&mut train, &mut step, epoch, &mut run, &bar, started)?;
            if let Some(group) = self.group {
                meter.sum_over_ranks(group);
            }
            let train_seconds = started.elapsed().as_secs_f64();
            let mut record = self.epoch_record(epoch, lr, &meter)?;
            record.seconds = started.elapsed().as_secs_f64();
            self.keep_if_best::<E, D>(&record, &mut run.best)?;
            run.early_stop
                .observe(record.monitored_loss(), self.min_delta);
            if let Some(s) = &mut self.schedule {
                // The step whose rate produced this epoch's figures (the last update's,
                // per batch).
                let at = if self.schedule_per_batch {
                    run.global_step.saturating_sub(1)
                } else {
                    epoch as u64
                };
                s.observe(at, record.monitored_loss());
            }
            let (next_lr, stop_requested) =
                self.run_epoch_hooks(&mut record, &history, &mut run.rng)?;
            if let Some(lr) = next_lr {
                D::set_lr(&mut *self.optimizer, lr);
            }
            let rate = meter.samples() as f64 / train_seconds.max(1e-9);
            self.report_epoch(&bar, &record, epoch, rate);
            let finite = record.train_loss.is_finite();
            history.push(record);
            if let Some(dir) = &self.output_dir
                && self.is_main()
            {
                history.save(dir)?;
            }
            history.stop = self.stop_reason(finite, stop_requested, &run.early_stop);
            if history.stop != StopReason::Completed {
                if self.speaks() {
                    println!("{}", stop_message(&history));
                }
                break;
            }
        }
        if let Some(state) = run.best.state {
            D::restore(&mut *self.model, &state);
        }
        Ok(history)
    }

    /// True on the rank that prints and writes files (every run without a group).
    fn is_main(&self) -> bool {
        self.group.is_none_or(|g| g.is_main())
    }

    /// Whether this process prints: not quiet, and the main rank.
    fn speaks(&self) -> bool {
        !self.quiet && self.is_main()
    }

    /// One pass over the training batches: forward, backward, accumulation and optimizer
    /// steps, the progress bar and the batch callbacks. An epoch without batches is an error.
    #[allow(clippy::too_many_arguments)]
    fn train_epoch<E, D, S, F>(
        &mut self,
        train: &mut S,
        step: &mut F,
        epoch: usize,
        run: &mut FitState<E, D, M, O>,
        bar: &Progress,
        started: Instant,
    ) -> Result<Meter>
    where
        E: Float,
        D: TrainDevice<M, O, E>,
        S: BatchSource,
        F: FnMut(&mut M, S::Batch) -> Result<Step<E, OwnedTape<E>, D>>,
    {
        let mut meter = Meter::default();
        let mut pending: Option<Gradients<E>> = None;
        let mut micro = 0;
        // Batches whose losses are not read back yet, with what their callbacks will see.
        let mut kept = Vec::new();
        let mut ended = Vec::new();
        for (i, batch) in train.batches(epoch, &mut run.rng).enumerate() {
            let out = step(&mut *self.model, batch?)?;
            kept.push(D::keep(&out));
            let samples = out.samples;
            let grads = D::backward(out.loss);
            match pending.as_mut() {
                Some(acc) => acc.accumulate(grads),
                None => pending = Some(grads),
            }
            micro += 1;
            if micro == self.accumulate {
                let grads = pending.take().expect("set above");
                if self.schedule_per_batch {
                    self.apply_schedule::<E, D>(&run.base_lrs, run.global_step);
                }
                run.global_step += 1;
                self.update_or_give_up(grads, micro, epoch, run, bar)?;
                micro = 0;
            }
            ended.push(BatchEnd {
                epoch: epoch + 1,
                batch: i,
                global_step: run.global_step,
                loss: f64::NAN,
                samples,
            });
            if kept.len() >= D::LOG_EVERY {
                self.read_back(&mut kept, &mut ended, &mut meter, epoch, run, bar)?;
            }
            if !bar.is_hidden() {
                // Between read-backs (a GPU's) the bar moves on with the last figures read.
                let message = if meter.samples() > 0 {
                    let rate = meter.samples() as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    format!("loss {:.4}  {rate:.0} samples/s", meter.loss())
                } else {
                    String::new()
                };
                bar.inc(message);
            }
        }
        if let Some(grads) = pending.take() {
            if self.schedule_per_batch {
                self.apply_schedule::<E, D>(&run.base_lrs, run.global_step);
            }
            run.global_step += 1;
            self.update_or_give_up(grads, micro, epoch, run, bar)?;
        }
        self.read_back(&mut kept, &mut ended, &mut meter, epoch, run, bar)?;
        if meter.batches() == 0 {
            bar.finish_and_clear();
            return Err(Error::value(
                "training data",
                format!("epoch {} yielded no batches", epoch + 1),
            ));
        }
        Ok(meter)
    }

    /// Reads the kept losses back into `meter` and runs the batch callbacks of those
    /// batches. On a device that reads back in intervals, a loss that is not finite ends
    /// training with an error (the CPU's checks of every step catch it first).
    #[allow(clippy::too_many_arguments)]
    fn read_back<E, D>(
        &mut self,
        kept: &mut Vec<super::super::device::Pending<D::Loss>>,
        ended: &mut Vec<BatchEnd>,
        meter: &mut Meter,
        epoch: usize,
        run: &FitState<E, D, M, O>,
        bar: &Progress,
    ) -> Result<()>
    where
        E: Float,
        D: TrainDevice<M, O, E>,
    {
        if kept.is_empty() {
            return Ok(());
        }
        let losses = D::read_back(kept, meter)?;
        for (mut info, loss) in ended.drain(..).zip(losses) {
            if D::LOG_EVERY > 1 && !loss.is_finite() {
                bar.finish_and_clear();
                if let Some(state) = &run.best.state {
                    D::restore(&mut *self.model, state);
                }
                return Err(Error::value(
                    format!("training, epoch {} batch {}", epoch + 1, info.batch),
                    format!("the loss is {loss}, not finite"),
                ));
            }
            info.loss = loss;
            for hook in &mut self.batch_hooks {
                hook(&info);
            }
        }
        Ok(())
    }

    /// Sets the optimizer's rate (and momentum, for schedules that cycle it) to the
    /// schedule's at step `at`; nothing without a schedule.
    fn apply_schedule<E, D>(&mut self, base_lrs: &[f64], at: u64)
    where
        E: Float,
        D: TrainDevice<M, O, E>,
    {
        if let Some(s) = &self.schedule {
            let lrs: Vec<f64> = base_lrs
                .iter()
                .enumerate()
                .map(|(group, &b)| s.group_lr_at(group, b, at))
                .collect();
            D::set_group_lrs(&mut *self.optimizer, &lrs);
            if let Some(m) = s.momentum_at(at) {
                D::set_momentum(&mut *self.optimizer, m);
            }
        }
    }

    /// One optimizer step from gradients summed over `micro` batches, checked for values
    /// that are not finite. On such a value training is over: the model goes back to the
    /// best state kept for `restore_best`, if any (the best-model file on disk was written
    /// at the end of a good epoch and is left as it is), and the error is returned.
    fn update_or_give_up<E, D>(
        &mut self,
        grads: Gradients<E>,
        micro: usize,
        epoch: usize,
        run: &FitState<E, D, M, O>,
        bar: &Progress,
    ) -> Result<()>
    where
        E: Float,
        D: TrainDevice<M, O, E>,
    {
        let at = At {
            epoch: epoch + 1,
            step: run.global_step,
        };
        let stepped = D::update(
            &mut *self.model,
            &mut *self.optimizer,
            grads,
            micro,
            &run.params,
            self.max_grad_norm,
            self.group,
            &at,
        );
        if stepped.is_err() {
            bar.finish_and_clear();
            if let Some(state) = &run.best.state {
                D::restore(&mut *self.model, state);
            }
        }
        stepped
    }

    /// The epoch's record: training figures from `meter`, then validation when configured.
    fn epoch_record(&mut self, epoch: usize, lr: f64, meter: &Meter) -> Result<EpochRecord> {
        let mut record = EpochRecord {
            epoch: epoch + 1,
            train_loss: meter.loss(),
            train_accuracy: meter.accuracy(),
            lr,
            samples: meter.samples(),
            ..Default::default()
        };
        for (name, v) in meter.metrics() {
            record.metrics.insert(format!("train_{name}"), v);
        }
        if let Some(validate) = &mut self.validation {
            // Its own generator, the same every epoch: validation data made from it stays
            // fixed, and adding validation does not change training.
            let mut val_rng = StdRng::seed_from_u64(self.seed ^ 0x5eed_5eed_5eed_5eed);
            // In evaluation mode even after `model.train()`, as PyTorch loops call `eval()`.
            let model = &*self.model;
            let mut val =
                crate::nn::mode::with_mode(false, || validate(model, epoch, &mut val_rng))?;
            if let Some(group) = self.group {
                val.sum_over_ranks(group);
            }
            if val.samples() > 0 {
                record.val_loss = Some(val.loss());
                record.val_accuracy = val.accuracy();
                for (name, v) in val.metrics() {
                    record.metrics.insert(format!("val_{name}"), v);
                }
            }
        }
        Ok(record)
    }

    /// On a new best monitored loss: the best-model file, the `on_best` callbacks and the
    /// snapshot that `restore_best` puts back at the end.
    fn keep_if_best<E, D>(
        &mut self,
        record: &EpochRecord,
        best: &mut BestModel<D::Snapshot>,
    ) -> Result<()>
    where
        E: Float,
        D: TrainDevice<M, O, E>,
    {
        let monitored = record.monitored_loss();
        if monitored >= best.loss {
            return Ok(());
        }
        best.loss = monitored;
        if self.is_main() {
            if let Some(path) = &self.best_path {
                D::save_safetensors(&*self.model, path)?;
            }
            for hook in &mut self.best_hooks {
                hook(&*self.model, record)?;
            }
        }
        if self.restore_best {
            best.state = Some(D::snapshot(&mut *self.model)?);
        }
        Ok(())
    }

    /// Runs the epoch callbacks; returns the learning rate one set for the next epoch, if
    /// any, and whether one asked to stop.
    fn run_epoch_hooks(
        &mut self,
        record: &mut EpochRecord,
        history: &History,
        rng: &mut StdRng,
    ) -> Result<(Option<f64>, bool)> {
        let mut ctx = EpochEnd {
            record,
            history,
            model: &*self.model,
            rng,
            next_lr: None,
            stop: false,
        };
        for hook in &mut self.epoch_hooks {
            hook(&mut ctx)?;
        }
        let (mut next_lr, mut stop) = (ctx.next_lr, ctx.stop);
        if let Some(group) = self.group {
            // Rank 0's requests hold everywhere, so the ranks never take different paths.
            let mut decision = vec![next_lr.unwrap_or(f64::NAN), f64::from(u8::from(stop))];
            broadcast(group, &mut decision, 0);
            next_lr = (!decision[0].is_nan()).then_some(decision[0]);
            stop = decision[1] != 0.0;
        }
        Ok((next_lr, stop))
    }

    /// The epoch's summary line: on the finished progress bar, or printed unless quiet.
    fn report_epoch(&self, bar: &Progress, record: &EpochRecord, epoch: usize, rate: f64) {
        let summary = summary(record, rate);
        if !bar.is_hidden() {
            // The finished line keeps the summary only, short enough for 80 columns.
            bar.finish_with_message(&summary);
        } else if self.speaks() {
            println!("epoch {}/{} {summary}", epoch + 1, self.epochs);
        }
    }

    /// Why training stops after this epoch, or [`StopReason::Completed`] to go on.
    fn stop_reason(&self, finite: bool, stop_requested: bool, early: &EarlyStop) -> StopReason {
        if !finite {
            StopReason::NonFiniteLoss
        } else if stop_requested {
            StopReason::Callback
        } else if self
            .patience
            .is_some_and(|p| early.since_improved >= p.max(1))
        {
            StopReason::EarlyStopping {
                patience: self.patience.unwrap_or(0),
            }
        } else {
            StopReason::Completed
        }
    }
}

/// What [`Trainer::fit`] carries from one epoch to the next.
struct FitState<E: Float, D: TrainDevice<M, O, E>, M, O> {
    rng: StdRng,
    /// Every parameter group's learning rate before any schedule.
    base_lrs: Vec<f64>,
    /// The trainable parameters (gradients averaged over accumulated batches).
    params: Vec<UniqueId>,
    /// Optimizer steps taken.
    global_step: u64,
    best: BestModel<D::Snapshot>,
    early_stop: EarlyStop,
    _types: PhantomData<fn() -> (E, M, O)>,
}

/// The best monitored loss so far and, with `restore_best`, the model at that epoch.
struct BestModel<S> {
    loss: f64,
    state: Option<S>,
}

impl<S> Default for BestModel<S> {
    fn default() -> Self {
        BestModel {
            loss: f64::INFINITY,
            state: None,
        }
    }
}

/// Early stopping's count of epochs without an improvement of more than `min_delta`.
struct EarlyStop {
    best: f64,
    since_improved: usize,
}

impl Default for EarlyStop {
    fn default() -> Self {
        EarlyStop {
            best: f64::INFINITY,
            since_improved: 0,
        }
    }
}

impl EarlyStop {
    fn observe(&mut self, monitored: f64, min_delta: f64) {
        if monitored < self.best - min_delta {
            self.best = monitored;
            self.since_improved = 0;
        } else {
            self.since_improved += 1;
        }
    }
}

/// A bar for one epoch, hidden unless stdout is a terminal and output is wanted.
fn progress(quiet: bool, epoch: usize, epochs: usize, len: Option<usize>) -> Progress {
    if quiet || !std::io::stdout().is_terminal() {
        return Progress::hidden();
    }
    Progress::stdout(format!("{}/{}", epoch + 1, epochs), len)
}

fn summary(r: &EpochRecord, rate: f64) -> String {
    let mut s = format!("loss {:.4}", r.train_loss);
    if let Some(a) = r.train_accuracy {
        s += &format!(" acc {:.2}%", a * 100.0);
    }
    if let Some(l) = r.val_loss {
        s += &format!(" | val loss {l:.4}");
    }
    if let Some(a) = r.val_accuracy {
        s += &format!(" acc {:.2}%", a * 100.0);
    }
    s += &format!(" | lr {:.2e}", r.lr);
    // A rate over a few milliseconds is noise (it swings by orders of magnitude).
    if r.seconds >= MEASURABLE_SECONDS {
        s + &format!(" | {rate:.0} samples/s {:.1}s", r.seconds)
    } else {
        s + &format!(" | {:.0} ms", r.seconds * 1000.0)
    }
}

/// The shortest epoch whose samples/s the epoch line prints.
pub(crate) const MEASURABLE_SECONDS: f64 = 0.05;

fn stop_message(h: &History) -> String {
    let watched = if h.epochs.iter().any(|r| r.val_loss.is_some()) {
        "validation"
    } else {
        "training"
    };
    let best = h.best().map_or(String::new(), |b| {
        format!(" (best {:.4} at epoch {})", b.monitored_loss(), b.epoch)
    });
    match h.stop {
        StopReason::EarlyStopping { patience } => {
            format!(
                "stopped early: {watched} loss did not improve for {} epochs{best}",
                patience.max(1)
            )
        }
        StopReason::NonFiniteLoss => "stopped: the training loss is not finite".to_string(),
        StopReason::Callback => format!("stopped by a callback{best}"),
        StopReason::Completed => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_epoch_line_shows_the_learning_rate() {
        let record = EpochRecord {
            epoch: 1,
            train_loss: 0.5,
            lr: 1e-3,
            seconds: 2.0,
            ..Default::default()
        };
        assert_eq!(
            summary(&record, 100.0),
            "loss 0.5000 | lr 1.00e-3 | 100 samples/s 2.0s"
        );
    }
}
