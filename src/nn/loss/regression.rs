//! Regression losses: mean squared error, mean absolute error, Smooth L1 and Huber.

use super::{LossTape, Reduce, Reduction, diff, or_panic};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::loss::{HuberKernel, SmoothL1Kernel};
use crate::shape::Shape;
use crate::tensor::Tensor;

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
    Ok(reduction.reduce(d.map_kernel(SmoothL1Kernel(E::from_f64(beta)))))
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
    Ok(reduction.reduce(d.map_kernel(HuberKernel(E::from_f64(delta)))))
}
