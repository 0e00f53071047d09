//! Regression losses: mean squared error, mean absolute error, Smooth L1 and Huber.

use super::{LossTape, MeanReduction, Reduce, as_pred_shape, or_panic};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::binary_op;
use crate::ops::loss::{HuberKernel, SmoothL1Kernel};
use crate::ops::loss::{OfDifference, sum_of_differences};
use crate::ops::unary::{AbsKernel, SquareKernel, UnaryKernel};
use crate::shape::check::{
    HuberLossShape, L1LossShape, LossTargetCheck, MseLossShape, SmoothL1LossShape,
};
use crate::shape::{LossTarget, Shape};
use crate::tensor::Tensor;

/// Mean squared error, `mean((pred - target)^2)` (`F.mse_loss`): [`MSELoss`] with PyTorch's
/// defaults. Panics if run-time sizes differ (see [`MSELoss::try_forward`]).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::mse_loss;
/// let pred = Tensor::<Rank1<2>>::from_array([1.0, 2.0]);
/// let grads = mse_loss(pred.clone().trace(), Tensor::from_array([0.0, 4.0])).backward();
/// assert_eq!(grads.get(&pred).unwrap().to_vec(), vec![1.0, -2.0]); // 2 (p - t) / n
/// ```
pub fn mse_loss<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, MseLossShape>::OK;
    MSELoss::new().forward(pred, target)
}

/// Squared error (`torch.nn.MSELoss`): `(pred - target)^2` for every element, reduced by
/// `reduction` (mean by default).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MSELoss, Reduction};
/// let pred = Tensor::<Rank1<2>>::from_array([1.0, 2.0]);
/// let loss = MSELoss::new().reduction(Reduction::Sum).forward(pred, Tensor::from_array([0.0, 4.0]));
/// assert_eq!(loss.to_vec(), vec![5.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MSELoss<R = MeanReduction> {
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl MSELoss {
    /// PyTorch's defaults: the mean.
    ///
    /// ```
    /// use shaped::nn::loss::{MSELoss, Reduction};
    /// assert_eq!(MSELoss::new().reduction, Reduction::Mean);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> MSELoss<R> {
    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{MSELoss, Reduction};
    /// let loss = MSELoss::new().reduction(Reduction::None);
    /// let y = loss.forward(Tensor::<Rank1<2>>::from_array([1.0, 3.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![1.0, 9.0]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> MSELoss<R2> {
        MSELoss { reduction }
    }

    /// The loss of `pred` against `target`. Panics if run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MSELoss;
    /// let y = MSELoss::new().forward(Tensor::<Rank1<2>>::from_array([1.0, 3.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![5.0]);
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, MseLossShape>::OK;
        or_panic(self.try_forward(pred, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MSELoss;
    /// let pred = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// let target = Tensor::<(usize,)>::zeros_with_shape((4,));
    /// assert!(MSELoss::new().try_forward(pred, target).is_err());
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, MseLossShape>::OK;
        reduce_of_difference("mse_loss", self.reduction, pred, target, SquareKernel)
    }
}

/// Mean absolute error, `mean(|pred - target|)` (`F.l1_loss`): [`L1Loss`] with PyTorch's
/// defaults. The gradient at `pred == target` is 0, as in PyTorch. Panics if run-time sizes
/// differ (see [`L1Loss::try_forward`]).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::l1_loss;
/// let pred = Tensor::<Rank1<2>>::from_array([1.0, 2.0]);
/// let grads = l1_loss(pred.clone().trace(), Tensor::from_array([0.0, 4.0])).backward();
/// assert_eq!(grads.get(&pred).unwrap().to_vec(), vec![0.5, -0.5]);
/// ```
pub fn l1_loss<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, L1LossShape>::OK;
    L1Loss::new().forward(pred, target)
}

