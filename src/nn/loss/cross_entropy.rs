//! Cross-entropy and negative log-likelihood over classes, with class weights,
//! `ignore_index` and label smoothing as PyTorch.

use super::{
    ClassWeights, LossTape, MeanReduction, NoWeight, Reduce, as_pred_shape, check_labels,
    check_unit, or_panic,
};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::{AddKernel, MulKernel, binary_op};
use crate::ops::loss::mul_constant;
use crate::shape::check::{CrossEntropyProbsShape, LossTargetCheck};
use crate::shape::{Const, Dim, DimEq, LossTarget, Shape};
use crate::tensor::{Indices, Tensor};

/// `x[i, labels[i]]` for every row `i`, as a differentiable `(N,)` tensor.
fn pick<N: Dim, C: Dim, E: Float, T: Tape<E>>(
    x: Tensor<(N, C), E, T>,
    labels: Vec<usize>,
) -> Tensor<(N,), E, T> {
    let idx = Indices::from_parts((x.shape.0, Const::<1>), labels);
    x.gather::<1, _>(&idx).squeeze::<1>()
}

/// What the class weights and `ignore_index` make of a batch of labels: the weight of each
/// sample (`w[label]`, or 1), which samples count, labels safe to index with (an ignored
/// label may be any number), and the total weight of the counted samples, PyTorch's
/// denominator of the weighted mean.
struct SampleWeights<E> {
    weight: Vec<E>,
    keep: Option<Vec<bool>>,
    labels: Vec<usize>,
    total: f64,
}

fn sample_weights<E: Float>(
    labels: &[usize],
    class_weights: Option<&[E]>,
    ignore_index: Option<usize>,
) -> SampleWeights<E> {
    let keep: Option<Vec<bool>> = ignore_index.map(|ig| labels.iter().map(|&l| l != ig).collect());
    let counted = |i: usize| keep.as_ref().is_none_or(|k| k[i]);
    let safe: Vec<usize> = (0..labels.len())
        .map(|i| if counted(i) { labels[i] } else { 0 })
        .collect();
    let weight: Vec<E> = safe
        .iter()
        .map(|&l| class_weights.map_or(E::ONE, |w| w[l]))
        .collect();
    let total = (0..labels.len())
        .filter(|&i| counted(i))
        .map(|i| weight[i].to_f64())
        .sum();
    SampleWeights {
        weight,
        keep,
        labels: safe,
        total,
    }
}

/// `-w[label] log_probs[i, label]` per sample, 0 where ignored; with the weights, for the
/// weighted mean. `weighted` is false when there are neither weights nor an ignore index
/// (the plain mean).
fn weighted_nll<N: Dim, C: Dim, E: Float, T: Tape<E>>(
    log_probs: Tensor<(N, C), E, T>,
    labels: &[usize],
    class_weights: Option<&[E]>,
    ignore_index: Option<usize>,
) -> (Tensor<(N,), E, T>, SampleWeights<E>, bool) {
    let sw = sample_weights(labels, class_weights, ignore_index);
    let nll = pick(log_probs, sw.labels.clone()).neg();
    if class_weights.is_none() && ignore_index.is_none() {
        return (nll, sw, false);
    }
    let nll = mul_constant(nll, sw.weight.clone(), sw.keep.clone());
    (nll, sw, true)
}

/// The same tensor with another shape type of the same dims.
fn relabel<S: Shape, S2: Shape, E: Float, T>(x: Tensor<S, E, T>, shape: S2) -> Tensor<S2, E, T> {
    debug_assert_eq!(x.shape.dims(), shape.dims());
    Tensor {
        shape,
        data: x.data,
        id: x.id,
        tape: x.tape,
    }
}

