//! Loss functions: PyTorch's `torch.nn.functional` losses, with shapes checked by type.
//!
//! Every loss comes in three forms:
//!
//! * `foo(pred, target)`: the mean (PyTorch's default `reduction="mean"`), a scalar
//!   `Tensor<(), E, _>` ready for `backward()`;
//! * `foo_with(pred, target, .., reduction)` with [`Reduction::Mean`], [`Reduction::Sum`]
//!   (both scalars) or [`Reduction::None`] (the unreduced loss: shaped like the prediction
//!   for elementwise losses, `(N,)` for the class losses);
//! * `try_foo_with(..)`: the same, with an `Err` where the others panic (run-time sizes
//!   that differ, labels out of range, invalid hyperparameters).
//!
//! The three reductions are values of three types, so the output shape follows from the
//! choice at compile time (see [`Reduction`]).
//!
//! **Shapes.** A prediction and its target have the same shape type `S`: comparing a
//! `(N, 1)` prediction with a `(N,)` target (silently broadcast to `(N, N)` by PyTorch) does
//! not compile. Class labels are `Indices<(N,)>` whose length must equal the logits' batch
//! dimension, by type for static sizes. Run-time (`usize`) sizes are checked when the loss
//! runs.
//!
//! **Tapes.** The loss carries the prediction's tape merged with the target's: a traced
//! target (rare) receives gradients too, as in PyTorch; an untraced one changes nothing.
//!
//! Losses are compositions of primitive ops, except where a formula needs one fused
//! elementwise kernel to stay finite or exact: BCE's clamped logarithms, the stable
//! BCE-with-logits (exact gradient `sigmoid(x) - t` at `x = 0` too), and the two piecewise
//! functions Smooth L1 and Huber.
//!
//! ```
//! use shaped::prelude::*;
//! use shaped::nn::loss::{cross_entropy, cross_entropy_with, Reduction};
//! let logits = Tensor::<Rank2<2, 3>>::from_array([[2.0, 0.0, 0.0], [0.0, 0.0, 2.0]]);
//! let labels = Indices::<Rank1<2>>::from_array([0, 1]);
//! let loss: Tensor<()> = cross_entropy(logits.clone(), &labels);
//! let per_sample: Tensor<Rank1<2>> = cross_entropy_with(logits, &labels, 0.0, Reduction::None);
//! let mean = (per_sample.as_slice()[0] + per_sample.as_slice()[1]) / 2.0;
//! assert!((loss.as_slice()[0] - mean).abs() < 1e-6);
//! ```

// The signatures spell out reduced shapes and merged tapes: long, but each part is a
// documented public type the reader can follow.
#![allow(clippy::type_complexity)]

mod bce;
mod cross_entropy;
mod regression;

pub use bce::{
    binary_cross_entropy, binary_cross_entropy_with, binary_cross_entropy_with_logits,
    binary_cross_entropy_with_logits_with, try_binary_cross_entropy_with,
    try_binary_cross_entropy_with_logits_with,
};
pub use cross_entropy::{
    cross_entropy, cross_entropy_probs, cross_entropy_probs_with, cross_entropy_with, nll_loss,
    nll_loss_with, try_cross_entropy_probs_with, try_cross_entropy_with, try_nll_loss_with,
};
pub use regression::{
    huber_loss, huber_loss_with, l1_loss, l1_loss_with, mse_loss, mse_loss_with, smooth_l1_loss,
    smooth_l1_loss_with, try_huber_loss_with, try_l1_loss_with, try_mse_loss_with,
    try_smooth_l1_loss_with,
};

use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::{SubKernel, binary_op};
use crate::shape::{Dim, DimEq, Shape};
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

/// How a loss reduces its per-element (or per-sample) values: what `reduction=` selects in
/// PyTorch. Implemented by [`MeanReduction`], [`SumReduction`] and [`NoReduction`], written
/// [`Reduction::Mean`], [`Reduction::Sum`] and [`Reduction::None`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{Reduce, Reduction};
/// let x = Tensor::<Rank1<4>>::from_array([1.0, 2.0, 3.0, 6.0]);
/// assert_eq!(Reduction::Mean.reduce(x.clone()).to_vec(), vec![3.0]);
/// assert_eq!(Reduction::Sum.reduce(x.clone()).to_vec(), vec![12.0]);
/// assert_eq!(Reduction::None.reduce(x).dims().as_slice(), &[4]);
/// ```
pub trait Reduce: Copy {
    /// The reduced shape for an unreduced loss of shape `S`.
    type Output<S: Shape>: Shape;
    /// Reduces the unreduced loss `x`.
    fn reduce<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: Tensor<S, E, T>,
    ) -> Tensor<Self::Output<S>, E, T>;
}

