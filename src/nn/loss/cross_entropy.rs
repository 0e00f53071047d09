//! Cross-entropy and negative log-likelihood over classes.

use super::{LossTape, Reduce, Reduction, check_labels, check_same, check_unit, or_panic};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::binary::{AddKernel, MulKernel, binary_op};
use crate::shape::{Const, Dim, DimEq};
use crate::tensor::{Indices, Tensor};

/// `x[i, labels[i]]` for every row `i`, as a differentiable `(N,)` tensor; labels checked.
fn pick<N: Dim, C: Dim, N2: Dim, E: Float, T: Tape<E>>(
    x: Tensor<(N, C), E, T>,
    labels: &Indices<(N2,)>,
) -> Tensor<(N,), E, T> {
    let idx = Indices::from_parts((x.shape.0, Const::<1>), labels.to_vec());
    x.gather::<1, _>(&idx).squeeze::<1>()
}

/// Cross-entropy between logits `(N, C)` and class labels `(N,)` (`F.cross_entropy`):
/// `mean_i(-log_softmax(logits)[i, labels[i]])`, computed through `log_softmax` so that
/// logits of any magnitude stay finite. Panics, naming the label, if one is `>= C`, or if
/// run-time sizes differ (see [`try_cross_entropy_with`]).
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
    cross_entropy_with(logits, labels, 0.0, Reduction::Mean)
}

/// [`cross_entropy`] with label smoothing and a chosen [`Reduction`]. With
/// `label_smoothing = eps`, the target distribution is `(1 - eps) onehot + eps / C` over
/// all `C` classes, as in PyTorch; `Reduction::None` gives the loss of each sample, `(N,)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{cross_entropy_with, Reduction};
/// let logits = Tensor::<Rank2<1, 2>>::from_array([[0.0, 0.0]]);
/// let labels = Indices::<Rank1<1>>::from_array([0]);
/// let loss: Tensor<Rank1<1>> = cross_entropy_with(logits, &labels, 0.1, Reduction::None);
/// assert!((loss.as_slice()[0] - 2f32.ln()).abs() < 1e-6); // uniform logits: ln 2 anyway
/// ```
pub fn cross_entropy_with<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>, R: Reduce>(
    logits: Tensor<(N, C), E, T>,
    labels: &Indices<(N2,)>,
    label_smoothing: f64,
    reduction: R,
) -> Tensor<R::Output<(N,)>, E, T> {
    or_panic(try_cross_entropy_with(
        logits,
        labels,
        label_smoothing,
        reduction,
    ))
}

/// [`cross_entropy_with`], with an error for a label `>= C`, a label count that differs
/// from the batch at run time, or `label_smoothing` outside `[0, 1]`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_cross_entropy_with, Reduction};
/// let logits = Tensor::<Rank2<2, 3>>::zeros();
/// let labels = Indices::<Rank1<2>>::from_array([0, 3]);
/// let err = try_cross_entropy_with(logits, &labels, 0.0, Reduction::Mean).unwrap_err();
/// assert!(err.to_string().contains("label 3 at position 1 is out of range for 3 classes"));
/// ```
pub fn try_cross_entropy_with<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>, R: Reduce>(
    logits: Tensor<(N, C), E, T>,
    labels: &Indices<(N2,)>,
    label_smoothing: f64,
    reduction: R,
) -> Result<Tensor<R::Output<(N,)>, E, T>> {
    let (n, c) = logits.shape;
    check_labels("cross_entropy", labels, n, c.size())?;
    check_unit("cross_entropy", "label_smoothing", label_smoothing)?;
    let log_p = logits.log_softmax::<1>();
    let per_sample = if label_smoothing == 0.0 {
        pick(log_p, labels).neg()
    } else {
        // -(1 - eps) log p[label] - eps / C * sum_c log p[c]
        let eps = label_smoothing;
        let picked = pick(log_p.clone(), labels).mul_scalar(E::from_f64(eps - 1.0));
        let spread = log_p
            .sum_dim::<1>()
            .mul_scalar(E::from_f64(-eps / c.size() as f64));
        binary_op(picked, spread, (n,), AddKernel)
    };
    Ok(reduction.reduce(per_sample))
}

/// Cross-entropy between logits `(N, C)` and class probabilities `(N, C)`
/// (`F.cross_entropy` with a float target): `mean_i(-sum_c target[i, c]
/// log_softmax(logits)[i, c])`. Each target row should sum to 1 (not checked). Panics if
/// run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::cross_entropy_probs;
/// let logits = Tensor::<Rank2<1, 2>>::from_array([[0.0, 0.0]]);
/// let target = Tensor::<Rank2<1, 2>>::from_array([[0.25, 0.75]]);
/// let loss = cross_entropy_probs(logits, target);
/// assert!((loss.as_slice()[0] - 2f32.ln()).abs() < 1e-6);
/// ```
pub fn cross_entropy_probs<N: Dim, C: Dim, E: Float, T, TR>(
    logits: Tensor<(N, C), E, T>,
    target: Tensor<(N, C), E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    cross_entropy_probs_with(logits, target, 0.0, Reduction::Mean)
}

