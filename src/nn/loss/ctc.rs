//! The connectionist temporal classification loss (`torch.nn.CTCLoss`, `F.ctc_loss`): the
//! negative log-likelihood of a label sequence given per-step class log-probabilities,
//! summed over every alignment. One fused kernel for the value and one for the gradient
//! (`ops::loss::ctc_op`), PyTorch's CPU recursions term for term.
//!
//! **PyTorch's gradient.** As PyTorch's native kernel, the gradient that reaches
//! `log_probs` is `gy (exp(lp[t, n, c]) - exp(log(sum_{s: l'[s] = c} alpha_t(s) beta_t(s))
//! + nll - lp[t, n, c]))` for `t < input_length` and 0 afterwards: it is the gradient for the
//! logits *before* a `log_softmax` (the log-softmax Jacobian folded in), returned as if for
//! the log-probabilities. It is the true gradient once it flows back through the
//! `log_softmax` that produced `log_probs` (whose Jacobian then maps it to itself, its
//! entries summing to 0 over the classes), so `ctc_loss(log_softmax(logits))` trains the
//! logits correctly, but it is not the derivative with respect to `log_probs` taken alone.

use super::{MeanReduction, Reduce, or_panic};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::loss::{CtcProblem, ctc_op};
use crate::shape::{Dim, Shape};
use crate::tensor::{Indices, Tensor};

const OP: &str = "ctc_loss";

/// The shapes of the log-probabilities [`CTCLoss`] takes: `(T, N, C)`, a batch, or `(T, C)`,
/// one sample (as PyTorch's unbatched input); `Samples` is the shape of the unreduced loss
/// (`(N,)` or `()`).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::CtcShape;
/// let s = <Rank3<5, 2, 4>>::default();
/// assert_eq!((s.time(), s.batch(), s.classes()), (5, 2, 4));
/// assert_eq!(<Rank2<5, 4>>::default().batch(), 1);
/// ```
pub trait CtcShape: Shape {
    /// The shape of one loss per sample: `(N,)`, or `()` for one sample.
    type Samples: Shape;
    /// `T`, the time steps.
    fn time(&self) -> usize;
    /// `N`, the samples (1 for a `(T, C)` input).
    fn batch(&self) -> usize;
    /// `C`, the classes, blank included.
    fn classes(&self) -> usize;
    /// The shape of the unreduced loss.
    fn samples(&self) -> Self::Samples;
}

impl<T: Dim, C: Dim> CtcShape for (T, C) {
    type Samples = ();
    fn time(&self) -> usize {
        self.0.size()
    }
    fn batch(&self) -> usize {
        1
    }
    fn classes(&self) -> usize {
        self.1.size()
    }
    fn samples(&self) {}
}

impl<T: Dim, N: Dim, C: Dim> CtcShape for (T, N, C) {
    type Samples = (N,);
    fn time(&self) -> usize {
        self.0.size()
    }
    fn batch(&self) -> usize {
        self.1.size()
    }
    fn classes(&self) -> usize {
        self.2.size()
    }
    fn samples(&self) -> (N,) {
        (self.1,)
    }
}

/// The CTC loss with PyTorch's defaults (`F.ctc_loss(log_probs, targets, input_lengths,
/// target_lengths)`): blank 0, the mean of each sample's loss over its target length, no
/// `zero_infinity`. See [`CTCLoss`] for the arguments; panics where
/// [`CTCLoss::try_forward`] returns an error.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::ctc_loss;
/// // T = 2 steps, one sample, C = 2 classes (0 is the blank), uniform probabilities
/// let lp = Tensor::<Rank3<2, 1, 2>>::from_array([[[0.5f32.ln(); 2]], [[0.5f32.ln(); 2]]]);
/// let targets = Indices::<Rank2<1, 1>>::from_array2([[1]]);
/// // three alignments of "1" in 2 steps ("1 1", "_ 1", "1 _"), each of probability 1/4
/// let loss = ctc_loss(lp, &targets, &[2], &[1]);
/// assert!((loss.to_vec()[0] - -(0.75f32).ln()).abs() < 1e-6);
/// ```
#[track_caller]
pub fn ctc_loss<S, L, E, T>(
    log_probs: Tensor<S, E, T>,
    targets: &Indices<L>,
    input_lengths: &[usize],
    target_lengths: &[usize],
) -> Tensor<(), E, T>
where
    S: CtcShape,
    L: Shape,
    E: Float,
    T: Tape<E>,
{
    CTCLoss::new().forward(log_probs, targets, input_lengths, target_lengths)
}

