//! Loss functions: PyTorch's losses, with shapes checked by type.
//!
//! Each loss is written once, as a struct named like PyTorch's module ([`MSELoss`],
//! [`CrossEntropyLoss`], ...) whose builder methods are PyTorch's keyword arguments, with
//! PyTorch's defaults; `forward` panics where `try_forward` returns `Err` (run-time sizes
//! that differ, labels out of range, invalid hyperparameters). A function named like
//! `torch.nn.functional`'s ([`mse_loss`], [`cross_entropy`], ...) is the default form.
//!
//! **Reductions.** `.reduction(..)` takes [`Reduction::Mean`] (the default), [`Reduction::Sum`]
//! (both scalars `Tensor<(), E, _>`, ready for `backward()`) or [`Reduction::None`] (the
//! unreduced loss: shaped like the prediction for elementwise losses, `(N,)` for the class
//! losses and [`MultiLabelSoftMarginLoss`] (a scalar for the one-sample `(C,)` input of
//! [`MultiMarginLoss`] and [`MultiLabelMarginLoss`]); `backward()` does not exist on it). The three are values of three types, so the
//! output shape follows from the choice at compile time (see [`Reduction`]). [`kl_div`] also
//! takes [`Reduction::BatchMean`].
//!
//! **Shapes.** A prediction and its target have the same shape: comparing a `(N, 1)`
//! prediction with a `(N,)` target (silently broadcast to `(N, N)` by PyTorch) does not
//! compile. A computed prediction dimension (a conv's output, a `Flatten`) accepts a target
//! dimension of the same size however it is spelled, compared when the code is built
//! ([`LossTarget`]); a target built from context
//! (`Tensor::zeros()`) takes a static prediction's type. Class labels are `Indices<(N,)>` whose length must equal the logits' batch
//! dimension, by type for static sizes; class weights are `(C,)`. The multi-label margin
//! loss takes PyTorch's signed targets, `-1`-ended lists of classes ([`MultiLabelTargets`],
//! shaped like the input). Run-time (`usize`) sizes are checked when the loss runs.
//!
//! **Tapes.** The loss carries the prediction's tape merged with the target's: a traced
//! target (rare) receives gradients too, as in PyTorch; an untraced one changes nothing.
//! Weights (`weight`, `pos_weight`) are constants.
//!
//! Losses are compositions of primitive ops, except where a formula needs one fused
//! elementwise kernel to stay finite or exact: BCE's clamped logarithms, BCE with logits
//! (PyTorch's formula term for term, so infinite and NaN logits give PyTorch's answers), the
//! Kullback-Leibler term (0 where the target is 0), the two piecewise functions Smooth L1
//! and Huber, the Poisson NLL's Stirling term (0 for targets up to 1, whose logarithms must
//! not reach the loss) and the Gaussian NLL's variance clamp (clamped value, unclamped
//! gradient, as PyTorch's `clamp_` under `no_grad`); and except the multi-class and
//! multi-label margin losses, whose per-sample index logic is one fused loop for the value
//! and one for the gradient, as PyTorch's kernels.
//!
//! ```
//! use shaped::prelude::*;
//! use shaped::nn::loss::{cross_entropy, CrossEntropyLoss, Reduction};
//! let logits = Tensor::<Rank2<2, 3>>::from_array([[2.0, 0.0, 0.0], [0.0, 0.0, 2.0]]);
//! let labels = Indices::<Rank1<2>>::from_array([0, 1]);
//! let loss: Tensor<()> = cross_entropy(logits.clone(), &labels);
//! let per_sample: Tensor<Rank1<2>> =
//!     CrossEntropyLoss::new().reduction(Reduction::None).forward(logits, &labels);
//! let mean = (per_sample.as_slice()[0] + per_sample.as_slice()[1]) / 2.0;
//! assert!((loss.as_slice()[0] - mean).abs() < 1e-6);
//! ```

// The signatures spell out reduced shapes and merged tapes: long, but each part is a
// documented public type the reader can follow.
#![allow(clippy::type_complexity)]

mod bce;
mod cross_entropy;
mod ctc;
mod embedding;
mod kl_div;
mod margin;
mod multi_margin;
mod nll;
mod reduction;
mod regression;
mod triplet_distance;
mod weights;

