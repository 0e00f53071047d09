//! Margin losses over classes: the multi-class hinge loss (`MultiMarginLoss`) against one
//! label per sample, and the multi-label hinge loss (`MultiLabelMarginLoss`) against a
//! `-1`-ended list of labels per sample. Each is one fused kernel for the value and one for
//! the gradient (`ops::loss`), the per-sample index logic being awkward to compose.

use super::{ClassWeights, MeanReduction, NoWeight, Reduce, or_panic};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::loss::{MultiMarginArgs, multi_margin_op, multilabel_margin_op};
use crate::shape::check::{LossTargetCheck, MultiLabelMarginLossShape};
use crate::shape::{Const, ConstShape, Dim, DimEq, LossTarget, Shape};
use crate::tensor::{Indices, Tensor};

/// The shapes the class margin losses take: `(C,)`, one sample (as in PyTorch), or
/// `(N, C)`, a batch; `Samples` is the shape of the unreduced loss (`()` or `(N,)`).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::MarginShape;
/// let s = <Rank2<4, 3>>::default();
/// assert_eq!((s.classes().size(), s.samples().0.size()), (3, 4));
/// assert_eq!(<Rank1<3>>::default().samples(), ());
/// ```
pub trait MarginShape: Shape {
    /// The class dimension (the last).
    type Classes: Dim;
    /// The shape of one loss per sample: the shape without the class axis.
    type Samples: Shape;
    /// The number of classes.
    fn classes(&self) -> Self::Classes;
    /// The shape without the class axis.
    fn samples(&self) -> Self::Samples;
}

impl<C: Dim> MarginShape for (C,) {
    type Classes = C;
    type Samples = ();
    fn classes(&self) -> C {
        self.0
    }
    fn samples(&self) {}
}

impl<N: Dim, C: Dim> MarginShape for (N, C) {
    type Classes = C;
    type Samples = (N,);
    fn classes(&self) -> C {
        self.1
    }
    fn samples(&self) -> (N,) {
        (self.0,)
    }
}

