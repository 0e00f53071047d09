//! Losses on pairs and triplets of embeddings: the cosine embedding loss and the triplet
//! margin losses (with the pairwise distance, or with any distance function), along the last
//! axis.

use super::{LossTape, MeanReduction, Reduce, as_pred_shape, or_panic};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::PairwiseDistance;
use crate::ops::binary::{AddKernel, DivKernel, MinimumKernel, MulKernel, SubKernel, binary_op};
use crate::ops::distance::{check_p, pairwise_distance_op};
use crate::ops::reduce::sum_axis_op;
use crate::shape::check::{
    CosineEmbeddingInputs, CosineEmbeddingTarget, LossTargetCheck, TripletDistanceNegative,
    TripletDistancePositive, TripletNegative, TripletPositive,
};
use crate::shape::{LastDim, LossTarget, Shape, check_target_dims};
use crate::tensor::Tensor;

/// The per-pair loss shape of inputs shaped `S`: `S` without its last axis.
type Pairs<S> = <S as LastDim>::WithoutLast;

/// PyTorch's `EPSILON` in `cosine_embedding_loss`, added to each squared magnitude.
const EPSILON: f64 = 1e-12;

/// The cosine embedding loss with the mean and margin 0 (`F.cosine_embedding_loss(x1, x2,
/// y)`): [`CosineEmbeddingLoss`] with PyTorch's defaults. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::cosine_embedding_loss;
/// let x1 = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [1.0, 0.0]]);
/// let x2 = Tensor::<Rank2<2, 2>>::from_array([[0.0, 1.0], [1.0, 1.0]]);
/// let y = Tensor::<Rank1<2>>::from_array([1.0, -1.0]);
/// // 1 - cos = 1 for the orthogonal similar pair, max(0, cos) = 0.707 for the dissimilar one
/// let loss = cosine_embedding_loss(x1, x2, &y);
/// assert!((loss.to_vec()[0] - (1.0 + 0.5f32.sqrt()) / 2.0).abs() < 1e-6);
/// ```
#[track_caller]
pub fn cosine_embedding_loss<S, S2, SY, E, T, T2, TY>(
    x1: Tensor<S, E, T>,
    x2: Tensor<S2, E, T2>,
    target: &Tensor<SY, E, TY>,
) -> Tensor<(), E, LossTape<E, T, T2>>
where
    S: LastDim + LossTarget<S2>,
    Pairs<S>: LossTarget<SY>,
    S2: Shape,
    SY: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
    TY: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, CosineEmbeddingInputs>::OK;
    let () = LossTargetCheck::<Pairs<S>, SY, CosineEmbeddingTarget>::OK;
    CosineEmbeddingLoss::new().forward(x1, x2, target)
}

/// The cosine embedding loss (`torch.nn.CosineEmbeddingLoss`): for rows `x1`, `x2` (the last
/// axis) and a target `y` of 1 (similar) or -1 (dissimilar) per row, `1 - cos(x1, x2)` where
/// `y = 1` and `max(0, cos(x1, x2) - margin)` where `y = -1` (0 for any other target value,
/// as in PyTorch), reduced by `reduction`. Defaults: `margin = 0`, the mean.
///
/// The cosine is PyTorch's: `sum(x1 x2) / sqrt((sum(x1^2) + 1e-12) (sum(x2^2) + 1e-12))`,
/// finite for zero rows. Inputs are `(N, D)` with a `(N,)` target, or `(D,)` with a scalar
/// target (higher ranks work too, over the last axis, where PyTorch accepts only these two); `x2` has `x1`'s shape (a static mismatch does not compile). The target is a
/// constant.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{CosineEmbeddingLoss, Reduction};
/// let x1 = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [1.0, 0.0]]);
/// let x2 = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [1.0, 1.0]]);
/// let y = Tensor::<Rank1<2>>::from_array([1.0, -1.0]);
/// let loss = CosineEmbeddingLoss::new().margin(0.5).reduction(Reduction::None);
/// let per_pair: Tensor<Rank1<2>> = loss.forward(x1, x2, &y);
/// assert!(per_pair.to_vec()[0].abs() < 1e-6);
/// assert!((per_pair.to_vec()[1] - (0.5f32.sqrt() - 0.5)).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineEmbeddingLoss<R = MeanReduction> {
    /// The cosine below which dissimilar pairs cost nothing (`margin`, default 0).
    pub margin: f64,
    /// How the per-pair losses are reduced.
    pub reduction: R,
}

