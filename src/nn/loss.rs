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

use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::{AddKernel, BinaryKernel, MulKernel, SubKernel, binary_op};
use crate::ops::unary::UnaryKernel;
use crate::shape::{Const, Dim, DimEq, Shape};
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

// ---------------------------------------------------------------------------------------
// Mean squared error

/// Mean squared error, `mean((pred - target)^2)` (`F.mse_loss`). Panics if run-time sizes
/// differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::mse_loss;
/// let pred = Tensor::<Rank1<2>>::from_array([1.0, 2.0]);
/// let grads = mse_loss(pred.clone().trace(), Tensor::from_array([0.0, 4.0])).backward();
/// assert_eq!(grads.get(&pred).unwrap().to_vec(), vec![1.0, -2.0]); // 2 (p - t) / n
/// ```
pub fn mse_loss<S: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    mse_loss_with(pred, target, Reduction::Mean)
}

/// [`mse_loss`] with a chosen [`Reduction`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{mse_loss_with, Reduction};
/// let pred = Tensor::<Rank1<2>>::from_array([1.0, 2.0]);
/// let loss = mse_loss_with(pred, Tensor::from_array([0.0, 4.0]), Reduction::Sum);
/// assert_eq!(loss.to_vec(), vec![5.0]);
/// ```
pub fn mse_loss_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    reduction: R,
) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    or_panic(try_mse_loss_with(pred, target, reduction))
}

/// [`mse_loss_with`], with an error when run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_mse_loss_with, Reduction};
/// let pred = Tensor::<(usize,)>::zeros_with_shape((3,));
/// let target = Tensor::<(usize,)>::zeros_with_shape((4,));
/// assert!(try_mse_loss_with(pred, target, Reduction::Mean).is_err());
/// ```
pub fn try_mse_loss_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    reduction: R,
) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    Ok(reduction.reduce(diff("mse_loss", pred, target)?.square()))
}

// ---------------------------------------------------------------------------------------
// Mean absolute error

/// Mean absolute error, `mean(|pred - target|)` (`F.l1_loss`); the gradient at
/// `pred == target` is 0, as in PyTorch. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::l1_loss;
/// let pred = Tensor::<Rank1<2>>::from_array([1.0, 2.0]);
/// let grads = l1_loss(pred.clone().trace(), Tensor::from_array([0.0, 4.0])).backward();
/// assert_eq!(grads.get(&pred).unwrap().to_vec(), vec![0.5, -0.5]);
/// ```
pub fn l1_loss<S: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    l1_loss_with(pred, target, Reduction::Mean)
}

/// [`l1_loss`] with a chosen [`Reduction`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{l1_loss_with, Reduction};
/// let loss = l1_loss_with(Tensor::<Rank1<2>>::from_array([1.0, 2.0]), Tensor::from_array([0.0, 4.0]), Reduction::None);
/// assert_eq!(loss.to_vec(), vec![1.0, 2.0]);
/// ```
pub fn l1_loss_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    reduction: R,
) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    or_panic(try_l1_loss_with(pred, target, reduction))
}

/// [`l1_loss_with`], with an error when run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_l1_loss_with, Reduction};
/// let pred = Tensor::<(usize,)>::zeros_with_shape((3,));
/// assert!(try_l1_loss_with(pred.clone(), pred, Reduction::Sum).is_ok());
/// ```
pub fn try_l1_loss_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    reduction: R,
) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    Ok(reduction.reduce(diff("l1_loss", pred, target)?.abs()))
}

// ---------------------------------------------------------------------------------------
// Smooth L1 and Huber

/// Smooth L1 of a difference `d`: `0.5 d^2 / beta` where `|d| < beta`, else
/// `|d| - 0.5 beta` (`beta = 0` is the absolute value).
#[derive(Clone, Copy, Debug)]
struct SmoothL1<E>(E);
impl<E: Float> UnaryKernel<E> for SmoothL1<E> {
    fn f(&self, d: E) -> E {
        let beta = self.0;
        if d.abs() < beta {
            E::from_f64(0.5) * d * d / beta
        } else {
            d.abs() - E::from_f64(0.5) * beta
        }
    }
    fn df(&self, d: E, _: E) -> E {
        if d.abs() < self.0 {
            d / self.0
        } else {
            sign(d)
        }
    }
}

