//! The triplet margin loss with any distance function (`nn.TripletMarginWithDistanceLoss`)
//! and the [`TripletDistance`] it measures with; the triplet rule itself is
//! [`triplet_hinges`], shared with [`TripletMarginLoss`](super::TripletMarginLoss).

use super::embedding::{Pairs, triplet_hinges};
use super::{MeanReduction, Reduce, as_pred_shape, or_panic};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::PairwiseDistance;
use crate::ops::distance::{check_p, pairwise_distance_op};
use crate::shape::check::{LossTargetCheck, TripletDistanceNegative, TripletDistancePositive};
use crate::shape::{LastDim, LossTarget, Shape, check_target_dims};
use crate::tensor::Tensor;

/// A distance between the rows (the last axis) of two tensors of one shape `S`, one value
/// per row: what [`TripletMarginWithDistanceLoss`] measures with (PyTorch's
/// `distance_function`). Implemented by [`PairwiseDistance`] (PyTorch's default,
/// `F.pairwise_distance` with its `p` and `eps`) and by every closure or function
/// `Fn(Tensor<S, E, T>, Tensor<S, E, T>) -> Tensor<S without its last axis, E, T>`, such as
/// a cosine distance `1 - cosine_similarity(a, b)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::PairwiseDistance;
/// use shaped::nn::loss::TripletDistance;
/// let a = Tensor::<Rank2<1, 2>, f64>::from_array([[0.0, 0.0]]);
/// let b = Tensor::<Rank2<1, 2>, f64>::from_array([[3.0, 4.0]]);
/// let d = PairwiseDistance::new().eps(0.0).try_distance(a.clone(), b.clone()).unwrap();
/// assert_eq!(d.to_vec(), vec![5.0]);
/// let l1 = |x: Tensor<Rank2<1, 2>, f64>, y: Tensor<Rank2<1, 2>, f64>| (x - y).abs().sum_dim::<1>();
/// assert_eq!(l1.try_distance(a, b).unwrap().to_vec(), vec![7.0]);
/// ```
pub trait TripletDistance<S: LastDim, E: Float, T: Tape<E>> {
    /// The distance between each pair of rows of `x1` and `x2` (same shape, checked by the
    /// loss); an error where the distance rejects its arguments.
    fn try_distance(
        &self,
        x1: Tensor<S, E, T>,
        x2: Tensor<S, E, T>,
    ) -> Result<Tensor<Pairs<S>, E, T>>;
}

impl<S: LastDim, E: Float, T: Tape<E>> TripletDistance<S, E, T> for PairwiseDistance {
    fn try_distance(
        &self,
        x1: Tensor<S, E, T>,
        x2: Tensor<S, E, T>,
    ) -> Result<Tensor<Pairs<S>, E, T>> {
        check_p("pairwise_distance", self.p)?;
        let shape = x1.shape;
        check_target_dims(
            "pairwise_distance",
            shape.dims().as_slice(),
            x2.shape.dims().as_slice(),
        )?;
        Ok(pairwise_distance_op(
            x1,
            x2,
            shape,
            (self.p, self.eps),
            shape.without_last(),
        ))
    }
}

impl<S, E, T, F> TripletDistance<S, E, T> for F
where
    S: LastDim,
    E: Float,
    T: Tape<E>,
    F: Fn(Tensor<S, E, T>, Tensor<S, E, T>) -> Tensor<Pairs<S>, E, T>,
{
    fn try_distance(
        &self,
        x1: Tensor<S, E, T>,
        x2: Tensor<S, E, T>,
    ) -> Result<Tensor<Pairs<S>, E, T>> {
        Ok(self(x1, x2))
    }
}