/// The label shapes `L` that samples shaped `Self` take, one label per sample: a scalar
/// label `()` for one sample, `(N2,)` labels for a batch of `N` (`N2` equal to `N`: by type
/// for static sizes, a compile error naming both otherwise; when the loss runs for run-time
/// sizes).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::SampleLabels;
/// let labels = Indices::<(usize,)>::from_vec_with_shape(vec![0, 1], (2,)).unwrap();
/// assert!((3usize,).check_label_count("demo", labels.shape()).is_err());
/// assert!((2usize,).check_label_count("demo", labels.shape()).is_ok());
/// ```
pub trait SampleLabels<L: Shape>: Shape {
    /// An error naming `op` when the label count differs from the sample count.
    fn check_label_count(&self, op: &'static str, labels: &L) -> Result<()>;
}

impl SampleLabels<()> for () {
    fn check_label_count(&self, _: &'static str, _: &()) -> Result<()> {
        Ok(())
    }
}

impl<N: Dim, N2: DimEq<N>> SampleLabels<(N2,)> for (N,) {
    fn check_label_count(&self, op: &'static str, labels: &(N2,)) -> Result<()> {
        labels.0.dim_eq(self.0).map_err(|_| {
            Error::shape(
                op,
                format!(
                    "{} labels for a batch of {} samples",
                    labels.0.size(),
                    self.0.size()
                ),
            )
        })?;
        Ok(())
    }
}

/// Multi-class margin loss, averaged (`F.multi_margin_loss(input, target)`): [`MultiMarginLoss`]
/// with PyTorch's defaults (`p = 1`, `margin = 1`, no weight, the mean). Panics, naming the
/// label, if one is `>= C`, or if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::multi_margin_loss;
/// let x = Tensor::<Rank2<1, 3>>::from_array([[0.1, 0.2, 0.4]]);
/// let loss = multi_margin_loss(x, &Indices::<Rank1<1>>::from_array([2]));
/// // (max(0, 1 - 0.4 + 0.1) + max(0, 1 - 0.4 + 0.2)) / 3
/// assert!((loss.to_vec()[0] - 1.5 / 3.0).abs() < 1e-6);
/// ```
#[track_caller]
pub fn multi_margin_loss<S, L, E, T>(
    input: Tensor<S, E, T>,
    target: &Indices<L>,
) -> Tensor<(), E, T>
where
    S: MarginShape,
    S::Samples: SampleLabels<L>,
    L: Shape,
    E: Float,
    T: Tape<E>,
{
    MultiMarginLoss::new().forward(input, target)
}

/// The multi-class hinge loss (`torch.nn.MultiMarginLoss`) of scores `x` (`(N, C)`, or `(C,)`
/// for one sample) against one class label `y` per sample (`(N,)` labels, or a scalar
/// `Indices<()>`): per sample `sum_{i != y} w[y] max(0, margin - x[y] + x[i])^p / C`, then
/// reduced over the samples (the mean divides by `N`, weights or not, as PyTorch).
/// Defaults: `p = 1`, `margin = 1`, no weight, the mean; `p` must be 1 or 2 (PyTorch's only
/// powers: `try_forward` returns an `Err` for others). The gradient reaches `x`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MultiMarginLoss, Reduction};
/// let x = Tensor::<Rank2<2, 3>>::from_array([[0.1, 0.2, 0.4], [0.8, 0.0, 0.0]]);
/// let labels = Indices::<Rank1<2>>::from_array([2, 0]);
/// let loss = MultiMarginLoss::new().p(2).margin(0.5).reduction(Reduction::None);
/// let y = loss.forward(x, &labels).to_vec();
/// // row 0: (0.5 - 0.4 + 0.1)^2 + (0.5 - 0.4 + 0.2)^2, over 3; row 1: every hinge is 0
/// assert!((y[0] - (0.04 + 0.09) / 3.0).abs() < 1e-6 && y[1] == 0.0);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MultiMarginLoss<W = NoWeight, R = MeanReduction> {
    /// The power of the hinge (`p=`): 1 (the default) or 2.
    pub p: u32,
    /// The margin (`margin=`, default 1).
    pub margin: f64,
    /// A weight per class (`weight=`), applied by each sample's label: [`NoWeight`] or a
    /// constant `(C,)` tensor.
    pub weight: W,
    /// How the per-sample losses are reduced.
    pub reduction: R,
}

impl Default for MultiMarginLoss {
    fn default() -> Self {
        MultiMarginLoss {
            p: 1,
            margin: 1.0,
            weight: NoWeight,
            reduction: MeanReduction,
        }
    }
}

impl MultiMarginLoss {
    /// PyTorch's defaults: `p = 1`, `margin = 1`, no weight, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::MultiMarginLoss;
    /// let loss = MultiMarginLoss::new();
    /// assert_eq!((loss.p, loss.margin), (1, 1.0));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<W, R: Reduce> MultiMarginLoss<W, R> {
    /// The same loss with another power (`p=`): 1 or 2, checked when the loss runs.
    ///
    /// ```
    /// use shaped::nn::loss::MultiMarginLoss;
    /// assert_eq!(MultiMarginLoss::new().p(2).p, 2);
    /// ```
    pub fn p(self, p: u32) -> Self {
        MultiMarginLoss { p, ..self }
    }

    /// The same loss with another margin (`margin=`).
    ///
    /// ```
    /// use shaped::nn::loss::MultiMarginLoss;
    /// assert_eq!(MultiMarginLoss::new().margin(0.5).margin, 0.5);
    /// ```
    pub fn margin(self, margin: f64) -> Self {
        MultiMarginLoss { margin, ..self }
    }