/// Huber of a difference `d`: `0.5 d^2` where `|d| < delta`, else `delta (|d| - 0.5 delta)`.
#[derive(Clone, Copy, Debug)]
struct Huber<E>(E);
impl<E: Float> UnaryKernel<E> for Huber<E> {
    fn f(&self, d: E) -> E {
        let delta = self.0;
        if d.abs() < delta {
            E::from_f64(0.5) * d * d
        } else {
            delta * (d.abs() - E::from_f64(0.5) * delta)
        }
    }
    fn df(&self, d: E, _: E) -> E {
        if d.abs() < self.0 {
            d
        } else {
            self.0 * sign(d)
        }
    }
}

fn sign<E: Float>(d: E) -> E {
    if d > E::ZERO {
        E::ONE
    } else if d < E::ZERO {
        -E::ONE
    } else {
        E::ZERO
    }
}

/// Smooth L1 loss (`F.smooth_l1_loss`): with `d = pred - target`, `0.5 d^2 / beta` where
/// `|d| < beta` and `|d| - 0.5 beta` elsewhere, averaged. `beta = 0` gives the L1 loss.
/// Panics if run-time sizes differ or `beta < 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::smooth_l1_loss;
/// let pred = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
/// let loss = smooth_l1_loss(pred, Tensor::zeros(), 1.0);
/// assert_eq!(loss.to_vec(), vec![(0.125 + 2.5) / 2.0]);
/// ```
pub fn smooth_l1_loss<S: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    beta: f64,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    smooth_l1_loss_with(pred, target, beta, Reduction::Mean)
}

/// [`smooth_l1_loss`] with a chosen [`Reduction`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{smooth_l1_loss_with, Reduction};
/// let pred = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
/// let loss = smooth_l1_loss_with(pred, Tensor::zeros(), 1.0, Reduction::None);
/// assert_eq!(loss.to_vec(), vec![0.125, 2.5]);
/// ```
pub fn smooth_l1_loss_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    beta: f64,
    reduction: R,
) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    or_panic(try_smooth_l1_loss_with(pred, target, beta, reduction))
}

/// [`smooth_l1_loss_with`], with an error when run-time sizes differ or `beta < 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_smooth_l1_loss_with, Reduction};
/// let p = Tensor::<Rank1<2>>::zeros();
/// assert!(try_smooth_l1_loss_with(p.clone(), p, -1.0, Reduction::Mean).is_err());
/// ```
pub fn try_smooth_l1_loss_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    beta: f64,
    reduction: R,
) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    if beta.is_nan() || beta < 0.0 {
        return Err(Error::value(
            "smooth_l1_loss beta",
            format!("{beta} is negative"),
        ));
    }
    let d = diff("smooth_l1_loss", pred, target)?;
    Ok(reduction.reduce(d.map_kernel(SmoothL1(E::from_f64(beta)))))
}

/// Huber loss (`F.huber_loss`): with `d = pred - target`, `0.5 d^2` where `|d| < delta`
/// and `delta (|d| - 0.5 delta)` elsewhere, averaged. Equals `delta * smooth_l1_loss` with
/// `beta = delta`. Panics if run-time sizes differ or `delta <= 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::huber_loss;
/// let pred = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
/// let loss = huber_loss(pred, Tensor::zeros(), 2.0);
/// assert_eq!(loss.to_vec(), vec![(0.125 + 4.0) / 2.0]);
/// ```
pub fn huber_loss<S: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    delta: f64,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    huber_loss_with(pred, target, delta, Reduction::Mean)
}

/// [`huber_loss`] with a chosen [`Reduction`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{huber_loss_with, Reduction};
/// let pred = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
/// let loss = huber_loss_with(pred, Tensor::zeros(), 2.0, Reduction::Sum);
/// assert_eq!(loss.to_vec(), vec![4.125]);
/// ```
pub fn huber_loss_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    delta: f64,
    reduction: R,
) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    or_panic(try_huber_loss_with(pred, target, delta, reduction))
}