/// The triplet margin loss with a distance function and the defaults otherwise
/// (`F.triplet_margin_with_distance_loss(anchor, positive, negative,
/// distance_function=distance_function)`: margin 1, no swap, the mean): see
/// [`TripletMarginWithDistanceLoss`]. PyTorch's `distance_function=None` is
/// [`PairwiseDistance::new()`] (or the loss's [`new`](TripletMarginWithDistanceLoss::new)).
/// A closure's argument types are inferred here from the anchor's. Panics if run-time
/// sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::triplet_margin_with_distance_loss;
/// use shaped::ops::distance::cosine_similarity;
/// let a = Tensor::<Rank2<1, 2>, f64>::from_array([[1.0, 0.0]]);
/// let p = Tensor::<Rank2<1, 2>, f64>::from_array([[1.0, 1.0]]);
/// let n = Tensor::<Rank2<1, 2>, f64>::from_array([[0.0, 1.0]]);
/// let cosine_distance = |x, y| cosine_similarity(x, y, 1e-8).neg().add_scalar(1.0);
/// let loss = triplet_margin_with_distance_loss(a, p, n, cosine_distance);
/// // max(0, (1 - 0.707) - (1 - 0) + 1)
/// assert!((loss.to_vec()[0] - (1.0 - 0.5f64.sqrt())).abs() < 1e-12);
/// ```
#[track_caller]
pub fn triplet_margin_with_distance_loss<S, S2, S3, E, T, D>(
    anchor: Tensor<S, E, T>,
    positive: Tensor<S2, E, T>,
    negative: Tensor<S3, E, T>,
    distance_function: D,
) -> Tensor<(), E, T>
where
    S: LastDim + LossTarget<S2> + LossTarget<S3>,
    S2: Shape,
    S3: Shape,
    E: Float,
    T: Tape<E>,
    D: Fn(Tensor<S, E, T>, Tensor<S, E, T>) -> Tensor<Pairs<S>, E, T>,
{
    let () = LossTargetCheck::<S, S2, TripletDistancePositive>::OK;
    let () = LossTargetCheck::<S, S3, TripletDistanceNegative>::OK;
    TripletMarginWithDistanceLoss::new()
        .distance_function(distance_function)
        .forward(anchor, positive, negative)
}

/// The triplet margin loss with a distance function (`torch.nn.TripletMarginWithDistanceLoss`):
/// for rows (the last axis) of `anchor`, `positive` and `negative`,
/// `max(d(a, p) - d(a, n) + margin, 0)` with `d` the [`TripletDistance`] `distance_function`;
/// with `swap`, `d(a, n)` is replaced by `min(d(a, n), d(p, n))`. Defaults:
/// [`PairwiseDistance::new()`] (PyTorch's `distance_function=None`: `p = 2`, `eps = 1e-6`),
/// `margin = 1` (positive: PyTorch's check, an `Err` here), `swap = false`, the mean.
///
/// Inputs are `(N, D)` (`(N,)` losses) or `(D,)`, the three of one shape (a static mismatch
/// does not compile) and one tape type (see [`TripletMarginLoss`](super::TripletMarginLoss)). A closure stored with
/// [`distance_function`](Self::distance_function) needs its argument types written out
/// (the free function [`triplet_margin_with_distance_loss`] infers them).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{Reduction, TripletMarginWithDistanceLoss};
/// use shaped::ops::distance::cosine_similarity;
/// type X = Tensor<Rank2<2, 2>, f64>;
/// let a = X::from_array([[1.0, 0.0], [1.0, 0.0]]);
/// let p = X::from_array([[2.0, 0.0], [0.0, 1.0]]);
/// let n = X::from_array([[0.0, 3.0], [1.0, 1.0]]);
/// let cosine_distance = |x: X, y: X| cosine_similarity(x, y, 1e-8).neg().add_scalar(1.0);
/// let loss = TripletMarginWithDistanceLoss::new()
///     .distance_function(cosine_distance)
///     .margin(0.5)
///     .reduction(Reduction::None)
///     .forward(a, p, n);
/// let y = loss.to_vec(); // max(0, d(a, p) - d(a, n) + 0.5)
/// assert!(y[0].abs() < 1e-12 && (y[1] - (1.0 - (1.0 - 0.5f64.sqrt()) + 0.5)).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TripletMarginWithDistanceLoss<D = PairwiseDistance, R = MeanReduction> {
    /// The distance between rows (`distance_function=`, default [`PairwiseDistance::new()`]).
    pub distance_function: D,
    /// The gap wanted between the negative's and the positive's distances (default 1;
    /// positive).
    pub margin: f64,
    /// Use `min(d(a, n), d(p, n))` as the negative's distance (default false).
    pub swap: bool,
    /// How the per-triplet losses are reduced.
    pub reduction: R,
}