/// The mean of every element, a scalar (`reduction="mean"`). Write it [`Reduction::Mean`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{mse_loss_with, Reduction};
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
/// let loss: Tensor<()> = mse_loss_with(a, Tensor::zeros(), Reduction::Mean);
/// assert_eq!(loss.to_vec(), vec![5.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanReduction;

/// The sum of every element, a scalar (`reduction="sum"`). Write it [`Reduction::Sum`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{mse_loss_with, Reduction};
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
/// let loss: Tensor<()> = mse_loss_with(a, Tensor::zeros(), Reduction::Sum);
/// assert_eq!(loss.to_vec(), vec![10.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SumReduction;

/// No reduction: the loss of every element or sample (`reduction="none"`). Write it
/// [`Reduction::None`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{mse_loss_with, Reduction};
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
/// let loss: Tensor<Rank1<2>> = mse_loss_with(a, Tensor::zeros(), Reduction::None);
/// assert_eq!(loss.to_vec(), vec![1.0, 9.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoReduction;

impl Reduce for MeanReduction {
    type Output<S: Shape> = ();
    fn reduce<S: Shape, E: Float, T: Tape<E>>(self, x: Tensor<S, E, T>) -> Tensor<(), E, T> {
        x.mean()
    }
}
impl Reduce for SumReduction {
    type Output<S: Shape> = ();
    fn reduce<S: Shape, E: Float, T: Tape<E>>(self, x: Tensor<S, E, T>) -> Tensor<(), E, T> {
        x.sum()
    }
}
impl Reduce for NoReduction {
    type Output<S: Shape> = S;
    fn reduce<S: Shape, E: Float, T: Tape<E>>(self, x: Tensor<S, E, T>) -> Tensor<S, E, T> {
        x
    }
}

/// The reductions by name, PyTorch's `reduction="mean" | "sum" | "none"`:
/// `Reduction::Mean`, `Reduction::Sum`, `Reduction::None`.
///
/// They read like enum variants but are constants of three different types, so that
/// `Reduction::None` returns the unreduced tensor while the other two return scalars, all
/// checked at compile time. To choose between mean and sum at run time, branch: both give
/// the same type.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{l1_loss_with, Reduction};
/// let (p, t) = (Tensor::<Rank1<2>>::from_array([1.0, -3.0]), Tensor::<Rank1<2>>::zeros());
/// let sum = true; // e.g. from a config file
/// let loss: Tensor<()> = if sum {
///     l1_loss_with(p, t, Reduction::Sum)
/// } else {
///     l1_loss_with(p, t, Reduction::Mean)
/// };
/// assert_eq!(loss.to_vec(), vec![4.0]);
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Reduction {}

#[allow(non_upper_case_globals)]
impl Reduction {
    /// The mean, a scalar: [`MeanReduction`].
    ///
    /// ```
    /// use shaped::nn::loss::{MeanReduction, Reduction};
    /// assert_eq!(Reduction::Mean, MeanReduction);
    /// ```
    pub const Mean: MeanReduction = MeanReduction;
    /// The sum, a scalar: [`SumReduction`].
    ///
    /// ```
    /// use shaped::nn::loss::{SumReduction, Reduction};
    /// assert_eq!(Reduction::Sum, SumReduction);
    /// ```
    pub const Sum: SumReduction = SumReduction;
    /// No reduction, the unreduced tensor: [`NoReduction`].
    ///
    /// ```
    /// use shaped::nn::loss::{NoReduction, Reduction};
    /// assert_eq!(Reduction::None, NoReduction);
    /// ```
    pub const None: NoReduction = NoReduction;
}

fn check_same<S: Shape>(op: &'static str, pred: &S, target: &S) -> Result<()> {
    let (a, b) = (pred.dims(), target.dims());
    if a != b {
        return Err(Error::shape(
            op,
            format!(
                "prediction of shape {:?} and target of shape {:?} differ",
                a.as_slice(),
                b.as_slice()
            ),
        ));
    }
    Ok(())
}

/// Checks the label count against the batch and every label against the class count.
fn check_labels<N: Dim, N2: DimEq<N>>(
    op: &'static str,
    labels: &Indices<(N2,)>,
    n: N,
    classes: usize,
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
    match labels.as_slice().iter().position(|&l| l >= classes) {
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

fn or_panic<X>(r: Result<X>) -> X {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// `pred - target` over the common shape, after checking run-time sizes.
fn diff<S: Shape, E: Float, T, TR>(
    op: &'static str,
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
) -> Result<Tensor<S, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_same(op, &pred.shape, &target.shape)?;
    let shape = pred.shape;
    Ok(binary_op(pred, target, shape, SubKernel))
}