/// [`cross_entropy_probs`] with label smoothing (the target becomes
/// `(1 - eps) target + eps / C`) and a chosen [`Reduction`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{cross_entropy_probs_with, Reduction};
/// let logits = Tensor::<Rank2<2, 2>>::zeros();
/// let target = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [0.0, 1.0]]);
/// let loss = cross_entropy_probs_with(logits, target, 0.0, Reduction::Sum);
/// assert!((loss.as_slice()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
/// ```
pub fn cross_entropy_probs_with<N: Dim, C: Dim, E: Float, T, TR, R: Reduce>(
    logits: Tensor<(N, C), E, T>,
    target: Tensor<(N, C), E, TR>,
    label_smoothing: f64,
    reduction: R,
) -> Tensor<R::Output<(N,)>, E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    or_panic(try_cross_entropy_probs_with(
        logits,
        target,
        label_smoothing,
        reduction,
    ))
}

/// [`cross_entropy_probs_with`], with an error when run-time sizes differ or
/// `label_smoothing` is outside `[0, 1]`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_cross_entropy_probs_with, Reduction};
/// let logits = Tensor::<(usize, Const<2>)>::zeros_with_shape((3, Const));
/// let target = Tensor::<(usize, Const<2>)>::zeros_with_shape((4, Const));
/// assert!(try_cross_entropy_probs_with(logits, target, 0.0, Reduction::Mean).is_err());
/// ```
pub fn try_cross_entropy_probs_with<N: Dim, C: Dim, E: Float, T, TR, R: Reduce>(
    logits: Tensor<(N, C), E, T>,
    target: Tensor<(N, C), E, TR>,
    label_smoothing: f64,
    reduction: R,
) -> Result<Tensor<R::Output<(N,)>, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_same("cross_entropy", &logits.shape, &target.shape)?;
    check_unit("cross_entropy", "label_smoothing", label_smoothing)?;
    let shape = logits.shape;
    let target = if label_smoothing == 0.0 {
        target
    } else {
        let eps = label_smoothing;
        target
            .mul_scalar(E::from_f64(1.0 - eps))
            .add_scalar(E::from_f64(eps / shape.1.size() as f64))
    };
    let log_p = logits.log_softmax::<1>();
    Ok(reduction.reduce(
        binary_op(log_p, target, shape, MulKernel)
            .sum_dim::<1>()
            .neg(),
    ))
}

/// Negative log-likelihood (`F.nll_loss`) of log-probabilities `(N, C)` (e.g. from
/// `log_softmax::<1>()`) and class labels `(N,)`: `mean_i(-log_probs[i, labels[i]])`.
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
    nll_loss_with(log_probs, labels, Reduction::Mean)
}

/// [`nll_loss`] with a chosen [`Reduction`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{nll_loss_with, Reduction};
/// let log_probs = Tensor::<Rank2<2, 2>>::from_array([[-0.1, -2.0], [-3.0, -0.5]]);
/// let loss = nll_loss_with(log_probs, &Indices::<Rank1<2>>::from_array([1, 1]), Reduction::None);
/// assert_eq!(loss.to_vec(), vec![2.0, 0.5]);
/// ```
pub fn nll_loss_with<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>, R: Reduce>(
    log_probs: Tensor<(N, C), E, T>,
    labels: &Indices<(N2,)>,
    reduction: R,
) -> Tensor<R::Output<(N,)>, E, T> {
    or_panic(try_nll_loss_with(log_probs, labels, reduction))
}

/// [`nll_loss_with`], with an error for a label `>= C` or a label count that differs from
/// the batch at run time.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_nll_loss_with, Reduction};
/// let log_probs = Tensor::<(usize, Const<2>)>::zeros_with_shape((3, Const));
/// let labels = Indices::<(usize,)>::from_vec_with_shape(vec![0, 1], (2,)).unwrap();
/// let err = try_nll_loss_with(log_probs, &labels, Reduction::Mean).unwrap_err();
/// assert!(err.to_string().contains("2 labels for a batch of 3"));
/// ```
pub fn try_nll_loss_with<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>, R: Reduce>(
    log_probs: Tensor<(N, C), E, T>,
    labels: &Indices<(N2,)>,
    reduction: R,
) -> Result<Tensor<R::Output<(N,)>, E, T>> {
    let (n, c) = log_probs.shape;
    check_labels("nll_loss", labels, n, c.size())?;
    Ok(reduction.reduce(pick(log_probs, labels).neg()))
}