/// The per-sample losses of [`CrossEntropyLoss::try_forward`] (checked arguments), at
/// run-time sizes: the whole composition is compiled once per element and tape type rather
/// than once per `(N, C)`, and never inlined, so that programs at `f32` link to this crate's
/// instances (see `backend::precompiled`). Returns the losses, whether they are weighted and
/// the total weight.
#[inline(never)]
fn cross_entropy_samples<E: Float, T: Tape<E>>(
    logits: Tensor<(usize, usize), E, T>,
    labels: &[usize],
    class_weights: Option<&[E]>,
    ignore_index: Option<usize>,
    eps: f64,
) -> (Tensor<(usize,), E, T>, bool, f64) {
    let (n, c) = logits.shape;
    let log_p = logits.log_softmax::<1>();
    let (nll, sw, weighted) = weighted_nll(log_p.clone(), labels, class_weights, ignore_index);
    let per_sample = if eps == 0.0 {
        nll
    } else {
        // (1 - eps) nll - eps / C * sum_c w_c log p[c], the second term 0 where ignored.
        let spread = match class_weights {
            Some(w) => {
                let tiled = w.iter().copied().cycle().take(n * w.len()).collect();
                mul_constant(log_p, tiled, None)
            }
            None => log_p,
        };
        let mut spread = spread.sum_dim::<1>().neg();
        if let Some(keep) = sw.keep.clone() {
            spread = mul_constant(spread, vec![E::ONE; keep.len()], Some(keep));
        }
        let spread = spread.mul_scalar(E::from_f64(eps / c as f64));
        binary_op(
            nll.mul_scalar(E::from_f64(1.0 - eps)),
            spread,
            (n,),
            AddKernel,
        )
    };
    (per_sample, weighted, sw.total)
}

crate::instances::shared_instances!(cross_entropy_samples::<f32, crate::autograd::OwnedTape<f32>>);

/// Cross-entropy between logits `(N, C)` and class labels `(N,)`, averaged
/// (`F.cross_entropy`): [`CrossEntropyLoss`] with PyTorch's defaults,
/// `mean_i(-log_softmax(logits)[i, labels[i]])`. Panics, naming the label, if one is `>= C`,
/// or if run-time sizes differ (see [`CrossEntropyLoss::try_forward`]).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::cross_entropy;
/// let logits = Tensor::<Rank2<2, 3>>::from_array([[1000.0, 0.0, 0.0], [0.0, 0.0, 0.0]]);
/// let labels = Indices::<Rank1<2>>::from_array([0, 2]);
/// let loss = cross_entropy(logits.clone().trace(), &labels);
/// assert!((loss.as_slice()[0] - 3f32.ln() / 2.0).abs() < 1e-6);
/// let grads = loss.backward(); // (softmax - onehot) / N
/// let g = grads.get(&logits).unwrap().to_vec();
/// assert!((g[5] - (1.0 / 3.0 - 1.0) / 2.0).abs() < 1e-6);
/// ```
pub fn cross_entropy<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
    logits: Tensor<(N, C), E, T>,
    labels: &Indices<(N2,)>,
) -> Tensor<(), E, T> {
    CrossEntropyLoss::new().forward(logits, labels)
}

/// Cross-entropy between logits `(N, C)` and class probabilities `(N, C)`, averaged
/// (`F.cross_entropy` with a float target): [`CrossEntropyLoss::forward_probs`] with
/// PyTorch's defaults. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::cross_entropy_probs;
/// let logits = Tensor::<Rank2<1, 2>>::from_array([[0.0, 0.0]]);
/// let target = Tensor::<Rank2<1, 2>>::from_array([[0.25, 0.75]]);
/// let loss = cross_entropy_probs(logits, target);
/// assert!((loss.as_slice()[0] - 2f32.ln()).abs() < 1e-6);
/// ```
pub fn cross_entropy_probs<N: Dim, C: Dim, S2: Shape, E: Float, T, TR>(
    logits: Tensor<(N, C), E, T>,
    target: Tensor<S2, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
    (N, C): LossTarget<S2>,
{
    let () = LossTargetCheck::<(N, C), S2, CrossEntropyProbsShape>::OK;
    CrossEntropyLoss::new().forward_probs(logits, target)
}

/// Cross-entropy over classes (`torch.nn.CrossEntropyLoss`), on logits `(N, C)` (through
/// `log_softmax`, finite for logits of any size) against class labels ([`forward`](Self::forward))
/// or class probabilities ([`forward_probs`](Self::forward_probs)). Defaults: no class
/// weights, no ignored label, no label smoothing, the mean.
///
/// With labels, the loss of sample `i` is `-w[y_i] log p[i, y_i]` (0 where `y_i` is the
/// `ignore_index`), and the mean divides by the sum of `w[y_i]` over the counted samples, as
/// PyTorch. With `label_smoothing = eps` the target is `(1 - eps) onehot + eps / C` over all
/// `C` classes and the smoothing term is weighted by the class weights too (PyTorch's rule).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{CrossEntropyLoss, Reduction};
/// let logits = Tensor::<Rank2<3, 2>>::zeros();
/// let labels = Indices::<Rank1<3>>::from_array([0, 1, 1]);
/// let w = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
/// let loss = CrossEntropyLoss::new().weight(w).ignore_index(0).reduction(Reduction::None);
/// let y = loss.forward(logits, &labels);
/// assert_eq!(y.to_vec(), vec![0.0, 3.0 * 2f32.ln(), 3.0 * 2f32.ln()]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CrossEntropyLoss<W = NoWeight, R = MeanReduction> {
    /// A weight per class (`weight=`): [`NoWeight`] or a constant `(C,)` tensor.
    pub weight: W,
    /// A label whose samples are skipped (`ignore_index=`; PyTorch's default -100 is `None`).
    pub ignore_index: Option<usize>,
    /// The smoothing `eps` in `[0, 1]` (`label_smoothing=`, default 0).
    pub label_smoothing: f64,
    /// How the per-sample losses are reduced.
    pub reduction: R,
}