pub use bce::{BCELoss, BCEWithLogitsLoss, binary_cross_entropy, binary_cross_entropy_with_logits};
pub use cross_entropy::{CrossEntropyLoss, NLLLoss, cross_entropy, cross_entropy_probs, nll_loss};
pub use ctc::{CTCLoss, CtcShape, ctc_loss};
pub use embedding::{
    CosineEmbeddingLoss, TripletMarginLoss, cosine_embedding_loss, triplet_margin_loss,
};
pub use kl_div::{KLDivLoss, kl_div};
pub use margin::{
    HingeEmbeddingLoss, MarginRankingLoss, MultiLabelShape, MultiLabelSoftMarginLoss,
    SoftMarginLoss, hinge_embedding_loss, margin_ranking_loss, multilabel_soft_margin_loss,
    soft_margin_loss,
};
pub use multi_margin::{
    MarginShape, MultiLabelMarginLoss, MultiLabelTargets, MultiMarginLoss, SampleLabels,
    multi_margin_loss, multilabel_margin_loss,
};
#[cfg(feature = "wgpu")]
pub(crate) use nll::check_variance_shape;
pub use nll::{GaussianNLLLoss, PoissonNLLLoss, gaussian_nll_loss, poisson_nll_loss};
pub use reduction::{
    BatchMeanReduction, KlDivReduce, MeanReduction, NoReduction, Reduce, Reduction, SumReduction,
};
pub use regression::{
    HuberLoss, L1Loss, MSELoss, SmoothL1Loss, huber_loss, l1_loss, mse_loss, smooth_l1_loss,
};
pub use triplet_distance::{
    TripletDistance, TripletMarginWithDistanceLoss, triplet_margin_with_distance_loss,
};
pub use weights::{ClassWeights, ElementWeights, NoWeight, PosWeights};

use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::check_target_dims;
use crate::shape::{Dim, DimEq, LossTarget, Shape};
use crate::tensor::{Indices, Tensor};

/// The tape of a loss whose prediction carries `T` and whose target carries `TR`: `T`
/// itself when the target is untraced.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{mse_loss, LossTape};
/// let pred = Tensor::<Rank1<2>>::zeros().trace();
/// let loss: Tensor<(), f32, LossTape<f32, OwnedTape<f32>, NoTape>> = mse_loss(pred, Tensor::ones());
/// let same: Tensor<(), f32, OwnedTape<f32>> = loss; // the prediction's tape
/// assert_eq!(same.to_vec(), vec![1.0]);
/// ```
pub type LossTape<E, T, TR> = <T as Merge<E, TR>>::Output;

/// The target under the prediction's shape type, after comparing run-time sizes (static
/// sizes were compared when the code was built: [`LossTarget`]).
fn as_pred_shape<S: Shape + LossTarget<S2>, S2: Shape, E: Float, TR>(
    op: &'static str,
    pred: &S,
    target: Tensor<S2, E, TR>,
) -> Result<Tensor<S, E, TR>> {
    check_target_dims(op, pred.dims().as_slice(), target.shape.dims().as_slice())?;
    Ok(target.retype(*pred))
}

/// Checks the label count against the batch and every label but `ignore_index` against the
/// class count.
fn check_labels<N: Dim, N2: DimEq<N>>(
    op: &'static str,
    labels: &Indices<(N2,)>,
    n: N,
    classes: usize,
    ignore_index: Option<usize>,
) -> Result<()> {
    labels.shape().0.dim_eq(n).map_err(|_| {
        Error::shape(
            op,
            format!(
                "{} labels for a batch of {} rows of logits",
                labels.numel(),
                n.size()
            ),
        )
    })?;
    let bad = |&l: &usize| l >= classes && Some(l) != ignore_index;
    match labels.as_slice().iter().position(bad) {
        None => Ok(()),
        Some(p) => Err(Error::value(
            format!("{op} labels"),
            format!(
                "label {} at position {p} is out of range for {classes} classes",
                labels.as_slice()[p]
            ),
        )),
    }
}

fn check_unit(op: &str, what: &str, v: f64) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::value(
            format!("{op} {what}"),
            format!("{v} is not in [0, 1]"),
        ))
    }
}

/// `a` and `b` under their merged tape, so that compositions of the two need no tape
/// bounds beyond [`Merge`]: `a` carries the merged record (tracking both), `b` a copy of it
/// tracking `b` alone. A result that uses `b` only through constants (a mask) still carries
/// `b`'s tape, as the loss's type says.
fn on_merged_tape<SA: Shape, SB: Shape, E: Float, T, TR>(
    a: Tensor<SA, E, T>,
    b: Tensor<SB, E, TR>,
) -> (
    Tensor<SA, E, LossTape<E, T, TR>>,
    Tensor<SB, E, LossTape<E, T, TR>>,
)
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let (a, ta) = a.split_tape();
    let (b, tb) = b.split_tape();
    let tape = ta.merge(tb);
    let b_tape = tape.for_clone(b.id);
    (a.put_tape(tape), b.put_tape(b_tape))
}

#[track_caller]
fn or_panic<X>(r: Result<X>) -> X {
    r.or_panic()
}
