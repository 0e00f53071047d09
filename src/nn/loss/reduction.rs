//! The reductions of a loss: PyTorch's `reduction="mean" | "sum" | "none"` (and
//! `"batchmean"` for [`kl_div`](super::kl_div)), each a value of its own type so that the
//! output shape is known at compile time.

use crate::autograd::Tape;
use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;

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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a reduction this loss takes",
    note = "losses take `Reduction::Mean`, `Reduction::Sum` or `Reduction::None`; `Reduction::BatchMean` is kl_div's alone, as in PyTorch"
)]
pub trait Reduce: Copy {
    /// The reduced shape for an unreduced loss of shape `S`.
    type Output<S: Shape>: Shape;
    /// Reduces the unreduced loss `x`.
    fn reduce<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: Tensor<S, E, T>,
    ) -> Tensor<Self::Output<S>, E, T>;
    /// Reduces `x` whose mean divides by `total` rather than by the element count: the
    /// weighted mean of class losses (`sum / sum of the weights of the counted targets`, as
    /// PyTorch). A `total` of 0 (every target ignored) gives NaN, as in PyTorch, with zero
    /// gradients.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{Reduce, Reduction};
    /// let x = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
    /// assert_eq!(Reduction::Mean.reduce_weighted(x.clone(), 8.0).to_vec(), vec![0.5]);
    /// assert!(Reduction::Mean.reduce_weighted(x.clone(), 0.0).to_vec()[0].is_nan());
    /// assert_eq!(Reduction::Sum.reduce_weighted(x, 8.0).to_vec(), vec![4.0]);
    /// ```
    fn reduce_weighted<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: Tensor<S, E, T>,
        total: f64,
    ) -> Tensor<Self::Output<S>, E, T>;
    /// The reduction of an untraced loss of `count` elements from their sum alone, where it
    /// is one (mean, sum; `None` otherwise, the default): the same value as
    /// [`reduce`](Self::reduce) of a tensor summing to `sum()`, which a loss may compute
    /// without writing its unreduced values (`mse_loss`). `sum` is called only then.
    #[doc(hidden)]
    fn untraced_from_sum<S: Shape, E: Float>(
        self,
        _count: usize,
        _sum: impl FnOnce() -> E,
    ) -> Option<Tensor<Self::Output<S>, E>> {
        None
    }
    /// Whether this is the mean (`reduction="mean"`), for the losses whose mean is not the
    /// plain mean of their unreduced values (`ctc_loss` divides each by its target length
    /// first). `false` but for [`MeanReduction`].
    #[doc(hidden)]
    fn is_mean(self) -> bool {
        false
    }
}

/// A scalar tensor holding `v`, untraced.
fn untraced_scalar<E: Float>(v: E) -> Tensor<(), E> {
    Tensor {
        shape: (),
        data: std::sync::Arc::new(vec![v]),
        id: crate::autograd::UniqueId::new(),
        tape: crate::autograd::NoTape,
    }
}

/// The mean of every element, a scalar (`reduction="mean"`). Write it [`Reduction::Mean`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MSELoss, Reduction};
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
/// let loss: Tensor<()> = MSELoss::new().reduction(Reduction::Mean).forward(a, Tensor::zeros());
/// assert_eq!(loss.to_vec(), vec![5.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MeanReduction;

/// The sum of every element, a scalar (`reduction="sum"`). Write it [`Reduction::Sum`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MSELoss, Reduction};
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
/// let loss: Tensor<()> = MSELoss::new().reduction(Reduction::Sum).forward(a, Tensor::zeros());
/// assert_eq!(loss.to_vec(), vec![10.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SumReduction;

/// No reduction: the loss of every element or sample (`reduction="none"`). Write it
/// [`Reduction::None`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MSELoss, Reduction};
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
/// let loss: Tensor<Rank1<2>> = MSELoss::new().reduction(Reduction::None).forward(a, Tensor::zeros());
/// assert_eq!(loss.to_vec(), vec![1.0, 9.0]);
/// ```
///
/// The unreduced loss is not a scalar, so it has no `backward()`:
///
/// ```compile_fail
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MSELoss, Reduction};
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 3.0]).trace();
/// let _g = MSELoss::new().reduction(Reduction::None).forward(a, Tensor::zeros()).backward();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoReduction;

/// The sum divided by the size of the first dimension, a scalar (`reduction="batchmean"`,
/// [`kl_div`](super::kl_div) only: the Kullback-Leibler divergence per sample). Write it
/// [`Reduction::BatchMean`]. A 0-d loss is summed.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{KlDivReduce, Reduction};
/// let x = Tensor::<Rank2<2, 3>>::ones();
/// assert_eq!(Reduction::BatchMean.reduce_kl(x).to_vec(), vec![3.0]);
/// ```
///
/// Other losses do not take it, as in PyTorch:
///
/// ```compile_fail
/// use shaped::prelude::*;
/// use shaped::nn::loss::{MSELoss, Reduction};
/// let x = Tensor::<Rank2<2, 3>>::zeros();
/// let _loss = MSELoss::new().reduction(Reduction::BatchMean).forward(x.clone(), x);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchMeanReduction;

