//! Binary cross-entropy, on probabilities and on logits.

use super::{LossTape, Reduce, Reduction, check_same, or_panic};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::binary_op;
use crate::ops::loss::{BceKernel, BceWithLogitsKernel};
use crate::shape::Shape;
use crate::tensor::Tensor;

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
    Ok(reduction.reduce(binary_op(pred, target, shape, BceKernel)))
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
    Ok(reduction.reduce(binary_op(logits, target, shape, BceWithLogitsKernel)))
}