/// [`huber_loss_with`], with an error when run-time sizes differ or `delta <= 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_huber_loss_with, Reduction};
/// let p = Tensor::<Rank1<2>>::zeros();
/// assert!(try_huber_loss_with(p.clone(), p, 0.0, Reduction::Mean).is_err());
/// ```
pub fn try_huber_loss_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    delta: f64,
    reduction: R,
) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    if delta.is_nan() || delta <= 0.0 {
        return Err(Error::value(
            "huber_loss delta",
            format!("{delta} is not positive"),
        ));
    }
    let d = diff("huber_loss", pred, target)?;
    Ok(reduction.reduce(d.map_kernel(Huber(E::from_f64(delta)))))
}

// ---------------------------------------------------------------------------------------
// Binary cross-entropy

/// `-(t ln p + (1 - t) ln(1 - p))` with both logarithms clamped at -100, as PyTorch does,
/// so that `p = 0` or `1` gives a finite loss. The derivative in `p` is PyTorch's
/// `(p - t) / max(p (1 - p), 1e-12)`, finite at the ends too.
#[derive(Clone, Copy, Debug)]
struct Bce;
impl<E: Float> BinaryKernel<E> for Bce {
    fn f(&self, p: E, t: E) -> E {
        let (lp, lq) = clamped_logs(p);
        -(t * lp + (E::ONE - t) * lq)
    }
    fn dfa(&self, p: E, t: E) -> E {
        (p - t) / (p * (E::ONE - p)).max(E::from_f64(1e-12))
    }
    fn dfb(&self, p: E, _: E) -> E {
        let (lp, lq) = clamped_logs(p);
        lq - lp
    }
}

/// `(max(ln p, -100), max(ln(1 - p), -100))`.
fn clamped_logs<E: Float>(p: E) -> (E, E) {
    let floor = E::from_f64(-100.0);
    (p.ln().max(floor), (-p).ln_1p().max(floor))
}

/// BCE on a logit `x`: `max(x, 0) - x t + ln(1 + e^-|x|)`, which never overflows; its
/// derivative is exactly `sigmoid(x) - t`.
#[derive(Clone, Copy, Debug)]
struct BceWithLogits;
impl<E: Float> BinaryKernel<E> for BceWithLogits {
    fn f(&self, x: E, t: E) -> E {
        x.max(E::ZERO) - x * t + (-x.abs()).exp().ln_1p()
    }
    fn dfa(&self, x: E, t: E) -> E {
        let s = if x >= E::ZERO {
            E::ONE / (E::ONE + (-x).exp())
        } else {
            let e = x.exp();
            e / (E::ONE + e)
        };
        s - t
    }
    fn dfb(&self, x: E, _: E) -> E {
        -x
    }
}

/// Binary cross-entropy on probabilities (`F.binary_cross_entropy`):
/// `mean(-(t ln p + (1 - t) ln(1 - p)))`, logarithms clamped at -100 as in PyTorch. Panics
/// if run-time sizes differ or a prediction lies outside `[0, 1]`. Prefer
/// [`binary_cross_entropy_with_logits`] on logits: it is stable where `sigmoid` saturates.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::binary_cross_entropy;
/// let p = Tensor::<Rank1<2>>::from_array([0.5, 0.0]);
/// let loss = binary_cross_entropy(p, Tensor::from_array([1.0, 1.0]));
/// assert!((loss.to_vec()[0] - (2f32.ln() + 100.0) / 2.0).abs() < 1e-4); // clamped at 100
/// ```
pub fn binary_cross_entropy<S: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    binary_cross_entropy_with(pred, target, Reduction::Mean)
}

/// [`binary_cross_entropy`] with a chosen [`Reduction`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{binary_cross_entropy_with, Reduction};
/// let p = Tensor::<Rank1<2>>::from_array([0.5, 0.5]);
/// let loss = binary_cross_entropy_with(p, Tensor::from_array([1.0, 0.0]), Reduction::None);
/// assert_eq!(loss.to_vec(), vec![2f32.ln(), 2f32.ln()]);
/// ```
pub fn binary_cross_entropy_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    reduction: R,
) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    or_panic(try_binary_cross_entropy_with(pred, target, reduction))
}