impl CrossEntropyLoss {
    /// PyTorch's defaults: no weights, no ignored label, no smoothing, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::CrossEntropyLoss;
    /// let loss = CrossEntropyLoss::new();
    /// assert_eq!((loss.ignore_index, loss.label_smoothing), (None, 0.0));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<W, R: Reduce> CrossEntropyLoss<W, R> {
    /// The same loss with a weight per class (`weight=`), a constant `(C,)` tensor.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CrossEntropyLoss;
    /// let w = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
    /// let labels = Indices::<Rank1<2>>::from_array([0, 1]);
    /// let y = CrossEntropyLoss::new().weight(w).forward(Tensor::<Rank2<2, 2>>::zeros(), &labels);
    /// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6); // (1 + 3) ln 2 / (1 + 3)
    /// ```
    pub fn weight<W2>(self, weight: W2) -> CrossEntropyLoss<W2, R> {
        CrossEntropyLoss {
            weight,
            ignore_index: self.ignore_index,
            label_smoothing: self.label_smoothing,
            reduction: self.reduction,
        }
    }

    /// The same loss skipping the samples labelled `ignore_index` (`ignore_index=`): they add
    /// 0, get no gradient and do not count in the mean. Labels form only.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CrossEntropyLoss;
    /// let logits = Tensor::<Rank2<2, 2>>::from_array([[0.0, 0.0], [f32::NAN, 0.0]]);
    /// let labels = Indices::<Rank1<2>>::from_array([0, 255]); // 255: padding
    /// let y = CrossEntropyLoss::new().ignore_index(255).forward(logits, &labels);
    /// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn ignore_index(self, ignore_index: usize) -> Self {
        CrossEntropyLoss {
            ignore_index: Some(ignore_index),
            ..self
        }
    }

    /// The same loss with label smoothing `eps` (`label_smoothing=`, checked to lie in
    /// `[0, 1]` when the loss runs).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CrossEntropyLoss;
    /// let labels = Indices::<Rank1<1>>::from_array([0]);
    /// let y = CrossEntropyLoss::new().label_smoothing(0.1).forward(Tensor::<Rank2<1, 2>>::zeros(), &labels);
    /// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6); // uniform logits: ln 2 anyway
    /// ```
    pub fn label_smoothing(self, label_smoothing: f64) -> Self {
        CrossEntropyLoss {
            label_smoothing,
            ..self
        }
    }

    /// The same loss with another reduction (`reduction=`); `Reduction::None` gives the loss
    /// of each sample, `(N,)`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{CrossEntropyLoss, Reduction};
    /// let labels = Indices::<Rank1<2>>::from_array([0, 1]);
    /// let y = CrossEntropyLoss::new().reduction(Reduction::Sum).forward(Tensor::<Rank2<2, 2>>::zeros(), &labels);
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> CrossEntropyLoss<W, R2> {
        CrossEntropyLoss {
            weight: self.weight,
            ignore_index: self.ignore_index,
            label_smoothing: self.label_smoothing,
            reduction,
        }
    }

    /// The loss of `logits` `(N, C)` against class `labels` `(N,)`. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CrossEntropyLoss;
    /// let labels = Indices::<Rank1<1>>::from_array([1]);
    /// let y = CrossEntropyLoss::new().forward(Tensor::<Rank2<1, 2>>::zeros(), &labels);
    /// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn forward<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
        &self,
        logits: Tensor<(N, C), E, T>,
        labels: &Indices<(N2,)>,
    ) -> Tensor<R::Output<(N,)>, E, T>
    where
        W: ClassWeights<C, E>,
    {
        or_panic(self.try_forward(logits, labels))
    }

    /// [`forward`](Self::forward), with an error for a label `>= C` (other than the
    /// `ignore_index`), a label count or weight count that differs at run time, or
    /// `label_smoothing` outside `[0, 1]`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CrossEntropyLoss;
    /// let labels = Indices::<Rank1<2>>::from_array([0, 3]);
    /// let err = CrossEntropyLoss::new().try_forward(Tensor::<Rank2<2, 3>>::zeros(), &labels).unwrap_err();
    /// assert!(err.to_string().contains("label 3 at position 1 is out of range for 3 classes"));
    /// ```
    pub fn try_forward<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
        &self,
        logits: Tensor<(N, C), E, T>,
        labels: &Indices<(N2,)>,
    ) -> Result<Tensor<R::Output<(N,)>, E, T>>
    where
        W: ClassWeights<C, E>,
    {
        const OP: &str = "cross_entropy";
        let (n, c) = logits.shape;
        check_labels(OP, labels, n, c.size(), self.ignore_index)?;
        check_unit(OP, "label_smoothing", self.label_smoothing)?;
        let class_weights = self.weight.class_weights(OP, c)?;
        let (per_sample, weighted, total) = cross_entropy_samples(
            relabel(logits, (n.size(), c.size())),
            labels.as_slice(),
            class_weights,
            self.ignore_index,
            self.label_smoothing,
        );
        let per_sample = relabel(per_sample, (n,));
        Ok(if weighted {
            self.reduction.reduce_weighted(per_sample, total)
        } else {
            self.reduction.reduce(per_sample)
        })
    }

    /// The loss of `logits` `(N, C)` against class probabilities `target` `(N, C)` (rows
    /// summing to 1, not checked): `-sum_c w_c t_c log p_c` per sample; the mean divides by
    /// `N` (PyTorch's rule for probability targets, weights or not). Panics where
    /// [`try_forward_probs`](Self::try_forward_probs) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{CrossEntropyLoss, Reduction};
    /// let target = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [0.0, 1.0]]);
    /// let loss = CrossEntropyLoss::new().reduction(Reduction::Sum);
    /// let y = loss.forward_probs(Tensor::<Rank2<2, 2>>::zeros(), target);
    /// assert!((y.as_slice()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn forward_probs<N: Dim, C: Dim, S2: Shape, E: Float, T, TR>(
        &self,
        logits: Tensor<(N, C), E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<(N,)>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ClassWeights<C, E>,
        (N, C): LossTarget<S2>,
    {
        let () = LossTargetCheck::<(N, C), S2, CrossEntropyProbsShape>::OK;
        or_panic(self.try_forward_probs(logits, target))
    }

    /// [`forward_probs`](Self::forward_probs), with an error when run-time sizes differ,
    /// `label_smoothing` is outside `[0, 1]`, or an `ignore_index` is set (PyTorch rejects it
    /// with probability targets too).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CrossEntropyLoss;
    /// let logits = Tensor::<(usize, Const<2>)>::zeros_with_shape((3, Const));
    /// let target = Tensor::<(usize, Const<2>)>::zeros_with_shape((4, Const));
    /// assert!(CrossEntropyLoss::new().try_forward_probs(logits, target).is_err());
    /// ```
    pub fn try_forward_probs<N: Dim, C: Dim, S2: Shape, E: Float, T, TR>(
        &self,
        logits: Tensor<(N, C), E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<(N,)>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ClassWeights<C, E>,
        (N, C): LossTarget<S2>,
    {
        let () = LossTargetCheck::<(N, C), S2, CrossEntropyProbsShape>::OK;
        const OP: &str = "cross_entropy";
        let target = as_pred_shape(OP, &logits.shape, target)?;
        check_unit(OP, "label_smoothing", self.label_smoothing)?;
        if let Some(i) = self.ignore_index {
            return Err(Error::value(
                "cross_entropy ignore_index",
                format!("{i} is set, but probability targets cannot ignore a class"),
            ));
        }
        let shape = logits.shape;
        let class_weights = self.weight.class_weights(OP, shape.1)?;
        let eps = self.label_smoothing;
        let target = if eps == 0.0 {
            target
        } else {
            target
                .mul_scalar(E::from_f64(1.0 - eps))
                .add_scalar(E::from_f64(eps / shape.1.size() as f64))
        };
        let log_p = logits.log_softmax::<1>();
        let mut terms = binary_op(log_p, target, shape, MulKernel);
        if let Some(w) = class_weights {
            let tiled = w.iter().copied().cycle().take(shape.0.size() * w.len());
            terms = mul_constant(terms, tiled.collect(), None);
        }
        Ok(self.reduction.reduce(terms.sum_dim::<1>().neg()))
    }
}

