//! Binary cross-entropy, on probabilities and on logits.

use super::{
    ElementWeights, LossTape, MeanReduction, NoWeight, PosWeights, Reduce, as_pred_shape, or_panic,
};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::binary_op;
use crate::ops::loss::{BceKernel, BceWithLogitsKernel, bce_with_logits_pos_weight, mul_constant};
use crate::shape::check::{BceLossShape, BceWithLogitsShape, LossTargetCheck};
use crate::shape::{LossTarget, Shape};
use crate::tensor::Tensor;

/// Binary cross-entropy on probabilities, averaged (`F.binary_cross_entropy`): [`BCELoss`]
/// with PyTorch's defaults. Panics if run-time sizes differ or a prediction or target lies
/// outside `[0, 1]` (see [`BCELoss::try_forward`]). Prefer
/// [`binary_cross_entropy_with_logits`] on logits: it is stable where `sigmoid` saturates.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::binary_cross_entropy;
/// let p = Tensor::<Rank1<2>>::from_array([0.5, 0.0]);
/// let loss = binary_cross_entropy(p, Tensor::from_array([1.0, 1.0]));
/// assert!((loss.to_vec()[0] - (2f32.ln() + 100.0) / 2.0).abs() < 1e-4); // clamped at 100
/// ```
pub fn binary_cross_entropy<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, BceLossShape>::OK;
    BCELoss::new().forward(pred, target)
}