/// [`binary_cross_entropy_with`], with an error when run-time sizes differ or a
/// prediction is not a probability.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_binary_cross_entropy_with, Reduction};
/// let p = Tensor::<Rank1<2>>::from_array([0.5, 1.5]);
/// let err = try_binary_cross_entropy_with(p, Tensor::zeros(), Reduction::Mean).unwrap_err();
/// assert!(err.to_string().contains("1.5"));
/// ```
pub fn try_binary_cross_entropy_with<S: Shape, E: Float, T, TR, R: Reduce>(
    pred: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    reduction: R,
) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_same("binary_cross_entropy", &pred.shape, &target.shape)?;
    if let Some(p) = pred
        .as_slice()
        .iter()
        .position(|&v| !(v >= E::ZERO && v <= E::ONE))
    {
        return Err(Error::value(
            "binary_cross_entropy prediction",
            format!(
                "{} at position {p} is not a probability in [0, 1]",
                pred.as_slice()[p]
            ),
        ));
    }
    let shape = pred.shape;
    Ok(reduction.reduce(binary_op(pred, target, shape, Bce)))
}

/// Binary cross-entropy on logits (`F.binary_cross_entropy_with_logits`):
/// `mean(max(x, 0) - x t + ln(1 + e^-|x|))`, equal to `binary_cross_entropy(sigmoid(x), t)`
/// but finite and exact for logits of any size. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::binary_cross_entropy_with_logits;
/// let x = Tensor::<Rank1<2>, f64>::from_array([100.0, -100.0]);
/// let grads = binary_cross_entropy_with_logits(x.clone().trace(), Tensor::from_array([0.0, 0.0])).backward();
/// let g = grads.get(&x).unwrap().to_vec(); // (sigmoid(x) - t) / 2
/// assert!((g[0] - 0.5).abs() < 1e-15 && g[1] > 0.0 && g[1] < 1e-40);
/// ```
pub fn binary_cross_entropy_with_logits<S: Shape, E: Float, T, TR>(
    logits: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    binary_cross_entropy_with_logits_with(logits, target, Reduction::Mean)
}

/// [`binary_cross_entropy_with_logits`] with a chosen [`Reduction`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{binary_cross_entropy_with_logits_with, Reduction};
/// let x = Tensor::<Rank1<2>>::from_array([0.0, 50.0]);
/// let loss = binary_cross_entropy_with_logits_with(x, Tensor::from_array([1.0, 0.0]), Reduction::None);
/// assert_eq!(loss.to_vec(), vec![2f32.ln(), 50.0]);
/// ```
pub fn binary_cross_entropy_with_logits_with<S: Shape, E: Float, T, TR, R: Reduce>(
    logits: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    reduction: R,
) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    or_panic(try_binary_cross_entropy_with_logits_with(
        logits, target, reduction,
    ))
}

/// [`binary_cross_entropy_with_logits_with`], with an error when run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{try_binary_cross_entropy_with_logits_with, Reduction};
/// let x = Tensor::<(usize,)>::zeros_with_shape((2,));
/// let t = Tensor::<(usize,)>::zeros_with_shape((3,));
/// assert!(try_binary_cross_entropy_with_logits_with(x, t, Reduction::Sum).is_err());
/// ```
pub fn try_binary_cross_entropy_with_logits_with<S: Shape, E: Float, T, TR, R: Reduce>(
    logits: Tensor<S, E, T>,
    target: Tensor<S, E, TR>,
    reduction: R,
) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_same(
        "binary_cross_entropy_with_logits",
        &logits.shape,
        &target.shape,
    )?;
    let shape = logits.shape;
    Ok(reduction.reduce(binary_op(logits, target, shape, BceWithLogits)))
}

// ---------------------------------------------------------------------------------------
// Cross-entropy and negative log-likelihood over classes

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