impl Default for TripletMarginWithDistanceLoss {
    fn default() -> Self {
        TripletMarginWithDistanceLoss {
            distance_function: PairwiseDistance::new(),
            margin: 1.0,
            swap: false,
            reduction: MeanReduction,
        }
    }
}

impl TripletMarginWithDistanceLoss {
    /// PyTorch's defaults: the pairwise distance (`p = 2`, `eps = 1e-6`), `margin = 1`, no
    /// swap, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::TripletMarginWithDistanceLoss;
    /// let l = TripletMarginWithDistanceLoss::new();
    /// assert_eq!((l.distance_function.p, l.margin, l.swap), (2.0, 1.0, false));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<D, R: Reduce> TripletMarginWithDistanceLoss<D, R> {
    /// The same loss measuring with `distance_function` (`distance_function=`): a
    /// [`TripletDistance`], such as a closure over two tensors of the inputs' type.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::TripletMarginWithDistanceLoss;
    /// type X = Tensor<Rank1<2>>;
    /// let l1 = |x: X, y: X| (x - y).abs().sum();
    /// let loss = TripletMarginWithDistanceLoss::new().distance_function(l1);
    /// let y = loss.forward(X::zeros(), X::ones(), X::full(3.0));
    /// assert_eq!(y.to_vec(), vec![0.0]); // max(0, 2 - 6 + 1)
    /// ```
    pub fn distance_function<D2>(
        self,
        distance_function: D2,
    ) -> TripletMarginWithDistanceLoss<D2, R> {
        TripletMarginWithDistanceLoss {
            distance_function,
            margin: self.margin,
            swap: self.swap,
            reduction: self.reduction,
        }
    }

    /// The same loss with another margin (`margin=`; positive, checked when the loss runs).
    ///
    /// ```
    /// use shaped::nn::loss::TripletMarginWithDistanceLoss;
    /// assert_eq!(TripletMarginWithDistanceLoss::new().margin(0.2).margin, 0.2);
    /// ```
    pub fn margin(self, margin: f64) -> Self {
        TripletMarginWithDistanceLoss { margin, ..self }
    }