impl Default for CosineEmbeddingLoss {
    fn default() -> Self {
        CosineEmbeddingLoss {
            margin: 0.0,
            reduction: MeanReduction,
        }
    }
}

impl CosineEmbeddingLoss {
    /// PyTorch's defaults: `margin = 0`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::{CosineEmbeddingLoss, Reduction};
    /// let loss = CosineEmbeddingLoss::new();
    /// assert_eq!((loss.margin, loss.reduction), (0.0, Reduction::Mean));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> CosineEmbeddingLoss<R> {
    /// The same loss with another margin (`margin=`).
    ///
    /// ```
    /// use shaped::nn::loss::CosineEmbeddingLoss;
    /// assert_eq!(CosineEmbeddingLoss::new().margin(0.5).margin, 0.5);
    /// ```
    pub fn margin(self, margin: f64) -> Self {
        CosineEmbeddingLoss { margin, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{CosineEmbeddingLoss, Reduction};
    /// let x = Tensor::<Rank2<2, 3>>::ones();
    /// let y = Tensor::<Rank1<2>>::from_array([-1.0, -1.0]);
    /// let loss = CosineEmbeddingLoss::new().reduction(Reduction::Sum).forward(x.clone(), x, &y);
    /// assert!((loss.to_vec()[0] - 2.0).abs() < 1e-6);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> CosineEmbeddingLoss<R2> {
        CosineEmbeddingLoss {
            margin: self.margin,
            reduction,
        }
    }

    /// The loss of the pairs of rows of `x1` and `x2` with `target`. Panics if run-time
    /// sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CosineEmbeddingLoss;
    /// let x = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
    /// let y = Tensor::<()>::from_array(1.0);
    /// let loss = CosineEmbeddingLoss::new().forward(x.clone(), x, &y);
    /// assert!(loss.to_vec()[0].abs() < 1e-6);
    /// ```
    #[track_caller]
    pub fn forward<S, S2, SY, E, T, T2, TY>(
        &self,
        x1: Tensor<S, E, T>,
        x2: Tensor<S2, E, T2>,
        target: &Tensor<SY, E, TY>,
    ) -> Tensor<R::Output<Pairs<S>>, E, LossTape<E, T, T2>>
    where
        S: LastDim + LossTarget<S2>,
        Pairs<S>: LossTarget<SY>,
        S2: Shape,
        SY: Shape,
        E: Float,
        T: Tape<E> + Merge<E, T2>,
        T2: Tape<E>,
        TY: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, CosineEmbeddingInputs>::OK;
        let () = LossTargetCheck::<Pairs<S>, SY, CosineEmbeddingTarget>::OK;
        or_panic(self.try_forward(x1, x2, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::CosineEmbeddingLoss;
    /// let x1 = Tensor::<(usize, usize)>::ones_with_shape((2, 3));
    /// let x2 = Tensor::<(usize, usize)>::ones_with_shape((2, 4));
    /// let y = Tensor::<(usize,)>::ones_with_shape((2,));
    /// assert!(CosineEmbeddingLoss::new().try_forward(x1.clone(), x2, &y).is_err());
    /// let y3 = Tensor::<(usize,)>::ones_with_shape((3,));
    /// assert!(CosineEmbeddingLoss::new().try_forward(x1.clone(), x1, &y3).is_err());
    /// ```
    pub fn try_forward<S, S2, SY, E, T, T2, TY>(
        &self,
        x1: Tensor<S, E, T>,
        x2: Tensor<S2, E, T2>,
        target: &Tensor<SY, E, TY>,
    ) -> Result<Tensor<R::Output<Pairs<S>>, E, LossTape<E, T, T2>>>
    where
        S: LastDim + LossTarget<S2>,
        Pairs<S>: LossTarget<SY>,
        S2: Shape,
        SY: Shape,
        E: Float,
        T: Tape<E> + Merge<E, T2>,
        T2: Tape<E>,
        TY: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, CosineEmbeddingInputs>::OK;
        let () = LossTargetCheck::<Pairs<S>, SY, CosineEmbeddingTarget>::OK;
        const OP: &str = "cosine_embedding_loss";
        let x2 = as_pred_shape(OP, &x1.shape, x2)?;
        let pairs = x1.shape.without_last();
        check_target_dims(OP, pairs.dims().as_slice(), target.shape.dims().as_slice())?;
        let mask = |v: f64| -> Result<Tensor<Pairs<S>, E>> {
            let m = target
                .as_slice()
                .iter()
                .map(|&y| if y.to_f64() == v { E::ONE } else { E::ZERO });
            Tensor::from_vec_with_shape(m.collect(), pairs)
        };
        let (similar, dissimilar) = (mask(1.0)?, mask(-1.0)?);
        let (eps, shape) = (E::from_f64(EPSILON), x1.shape);
        let prod = sum_last(binary_op(x1.clone(), x2.clone(), shape, MulKernel), pairs);
        let mag1 = sum_last(x1.square(), pairs).add_scalar(eps);
        let mag2 = sum_last(x2.square(), pairs).add_scalar(eps);
        let denom = binary_op(mag1, mag2, pairs, MulKernel).sqrt();
        let cos = binary_op(prod, denom, pairs, DivKernel);
        let pos = cos.clone().neg().add_scalar(E::ONE);
        let neg = cos
            .sub_scalar(E::from_f64(self.margin))
            .clamp(E::ZERO, E::from_f64(f64::INFINITY));
        let loss = binary_op(
            binary_op(pos, similar, pairs, MulKernel),
            binary_op(neg, dissimilar, pairs, MulKernel),
            pairs,
            AddKernel,
        );
        Ok(self.reduction.reduce(loss))
    }
}

/// The sum of `x` over its last axis into `out` (`S` without it).
fn sum_last<S: LastDim, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    out: Pairs<S>,
) -> Tensor<Pairs<S>, E, T> {
    let axis = x.shape.dims().rank() - 1;
    sum_axis_op(x, axis, out)
}

/// The triplet margin loss with PyTorch's defaults (`F.triplet_margin_loss(anchor,
/// positive, negative)`: margin 1, p = 2, eps = 1e-6, no swap, the mean): see
/// [`TripletMarginLoss`]. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::triplet_margin_loss;
/// let a = Tensor::<Rank2<1, 2>, f64>::from_array([[0.0, 0.0]]);
/// let p = Tensor::<Rank2<1, 2>, f64>::from_array([[0.0, 1.0]]);
/// let n = Tensor::<Rank2<1, 2>, f64>::from_array([[0.0, 1.5]]);
/// // max(d(a, p) - d(a, n) + 1, 0) = 1 - 0.5
/// assert!((triplet_margin_loss(a, p, n).to_vec()[0] - 0.5).abs() < 1e-5);
/// ```
#[track_caller]
pub fn triplet_margin_loss<S, S2, S3, E, T>(
    anchor: Tensor<S, E, T>,
    positive: Tensor<S2, E, T>,
    negative: Tensor<S3, E, T>,
) -> Tensor<(), E, T>
where
    S: LastDim + LossTarget<S2> + LossTarget<S3>,
    S2: Shape,
    S3: Shape,
    E: Float,
    T: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, TripletPositive>::OK;
    let () = LossTargetCheck::<S, S3, TripletNegative>::OK;
    TripletMarginLoss::new().forward(anchor, positive, negative)
}