/// Binary cross-entropy on probabilities (`torch.nn.BCELoss`):
/// `-w (t ln p + (1 - t) ln(1 - p))` for every element, logarithms clamped at -100 as in
/// PyTorch, reduced by `reduction`. Defaults: no weight, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{BCELoss, Reduction};
/// let p = Tensor::<Rank1<2>>::from_array([0.5, 0.5]);
/// let loss = BCELoss::new().reduction(Reduction::None).forward(p, Tensor::from_array([1.0, 0.0]));
/// assert_eq!(loss.to_vec(), vec![2f32.ln(), 2f32.ln()]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BCELoss<W = NoWeight, R = MeanReduction> {
    /// A weight for every element (`weight=`): [`NoWeight`] or a constant tensor that
    /// broadcasts to the input.
    pub weight: W,
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl BCELoss {
    /// PyTorch's defaults: no weight, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::{BCELoss, NoWeight};
    /// assert_eq!(BCELoss::new().weight, NoWeight);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<W, R: Reduce> BCELoss<W, R> {
    /// The same loss with a weight for every element (`weight=`), a constant tensor that
    /// broadcasts to the input's shape.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{BCELoss, Reduction};
    /// let w = Tensor::<Rank1<2>>::from_array([2.0, 0.0]);
    /// let loss = BCELoss::new().weight(w).reduction(Reduction::Sum);
    /// let y = loss.forward(Tensor::<Rank1<2>>::from_array([0.5, 0.5]), Tensor::zeros());
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn weight<W2>(self, weight: W2) -> BCELoss<W2, R> {
        BCELoss {
            weight,
            reduction: self.reduction,
        }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{BCELoss, Reduction};
    /// let y = BCELoss::new().reduction(Reduction::Sum).forward(Tensor::<Rank1<2>>::from_array([0.5, 0.5]), Tensor::ones());
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> BCELoss<W, R2> {
        BCELoss {
            weight: self.weight,
            reduction,
        }
    }

    /// The loss of probabilities `pred` against `target`. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::BCELoss;
    /// let y = BCELoss::new().forward(Tensor::<Rank1<1>>::from_array([0.5]), Tensor::zeros());
    /// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ElementWeights<S, E>,
    {
        let () = LossTargetCheck::<S, S2, BceLossShape>::OK;
        or_panic(self.try_forward(pred, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ, the weight does
    /// not broadcast, or a prediction or target is not in `[0, 1]` (PyTorch's check, NaN
    /// included).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::BCELoss;
    /// let p = Tensor::<Rank1<2>>::from_array([0.5, 1.5]);
    /// let err = BCELoss::new().try_forward(p, Tensor::zeros()).unwrap_err();
    /// assert!(err.to_string().contains("1.5"));
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ElementWeights<S, E>,
    {
        let () = LossTargetCheck::<S, S2, BceLossShape>::OK;
        const OP: &str = "binary_cross_entropy";
        let target = as_pred_shape(OP, &pred.shape, target)?;
        check_probabilities("prediction", pred.as_slice())?;
        check_probabilities("target", target.as_slice())?;
        let shape = pred.shape;
        let weight = self.weight.element_weights(OP, &shape)?;
        let per_element = binary_op(pred, target, shape, BceKernel);
        Ok(self.reduction.reduce(match weight {
            Some(w) => mul_constant(per_element, w, None),
            None => per_element,
        }))
    }
}

fn check_probabilities<E: Float>(what: &str, v: &[E]) -> Result<()> {
    match v.iter().position(|&v| !(v >= E::ZERO && v <= E::ONE)) {
        None => Ok(()),
        Some(p) => Err(Error::value(
            format!("binary_cross_entropy {what}"),
            format!("{} at position {p} is not a probability in [0, 1]", v[p]),
        )),
    }
}

/// Binary cross-entropy on logits, averaged (`F.binary_cross_entropy_with_logits`):
/// [`BCEWithLogitsLoss`] with PyTorch's defaults. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::binary_cross_entropy_with_logits;
/// let x = Tensor::<Rank1<2>, f64>::from_array([100.0, -100.0]);
/// let grads = binary_cross_entropy_with_logits(x.clone().trace(), Tensor::from_array([0.0, 0.0])).backward();
/// let g = grads.get(&x).unwrap().to_vec(); // (sigmoid(x) - t) / 2
/// assert!((g[0] - 0.5).abs() < 1e-15 && g[1] > 0.0 && g[1] < 1e-40);
/// ```
pub fn binary_cross_entropy_with_logits<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    logits: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, BceWithLogitsShape>::OK;
    BCEWithLogitsLoss::new().forward(logits, target)
}

/// Binary cross-entropy on logits (`torch.nn.BCEWithLogitsLoss`), PyTorch's formula
/// `w ((1 - t) x - (1 + (p - 1) t) log_sigmoid(x))` for every element, reduced: equal to
/// BCE of `sigmoid(x)` but finite for logits of any size, and equal to PyTorch at infinite
/// and NaN logits and targets (for example `inf` at logit `+inf`, target 0). `p` is the
/// positive-class weight (`pos_weight=`, over the last dimension) and `w` the element weight
/// (`weight=`). Defaults: neither, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{BCEWithLogitsLoss, Reduction};
/// let x = Tensor::<Rank1<2>>::from_array([0.0, 50.0]);
/// let loss = BCEWithLogitsLoss::new().reduction(Reduction::None).forward(x, Tensor::from_array([1.0, 0.0]));
/// assert_eq!(loss.to_vec(), vec![2f32.ln(), 50.0]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BCEWithLogitsLoss<W = NoWeight, P = NoWeight, R = MeanReduction> {
    /// A weight for every element (`weight=`): [`NoWeight`] or a constant tensor that
    /// broadcasts to the input.
    pub weight: W,
    /// The weight of positive targets per class (`pos_weight=`): [`NoWeight`] or a constant
    /// `(C,)` tensor, `C` the input's last dimension (or 1).
    pub pos_weight: P,
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl BCEWithLogitsLoss {
    /// PyTorch's defaults: no weights, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::{BCEWithLogitsLoss, NoWeight};
    /// assert_eq!(BCEWithLogitsLoss::new().pos_weight, NoWeight);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<W, P, R: Reduce> BCEWithLogitsLoss<W, P, R> {
    /// The same loss with a weight for every element (`weight=`), a constant tensor that
    /// broadcasts to the input's shape.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{BCEWithLogitsLoss, Reduction};
    /// let w = Tensor::<Rank2<2, 1>>::from_array([[1.0], [0.0]]);
    /// let loss = BCEWithLogitsLoss::new().weight(w).reduction(Reduction::Sum);
    /// let y = loss.forward(Tensor::<Rank2<2, 2>>::zeros(), Tensor::zeros());
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn weight<W2>(self, weight: W2) -> BCEWithLogitsLoss<W2, P, R> {
        BCEWithLogitsLoss {
            weight,
            pos_weight: self.pos_weight,
            reduction: self.reduction,
        }
    }

    /// The same loss with a weight for positive targets per class (`pos_weight=`), a constant
    /// `(C,)` tensor broadcast over the leading dimensions; `C` is the input's last dimension
    /// (or 1). Above 1 it raises recall, below 1 precision.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{BCEWithLogitsLoss, Reduction};
    /// let pw = Tensor::<Rank1<2>>::from_array([3.0, 1.0]);
    /// let loss = BCEWithLogitsLoss::new().pos_weight(pw).reduction(Reduction::None);
    /// let y = loss.forward(Tensor::<Rank2<1, 2>>::zeros(), Tensor::ones());
    /// assert!((y.to_vec()[0] - 3.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn pos_weight<P2>(self, pos_weight: P2) -> BCEWithLogitsLoss<W, P2, R> {
        BCEWithLogitsLoss {
            weight: self.weight,
            pos_weight,
            reduction: self.reduction,
        }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{BCEWithLogitsLoss, Reduction};
    /// let y = BCEWithLogitsLoss::new().reduction(Reduction::Sum).forward(Tensor::<Rank1<2>>::zeros(), Tensor::ones());
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> BCEWithLogitsLoss<W, P, R2> {
        BCEWithLogitsLoss {
            weight: self.weight,
            pos_weight: self.pos_weight,
            reduction,
        }
    }

    /// The loss of `logits` against `target`. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::BCEWithLogitsLoss;
    /// let y = BCEWithLogitsLoss::new().forward(Tensor::<Rank1<1>>::from_array([f32::INFINITY]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![f32::INFINITY]); // as PyTorch
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        logits: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ElementWeights<S, E>,
        P: PosWeights<S, E>,
    {
        let () = LossTargetCheck::<S, S2, BceWithLogitsShape>::OK;
        or_panic(self.try_forward(logits, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ or a weight does
    /// not fit the input.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::BCEWithLogitsLoss;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    /// let pw = Tensor::<(usize,)>::ones_with_shape((2,));
    /// let err = BCEWithLogitsLoss::new().pos_weight(pw).try_forward(x.clone(), x).unwrap_err();
    /// assert!(err.to_string().contains("2 positive weights for a last dimension of 3"));
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        logits: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ElementWeights<S, E>,
        P: PosWeights<S, E>,
    {
        let () = LossTargetCheck::<S, S2, BceWithLogitsShape>::OK;
        const OP: &str = "binary_cross_entropy_with_logits";
        let target = as_pred_shape(OP, &logits.shape, target)?;
        let shape = logits.shape;
        let weight = self.weight.element_weights(OP, &shape)?;
        let per_element = match self.pos_weight.pos_weights(OP, &shape)? {
            Some(p) => bce_with_logits_pos_weight(logits, target, p),
            None => binary_op(logits, target, shape, BceWithLogitsKernel),
        };
        Ok(self.reduction.reduce(match weight {
            Some(w) => mul_constant(per_element, w, None),
            None => per_element,
        }))
    }
}