/// Negative log-likelihood of log-probabilities `(N, C)` (e.g. from `log_softmax::<1>()`)
/// and class labels `(N,)`, averaged (`F.nll_loss`): [`NLLLoss`] with PyTorch's defaults.
/// Panics, naming the label, if one is `>= C`, or if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::nll_loss;
/// let log_probs = Tensor::<Rank2<2, 2>>::from_array([[-0.1, -2.0], [-3.0, -0.5]]);
/// let loss = nll_loss(log_probs, &Indices::<Rank1<2>>::from_array([0, 1]));
/// assert!((loss.as_slice()[0] - 0.3).abs() < 1e-6);
/// ```
pub fn nll_loss<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
    log_probs: Tensor<(N, C), E, T>,
    labels: &Indices<(N2,)>,
) -> Tensor<(), E, T> {
    NLLLoss::new().forward(log_probs, labels)
}

/// Negative log-likelihood (`torch.nn.NLLLoss`): `-w[y_i] log_probs[i, y_i]` per sample, 0
/// where `y_i` is the `ignore_index`; the mean divides by the sum of `w[y_i]` over the counted
/// samples, as PyTorch. Defaults: no weights, no ignored label, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{NLLLoss, Reduction};
/// let log_probs = Tensor::<Rank2<2, 2>>::from_array([[-0.1, -2.0], [-3.0, -0.5]]);
/// let loss = NLLLoss::new().reduction(Reduction::None);
/// assert_eq!(loss.forward(log_probs, &Indices::<Rank1<2>>::from_array([1, 1])).to_vec(), vec![2.0, 0.5]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NLLLoss<W = NoWeight, R = MeanReduction> {
    /// A weight per class (`weight=`): [`NoWeight`] or a constant `(C,)` tensor.
    pub weight: W,
    /// A label whose samples are skipped (`ignore_index=`; PyTorch's default -100 is `None`).
    pub ignore_index: Option<usize>,
    /// How the per-sample losses are reduced.
    pub reduction: R,
}