    /// The same loss with a weight per class (`weight=`), a constant `(C,)` tensor: a sample
    /// labelled `y` costs `w[y]` times its hinges.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiMarginLoss;
    /// let w = Tensor::<Rank1<2>>::from_array([3.0, 1.0]);
    /// let y = MultiMarginLoss::new().weight(w).forward(Tensor::<Rank2<1, 2>>::zeros(), &Indices::<Rank1<1>>::from_array([0]));
    /// assert_eq!(y.to_vec(), vec![1.5]); // 3 * max(0, 1 - 0 + 0) / 2
    /// ```
    pub fn weight<W2>(self, weight: W2) -> MultiMarginLoss<W2, R> {
        MultiMarginLoss {
            p: self.p,
            margin: self.margin,
            weight,
            reduction: self.reduction,
        }
    }

    /// The same loss with another reduction (`reduction=`); `Reduction::None` gives the loss
    /// of each sample (`(N,)`, or a scalar for a `(C,)` input).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{MultiMarginLoss, Reduction};
    /// let labels = Indices::<Rank1<2>>::from_array([0, 1]);
    /// let y = MultiMarginLoss::new().reduction(Reduction::Sum).forward(Tensor::<Rank2<2, 2>>::zeros(), &labels);
    /// assert_eq!(y.to_vec(), vec![1.0]); // 0.5 per sample
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> MultiMarginLoss<W, R2> {
        MultiMarginLoss {
            p: self.p,
            margin: self.margin,
            weight: self.weight,
            reduction,
        }
    }

    /// The loss of `input` (`(N, C)` or `(C,)`) against one label per sample (`(N,)` or
    /// `()`). Panics where [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiMarginLoss;
    /// let x = Tensor::<Rank1<3>>::from_array([0.0, 2.0, 0.5]); // one sample, (C,)
    /// let label = Indices::<()>::from_vec(vec![1]).unwrap();
    /// assert_eq!(MultiMarginLoss::new().forward(x, &label).to_vec(), vec![0.0]);
    /// ```
    #[track_caller]
    pub fn forward<S, L, E, T>(
        &self,
        input: Tensor<S, E, T>,
        target: &Indices<L>,
    ) -> Tensor<R::Output<S::Samples>, E, T>
    where
        S: MarginShape,
        S::Samples: SampleLabels<L>,
        L: Shape,
        E: Float,
        T: Tape<E>,
        W: ClassWeights<S::Classes, E>,
    {
        or_panic(self.try_forward(input, target))
    }

    /// [`forward`](Self::forward), with an error for a label `>= C`, a label count or
    /// weight count that differs at run time, or `p` other than 1 and 2.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiMarginLoss;
    /// let x = Tensor::<Rank2<2, 3>>::zeros();
    /// let labels = Indices::<Rank1<2>>::from_array([0, 3]);
    /// let err = MultiMarginLoss::new().try_forward(x.clone(), &labels).unwrap_err();
    /// assert!(err.to_string().contains("label 3 at position 1 is out of range for 3 classes"), "{err}");
    /// let ok = Indices::<Rank1<2>>::from_array([0, 2]);
    /// assert!(MultiMarginLoss::new().p(3).try_forward(x, &ok).is_err());
    /// ```
    pub fn try_forward<S, L, E, T>(
        &self,
        input: Tensor<S, E, T>,
        target: &Indices<L>,
    ) -> Result<Tensor<R::Output<S::Samples>, E, T>>
    where
        S: MarginShape,
        S::Samples: SampleLabels<L>,
        L: Shape,
        E: Float,
        T: Tape<E>,
        W: ClassWeights<S::Classes, E>,
    {
        const OP: &str = "multi_margin_loss";
        if self.p != 1 && self.p != 2 {
            return Err(Error::value(
                "multi_margin_loss p",
                format!("p = {}; only p = 1 and p = 2 are supported", self.p),
            ));
        }
        let (samples, classes) = (input.shape.samples(), input.shape.classes());
        check_nonempty(OP, classes.size())?;
        samples.check_label_count(OP, target.shape())?;
        check_classes(OP, target.as_slice(), classes.size())?;
        let weight = self.weight.class_weights(OP, classes)?.map(<[E]>::to_vec);
        let args = MultiMarginArgs {
            classes: classes.size(),
            labels: target.to_vec(),
            squared: self.p == 2,
            margin: E::from_f64(self.margin),
            weight,
        };
        Ok(self.reduction.reduce(multi_margin_op(input, samples, args)))
    }
}

