//! What one batch reports back to the loop: its loss, size, correct predictions and custom
//! metrics; and the running averages over an epoch.

use crate::autograd::{OwnedTape, Tape};
use crate::device::{Cpu, Device};
use crate::distributed::{Collective, all_reduce_sum};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::loss::CrossEntropyLoss;
use crate::shape::{Dim, DimEq};
use crate::tensor::{Indices, Tensor};
use std::collections::BTreeMap;

/// The outcome of one batch: the mean loss over the batch (traced in training, so the
/// trainer can backpropagate it), the number of samples it covered, and optionally how many
/// predictions were correct and custom metrics. Epoch values are averages weighted by
/// `samples`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::train::Step;
/// let loss = Tensor::<Rank1<4>>::from_array([1.0, 2.0, 3.0, 4.0]).trace().mean();
/// let step = Step::new(loss, 4).with_correct(3).with_metric("mae", 0.5);
/// assert_eq!((step.loss_value(), step.samples, step.correct), (2.5, 4, Some(3)));
/// ```
/// The loss may live on a GPU (`Step<f32, OwnedTape<f32>, Wgpu>`, with the feature `wgpu`):
/// the trainer then reads it back once per log interval, not once per batch.
pub struct Step<E: Float, T = OwnedTape<E>, D: Device = Cpu> {
    /// The batch's mean loss.
    pub loss: Tensor<(), E, T, D>,
    /// The number of samples in the batch.
    pub samples: usize,
    /// How many samples were predicted correctly, for accuracy.
    pub correct: Option<usize>,
    /// Custom metrics `(name, batch mean)`, averaged over the epoch like the loss.
    pub metrics: Vec<(String, f64)>,
}

impl<E: Float, T> core::fmt::Debug for Step<E, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Step")
            .field("loss", &self.loss_value())
            .field("samples", &self.samples)
            .field("correct", &self.correct)
            .field("metrics", &self.metrics)
            .finish()
    }
}

impl<E: Float, T, D: Device> Step<E, T, D> {
    /// A batch of `samples` samples whose mean loss is `loss`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::train::Step;
    /// let step = Step::new(Tensor::<()>::from_array(0.25), 8);
    /// assert_eq!(step.loss_value(), 0.25);
    /// ```
    pub fn new(loss: Tensor<(), E, T, D>, samples: usize) -> Self {
        Step {
            loss,
            samples,
            correct: None,
            metrics: Vec::new(),
        }
    }
    /// Records how many of the samples were predicted correctly (see [`correct`]).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let step = shaped::train::Step::new(Tensor::<()>::zeros(), 10).with_correct(7);
    /// assert_eq!(step.correct, Some(7));
    /// ```
    pub fn with_correct(mut self, correct: usize) -> Self {
        self.correct = Some(correct);
        self
    }
    /// Adds a custom metric: its mean over this batch. The epoch value is the
    /// sample-weighted mean, stored as `train_<name>` or `val_<name>` in the
    /// [`EpochRecord`](super::EpochRecord).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let step = shaped::train::Step::new(Tensor::<()>::zeros(), 1).with_metric("mae", 0.1);
    /// assert_eq!(step.metrics, vec![("mae".to_string(), 0.1)]);
    /// ```
    pub fn with_metric(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.push((name.into(), value));
        self
    }
}

impl<E: Float, T> Step<E, T> {
    /// The loss as a number.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(shaped::train::Step::new(Tensor::<()>::from_array(1.5), 1).loss_value(), 1.5);
    /// ```
    pub fn loss_value(&self) -> f64 {
        self.loss.as_slice()[0].to_f64()
    }
}

impl<E: Float, T: Tape<E>> Step<E, T> {
    /// The usual classification step: mean cross-entropy of `logits` `(N, C)` against
    /// `labels`, with the number of rows whose argmax is the label. An error if a label is
    /// out of range or the label count differs from the batch.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::train::Step;
    /// let logits = Tensor::<Rank2<2, 3>>::from_array([[2.0, 0.0, 0.0], [0.0, 0.0, 1.0]]);
    /// let step = Step::cross_entropy(logits.trace(), &Indices::from_array([0, 1])).unwrap();
    /// assert_eq!((step.samples, step.correct), (2, Some(1)));
    /// let _grads = step.loss.backward();
    /// ```
    pub fn cross_entropy<N: Dim, C: Dim, N2: DimEq<N>>(
        logits: Tensor<(N, C), E, T>,
        labels: &Indices<(N2,)>,
    ) -> Result<Self> {
        let right = correct(&logits, labels)?;
        let samples = labels.numel();
        let loss = CrossEntropyLoss::new().try_forward(logits, labels)?;
        Ok(Step::new(loss, samples).with_correct(right))
    }
}