impl NLLLoss {
    /// PyTorch's defaults: no weights, no ignored label, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::NLLLoss;
    /// assert_eq!(NLLLoss::new().ignore_index, None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<W, R: Reduce> NLLLoss<W, R> {
    /// The same loss with a weight per class (`weight=`), a constant `(C,)` tensor.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::NLLLoss;
    /// let log_probs = Tensor::<Rank2<2, 2>>::from_array([[-1.0, -2.0], [-3.0, -4.0]]);
    /// let w = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
    /// let y = NLLLoss::new().weight(w).forward(log_probs, &Indices::<Rank1<2>>::from_array([0, 1]));
    /// assert_eq!(y.to_vec(), vec![(1.0 + 12.0) / 4.0]);
    /// ```
    pub fn weight<W2>(self, weight: W2) -> NLLLoss<W2, R> {
        NLLLoss {
            weight,
            ignore_index: self.ignore_index,
            reduction: self.reduction,
        }
    }

    /// The same loss skipping the samples labelled `ignore_index` (`ignore_index=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::NLLLoss;
    /// let log_probs = Tensor::<Rank2<2, 2>>::from_array([[-1.0, -2.0], [-3.0, -4.0]]);
    /// let y = NLLLoss::new().ignore_index(0).forward(log_probs, &Indices::<Rank1<2>>::from_array([0, 1]));
    /// assert_eq!(y.to_vec(), vec![4.0]);
    /// ```
    pub fn ignore_index(self, ignore_index: usize) -> Self {
        NLLLoss {
            ignore_index: Some(ignore_index),
            ..self
        }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{NLLLoss, Reduction};
    /// let log_probs = Tensor::<Rank2<2, 2>>::from_array([[-1.0, -2.0], [-3.0, -4.0]]);
    /// let y = NLLLoss::new().reduction(Reduction::Sum).forward(log_probs, &Indices::<Rank1<2>>::from_array([0, 1]));
    /// assert_eq!(y.to_vec(), vec![5.0]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> NLLLoss<W, R2> {
        NLLLoss {
            weight: self.weight,
            ignore_index: self.ignore_index,
            reduction,
        }
    }