    /// The same loss with the distance swap on or off (`swap=`).
    ///
    /// ```
    /// use shaped::nn::loss::TripletMarginWithDistanceLoss;
    /// assert!(TripletMarginWithDistanceLoss::new().swap(true).swap);
    /// ```
    pub fn swap(self, swap: bool) -> Self {
        TripletMarginWithDistanceLoss { swap, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{Reduction, TripletMarginWithDistanceLoss};
    /// let x = Tensor::<Rank2<3, 2>>::zeros();
    /// let loss = TripletMarginWithDistanceLoss::new().reduction(Reduction::Sum).forward(x.clone(), x.clone(), x);
    /// assert_eq!(loss.to_vec(), vec![3.0]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> TripletMarginWithDistanceLoss<D, R2> {
        TripletMarginWithDistanceLoss {
            distance_function: self.distance_function,
            margin: self.margin,
            swap: self.swap,
            reduction,
        }
    }

    /// The loss of the triplets of rows. Panics where [`try_forward`](Self::try_forward)
    /// returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::TripletMarginWithDistanceLoss;
    /// let a = Tensor::<Rank1<2>, f64>::from_array([0.0, 0.0]);
    /// let p = Tensor::<Rank1<2>, f64>::from_array([3.0, 4.0]);
    /// let n = Tensor::<Rank1<2>, f64>::from_array([0.0, 1.0]);
    /// let loss = TripletMarginWithDistanceLoss::new().forward(a, p, n);
    /// assert!((loss.to_vec()[0] - 5.0).abs() < 1e-5); // 5 - 1 + 1
    /// ```
    #[track_caller]
    pub fn forward<S, S2, S3, E, T>(
        &self,
        anchor: Tensor<S, E, T>,
        positive: Tensor<S2, E, T>,
        negative: Tensor<S3, E, T>,
    ) -> Tensor<R::Output<Pairs<S>>, E, T>
    where
        S: LastDim + LossTarget<S2> + LossTarget<S3>,
        S2: Shape,
        S3: Shape,
        E: Float,
        T: Tape<E>,
        D: TripletDistance<S, E, T>,
    {
        let () = LossTargetCheck::<S, S2, TripletDistancePositive>::OK;
        let () = LossTargetCheck::<S, S3, TripletDistanceNegative>::OK;
        or_panic(self.try_forward(anchor, positive, negative))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ, the margin is
    /// not positive, the distance function fails or returns a shape other than one value
    /// per row.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::TripletMarginWithDistanceLoss;
    /// let a = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    /// let n = Tensor::<(usize, usize)>::zeros_with_shape((3, 3));
    /// let loss = TripletMarginWithDistanceLoss::new();
    /// let err = loss.try_forward(a.clone(), a.clone(), n).unwrap_err();
    /// assert!(err.to_string().contains("triplet_margin_with_distance_loss"), "{err}");
    /// assert!(loss.margin(0.0).try_forward(a.clone(), a.clone(), a).is_err());
    /// ```
    pub fn try_forward<S, S2, S3, E, T>(
        &self,
        anchor: Tensor<S, E, T>,
        positive: Tensor<S2, E, T>,
        negative: Tensor<S3, E, T>,
    ) -> Result<Tensor<R::Output<Pairs<S>>, E, T>>
    where
        S: LastDim + LossTarget<S2> + LossTarget<S3>,
        S2: Shape,
        S3: Shape,
        E: Float,
        T: Tape<E>,
        D: TripletDistance<S, E, T>,
    {
        let () = LossTargetCheck::<S, S2, TripletDistancePositive>::OK;
        let () = LossTargetCheck::<S, S3, TripletDistanceNegative>::OK;
        const OP: &str = "triplet_margin_with_distance_loss";
        if self.margin.is_nan() || self.margin <= 0.0 {
            return Err(Error::value(
                format!("{OP} margin"),
                format!("{}; the margin must be greater than 0", self.margin),
            ));
        }
        let shape = anchor.shape;
        let positive = as_pred_shape(OP, &shape, positive)?;
        let negative = as_pred_shape(OP, &shape, negative)?;
        let out = shape.without_last();
        let dist = |x1: Tensor<S, E, T>, x2: Tensor<S, E, T>| -> Result<Tensor<Pairs<S>, E, T>> {
            let d = self.distance_function.try_distance(x1, x2)?;
            if d.shape.dims() != out.dims() {
                return Err(Error::shape(
                    OP,
                    format!(
                        "the distance function returned shape {:?} for rows of shape {:?} \
                         (one distance per row: {:?})",
                        d.shape.dims().as_slice(),
                        shape.dims().as_slice(),
                        out.dims().as_slice()
                    ),
                ));
            }
            Ok(d)
        };
        let triplet = (anchor, positive, negative);
        let loss = triplet_hinges(triplet, (self.margin, self.swap), out, dist)?;
        Ok(self.reduction.reduce(loss))
    }
}
