//! Margin losses: hinge embedding, soft margin, multi-label soft margin and margin ranking.

use super::{
    ElementWeights, LossTape, MeanReduction, NoWeight, Reduce, as_pred_shape, on_merged_tape,
    or_panic,
};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::binary::{AddKernel, MulKernel, SubKernel, binary_op};
use crate::ops::loss::{BceWithLogitsKernel, mul_constant};
use crate::shape::check::{
    HingeEmbeddingLossShape, LossTargetCheck, MarginRankingInputsShape, MarginRankingTargetShape,
    MultiLabelSoftMarginLossShape, SoftMarginLossShape,
};
use crate::shape::{Dim, LossTarget, Shape};
use crate::tensor::Tensor;

/// Hinge embedding loss, averaged (`F.hinge_embedding_loss`): [`HingeEmbeddingLoss`] with
/// this `margin` and the mean. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::hinge_embedding_loss;
/// let x = Tensor::<Rank1<2>>::from_array([0.3, 0.25]);
/// let loss = hinge_embedding_loss(x, Tensor::from_array([1.0, -1.0]), 1.0);
/// assert_eq!(loss.to_vec(), vec![(0.3 + 0.75) / 2.0]);
/// ```
pub fn hinge_embedding_loss<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    input: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
    margin: f64,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, HingeEmbeddingLossShape>::OK;
    HingeEmbeddingLoss::new()
        .margin(margin)
        .forward(input, target)
}

/// Hinge embedding loss (`torch.nn.HingeEmbeddingLoss`) of distances `x` against labels
/// `y` in {1, -1}: `x` where `y = 1`, `max(0, margin - x)` where `y = -1`, reduced by
/// `reduction`. As PyTorch computes it, `where(y != 1, max(0, margin - x), 0) +
/// where(y != -1, x, 0)`: a target other than 1 and -1 gives the sum of both terms. The
/// target takes no gradient. Defaults: `margin = 1`, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{HingeEmbeddingLoss, Reduction};
/// let x = Tensor::<Rank1<3>>::from_array([0.5, 0.5, 0.5]);
/// let y = Tensor::from_array([1.0, -1.0, 0.0]);
/// let loss = HingeEmbeddingLoss::new().margin(2.0).reduction(Reduction::None).forward(x, y);
/// assert_eq!(loss.to_vec(), vec![0.5, 1.5, 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HingeEmbeddingLoss<R = MeanReduction> {
    /// The margin of the negative pairs (`margin=`, default 1).
    pub margin: f64,
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl Default for HingeEmbeddingLoss {
    fn default() -> Self {
        HingeEmbeddingLoss {
            margin: 1.0,
            reduction: MeanReduction,
        }
    }
}