/// The number of rows of `logits` `(N, C)` whose largest value (first one on ties) is at
/// the label's position: the numerator of classification accuracy. An error if the counts
/// differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::train::correct;
/// let logits = Tensor::<Rank2<3, 2>>::from_array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]);
/// assert_eq!(correct(&logits, &Indices::from_array([0, 1, 1])).unwrap(), 2);
/// ```
pub fn correct<N: Dim, C: Dim, N2: Dim, E: Float, T>(
    logits: &Tensor<(N, C), E, T>,
    labels: &Indices<(N2,)>,
) -> Result<usize> {
    let (n, c) = (logits.shape().0.size(), logits.shape().1.size());
    if labels.numel() != n {
        return Err(Error::shape(
            "correct",
            format!(
                "{} labels for a batch of {n} rows of logits",
                labels.numel()
            ),
        ));
    }
    if c == 0 {
        return Ok(0);
    }
    let rows = logits.as_slice().chunks(c);
    Ok(rows
        .zip(labels.as_slice())
        .filter(|(row, label)| {
            let mut best = 0;
            for (i, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = i;
                }
            }
            best == **label
        })
        .count())
}

/// Running, sample-weighted averages of the [`Step`]s of one epoch: mean loss, accuracy and
/// custom metrics. The trainer uses one per epoch and phase; a hand-written loop can too.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::train::{Meter, Step};
/// let mut m = Meter::default();
/// m.add(&Step::new(Tensor::<()>::from_array(1.0), 3).with_correct(3));
/// m.add(&Step::new(Tensor::<()>::from_array(2.0), 1).with_correct(0));
/// assert_eq!(m.loss(), 1.25);
/// assert_eq!(m.accuracy(), Some(0.75));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meter {
    loss_sum: f64,
    samples: usize,
    batches: usize,
    correct: usize,
    counted: usize,
    metrics: BTreeMap<String, (f64, usize)>,
}

impl Meter {
    /// Adds one batch.
    pub fn add<E: Float, T>(&mut self, step: &Step<E, T>) {
        self.add_values(step.loss_value(), step.samples, step.correct, &step.metrics);
    }
    /// Adds one batch of `n` samples whose mean loss is `loss`.
    pub(crate) fn add_values(
        &mut self,
        loss: f64,
        n: usize,
        correct: Option<usize>,
        metrics: &[(String, f64)],
    ) {
        self.loss_sum += loss * n as f64;
        self.samples += n;
        self.batches += 1;
        if let Some(c) = correct {
            self.correct += c;
            self.counted += n;
        }
        for (name, v) in metrics {
            let e = self.metrics.entry(name.clone()).or_insert((0.0, 0));
            e.0 += v * n as f64;
            e.1 += n;
        }
    }
    /// Replaces every sum and count by its total over the ranks of `group` (steps must report
    /// the same metric names on every rank).
    pub(crate) fn sum_over_ranks(&mut self, group: &dyn Collective) {
        let mut v = vec![
            self.loss_sum,
            self.samples as f64,
            self.batches as f64,
            self.correct as f64,
            self.counted as f64,
        ];
        for (sum, count) in self.metrics.values() {
            v.extend([*sum, *count as f64]);
        }
        all_reduce_sum(group, &mut v);
        self.loss_sum = v[0];
        // Counts are whole numbers far below 2^53, exact in f64.
        [self.samples, self.batches, self.correct, self.counted] =
            [v[1], v[2], v[3], v[4]].map(|c| c as usize);
        for (i, (sum, count)) in self.metrics.values_mut().enumerate() {
            (*sum, *count) = (v[5 + 2 * i], v[6 + 2 * i] as usize);
        }
    }
    /// The mean loss per sample so far (NaN before any sample).
    pub fn loss(&self) -> f64 {
        self.loss_sum / self.samples as f64
    }
    /// The fraction of correct predictions, when the steps counted them.
    pub fn accuracy(&self) -> Option<f64> {
        (self.counted > 0).then(|| self.correct as f64 / self.counted as f64)
    }
    /// The mean of a custom metric, by name.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let mut m = shaped::train::Meter::default();
    /// m.add(&shaped::train::Step::new(Tensor::<()>::zeros(), 2).with_metric("mae", 0.5));
    /// assert_eq!(m.metric("mae"), Some(0.5));
    /// ```
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).map(|(s, n)| s / *n as f64)
    }
    /// Every custom metric's mean, by name.
    pub fn metrics(&self) -> impl Iterator<Item = (&str, f64)> + '_ {
        self.metrics
            .iter()
            .map(|(k, (s, n))| (k.as_str(), s / *n as f64))
    }
    /// Samples seen.
    pub fn samples(&self) -> usize {
        self.samples
    }
    /// Batches seen.
    pub fn batches(&self) -> usize {
        self.batches
    }
}
