//! Which target shapes a loss accepts next to a prediction's shape.
//!
//! A loss compares a prediction with a target element by element, so both need the same
//! sizes. A prediction whose dimensions are `Const`s, `usize`s or named dimensions has exactly
//! one target type, its own: a target built from context alone (`Tensor::zeros()`) takes the
//! prediction's type, as it always did. A *computed* prediction dimension (`ConvOut`, `PoolOut`,
//! `Prod`, ... in any nesting) accepts any target dimension of the same size, so the output of
//! a conv decoder meets the `Const<28>` image it reconstructs with no `realize`.
//!
//! Why only one target type for a static prediction dimension: rustc infers the target's type
//! from the prediction only when exactly one impl applies. Giving `Const<N>` a second impl
//! (accepting a computed target) would make every context-typed target ambiguous (E0283,
//! "type annotations needed"). So a computed *target* needs a computed or run-time prediction
//! side, or `realize` (targets are almost always data, with `Const` or `usize` dimensions).

use super::broadcast::{DimUnify, first_mismatch};
use super::dim::{Const, Dim, DimExpr};
use super::named::{DimTag, Dyn};
use super::shape::DynShape;
use crate::error::{Error, Result};

/// A prediction dimension (`Self`) that a loss may compare with a target dimension `T`: the
/// same dimension, or for a computed prediction dimension any dimension of the same size.
/// Every [`Dim`] accepts itself (a supertrait of `Dim`).
///
/// ```
/// use shaped::shape::{Const, ConvOut, LossTargetDim};
/// // conv 3x3 with padding 1 keeps 16: its output accepts a `Const<16>` target ...
/// assert_eq!(<ConvOut<Const<16>, 3, 1, 1, 1> as LossTargetDim<Const<16>>>::TARGET_MISMATCH, None);
/// // ... and names both sizes when they differ.
/// assert_eq!(<ConvOut<Const<16>, 3, 1, 0, 1> as LossTargetDim<Const<16>>>::TARGET_MISMATCH, Some((14, 16)));
/// ```
#[diagnostic::on_unimplemented(
    message = "a loss cannot compare prediction dimension `{Self}` with target dimension `{T}`",
    label = "the prediction and the target differ here",
    note = "a loss needs the target shaped like the prediction: equal `Const`s, `usize` with `usize`; a computed prediction dimension accepts any target of its size; a computed target needs `realize()` first"
)]
pub trait LossTargetDim<T: Dim> {
    /// Both sizes, when the compiler knows them and they differ.
    const TARGET_MISMATCH: Option<(usize, usize)>;
}

impl<const N: usize> LossTargetDim<Const<N>> for Const<N> {
    const TARGET_MISMATCH: Option<(usize, usize)> = None;
}
impl LossTargetDim<usize> for usize {
    const TARGET_MISMATCH: Option<(usize, usize)> = None;
}
impl<Tag: DimTag> LossTargetDim<Dyn<Tag>> for Dyn<Tag> {
    const TARGET_MISMATCH: Option<(usize, usize)> = None;
}
impl<E: DimExpr + DimUnify<T>, T: Dim> LossTargetDim<T> for E {
    const TARGET_MISMATCH: Option<(usize, usize)> = <E as DimUnify<T>>::UNIFY_MISMATCH;
}

/// A prediction shape (`Self`) that a loss may compare with a target of shape `T`: the same
/// rank, each pair of dimensions [`LossTargetDim`]. Every [`Shape`](super::Shape) accepts
/// itself (a supertrait of `Shape`), so generic code over `S: Shape` needs no extra bound.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::mse_loss;
/// use shaped::shape::ConvOut;
/// // A conv output of 16x16 (3x3, padding 1) against a target image typed `Const<16>`.
/// let pred = Tensor::<(usize, Const<1>, ConvOut<Const<16>, 3, 1, 1, 1>, ConvOut<Const<16>, 3, 1, 1, 1>)>::zeros_with_shape((2, Const, Default::default(), Default::default()));
/// let target = Tensor::<(usize, Const<1>, Const<16>, Const<16>)>::ones_with_shape((2, Const, Const, Const));
/// assert_eq!(mse_loss(pred, target).to_vec(), vec![1.0]);
/// ```
#[diagnostic::on_unimplemented(
    message = "a loss cannot compare a prediction of shape `{Self}` with a target of shape `{T}`",
    label = "the ranks differ, or a dimension differs",
    note = "a loss needs the target shaped like the prediction: same rank, equal `Const`s, `usize` with `usize`; a computed prediction dimension accepts any target of its size; a computed target needs `realize()` first"
)]
pub trait LossTarget<T> {
    /// The first pair of static sizes that differ, with its axis: `(prediction, target, axis)`.
    const TARGET_MISMATCH: Option<(usize, usize, usize)>;
}

macro_rules! loss_target {
    ($($A:ident $B:ident),*) => {
        impl<$($A: Dim + LossTargetDim<$B>, $B: Dim),*> LossTarget<($($B,)*)> for ($($A,)*) {
            const TARGET_MISMATCH: Option<(usize, usize, usize)> =
                first_mismatch(&[$(<$A as LossTargetDim<$B>>::TARGET_MISMATCH,)*], 0);
        }
    };
}

loss_target!();
loss_target!(A0 B0);
loss_target!(A0 B0, A1 B1);
loss_target!(A0 B0, A1 B1, A2 B2);
loss_target!(A0 B0, A1 B1, A2 B2, A3 B3);
loss_target!(A0 B0, A1 B1, A2 B2, A3 B3, A4 B4);
loss_target!(A0 B0, A1 B1, A2 B2, A3 B3, A4 B4, A5 B5);

impl LossTarget<DynShape> for DynShape {
    const TARGET_MISMATCH: Option<(usize, usize, usize)> = None;
}

/// The target's run-time sizes against the prediction's: an error naming `op` and both shapes.
pub(crate) fn check_target_dims(op: &'static str, pred: &[usize], target: &[usize]) -> Result<()> {
    if pred == target {
        Ok(())
    } else {
        Err(Error::shape(
            op,
            format!("prediction of shape {pred:?} and target of shape {target:?} differ"),
        ))
    }
}
