//! Losses on pairs and triplets of embeddings along the last axis: the cosine embedding loss
//! and the triplet margin loss (with the pairwise distance; with any distance function in
//! [`super::triplet_distance`]).

use super::{LossTape, MeanReduction, Reduce, as_pred_shape, or_panic};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::binary::{AddKernel, DivKernel, MinimumKernel, MulKernel, SubKernel, binary_op};
use crate::ops::distance::{check_p, pairwise_distance_op};
use crate::ops::reduce::sum_axis_op;
use crate::shape::check::{
    CosineEmbeddingInputs, CosineEmbeddingTarget, LossTargetCheck, TripletNegative, TripletPositive,
};
use crate::shape::{LastDim, LossTarget, Shape, check_target_dims};
use crate::tensor::Tensor;

/// The per-pair loss shape of inputs shaped `S`: `S` without its last axis.
pub(super) type Pairs<S> = <S as LastDim>::WithoutLast;

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
            Ok(pairwise_distance_op(x1, x2, shape, (self.p, self.eps), out))
        };
        let triplet = (anchor, positive, negative);
        let loss = triplet_hinges(triplet, (self.margin, self.swap), out, dist)?;
        Ok(self.reduction.reduce(loss))
    }
}

/// `max(0, d(a, p) - d(a, n) + margin)` for each row of a triplet `(a, p, n)` of one shape
/// (`out` without the last axis), `d(a, n)` replaced by `min(d(a, n), d(p, n))` when
/// `swap`: the body of both triplet losses, with their distance `dist`.
pub(super) fn triplet_hinges<S: LastDim, E: Float, T: Tape<E>>(
    (anchor, positive, negative): (Tensor<S, E, T>, Tensor<S, E, T>, Tensor<S, E, T>),
    (margin, swap): (f64, bool),
    out: Pairs<S>,
    dist: impl Fn(Tensor<S, E, T>, Tensor<S, E, T>) -> Result<Tensor<Pairs<S>, E, T>>,
) -> Result<Tensor<Pairs<S>, E, T>> {
    let d_pos = dist(anchor.clone(), positive.clone())?;
    let mut d_neg = dist(anchor, negative.clone())?;
    if swap {
        d_neg = binary_op(d_neg, dist(positive, negative)?, out, MinimumKernel);
    }
    let gap = binary_op(d_pos.add_scalar(E::from_f64(margin)), d_neg, out, SubKernel);
    Ok(gap.clamp(E::ZERO, E::from_f64(f64::INFINITY)))
}