/// The connectionist temporal classification loss (`torch.nn.CTCLoss`): per sample
/// `-log p(target | input)`, the probability summed over every alignment of the target
/// (labels with blanks between and around, a repeated label needing a blank between its
/// copies) to the first `input_length` steps of `log_probs`.
///
/// - `log_probs`: `(T, N, C)` log-probabilities (normally a `log_softmax` over `C`), or
///   `(T, C)` for one sample;
/// - `targets`: class indices, either padded `(N, S)` (sample `n` uses the first
///   `target_lengths[n]` entries of its row, the rest are ignored) or concatenated `(sum of
///   the target lengths,)`; for one sample `(1, S)` padded or `(S,)` with `S` its target
///   length (as PyTorch, which reads a 1-D target as concatenated). No label may be the
///   blank;
/// - `input_lengths`, `target_lengths`: one per sample (`input_lengths[n] <= T`).
///
/// Reductions: `none` (`(N,)`, or a scalar for one sample), `sum`, and PyTorch's `mean` (the
/// default): each sample's loss divided by its target length (at least 1), then the mean
/// over the batch. An impossible alignment (an input too short for its target) gives an
/// infinite loss, or 0 with a zero gradient when `zero_infinity`.
///
/// **The gradient is PyTorch's**, quirk included: what reaches `log_probs` is
/// `gy (exp(lp[t, n, c]) - exp(log(sum_{s: l'[s] = c} alpha_t(s) beta_t(s)) + nll -
/// lp[t, n, c]))` for `t < input_length` and 0 afterwards (`gy` the gradient of the
/// sample's loss), which is the gradient for the logits *before* a `log_softmax` (its
/// Jacobian folded in), returned as if for the log-probabilities. Flowing back through the
/// `log_softmax` that made `log_probs` leaves it unchanged (it sums to 0 over the classes),
/// so `ctc_loss(log_softmax(logits))` gets the true gradient for the logits; for
/// `log_probs` taken alone it is not the derivative.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{CTCLoss, Reduction};
/// let lp = Tensor::<Rank3<1, 2, 3>>::from_array([[[0.2f32.ln(), 0.5f32.ln(), 0.3f32.ln()]; 2]]);
/// // concatenated targets: sample 0 is "2", sample 1 the empty sequence
/// let targets = Indices::<Rank1<1>>::from_array([2]);
/// let y = CTCLoss::new().reduction(Reduction::None).forward(lp, &targets, &[1, 1], &[1, 0]);
/// let y = y.to_vec();
/// assert!((y[0] - -(0.3f32).ln()).abs() < 1e-6 && (y[1] - -(0.2f32).ln()).abs() < 1e-6);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CTCLoss<R = MeanReduction> {
    /// The blank class (`blank=`, default 0).
    pub blank: usize,
    /// Whether an infinite loss and its gradient become 0 (`zero_infinity=`, default false).
    pub zero_infinity: bool,
    /// How the per-sample losses are reduced.
    pub reduction: R,
}

impl Default for CTCLoss {
    fn default() -> Self {
        CTCLoss {
            blank: 0,
            zero_infinity: false,
            reduction: MeanReduction,
        }
    }
}

impl CTCLoss {
    /// PyTorch's defaults: blank 0, no `zero_infinity`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::CTCLoss;
    /// let loss = CTCLoss::new();
    /// assert_eq!((loss.blank, loss.zero_infinity), (0, false));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> CTCLoss<R> {
    /// The same loss with another blank class (`blank=`), checked to be `< C` when it runs.
    ///
    /// ```
    /// use shaped::nn::loss::CTCLoss;
    /// assert_eq!(CTCLoss::new().blank(3).blank, 3);
    /// ```
    pub fn blank(self, blank: usize) -> Self {
        CTCLoss { blank, ..self }
    }