    /// The loss of `log_probs` `(N, C)` against class `labels` `(N,)`. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::NLLLoss;
    /// let log_probs = Tensor::<Rank2<1, 2>>::from_array([[-1.0, -2.0]]);
    /// assert_eq!(NLLLoss::new().forward(log_probs, &Indices::<Rank1<1>>::from_array([1])).to_vec(), vec![2.0]);
    /// ```
    pub fn forward<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
        &self,
        log_probs: Tensor<(N, C), E, T>,
        labels: &Indices<(N2,)>,
    ) -> Tensor<R::Output<(N,)>, E, T>
    where
        W: ClassWeights<C, E>,
    {
        or_panic(self.try_forward(log_probs, labels))
    }

    /// [`forward`](Self::forward), with an error for a label `>= C` (other than the
    /// `ignore_index`) or a label count or weight count that differs at run time.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::NLLLoss;
    /// let log_probs = Tensor::<(usize, Const<2>)>::zeros_with_shape((3, Const));
    /// let labels = Indices::<(usize,)>::from_vec_with_shape(vec![0, 1], (2,)).unwrap();
    /// let err = NLLLoss::new().try_forward(log_probs, &labels).unwrap_err();
    /// assert!(err.to_string().contains("2 labels for a batch of 3"));
    /// ```
    pub fn try_forward<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
        &self,
        log_probs: Tensor<(N, C), E, T>,
        labels: &Indices<(N2,)>,
    ) -> Result<Tensor<R::Output<(N,)>, E, T>>
    where
        W: ClassWeights<C, E>,
    {
        const OP: &str = "nll_loss";
        let (n, c) = log_probs.shape;
        check_labels(OP, labels, n, c.size(), self.ignore_index)?;
        let class_weights = self.weight.class_weights(OP, c)?;
        let (nll, sw, weighted) = weighted_nll(
            log_probs,
            labels.as_slice(),
            class_weights,
            self.ignore_index,
        );
        Ok(if weighted {
            self.reduction.reduce_weighted(nll, sw.total)
        } else {
            self.reduction.reduce(nll)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::loss::Reduction;

    /// The losses run at run-time sizes inside (`cross_entropy_samples`, shared by every
    /// `(N, C)`): static and run-time shapes give the same loss and gradient, with every
    /// option on (weights, an ignored label, smoothing) and off.
    #[test]
    fn static_and_run_time_shapes_agree() {
        let x: Vec<f32> = (0..12).map(|i| (i as f32 * 0.7).sin() * 3.0).collect();
        let labels = [2, 0, 3];
        let weights = || Tensor::<(Const<4>,)>::from_array([0.5, 1.0, 2.0, 1.5]);
        for (smoothing, ignore) in [(0.0, None), (0.2, Some(0)), (0.1, None), (0.0, Some(3))] {
            let mut loss = CrossEntropyLoss::new()
                .weight(weights())
                .label_smoothing(smoothing);
            if let Some(i) = ignore {
                loss = loss.ignore_index(i);
            }
            let xs = Tensor::<(Const<3>, Const<4>)>::from_vec(x.clone()).unwrap();
            let ys = loss.forward(
                xs.clone().trace(),
                &Indices::<(Const<3>,)>::from_array(labels),
            );
            let xd = Tensor::<(usize, usize)>::from_vec_with_shape(x.clone(), (3, 4)).unwrap();
            let ld = Indices::<(usize,)>::from_vec_with_shape(labels.to_vec(), (3,)).unwrap();
            let yd = loss.forward(xd.clone().trace(), &ld);
            assert_eq!(ys.to_vec(), yd.to_vec());
            let (gs, gd) = (ys.backward(), yd.backward());
            assert_eq!(gs.get(&xs).unwrap().to_vec(), gd.get(&xd).unwrap().to_vec());
            let none = CrossEntropyLoss::new().reduction(Reduction::None);
            let ys = none.forward(xs, &Indices::<(Const<3>,)>::from_array(labels));
            assert_eq!(ys.to_vec(), none.forward(xd, &ld).to_vec());
        }
    }
}