/// The triplet margin loss (`torch.nn.TripletMarginLoss`): for rows (the last axis) of
/// `anchor`, `positive` and `negative`, `max(d(a, p) - d(a, n) + margin, 0)` with `d` the
/// [`pairwise_distance`](crate::ops::distance::pairwise_distance) of norm `p` and its `eps`;
/// with `swap`, `d(a, n)` is replaced by `min(d(a, n), d(p, n))` (Balntas et al.'s distance
/// swap, as PyTorch). Defaults: `margin = 1`, `p = 2`, `eps = 1e-6`, `swap = false`, the
/// mean.
///
/// Inputs are `(N, D)` (`(N,)` losses) or `(D,)`; `positive` and `negative` have the
/// anchor's shape (a static mismatch does not compile) and its tape type: to mix a traced
/// anchor with constant positives, trace them with
/// [`trace_constant`](crate::tensor::Tensor::trace_constant).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{Reduction, TripletMarginLoss};
/// let a = Tensor::<Rank2<2, 1>, f64>::from_array([[0.0], [0.0]]);
/// let p = Tensor::<Rank2<2, 1>, f64>::from_array([[1.0], [1.0]]);
/// let n = Tensor::<Rank2<2, 1>, f64>::from_array([[3.0], [1.5]]);
/// let loss = TripletMarginLoss::new().eps(0.0).reduction(Reduction::None).forward(a, p, n);
/// assert_eq!(loss.to_vec(), vec![0.0, 0.5]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TripletMarginLoss<R = MeanReduction> {
    /// The gap wanted between the negative's and the positive's distances (default 1).
    pub margin: f64,
    /// The norm of the distances (default 2).
    pub p: f64,
    /// Added to the differences before the norm (default 1e-6).
    pub eps: f64,
    /// Use `min(d(a, n), d(p, n))` as the negative's distance (default false).
    pub swap: bool,
    /// How the per-triplet losses are reduced.
    pub reduction: R,
}