    /// The same loss with infinite losses (no alignment) and their gradients set to 0
    /// (`zero_infinity=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CTCLoss;
    /// let lp = Tensor::<Rank3<1, 1, 2>>::from_array([[[0.5f32.ln(); 2]]]);
    /// // "1 1" needs 3 steps (a blank between): impossible in 1
    /// let targets = Indices::<Rank2<1, 2>>::from_array2([[1, 1]]);
    /// assert!(CTCLoss::new().forward(lp.clone(), &targets, &[1], &[2]).to_vec()[0].is_infinite());
    /// let y = CTCLoss::new().zero_infinity(true).forward(lp, &targets, &[1], &[2]);
    /// assert_eq!(y.to_vec(), vec![0.0]);
    /// ```
    pub fn zero_infinity(self, zero_infinity: bool) -> Self {
        CTCLoss {
            zero_infinity,
            ..self
        }
    }

    /// The same loss with another reduction (`reduction=`); `Reduction::None` gives the loss
    /// of each sample, not divided by its target length.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{CTCLoss, Reduction};
    /// let lp = Tensor::<Rank3<1, 2, 2>>::from_array([[[0.5f32.ln(); 2]; 2]]);
    /// let targets = Indices::<Rank2<2, 1>>::from_array2([[1], [1]]);
    /// let y = CTCLoss::new().reduction(Reduction::Sum).forward(lp, &targets, &[1, 1], &[1, 1]);
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> CTCLoss<R2> {
        CTCLoss {
            blank: self.blank,
            zero_infinity: self.zero_infinity,
            reduction,
        }
    }

    /// The loss of `log_probs` (`(T, N, C)` or `(T, C)`) against `targets` (padded `(N, S)`
    /// or concatenated) with one input and one target length per
    /// sample. Panics where [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CTCLoss;
    /// let lp = Tensor::<Rank2<1, 2>>::from_array([[0.25f32.ln(), 0.75f32.ln()]]); // one sample
    /// let y = CTCLoss::new().forward(lp, &Indices::<Rank1<1>>::from_array([1]), &[1], &[1]);
    /// assert!((y.to_vec()[0] - -(0.75f32).ln()).abs() < 1e-6);
    /// ```
    #[track_caller]
    pub fn forward<S, L, E, T>(
        &self,
        log_probs: Tensor<S, E, T>,
        targets: &Indices<L>,
        input_lengths: &[usize],
        target_lengths: &[usize],
    ) -> Tensor<R::Output<S::Samples>, E, T>
    where
        S: CtcShape,
        L: Shape,
        E: Float,
        T: Tape<E>,
    {
        or_panic(self.try_forward(log_probs, targets, input_lengths, target_lengths))
    }