/// An error for an input with no classes (PyTorch's "expected non-empty vector or matrix").
fn check_nonempty(op: &'static str, classes: usize) -> Result<()> {
    if classes == 0 {
        return Err(Error::shape(
            op,
            "the input has 0 classes (its last dimension)",
        ));
    }
    Ok(())
}

/// An error naming the first label `>= classes`.
fn check_classes(op: &'static str, labels: &[usize], classes: usize) -> Result<()> {
    match labels.iter().position(|&l| l >= classes) {
        None => Ok(()),
        Some(p) => Err(Error::value(
            format!("{op} labels"),
            format!(
                "label {} at position {p} is out of range for {classes} classes",
                labels[p]
            ),
        )),
    }
}

/// The targets of [`MultiLabelMarginLoss`]: PyTorch's int64 tensor shaped like the input,
/// each sample's row listing its classes (in any order, repeats allowed) up to the first
/// `-1`; the entries after it are ignored (but must still lie in `-1..C`, as in PyTorch).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::MultiLabelTargets;
/// // sample 0 is in classes 3 and 0; sample 1 in none
/// let t = MultiLabelTargets::<Rank2<2, 4>>::from_array2([[3, 0, -1, 1], [-1, 0, 0, 0]]);
/// assert_eq!(t.as_slice(), &[3, 0, -1, 1, -1, 0, 0, 0]);
/// let full: MultiLabelTargets<Rank1<2>> = (&Indices::<Rank1<2>>::from_array([1, 0])).into();
/// assert_eq!(full.as_slice(), &[1, 0]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiLabelTargets<S: Shape> {
    shape: S,
    data: Vec<i64>,
}

impl<S: Shape> MultiLabelTargets<S> {
    /// From a row-major `Vec` and a shape; an error if the length is wrong.
    ///
    /// ```
    /// use shaped::nn::loss::MultiLabelTargets;
    /// let t = MultiLabelTargets::from_vec_with_shape(vec![2, -1, 0], (3usize,)).unwrap();
    /// assert_eq!(t.shape(), &(3,));
    /// assert!(MultiLabelTargets::from_vec_with_shape(vec![2, -1], (3usize,)).is_err());
    /// ```
    pub fn from_vec_with_shape(data: Vec<i64>, shape: S) -> Result<Self> {
        let numel = shape.try_numel("MultiLabelTargets::from_vec_with_shape")?;
        if data.len() != numel {
            return Err(Error::Length {
                what: format!("multi-label targets of shape {:?}", shape.dims()),
                expected: numel,
                got: data.len(),
            });
        }
        Ok(MultiLabelTargets { shape, data })
    }

    /// The shape value.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiLabelTargets;
    /// let t = MultiLabelTargets::<Rank1<2>>::from_array([0, -1]);
    /// assert_eq!(t.shape().0.size(), 2);
    /// ```
    pub fn shape(&self) -> &S {
        &self.shape
    }

    /// The entries in row-major order.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiLabelTargets;
    /// assert_eq!(MultiLabelTargets::<Rank1<2>>::from_array([0, -1]).as_slice(), &[0, -1]);
    /// ```
    pub fn as_slice(&self) -> &[i64] {
        &self.data
    }
}

impl<S: ConstShape> MultiLabelTargets<S> {
    /// From a row-major `Vec`; an error if the length is wrong.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiLabelTargets;
    /// assert!(MultiLabelTargets::<Rank2<1, 3>>::from_vec(vec![2, 1, -1]).is_ok());
    /// assert!(MultiLabelTargets::<Rank2<1, 3>>::from_vec(vec![2, 1]).is_err());
    /// ```
    pub fn from_vec(data: Vec<i64>) -> Result<Self> {
        Self::from_vec_with_shape(data, S::default())
    }
}