impl Default for TripletMarginLoss {
    fn default() -> Self {
        TripletMarginLoss {
            margin: 1.0,
            p: 2.0,
            eps: 1e-6,
            swap: false,
            reduction: MeanReduction,
        }
    }
}

impl TripletMarginLoss {
    /// PyTorch's defaults: `margin = 1`, `p = 2`, `eps = 1e-6`, `swap = false`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::TripletMarginLoss;
    /// let l = TripletMarginLoss::new();
    /// assert_eq!((l.margin, l.p, l.eps, l.swap), (1.0, 2.0, 1e-6, false));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> TripletMarginLoss<R> {
    /// The same loss with another margin (`margin=`).
    ///
    /// ```
    /// use shaped::nn::loss::TripletMarginLoss;
    /// assert_eq!(TripletMarginLoss::new().margin(0.2).margin, 0.2);
    /// ```
    pub fn margin(self, margin: f64) -> Self {
        TripletMarginLoss { margin, ..self }
    }

    /// The same loss with another norm (`p=`, positive; `try_forward` rejects others).
    ///
    /// ```
    /// use shaped::nn::loss::TripletMarginLoss;
    /// assert_eq!(TripletMarginLoss::new().p(1.0).p, 1.0);
    /// ```
    pub fn p(self, p: f64) -> Self {
        TripletMarginLoss { p, ..self }
    }

    /// The same loss with another `eps=`.
    ///
    /// ```
    /// use shaped::nn::loss::TripletMarginLoss;
    /// assert_eq!(TripletMarginLoss::new().eps(0.0).eps, 0.0);
    /// ```
    pub fn eps(self, eps: f64) -> Self {
        TripletMarginLoss { eps, ..self }
    }