impl Reduce for MeanReduction {
    type Output<S: Shape> = ();
    fn is_mean(self) -> bool {
        true
    }
    fn untraced_from_sum<S: Shape, E: Float>(
        self,
        count: usize,
        sum: impl FnOnce() -> E,
    ) -> Option<Tensor<(), E>> {
        // As `mean()`: the sum times the reciprocal of the count.
        Some(untraced_scalar(sum() * (E::ONE / E::from_usize(count))))
    }
    fn reduce<S: Shape, E: Float, T: Tape<E>>(self, x: Tensor<S, E, T>) -> Tensor<(), E, T> {
        x.mean()
    }
    fn reduce_weighted<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: Tensor<S, E, T>,
        total: f64,
    ) -> Tensor<(), E, T> {
        if total == 0.0 {
            // PyTorch's 0 / 0 with the gradient it gives ignored targets: zero.
            x.sum()
                .mul_scalar(E::ZERO)
                .add_scalar(E::from_f64(f64::NAN))
        } else {
            x.sum().mul_scalar(E::from_f64(1.0 / total))
        }
    }
}
impl Reduce for SumReduction {
    type Output<S: Shape> = ();
    fn untraced_from_sum<S: Shape, E: Float>(
        self,
        _count: usize,
        sum: impl FnOnce() -> E,
    ) -> Option<Tensor<(), E>> {
        Some(untraced_scalar(sum()))
    }
    fn reduce<S: Shape, E: Float, T: Tape<E>>(self, x: Tensor<S, E, T>) -> Tensor<(), E, T> {
        x.sum()
    }
    fn reduce_weighted<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: Tensor<S, E, T>,
        _: f64,
    ) -> Tensor<(), E, T> {
        x.sum()
    }
}
impl Reduce for NoReduction {
    type Output<S: Shape> = S;
    fn reduce<S: Shape, E: Float, T: Tape<E>>(self, x: Tensor<S, E, T>) -> Tensor<S, E, T> {
        x
    }
    fn reduce_weighted<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: Tensor<S, E, T>,
        _: f64,
    ) -> Tensor<S, E, T> {
        x
    }
}

/// The reductions [`kl_div`](super::kl_div) accepts: the three of [`Reduce`] and
/// [`Reduction::BatchMean`] (PyTorch rejects `"batchmean"` elsewhere, and so do the types).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{KlDivReduce, Reduction};
/// let x = Tensor::<Rank2<2, 2>>::ones();
/// assert_eq!(Reduction::Mean.reduce_kl(x.clone()).to_vec(), vec![1.0]);
/// assert_eq!(Reduction::BatchMean.reduce_kl(x).to_vec(), vec![2.0]);
/// ```
pub trait KlDivReduce: Copy {
    /// The reduced shape for an unreduced loss of shape `S`.
    type Output<S: Shape>: Shape;
    /// Reduces the unreduced loss `x`.
    fn reduce_kl<S: Shape, E: Float, T: Tape<E>>(
        self,
        x: Tensor<S, E, T>,
    ) -> Tensor<Self::Output<S>, E, T>;
}

macro_rules! kl_div_reduce_as_reduce {
    ($($r:ty),*) => {$(
        impl KlDivReduce for $r {
            type Output<S: Shape> = <$r as Reduce>::Output<S>;
            fn reduce_kl<S: Shape, E: Float, T: Tape<E>>(
                self,
                x: Tensor<S, E, T>,
            ) -> Tensor<Self::Output<S>, E, T> {
                self.reduce(x)
            }
        }
    )*};
}
kl_div_reduce_as_reduce!(MeanReduction, SumReduction, NoReduction);

impl KlDivReduce for BatchMeanReduction {
    type Output<S: Shape> = ();
    fn reduce_kl<S: Shape, E: Float, T: Tape<E>>(self, x: Tensor<S, E, T>) -> Tensor<(), E, T> {
        let dims = x.dims();
        let sum = x.sum();
        match dims.as_slice().first() {
            Some(&batch) => sum.mul_scalar(E::from_f64(1.0 / batch as f64)),
            None => sum,
        }
    }
}

/// The reductions by name, PyTorch's `reduction="mean" | "sum" | "none" | "batchmean"`:
/// `Reduction::Mean`, `Reduction::Sum`, `Reduction::None`, `Reduction::BatchMean`.
///
/// They read like enum variants but are constants of different types, so that
/// `Reduction::None` returns the unreduced tensor while the others return scalars, all
/// checked at compile time. To choose between mean and sum at run time, branch: both give
/// the same type.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{L1Loss, Reduction};
/// let (p, t) = (Tensor::<Rank1<2>>::from_array([1.0, -3.0]), Tensor::<Rank1<2>>::zeros());
/// let sum = true; // e.g. from a config file
/// let loss: Tensor<()> = if sum {
///     L1Loss::new().reduction(Reduction::Sum).forward(p, t)
/// } else {
///     L1Loss::new().forward(p, t)
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
    /// The sum over the batch size, for [`kl_div`](super::kl_div): [`BatchMeanReduction`].
    ///
    /// ```
    /// use shaped::nn::loss::{BatchMeanReduction, Reduction};
    /// assert_eq!(Reduction::BatchMean, BatchMeanReduction);
    /// ```
    pub const BatchMean: BatchMeanReduction = BatchMeanReduction;
}