    /// [`forward`](Self::forward), with an error for: no classes, a blank `>= C`, lengths
    /// slices not one per sample, an input length `> T`, a target length longer than its
    /// padded row (or concatenated targets whose length is not the sum of the target
    /// lengths), padded targets with another batch size, targets of another rank, and a
    /// label `>= C` or equal to the blank.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CTCLoss;
    /// let lp = Tensor::<Rank3<3, 1, 2>>::zeros();
    /// let targets = Indices::<Rank2<1, 2>>::from_array2([[1, 0]]);
    /// let err = CTCLoss::new().try_forward(lp.clone(), &targets, &[3], &[2]).unwrap_err();
    /// assert!(err.to_string().contains("equals the blank"), "{err}");
    /// assert!(CTCLoss::new().try_forward(lp.clone(), &targets, &[4], &[1]).is_err());
    /// assert!(CTCLoss::new().try_forward(lp, &targets, &[3], &[1]).is_ok());
    /// ```
    pub fn try_forward<S, L, E, T>(
        &self,
        log_probs: Tensor<S, E, T>,
        targets: &Indices<L>,
        input_lengths: &[usize],
        target_lengths: &[usize],
    ) -> Result<Tensor<R::Output<S::Samples>, E, T>>
    where
        S: CtcShape,
        L: Shape,
        E: Float,
        T: Tape<E>,
    {
        let shape = log_probs.shape;
        let (time, batch, classes) = (shape.time(), shape.batch(), shape.classes());
        if classes == 0 {
            return Err(Error::shape(
                OP,
                "log_probs has 0 classes (its last dimension)",
            ));
        }
        if self.blank >= classes {
            return Err(Error::value(
                "ctc_loss blank",
                format!("blank {} is out of range for {classes} classes", self.blank),
            ));
        }
        check_count("input_lengths", input_lengths, batch)?;
        check_count("target_lengths", target_lengths, batch)?;
        if let Some(n) = input_lengths.iter().position(|&l| l > time) {
            return Err(Error::value(
                "ctc_loss input_lengths",
                format!(
                    "input length {} of sample {n} is longer than the input ({time} steps)",
                    input_lengths[n]
                ),
            ));
        }
        let labels = split_targets(targets, target_lengths, batch)?;
        for (n, row) in labels.iter().enumerate() {
            if let Some(p) = row.iter().position(|&l| l >= classes || l == self.blank) {
                let why = if row[p] == self.blank {
                    "equals the blank".to_string()
                } else {
                    format!("is out of range for {classes} classes")
                };
                return Err(Error::value(
                    "ctc_loss targets",
                    format!("label {} at position {p} of sample {n} {why}", row[p]),
                ));
            }
        }
        let divisors = target_lengths
            .iter()
            .map(|&l| {
                if self.reduction.is_mean() {
                    E::from_usize(l.max(1))
                } else {
                    E::ONE
                }
            })
            .collect();
        let problem = CtcProblem {
            time,
            batch,
            classes,
            blank: self.blank,
            input_lengths: input_lengths.to_vec(),
            targets: labels,
        };
        let y = ctc_op(
            log_probs,
            shape.samples(),
            problem,
            divisors,
            self.zero_infinity,
        );
        Ok(self.reduction.reduce(y))
    }
}

/// An error unless `lengths` holds one entry per sample.
fn check_count(what: &str, lengths: &[usize], batch: usize) -> Result<()> {
    if lengths.len() != batch {
        return Err(Error::Length {
            what: format!("ctc_loss {what} (one per sample)"),
            expected: batch,
            got: lengths.len(),
        });
    }
    Ok(())
}

/// Each sample's labels from padded targets (`(N, S)`; `(1, S)` for one sample) or
/// concatenated ones (`(sum of the target lengths,)`, also the form of one sample's `(S,)`).
fn split_targets<L: Shape>(
    targets: &Indices<L>,
    target_lengths: &[usize],
    batch: usize,
) -> Result<Vec<Vec<usize>>> {
    let dims = targets.shape().dims();
    let data = targets.as_slice();
    match *dims.as_slice() {
        [rows, width] => {
            if rows != batch {
                return Err(Error::shape(
                    OP,
                    format!("padded targets for {rows} samples, log_probs has {batch}"),
                ));
            }
            target_lengths
                .iter()
                .enumerate()
                .map(|(n, &l)| {
                    if l > width {
                        return Err(Error::value(
                            "ctc_loss target_lengths",
                            format!(
                                "target length {l} of sample {n} is longer than the padded targets ({width} per sample)"
                            ),
                        ));
                    }
                    Ok(data[n * width..n * width + l].to_vec())
                })
                .collect()
        }
        [len] => {
            let total: usize = target_lengths.iter().sum();
            if total != len {
                return Err(Error::Length {
                    what: "ctc_loss concatenated targets (the sum of target_lengths)".into(),
                    expected: total,
                    got: len,
                });
            }
            let mut start = 0;
            Ok(target_lengths
                .iter()
                .map(|&l| {
                    let row = data[start..start + l].to_vec();
                    start += l;
                    row
                })
                .collect())
        }
        ref d => Err(Error::shape(
            OP,
            format!(
                "targets of shape {d:?}: expected (N, S) padded or (sum of the target lengths,) concatenated"
            ),
        )),
    }
}