    /// The same loss with the distance swap on or off (`swap=`).
    ///
    /// ```
    /// use shaped::nn::loss::TripletMarginLoss;
    /// assert!(TripletMarginLoss::new().swap(true).swap);
    /// ```
    pub fn swap(self, swap: bool) -> Self {
        TripletMarginLoss { swap, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{Reduction, TripletMarginLoss};
    /// let x = Tensor::<Rank2<3, 2>>::zeros();
    /// let loss = TripletMarginLoss::new().eps(0.0).reduction(Reduction::Sum).forward(x.clone(), x.clone(), x);
    /// assert_eq!(loss.to_vec(), vec![3.0]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> TripletMarginLoss<R2> {
        TripletMarginLoss {
            margin: self.margin,
            p: self.p,
            eps: self.eps,
            swap: self.swap,
            reduction,
        }
    }

    /// The loss of the triplets of rows. Panics if run-time sizes differ or `p <= 0`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::TripletMarginLoss;
    /// let a = Tensor::<Rank1<2>, f64>::from_array([0.0, 0.0]);
    /// let p = Tensor::<Rank1<2>, f64>::from_array([3.0, 4.0]);
    /// let n = Tensor::<Rank1<2>, f64>::from_array([0.0, 1.0]);
    /// let loss = TripletMarginLoss::new().p(1.0).eps(0.0).forward(a, p, n);
    /// assert_eq!(loss.to_vec(), vec![7.0]); // 7 - 1 + 1
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
    {
        let () = LossTargetCheck::<S, S2, TripletPositive>::OK;
        let () = LossTargetCheck::<S, S3, TripletNegative>::OK;
        or_panic(self.try_forward(anchor, positive, negative))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ or `p <= 0`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::TripletMarginLoss;
    /// let a = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    /// let n = Tensor::<(usize, usize)>::zeros_with_shape((2, 4));
    /// let err = TripletMarginLoss::new().try_forward(a.clone(), a.clone(), n).unwrap_err();
    /// assert!(err.to_string().contains("triplet_margin_loss"), "{err}");
    /// assert!(TripletMarginLoss::new().p(0.0).try_forward(a.clone(), a.clone(), a).is_err());
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
    {
        let () = LossTargetCheck::<S, S2, TripletPositive>::OK;
        let () = LossTargetCheck::<S, S3, TripletNegative>::OK;
        const OP: &str = "triplet_margin_loss";
        check_p(OP, self.p)?;
        let shape = anchor.shape;
        let positive = as_pred_shape(OP, &shape, positive)?;
        let negative = as_pred_shape(OP, &shape, negative)?;
        let out = shape.without_last();
        let dist = |x1: Tensor<S, E, T>, x2: Tensor<S, E, T>| {
            pairwise_distance_op(x1, x2, shape, (self.p, self.eps), out)
        };
        let d_pos = dist(anchor.clone(), positive.clone());
        let mut d_neg = dist(anchor, negative.clone());
        if self.swap {
            d_neg = binary_op(d_neg, dist(positive, negative), out, MinimumKernel);
        }
        let margin = d_pos.add_scalar(E::from_f64(self.margin));
        let loss =
            binary_op(margin, d_neg, out, SubKernel).clamp(E::ZERO, E::from_f64(f64::INFINITY));
        Ok(self.reduction.reduce(loss))
    }
}

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
/// does not compile) and one tape type (see [`TripletMarginLoss`]). A closure stored with
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
        let d_pos = dist(anchor.clone(), positive.clone())?;
        let mut d_neg = dist(anchor, negative.clone())?;
        if self.swap {
            d_neg = binary_op(d_neg, dist(positive, negative)?, out, MinimumKernel);
        }
        let margin = d_pos.add_scalar(E::from_f64(self.margin));
        let loss =
            binary_op(margin, d_neg, out, SubKernel).clamp(E::ZERO, E::from_f64(f64::INFINITY));
        Ok(self.reduction.reduce(loss))
    }
}