/// Absolute error (`torch.nn.L1Loss`): `|pred - target|` for every element, reduced by
/// `reduction` (mean by default).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{L1Loss, Reduction};
/// let pred = Tensor::<Rank1<2>>::from_array([1.0, 2.0]);
/// let loss = L1Loss::new().reduction(Reduction::None).forward(pred, Tensor::from_array([0.0, 4.0]));
/// assert_eq!(loss.to_vec(), vec![1.0, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L1Loss<R = MeanReduction> {
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl L1Loss {
    /// PyTorch's defaults: the mean.
    ///
    /// ```
    /// use shaped::nn::loss::{L1Loss, Reduction};
    /// assert_eq!(L1Loss::new().reduction, Reduction::Mean);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> L1Loss<R> {
    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{L1Loss, Reduction};
    /// let y = L1Loss::new().reduction(Reduction::Sum).forward(Tensor::<Rank1<2>>::from_array([1.0, -3.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![4.0]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> L1Loss<R2> {
        L1Loss { reduction }
    }

    /// The loss of `pred` against `target`. Panics if run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::L1Loss;
    /// let y = L1Loss::new().forward(Tensor::<Rank1<2>>::from_array([1.0, -3.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![2.0]);
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, L1LossShape>::OK;
        or_panic(self.try_forward(pred, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::L1Loss;
    /// let pred = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// assert!(L1Loss::new().try_forward(pred.clone(), pred).is_ok());
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, L1LossShape>::OK;
        reduce_of_difference("l1_loss", self.reduction, pred, target, AbsKernel)
    }
}

/// Smooth L1 loss, averaged (`F.smooth_l1_loss`): [`SmoothL1Loss`] with this `beta` and the
/// mean. Panics if run-time sizes differ or `beta < 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::smooth_l1_loss;
/// let pred = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
/// let loss = smooth_l1_loss(pred, Tensor::zeros(), 1.0);
/// assert_eq!(loss.to_vec(), vec![(0.125 + 2.5) / 2.0]);
/// ```
pub fn smooth_l1_loss<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
    beta: f64,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, SmoothL1LossShape>::OK;
    SmoothL1Loss::new().beta(beta).forward(pred, target)
}

/// Smooth L1 loss (`torch.nn.SmoothL1Loss`): with `d = pred - target`, `0.5 d^2 / beta`
/// where `|d| < beta` and `|d| - 0.5 beta` elsewhere; `beta = 0` is the L1 loss. Defaults:
/// `beta = 1`, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{SmoothL1Loss, Reduction};
/// let pred = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
/// let loss = SmoothL1Loss::new().reduction(Reduction::None).forward(pred, Tensor::zeros());
/// assert_eq!(loss.to_vec(), vec![0.125, 2.5]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothL1Loss<R = MeanReduction> {
    /// Where the quadratic part ends (`beta=`, default 1).
    pub beta: f64,
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl Default for SmoothL1Loss {
    fn default() -> Self {
        SmoothL1Loss {
            beta: 1.0,
            reduction: MeanReduction,
        }
    }
}