impl<const C: usize> MultiLabelTargets<(Const<C>,)> {
    /// The targets of one sample, from an array of `C` entries.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiLabelTargets;
    /// assert_eq!(MultiLabelTargets::<Rank1<3>>::from_array([1, -1, 0]).as_slice(), &[1, -1, 0]);
    /// ```
    pub fn from_array(a: [i64; C]) -> Self {
        MultiLabelTargets {
            shape: Default::default(),
            data: a.to_vec(),
        }
    }
}

impl<const N: usize, const C: usize> MultiLabelTargets<(Const<N>, Const<C>)> {
    /// The targets of `N` samples, from an `N x C` array.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::MultiLabelTargets;
    /// let t = MultiLabelTargets::<Rank2<2, 2>>::from_array2([[1, -1], [0, 1]]);
    /// assert_eq!(t.as_slice(), &[1, -1, 0, 1]);
    /// ```
    pub fn from_array2(a: [[i64; C]; N]) -> Self {
        MultiLabelTargets {
            shape: Default::default(),
            data: a.iter().flatten().copied().collect(),
        }
    }
}

impl<S: Shape> From<&Indices<S>> for MultiLabelTargets<S> {
    /// Every entry a target class (no `-1`): each row lists all its classes.
    fn from(indices: &Indices<S>) -> Self {
        MultiLabelTargets {
            shape: *indices.shape(),
            data: indices.as_slice().iter().map(|&i| i as i64).collect(),
        }
    }
}

/// Multi-label margin loss, averaged (`F.multilabel_margin_loss(input, target)`):
/// [`MultiLabelMarginLoss`] with the mean. Panics if a target entry is outside `-1..C` or
/// run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{multilabel_margin_loss, MultiLabelTargets};
/// let x = Tensor::<Rank2<1, 4>>::from_array([[0.1, 0.2, 0.4, 0.8]]);
/// let y = MultiLabelTargets::from_array2([[3, 0, -1, 1]]); // classes 3 and 0
/// let loss = multilabel_margin_loss(x, &y);
/// // (1-(0.1-0.2) + 1-(0.1-0.4) + 1-(0.8-0.2) + 1-(0.8-0.4)) / 4, PyTorch's example
/// assert!((loss.to_vec()[0] - 0.85).abs() < 1e-6);
/// ```
#[track_caller]
pub fn multilabel_margin_loss<S, S2, E, T>(
    input: Tensor<S, E, T>,
    target: &MultiLabelTargets<S2>,
) -> Tensor<(), E, T>
where
    S: MarginShape + LossTarget<S2>,
    S2: Shape,
    E: Float,
    T: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, MultiLabelMarginLossShape>::OK;
    MultiLabelMarginLoss::new().forward(input, target)
}

/// The multi-label hinge loss (`torch.nn.MultiLabelMarginLoss`) of scores `x` (`(N, C)`, or
/// `(C,)` for one sample) against [`MultiLabelTargets`] of the same shape (each row's
/// classes, ended by the first `-1`): per sample
/// `sum_{j in targets} sum_{i not in targets} max(0, 1 - (x[j] - x[i])) / C`, a class
/// listed twice counting twice (as in PyTorch), then reduced over the samples by
/// `reduction` (default: the mean). The gradient reaches `x`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MultiLabelMarginLoss, MultiLabelTargets, Reduction};
/// let x = Tensor::<Rank2<2, 3>>::from_array([[2.0, 0.0, 0.5], [0.0, 0.0, 0.0]]);
/// let y = MultiLabelTargets::from_array2([[0, -1, 2], [-1, 0, 0]]); // {0}, {}
/// let loss = MultiLabelMarginLoss::new().reduction(Reduction::None).forward(x, &y);
/// assert_eq!(loss.to_vec(), vec![0.0, 0.0]); // x[0] beats the others by 1 or more
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MultiLabelMarginLoss<R = MeanReduction> {
    /// How the per-sample losses are reduced.
    pub reduction: R,
}