impl HingeEmbeddingLoss {
    /// PyTorch's defaults: `margin = 1`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::HingeEmbeddingLoss;
    /// assert_eq!(HingeEmbeddingLoss::new().margin, 1.0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> HingeEmbeddingLoss<R> {
    /// The same loss with another `margin`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::HingeEmbeddingLoss;
    /// let y = HingeEmbeddingLoss::new().margin(3.0).forward(Tensor::<Rank1<1>>::from_array([1.0]), Tensor::from_array([-1.0]));
    /// assert_eq!(y.to_vec(), vec![2.0]);
    /// ```
    pub fn margin(self, margin: f64) -> Self {
        HingeEmbeddingLoss { margin, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{HingeEmbeddingLoss, Reduction};
    /// let x = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
    /// let y = HingeEmbeddingLoss::new().reduction(Reduction::Sum).forward(x, Tensor::from_array([-1.0, 1.0]));
    /// assert_eq!(y.to_vec(), vec![3.5]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> HingeEmbeddingLoss<R2> {
        HingeEmbeddingLoss {
            margin: self.margin,
            reduction,
        }
    }

    /// The loss of `input` against `target`. Panics if run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::HingeEmbeddingLoss;
    /// let x = Tensor::<Rank1<2>>::from_array([0.5, 3.0]);
    /// let y = HingeEmbeddingLoss::new().forward(x, Tensor::from_array([-1.0, 1.0]));
    /// assert_eq!(y.to_vec(), vec![1.75]);
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, HingeEmbeddingLossShape>::OK;
        or_panic(self.try_forward(input, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::HingeEmbeddingLoss;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// let err = HingeEmbeddingLoss::new().try_forward(x, Tensor::<(usize,)>::ones_with_shape((2,)));
    /// assert!(err.unwrap_err().to_string().contains("hinge_embedding_loss"));
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, HingeEmbeddingLossShape>::OK;
        let target = as_pred_shape("hinge_embedding_loss", &input.shape, target)?;
        let (x, target) = on_merged_tape(input, target);
        let t = target.as_slice();
        let not_positive: Vec<bool> = t.iter().map(|&v| v != E::ONE).collect();
        let not_negative: Vec<bool> = t.iter().map(|&v| v != -E::ONE).collect();
        let ones = vec![E::ONE; t.len()];
        let shape = x.shape;
        let hinge = x
            .clone()
            .neg()
            .add_scalar(E::from_f64(self.margin))
            .clamp(E::ZERO, E::INFINITY);
        let hinge = mul_constant(hinge, ones.clone(), Some(not_positive));
        let linear = mul_constant(x, ones, Some(not_negative));
        Ok(self
            .reduction
            .reduce(binary_op(hinge, linear, shape, AddKernel)))
    }
}

/// Soft margin loss, averaged (`F.soft_margin_loss`): [`SoftMarginLoss`] with the mean.
/// Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::soft_margin_loss;
/// let x = Tensor::<Rank1<2>>::from_array([0.0, 0.0]);
/// let loss = soft_margin_loss(x, Tensor::from_array([1.0, -1.0]));
/// assert!((loss.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
/// ```
pub fn soft_margin_loss<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    input: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, SoftMarginLossShape>::OK;
    SoftMarginLoss::new().forward(input, target)
}

/// Two-class logistic loss (`torch.nn.SoftMarginLoss`) of scores `x` against labels `y` in
/// {1, -1}: `ln(1 + e^(-y x))` for every element, reduced by `reduction` (mean by default).
/// Computed as `-log_sigmoid(y x)`, finite for any finite `x y`, where PyTorch's
/// `log1p(exp(-y x))` overflows to `inf` (and its gradient to NaN) past `-y x = 88` in
/// `f32`; elsewhere the same values. A traced target receives `-x sigmoid(-y x)` (PyTorch
/// refuses a target that requires a gradient).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{SoftMarginLoss, Reduction};
/// let x = Tensor::<Rank1<2>>::from_array([100.0, -100.0]);
/// let loss = SoftMarginLoss::new().reduction(Reduction::None).forward(x, Tensor::from_array([-1.0, 1.0]));
/// assert_eq!(loss.to_vec(), vec![100.0, 100.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftMarginLoss<R = MeanReduction> {
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl SoftMarginLoss {
    /// PyTorch's defaults: the mean.
    ///
    /// ```
    /// use shaped::nn::loss::{SoftMarginLoss, Reduction};
    /// assert_eq!(SoftMarginLoss::new().reduction, Reduction::Mean);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> SoftMarginLoss<R> {
    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{SoftMarginLoss, Reduction};
    /// let y = SoftMarginLoss::new().reduction(Reduction::Sum).forward(Tensor::<Rank1<2>>::zeros(), Tensor::ones());
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> SoftMarginLoss<R2> {
        SoftMarginLoss { reduction }
    }

    /// The loss of `input` against `target`. Panics if run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::SoftMarginLoss;
    /// let y = SoftMarginLoss::new().forward(Tensor::<Rank1<1>>::from_array([0.0]), Tensor::ones());
    /// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, T, TR>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, SoftMarginLossShape>::OK;
        or_panic(self.try_forward(input, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::SoftMarginLoss;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// assert!(SoftMarginLoss::new().try_forward(x, Tensor::<(usize,)>::ones_with_shape((4,))).is_err());
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, T, TR>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, SoftMarginLossShape>::OK;
        let target = as_pred_shape("soft_margin_loss", &input.shape, target)?;
        let shape = input.shape;
        let margin = binary_op(input, target, shape, MulKernel);
        Ok(self.reduction.reduce(margin.logsigmoid().neg()))
    }
}

/// The shapes [`MultiLabelSoftMarginLoss`] takes: classes on the last axis, samples on the
/// others (`(C,)`, one sample, as in PyTorch; `(N, C)`; up to four axes). `Samples` is the
/// shape of the unreduced loss.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::MultiLabelShape;
/// let x = Tensor::<Rank2<2, 3>>::ones();
/// assert_eq!(<Rank2<2, 3>>::default().classes(), 3);
/// assert_eq!(<Rank2<2, 3> as MultiLabelShape>::sum_classes(x).to_vec(), vec![3.0, 3.0]);
/// ```
pub trait MultiLabelShape: Shape {
    /// The shape without the class axis.
    type Samples: Shape;
    /// The number of classes (the last dimension).
    fn classes(&self) -> usize;
    /// The sum over the class axis.
    fn sum_classes<E: Float, T: Tape<E>>(x: Tensor<Self, E, T>) -> Tensor<Self::Samples, E, T>;
}

macro_rules! multilabel_shape {
    ($axis:tt: $($A:ident),*; $C:ident) => {
        impl<$($A: Dim,)* $C: Dim> MultiLabelShape for ($($A,)* $C,) {
            type Samples = ($($A,)*);
            fn classes(&self) -> usize {
                self.$axis.size()
            }
            fn sum_classes<E: Float, T: Tape<E>>(
                x: Tensor<Self, E, T>,
            ) -> Tensor<Self::Samples, E, T> {
                x.sum_dim::<$axis>()
            }
        }
    };
}
multilabel_shape!(0: ; C);
multilabel_shape!(1: N; C);
multilabel_shape!(2: N, A; C);
multilabel_shape!(3: N, A, B; C);

/// Multi-label soft margin loss, averaged (`F.multilabel_soft_margin_loss`):
/// [`MultiLabelSoftMarginLoss`] with PyTorch's defaults. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::multilabel_soft_margin_loss;
/// let x = Tensor::<Rank2<2, 3>>::zeros();
/// let loss = multilabel_soft_margin_loss(x, Tensor::from_array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]));
/// assert!((loss.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
/// ```
pub fn multilabel_soft_margin_loss<S, S2: Shape, E: Float, T, TR>(
    input: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    S: MultiLabelShape + LossTarget<S2>,
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, MultiLabelSoftMarginLossShape>::OK;
    MultiLabelSoftMarginLoss::new().forward(input, target)
}

/// Multi-label one-versus-all logistic loss (`torch.nn.MultiLabelSoftMarginLoss`) of logits
/// `x` against targets `y` in {0, 1}, classes on the last axis: per sample
/// `-mean_c w_c (y_c log_sigmoid(x_c) + (1 - y_c) log_sigmoid(-x_c))` (finite for any
/// finite logit: the stable BCE-with-logits term), then reduced over the samples by
/// `reduction`; `Reduction::None` gives one loss per sample (the input's shape without its
/// last axis). `w` is the class weight (`weight=`, a constant that broadcasts to the input,
/// usually `(C,)`). Defaults: no weight, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MultiLabelSoftMarginLoss, Reduction};
/// let w = Tensor::<Rank1<2>>::from_array([2.0, 0.0]);
/// let loss = MultiLabelSoftMarginLoss::new().weight(w).reduction(Reduction::None);
/// let y: Tensor<Rank1<3>> = loss.forward(Tensor::<Rank2<3, 2>>::zeros(), Tensor::ones());
/// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6); // (2 ln 2 + 0) / 2
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MultiLabelSoftMarginLoss<W = NoWeight, R = MeanReduction> {
    /// A weight for every class (`weight=`): [`NoWeight`] or a constant tensor that
    /// broadcasts to the input.
    pub weight: W,
    /// How the per-sample losses are reduced.
    pub reduction: R,
}

impl MultiLabelSoftMarginLoss {
    /// PyTorch's defaults: no weight, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::{MultiLabelSoftMarginLoss, NoWeight};
    /// assert_eq!(MultiLabelSoftMarginLoss::new().weight, NoWeight);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<W, R: Reduce> MultiLabelSoftMarginLoss<W, R> {
    /// The same loss with a weight for every class (`weight=`), a constant tensor that
    /// broadcasts to the input's shape (`(C,)`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiLabelSoftMarginLoss;
    /// let w = Tensor::<Rank1<2>>::from_array([2.0, 2.0]);
    /// let y = MultiLabelSoftMarginLoss::new().weight(w).forward(Tensor::<Rank2<1, 2>>::zeros(), Tensor::ones());
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn weight<W2>(self, weight: W2) -> MultiLabelSoftMarginLoss<W2, R> {
        MultiLabelSoftMarginLoss {
            weight,
            reduction: self.reduction,
        }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{MultiLabelSoftMarginLoss, Reduction};
    /// let y = MultiLabelSoftMarginLoss::new().reduction(Reduction::Sum).forward(Tensor::<Rank2<2, 3>>::zeros(), Tensor::ones());
    /// assert!((y.to_vec()[0] - 2.0 * 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> MultiLabelSoftMarginLoss<W, R2> {
        MultiLabelSoftMarginLoss {
            weight: self.weight,
            reduction,
        }
    }

    /// The loss of `input` against `target`. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiLabelSoftMarginLoss;
    /// let y = MultiLabelSoftMarginLoss::new().forward(Tensor::<Rank1<3>>::zeros(), Tensor::ones());
    /// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
    /// ```
    pub fn forward<S, S2: Shape, E: Float, T, TR>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Tensor<R::Output<S::Samples>, E, LossTape<E, T, TR>>
    where
        S: MultiLabelShape + LossTarget<S2>,
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ElementWeights<S, E>,
    {
        let () = LossTargetCheck::<S, S2, MultiLabelSoftMarginLossShape>::OK;
        or_panic(self.try_forward(input, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ or the weight
    /// does not broadcast to the input.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiLabelSoftMarginLoss;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    /// let w = Tensor::<(usize,)>::ones_with_shape((2,));
    /// assert!(MultiLabelSoftMarginLoss::new().weight(w).try_forward(x.clone(), x).is_err());
    /// ```
    pub fn try_forward<S, S2: Shape, E: Float, T, TR>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
    ) -> Result<Tensor<R::Output<S::Samples>, E, LossTape<E, T, TR>>>
    where
        S: MultiLabelShape + LossTarget<S2>,
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ElementWeights<S, E>,
    {
        let () = LossTargetCheck::<S, S2, MultiLabelSoftMarginLossShape>::OK;
        const OP: &str = "multilabel_soft_margin_loss";
        let target = as_pred_shape(OP, &input.shape, target)?;
        let shape = input.shape;
        let weight = self.weight.element_weights(OP, &shape)?;
        let per_element = binary_op(input, target, shape, BceWithLogitsKernel);
        let per_element = match weight {
            Some(w) => mul_constant(per_element, w, None),
            None => per_element,
        };
        let classes = E::from_usize(shape.classes());
        let per_sample = S::sum_classes(per_element).div_scalar(classes);
        Ok(self.reduction.reduce(per_sample))
    }
}

/// Margin ranking loss, averaged (`F.margin_ranking_loss`): [`MarginRankingLoss`] with this
/// `margin` and the mean. Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::margin_ranking_loss;
/// let (a, b) = (Tensor::<Rank1<2>>::from_array([1.0, 1.0]), Tensor::from_array([0.0, 3.0]));
/// let loss = margin_ranking_loss(a, b, Tensor::from_array([1.0, 1.0]), 0.5);
/// assert_eq!(loss.to_vec(), vec![(0.0 + 2.5) / 2.0]);
/// ```
pub fn margin_ranking_loss<S, S2: Shape, S3: Shape, E: Float, T1, T2, TR>(
    input1: Tensor<S, E, T1>,
    input2: Tensor<S2, E, T2>,
    target: Tensor<S3, E, TR>,
    margin: f64,
) -> Tensor<(), E, LossTape<E, LossTape<E, T1, T2>, TR>>
where
    S: Shape + LossTarget<S2> + LossTarget<S3>,
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
    LossTape<E, T1, T2>: Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, MarginRankingInputsShape>::OK;
    let () = LossTargetCheck::<S, S3, MarginRankingTargetShape>::OK;
    MarginRankingLoss::new()
        .margin(margin)
        .forward(input1, input2, target)
}

/// Margin ranking loss (`torch.nn.MarginRankingLoss`) of two scores `x1`, `x2` and a label
/// `y` in {1, -1} (1: `x1` should rank higher): `max(0, -y (x1 - x2) + margin)` for every
/// element, reduced by `reduction`. All three have one shape (PyTorch also broadcasts
/// tensors of one rank, `(N, 1)` against `(N, C)`; broadcast explicitly here); all three
/// receive gradients when traced. Defaults: `margin = 0`, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MarginRankingLoss, Reduction};
/// let (a, b) = (Tensor::<Rank1<2>>::from_array([1.0, 1.0]), Tensor::from_array([0.0, 3.0]));
/// let loss = MarginRankingLoss::new().reduction(Reduction::None);
/// assert_eq!(loss.forward(a, b, Tensor::from_array([-1.0, -1.0])).to_vec(), vec![1.0, 0.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginRankingLoss<R = MeanReduction> {
    /// The margin (`margin=`, default 0).
    pub margin: f64,
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl Default for MarginRankingLoss {
    fn default() -> Self {
        MarginRankingLoss {
            margin: 0.0,
            reduction: MeanReduction,
        }
    }
}

impl MarginRankingLoss {
    /// PyTorch's defaults: `margin = 0`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::MarginRankingLoss;
    /// assert_eq!(MarginRankingLoss::new().margin, 0.0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> MarginRankingLoss<R> {
    /// The same loss with another `margin`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MarginRankingLoss;
    /// let one = Tensor::<Rank1<1>>::ones();
    /// let y = MarginRankingLoss::new().margin(0.5).forward(one.clone(), one.clone(), one);
    /// assert_eq!(y.to_vec(), vec![0.5]);
    /// ```
    pub fn margin(self, margin: f64) -> Self {
        MarginRankingLoss { margin, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{MarginRankingLoss, Reduction};
    /// let (a, b) = (Tensor::<Rank1<2>>::from_array([1.0, 1.0]), Tensor::from_array([0.0, 3.0]));
    /// let y = MarginRankingLoss::new().reduction(Reduction::Sum).forward(a, b, Tensor::ones());
    /// assert_eq!(y.to_vec(), vec![2.0]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> MarginRankingLoss<R2> {
        MarginRankingLoss {
            margin: self.margin,
            reduction,
        }
    }

    /// The loss of the pairs `input1`, `input2` against `target`. Panics if run-time sizes
    /// differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MarginRankingLoss;
    /// let (a, b) = (Tensor::<Rank1<2>>::from_array([1.0, 1.0]), Tensor::from_array([0.0, 3.0]));
    /// let y = MarginRankingLoss::new().forward(a, b, Tensor::ones());
    /// assert_eq!(y.to_vec(), vec![1.0]);
    /// ```
    pub fn forward<S, S2: Shape, S3: Shape, E: Float, T1, T2, TR>(
        &self,
        input1: Tensor<S, E, T1>,
        input2: Tensor<S2, E, T2>,
        target: Tensor<S3, E, TR>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, LossTape<E, T1, T2>, TR>>
    where
        S: Shape + LossTarget<S2> + LossTarget<S3>,
        T1: Tape<E> + Merge<E, T2>,
        T2: Tape<E>,
        LossTape<E, T1, T2>: Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, MarginRankingInputsShape>::OK;
        let () = LossTargetCheck::<S, S3, MarginRankingTargetShape>::OK;
        or_panic(self.try_forward(input1, input2, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MarginRankingLoss;
    /// let a = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// let y = Tensor::<(usize,)>::ones_with_shape((2,));
    /// let err = MarginRankingLoss::new().try_forward(a.clone(), a, y).unwrap_err();
    /// assert!(err.to_string().contains("margin_ranking_loss"));
    /// ```
    pub fn try_forward<S, S2: Shape, S3: Shape, E: Float, T1, T2, TR>(
        &self,
        input1: Tensor<S, E, T1>,
        input2: Tensor<S2, E, T2>,
        target: Tensor<S3, E, TR>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, LossTape<E, T1, T2>, TR>>>
    where
        S: Shape + LossTarget<S2> + LossTarget<S3>,
        T1: Tape<E> + Merge<E, T2>,
        T2: Tape<E>,
        LossTape<E, T1, T2>: Merge<E, TR>,
        TR: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, MarginRankingInputsShape>::OK;
        let () = LossTargetCheck::<S, S3, MarginRankingTargetShape>::OK;
        const OP: &str = "margin_ranking_loss";
        let input2 = as_pred_shape(OP, &input1.shape, input2)?;
        let target = as_pred_shape(OP, &input1.shape, target)?;
        let shape = input1.shape;
        let difference = binary_op(input1, input2, shape, SubKernel);
        let loss = binary_op(difference, target, shape, MulKernel)
            .neg()
            .add_scalar(E::from_f64(self.margin))
            .clamp(E::ZERO, E::INFINITY);
        Ok(self.reduction.reduce(loss))
    }
}