impl SmoothL1Loss {
    /// PyTorch's defaults: `beta = 1`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::SmoothL1Loss;
    /// assert_eq!(SmoothL1Loss::new().beta, 1.0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> SmoothL1Loss<R> {
    /// The same loss with another `beta` (checked when the loss runs: not negative).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::SmoothL1Loss;
    /// let y = SmoothL1Loss::new().beta(2.0).forward(Tensor::<Rank1<1>>::from_array([1.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![0.25]);
    /// ```
    pub fn beta(self, beta: f64) -> Self {
        SmoothL1Loss { beta, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{SmoothL1Loss, Reduction};
    /// let y = SmoothL1Loss::new().reduction(Reduction::Sum).forward(Tensor::<Rank1<2>>::from_array([0.5, 3.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![2.625]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> SmoothL1Loss<R2> {
        SmoothL1Loss {
            beta: self.beta,
            reduction,
        }
    }

    /// The loss of `pred` against `target`. Panics if run-time sizes differ or `beta < 0`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::SmoothL1Loss;
    /// let y = SmoothL1Loss::new().forward(Tensor::<Rank1<2>>::from_array([0.5, 3.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![1.3125]);
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, SmoothL1LossShape>::OK;
        or_panic(self.try_forward(pred, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ or `beta < 0`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::SmoothL1Loss;
    /// let p = Tensor::<Rank1<2>>::zeros();
    /// assert!(SmoothL1Loss::new().beta(-1.0).try_forward(p.clone(), p).is_err());
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, SmoothL1LossShape>::OK;
        let beta = self.beta;
        if beta.is_nan() || beta < 0.0 {
            return Err(Error::value(
                "smooth_l1_loss beta",
                format!("{beta} is negative"),
            ));
        }
        let kernel = SmoothL1Kernel(E::from_f64(beta));
        reduce_of_difference("smooth_l1_loss", self.reduction, pred, target, kernel)
    }
}

/// Huber loss, averaged (`F.huber_loss`): [`HuberLoss`] with this `delta` and the mean.
/// Panics if run-time sizes differ or `delta <= 0`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::huber_loss;
/// let pred = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
/// let loss = huber_loss(pred, Tensor::zeros(), 2.0);
/// assert_eq!(loss.to_vec(), vec![(0.125 + 4.0) / 2.0]);
/// ```
pub fn huber_loss<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    pred: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
    delta: f64,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, HuberLossShape>::OK;
    HuberLoss::new().delta(delta).forward(pred, target)
}

/// Huber loss (`torch.nn.HuberLoss`): with `d = pred - target`, `0.5 d^2` where
/// `|d| < delta` and `delta (|d| - 0.5 delta)` elsewhere; `delta` times the Smooth L1 loss
/// with `beta = delta`. Defaults: `delta = 1`, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{HuberLoss, Reduction};
/// let pred = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
/// let loss = HuberLoss::new().delta(2.0).reduction(Reduction::Sum).forward(pred, Tensor::zeros());
/// assert_eq!(loss.to_vec(), vec![4.125]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HuberLoss<R = MeanReduction> {
    /// Where the quadratic part ends (`delta=`, default 1).
    pub delta: f64,
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl Default for HuberLoss {
    fn default() -> Self {
        HuberLoss {
            delta: 1.0,
            reduction: MeanReduction,
        }
    }
}

impl HuberLoss {
    /// PyTorch's defaults: `delta = 1`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::HuberLoss;
    /// assert_eq!(HuberLoss::new().delta, 1.0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> HuberLoss<R> {
    /// The same loss with another `delta` (checked when the loss runs: positive).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::HuberLoss;
    /// let y = HuberLoss::new().delta(0.5).forward(Tensor::<Rank1<1>>::from_array([2.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![0.875]);
    /// ```
    pub fn delta(self, delta: f64) -> Self {
        HuberLoss { delta, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{HuberLoss, Reduction};
    /// let y = HuberLoss::new().reduction(Reduction::None).forward(Tensor::<Rank1<2>>::from_array([0.5, 3.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![0.125, 2.5]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> HuberLoss<R2> {
        HuberLoss {
            delta: self.delta,
            reduction,
        }
    }

    /// The loss of `pred` against `target`. Panics if run-time sizes differ or `delta <= 0`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::HuberLoss;
    /// let y = HuberLoss::new().forward(Tensor::<Rank1<2>>::from_array([0.5, 3.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![1.3125]);
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, HuberLossShape>::OK;
        or_panic(self.try_forward(pred, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ or `delta <= 0`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::HuberLoss;
    /// let p = Tensor::<Rank1<2>>::zeros();
    /// assert!(HuberLoss::new().delta(0.0).try_forward(p.clone(), p).is_err());
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        pred: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, HuberLossShape>::OK;
        let delta = self.delta;
        if delta.is_nan() || delta <= 0.0 {
            return Err(Error::value(
                "huber_loss delta",
                format!("{delta} is not positive"),
            ));
        }
        let kernel = HuberKernel(E::from_f64(delta));
        reduce_of_difference("huber_loss", self.reduction, pred, target, kernel)
    }
}

/// `reduction(k(pred - target))` after checking run-time sizes: the elementwise term in one
/// pass (see [`OfDifference`]), then the reduction. Untraced, a mean or a sum comes straight
/// from the two inputs, the terms never written out (the same bits, see
/// [`sum_of_differences`]).
fn reduce_of_difference<R: Reduce, S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR, K>(
    op: &'static str,
    reduction: R,
    pred: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
    k: K,
) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
    K: UnaryKernel<E>,
{
    let target = as_pred_shape(op, &pred.shape, target)?;
    if !<LossTape<E, T, TR> as Tape<E>>::TRACING {
        let sum = || sum_of_differences(&pred, &target, k);
        if let Some(loss) = reduction.untraced_from_sum::<S, E>(pred.data.len(), sum) {
            return Ok(Tensor {
                shape: loss.shape,
                data: loss.data,
                id: loss.id,
                tape: LossTape::<E, T, TR>::leaf(loss.id),
            });
        }
    }
    let shape = pred.shape;
    Ok(reduction.reduce(binary_op(pred, target, shape, OfDifference(k))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OrPanic;
    use crate::nn::loss::Reduction;

    /// Which reduction a case runs (each `Reduction` is a type of its own).
    #[derive(Clone, Copy, Debug)]
    enum R {
        Mean,
        Sum,
        None,
    }
    use crate::ops::unary::UnaryKernel;
    use crate::prelude::*;

    type X<E> = Tensor<Rank2<3, 37>, E>;

    /// The untraced regression losses (their terms summed as they are made) equal the traced
    /// ones (the unreduced tensor, then its mean or sum) bit for bit, at lengths below, at
    /// and past the blocked sum's threshold and between whole blocks, with one and two
    /// threads' split, for `f32` and `f64`; the differences cross the Smooth L1 and Huber
    /// thresholds.
    #[test]
    fn untraced_losses_equal_the_traced_losses_bit_for_bit() {
        fn check<E: Float>(n: usize) {
            let p: Vec<E> = (0..n)
                .map(|i| E::from_f64((i as f64 * 0.37).sin() * 3.0))
                .collect();
            let t: Vec<E> = (0..n)
                .map(|i| E::from_f64((i as f64 * 0.11).cos()))
                .collect();
            let pred = Tensor::<(usize,), E>::from_vec_with_shape(p, (n,)).or_panic();
            let target = Tensor::<(usize,), E>::from_vec_with_shape(t, (n,)).or_panic();
            let bits = |v: Vec<E>| v[0].to_f64().to_bits();
            macro_rules! same {
                ($($loss:expr),*) => {$(
                    let loss = $loss;
                    let untraced = bits(loss.forward(pred.clone(), target.clone()).to_vec());
                    let traced = bits(loss.forward(pred.clone().trace(), target.clone()).to_vec());
                    assert_eq!(untraced, traced, "{:?}, {} x {n}", loss, E::DTYPE);
                )*};
            }
            same!(
                MSELoss::new(),
                MSELoss::new().reduction(Reduction::Sum),
                L1Loss::new(),
                L1Loss::new().reduction(Reduction::Sum),
                SmoothL1Loss::new().beta(0.7),
                SmoothL1Loss::new().reduction(Reduction::Sum),
                HuberLoss::new().delta(1.3),
                HuberLoss::new().delta(0.5).reduction(Reduction::Sum)
            );
        }
        for n in [
            0,
            1,
            7,
            1000,
            (1 << 17) - 1,
            1 << 17,
            (1 << 17) + 5,
            5 << 16,
            300_001,
        ] {
            check::<f32>(n);
            check::<f64>(n);
        }
    }

    /// Prediction and target with equal elements (a zero difference: the kinks of |d|), and
    /// differences at the Smooth L1 and Huber thresholds (0.5) and on both sides of them.
    fn inputs<E: Float>() -> (X<E>, X<E>) {
        let p = (0..111).map(|i| E::from_f64((i as f64 * 0.37).sin() * 2.0));
        let t = (0..111).map(|i| match i % 5 {
            0 => E::from_f64((i as f64 * 0.37).sin() * 2.0),
            1 => E::from_f64((i as f64 * 0.37).sin() * 2.0 - 0.5),
            _ => E::from_f64((i as f64 * 0.91).cos()),
        });
        (
            X::from_vec(p.collect()).unwrap(),
            X::from_vec(t.collect()).unwrap(),
        )
    }

    /// The one-pass losses (see `OfDifference`) against the difference and the kernel as two
    /// ops: the same values and gradients, bit for bit, for prediction and target, in every
    /// reduction (a mean's or sum's gradient reaches the term uniform, `None`'s does not).
    fn matches_two_passes<E: Float, K: UnaryKernel<E>>(
        k: K,
        fused: impl Fn(X<E>, X<E>, R) -> (Vec<E>, Vec<E>, Vec<E>),
    ) {
        let (p, t) = inputs::<E>();
        let w = X::<E>::from_vec((0..111).map(|i| E::from_f64(i as f64 * 0.01)).collect()).unwrap();
        for r in [R::Mean, R::Sum, R::None] {
            let d = p.clone().trace().sub(t.clone().trace()).map_kernel(k);
            let loss = match r {
                R::Mean => d.mean(),
                R::Sum => d.sum(),
                R::None => d.mul(w.clone()).sum(),
            };
            let value = loss.to_vec();
            let g = loss.backward();
            let two_passes = (
                value,
                g.get(&p).unwrap().to_vec(),
                g.get(&t).unwrap().to_vec(),
            );
            let bits = |v: &[E]| v.iter().map(|x| x.to_f64().to_bits()).collect::<Vec<_>>();
            let one = fused(p.clone(), t.clone(), r);
            assert_eq!(bits(&one.0), bits(&two_passes.0), "{r:?}: loss");
            assert_eq!(bits(&one.1), bits(&two_passes.1), "{r:?}: d/dpred");
            assert_eq!(bits(&one.2), bits(&two_passes.2), "{r:?}: d/dtarget");
        }
    }

    /// Runs `$loss` (a loss struct) with reduction `r`; `None` is weighted by `w` then summed.
    macro_rules! run {
        ($loss:expr) => {
            |p: X<_>, t: X<_>, r: R| {
                let w = X::from_vec((0..111).map(|i| Float::from_f64(i as f64 * 0.01)).collect())
                    .unwrap();
                let loss = match r {
                    R::Mean => $loss.forward(p.clone().trace(), t.clone().trace()),
                    R::Sum => $loss
                        .reduction(Reduction::Sum)
                        .forward(p.clone().trace(), t.clone().trace()),
                    R::None => $loss
                        .reduction(Reduction::None)
                        .forward(p.clone().trace(), t.clone().trace())
                        .mul(w)
                        .sum(),
                };
                let value = loss.to_vec();
                let g = loss.backward();
                (
                    value,
                    g.get(&p).unwrap().to_vec(),
                    g.get(&t).unwrap().to_vec(),
                )
            }
        };
    }

    #[test]
    fn one_pass_losses_match_two_passes() {
        use crate::ops::loss::{HuberKernel, SmoothL1Kernel};
        use crate::ops::unary::{AbsKernel, SquareKernel};
        matches_two_passes::<f32, _>(SquareKernel, run!(MSELoss::new()));
        matches_two_passes::<f64, _>(SquareKernel, run!(MSELoss::new()));
        matches_two_passes::<f32, _>(AbsKernel, run!(L1Loss::new()));
        matches_two_passes::<f64, _>(AbsKernel, run!(L1Loss::new()));
        let (beta, delta) = (0.5, 0.5);
        matches_two_passes::<f32, _>(SmoothL1Kernel(0.5), run!(SmoothL1Loss::new().beta(beta)));
        matches_two_passes::<f64, _>(SmoothL1Kernel(0.5), run!(SmoothL1Loss::new().beta(beta)));
        matches_two_passes::<f32, _>(HuberKernel(0.5), run!(HuberLoss::new().delta(delta)));
        matches_two_passes::<f64, _>(HuberKernel(0.5), run!(HuberLoss::new().delta(delta)));
    }
}