impl MultiLabelMarginLoss {
    /// PyTorch's defaults: the mean.
    ///
    /// ```
    /// use shaped::nn::loss::{MultiLabelMarginLoss, Reduction};
    /// assert_eq!(MultiLabelMarginLoss::new().reduction, Reduction::Mean);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> MultiLabelMarginLoss<R> {
    /// The same loss with another reduction (`reduction=`); `Reduction::None` gives the loss
    /// of each sample (`(N,)`, or a scalar for a `(C,)` input).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{MultiLabelMarginLoss, MultiLabelTargets, Reduction};
    /// let y = MultiLabelTargets::<Rank2<2, 2>>::from_array2([[0, -1], [1, -1]]);
    /// let x = Tensor::<Rank2<2, 2>>::zeros();
    /// let loss = MultiLabelMarginLoss::new().reduction(Reduction::Sum).forward(x, &y);
    /// assert_eq!(loss.to_vec(), vec![1.0]); // 1 / 2 per sample
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> MultiLabelMarginLoss<R2> {
        MultiLabelMarginLoss { reduction }
    }

    /// The loss of `input` against `target`. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{MultiLabelMarginLoss, MultiLabelTargets};
    /// let x = Tensor::<Rank1<2>>::from_array([1.0, 0.5]); // one sample, (C,)
    /// let y = MultiLabelTargets::from_array([0, -1]);
    /// assert_eq!(MultiLabelMarginLoss::new().forward(x, &y).to_vec(), vec![0.25]);
    /// ```
    #[track_caller]
    pub fn forward<S, S2, E, T>(
        &self,
        input: Tensor<S, E, T>,
        target: &MultiLabelTargets<S2>,
    ) -> Tensor<R::Output<S::Samples>, E, T>
    where
        S: MarginShape + LossTarget<S2>,
        S2: Shape,
        E: Float,
        T: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, MultiLabelMarginLossShape>::OK;
        or_panic(self.try_forward(input, target))
    }

    /// [`forward`](Self::forward), with an error when a target entry is outside `-1..C`
    /// (anywhere in the row, as PyTorch checks) or run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{MultiLabelMarginLoss, MultiLabelTargets};
    /// let y = MultiLabelTargets::<Rank2<1, 3>>::from_array2([[0, -1, 3]]);
    /// let x = Tensor::<Rank2<1, 3>>::zeros();
    /// let err = MultiLabelMarginLoss::new().try_forward(x, &y).unwrap_err();
    /// assert!(err.to_string().contains("target 3 at position 2 is out of range for 3 classes"), "{err}");
    /// ```
    pub fn try_forward<S, S2, E, T>(
        &self,
        input: Tensor<S, E, T>,
        target: &MultiLabelTargets<S2>,
    ) -> Result<Tensor<R::Output<S::Samples>, E, T>>
    where
        S: MarginShape + LossTarget<S2>,
        S2: Shape,
        E: Float,
        T: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, MultiLabelMarginLossShape>::OK;
        const OP: &str = "multilabel_margin_loss";
        crate::shape::check_target_dims(
            OP,
            input.shape.dims().as_slice(),
            target.shape.dims().as_slice(),
        )?;
        let classes = input.shape.classes().size();
        check_nonempty(OP, classes)?;
        let bad = |&t: &i64| t < -1 || t >= classes as i64;
        if let Some(p) = target.data.iter().position(bad) {
            return Err(Error::value(
                format!("{OP} target"),
                format!(
                    "target {} at position {p} is out of range for {classes} classes \
                     (entries are class indices, or -1 to end a row's list)",
                    target.data[p]
                ),
            ));
        }
        let samples = input.shape.samples();
        let per_sample = multilabel_margin_op(input, samples, target.data.clone(), classes);
        Ok(self.reduction.reduce(per_sample))
    }
}
