//! The Kullback-Leibler divergence loss.

use super::{KlDivReduce, LossTape, MeanReduction, as_pred_shape, or_panic};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::binary::binary_op;
use crate::ops::loss::{KlDivKernel, KlDivLogTargetKernel};
use crate::shape::check::{KlDivShape, LossTargetCheck};
use crate::shape::{LossTarget, Shape};
use crate::tensor::Tensor;

/// The Kullback-Leibler divergence of log-probabilities `input` from probabilities `target`
/// (`F.kl_div(input, target, reduction)`): `target (ln target - input)` for every element
/// (0 where the target is 0), reduced by `reduction`. [`Reduction::BatchMean`](super::Reduction::BatchMean)
/// gives the divergence per sample, KL's mathematical definition; PyTorch's default
/// `Reduction::Mean` also divides by the class count. For log-probability targets, see
/// [`KLDivLoss::log_target`]. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{kl_div, Reduction};
/// let p = Tensor::<Rank2<1, 2>>::from_array([[0.5, 0.5]]);
/// let q = Tensor::<Rank2<1, 2>>::from_array([[0.25, 0.75]]);
/// let loss = kl_div(q.ln().trace(), p, Reduction::BatchMean);
/// let expected = 0.5 * (0.5f32 / 0.25).ln() + 0.5 * (0.5f32 / 0.75).ln();
/// assert!((loss.as_slice()[0] - expected).abs() < 1e-6);
/// ```
pub fn kl_div<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR, R: KlDivReduce>(
    input: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
    reduction: R,
) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, KlDivShape>::OK;
    KLDivLoss::new().reduction(reduction).forward(input, target)
}

/// The Kullback-Leibler divergence loss (`torch.nn.KLDivLoss`) of log-probabilities `input`
/// against `target`: `target (ln target - input)` per element, or `e^target (target - input)`
/// with `log_target`. Defaults: `log_target = false`, `reduction = Mean` (PyTorch's; prefer
/// [`Reduction::BatchMean`](super::Reduction::BatchMean)). A traced target gets PyTorch's
/// gradient too.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{KLDivLoss, Reduction};
/// let log_p = Tensor::<Rank2<1, 2>>::from_array([[0.5f32.ln(), 0.5f32.ln()]]);
/// let loss = KLDivLoss::new().log_target(true).reduction(Reduction::Sum);
/// let y = loss.forward(log_p.clone(), log_p); // D(p || p) = 0
/// assert!(y.as_slice()[0].abs() < 1e-7);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KLDivLoss<R = MeanReduction> {
    /// Whether the target holds log-probabilities (`log_target=`, default false).
    pub log_target: bool,
    /// How the per-element terms are reduced.
    pub reduction: R,
}

impl KLDivLoss {
    /// PyTorch's defaults: probability targets, the mean over every element.
    ///
    /// ```
    /// use shaped::nn::loss::KLDivLoss;
    /// assert!(!KLDivLoss::new().log_target);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: KlDivReduce> KLDivLoss<R> {
    /// The same loss with targets given as log-probabilities (`log_target=`): more exact
    /// where probabilities underflow.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{KLDivLoss, Reduction};
    /// let x = Tensor::<Rank1<1>>::from_array([-1.0]);
    /// let y = KLDivLoss::new().log_target(true).reduction(Reduction::Sum).forward(x, Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![1.0]); // e^0 (0 - -1)
    /// ```
    pub fn log_target(self, log_target: bool) -> Self {
        KLDivLoss { log_target, ..self }
    }

    /// The same loss with another reduction (`reduction=`), including
    /// [`Reduction::BatchMean`](super::Reduction::BatchMean).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{KLDivLoss, Reduction};
    /// let x = Tensor::<Rank2<2, 2>>::full(-1.0);
    /// let y = KLDivLoss::new().reduction(Reduction::BatchMean).forward(x, Tensor::full(1.0));
    /// assert_eq!(y.to_vec(), vec![2.0]); // 4 terms of 1, over a batch of 2
    /// ```
    pub fn reduction<R2: KlDivReduce>(self, reduction: R2) -> KLDivLoss<R2> {
        KLDivLoss {
            log_target: self.log_target,
            reduction,
        }
    }

    /// The loss of log-probabilities `input` against `target`. Panics if run-time sizes
    /// differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::KLDivLoss;
    /// let x = Tensor::<Rank1<2>>::from_array([-1.0, -1.0]);
    /// let y = KLDivLoss::new().forward(x, Tensor::from_array([0.0, 1.0]));
    /// assert_eq!(y.to_vec(), vec![0.5]); // (0 + 1 (0 + 1)) / 2
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, KlDivShape>::OK;
        or_panic(self.try_forward(input, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::KLDivLoss;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((2,));
    /// let t = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// assert!(KLDivLoss::new().try_forward(x, t).is_err());
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, KlDivShape>::OK;
        let target = as_pred_shape("kl_div", &input.shape, target)?;
        let shape = input.shape;
        let terms = if self.log_target {
            binary_op(input, target, shape, KlDivLogTargetKernel)
        } else {
            binary_op(input, target, shape, KlDivKernel)
        };
        Ok(self.reduction.reduce_kl(terms))
    }
}
