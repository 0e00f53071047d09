//! Negative log-likelihoods of distributions: Poisson and Gaussian.

use super::{LossTape, MeanReduction, Reduce, as_pred_shape, on_merged_tape, or_panic};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::{AddKernel, DivKernel, MulKernel, SubKernel, binary_op};
use crate::ops::loss::{OfDifference, StirlingKernel};
use crate::ops::unary::ClampMinPassThroughKernel;
use crate::ops::unary::SquareKernel;
use crate::shape::check::{GaussianNllLossShape, LossTargetCheck, PoissonNllLossShape};
use crate::shape::{LossTarget, Shape};
use crate::tensor::Tensor;

/// Poisson negative log-likelihood, averaged (`F.poisson_nll_loss`): [`PoissonNLLLoss`] with
/// PyTorch's defaults (`log_input = true`, `full = false`). Panics if run-time sizes differ.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::poisson_nll_loss;
/// let x = Tensor::<Rank1<2>>::from_array([0.0, 0.0]); // log rates
/// let loss = poisson_nll_loss(x, Tensor::from_array([1.0, 3.0]));
/// assert_eq!(loss.to_vec(), vec![1.0]); // e^0 - t * 0
/// ```
pub fn poisson_nll_loss<S: Shape + LossTarget<S2>, S2: Shape, E: Float, T, TR>(
    input: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
) -> Tensor<(), E, LossTape<E, T, TR>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, PoissonNllLossShape>::OK;
    PoissonNLLLoss::new().forward(input, target)
}

/// Poisson negative log-likelihood (`torch.nn.PoissonNLLLoss`) of a predicted rate against
/// counts `t`: `e^x - t x` for a log rate `x` (`log_input = true`, the default), or
/// `x - t ln(x + eps)` for a rate `x`; `full = true` adds the Stirling approximation of
/// `ln t!`, `t ln t - t + 0.5 ln(2 pi t)`, where `t > 1` (0 elsewhere), as PyTorch. Reduced by
/// `reduction`. Gradients reach the input and a traced target (PyTorch's, except that a
/// target of exactly 0 with `full = true` gets 0 where PyTorch's masked `0 ln 0` gives NaN).
/// Defaults: `log_input = true`, `full = false`, `eps = 1e-8`, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{PoissonNLLLoss, Reduction};
/// let rate = Tensor::<Rank1<2>, f64>::from_array([1.0, 1.0]);
/// let loss = PoissonNLLLoss::new().log_input(false).reduction(Reduction::None);
/// let y = loss.forward(rate, Tensor::from_array([0.0, 2.0])).to_vec();
/// assert!((y[0] - 1.0).abs() < 1e-12 && (y[1] - 1.0).abs() < 1e-7); // 1 - t ln(1 + 1e-8)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoissonNLLLoss<R = MeanReduction> {
    /// Whether the input is the logarithm of the rate (`log_input=`, default true).
    pub log_input: bool,
    /// Whether to add the Stirling term (`full=`, default false).
    pub full: bool,
    /// Added to the rate before its logarithm when `log_input` is false (`eps=`, 1e-8).
    pub eps: f64,
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl Default for PoissonNLLLoss {
    fn default() -> Self {
        PoissonNLLLoss {
            log_input: true,
            full: false,
            eps: 1e-8,
            reduction: MeanReduction,
        }
    }
}

impl PoissonNLLLoss {
    /// PyTorch's defaults: `log_input = true`, `full = false`, `eps = 1e-8`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::PoissonNLLLoss;
    /// let loss = PoissonNLLLoss::new();
    /// assert!(loss.log_input && !loss.full && loss.eps == 1e-8);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> PoissonNLLLoss<R> {
    /// The same loss with the input read as a log rate (`true`) or a rate (`false`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::PoissonNLLLoss;
    /// let y = PoissonNLLLoss::new().log_input(false).forward(Tensor::<Rank1<1>>::from_array([2.0]), Tensor::zeros());
    /// assert_eq!(y.to_vec(), vec![2.0]);
    /// ```
    pub fn log_input(self, log_input: bool) -> Self {
        PoissonNLLLoss { log_input, ..self }
    }

    /// The same loss with or without the Stirling term (`full=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::PoissonNLLLoss;
    /// let y = PoissonNLLLoss::new().full(true).forward(Tensor::<Rank1<1>, f64>::zeros(), Tensor::from_array([2.0]));
    /// let stirling = 2.0 * 2f64.ln() - 2.0 + 0.5 * (4.0 * std::f64::consts::PI).ln();
    /// assert!((y.to_vec()[0] - (1.0 + stirling)).abs() < 1e-12);
    /// ```
    pub fn full(self, full: bool) -> Self {
        PoissonNLLLoss { full, ..self }
    }

    /// The same loss with another `eps` (used when `log_input` is false).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::PoissonNLLLoss;
    /// let loss = PoissonNLLLoss::new().log_input(false).eps(1.0);
    /// let y = loss.forward(Tensor::<Rank1<1>, f64>::zeros(), Tensor::from_array([1.0]));
    /// assert_eq!(y.to_vec(), vec![0.0]); // 0 - 1 * ln(0 + 1)
    /// ```
    pub fn eps(self, eps: f64) -> Self {
        PoissonNLLLoss { eps, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{PoissonNLLLoss, Reduction};
    /// let y = PoissonNLLLoss::new().reduction(Reduction::Sum).forward(Tensor::<Rank1<2>>::zeros(), Tensor::ones());
    /// assert_eq!(y.to_vec(), vec![2.0]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> PoissonNLLLoss<R2> {
        PoissonNLLLoss {
            log_input: self.log_input,
            full: self.full,
            eps: self.eps,
            reduction,
        }
    }

    /// The loss of `input` against `target`. Panics if run-time sizes differ.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::PoissonNLLLoss;
    /// let y = PoissonNLLLoss::new().forward(Tensor::<Rank1<1>>::from_array([0.0]), Tensor::ones());
    /// assert_eq!(y.to_vec(), vec![1.0]);
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
        let () = LossTargetCheck::<S, S2, PoissonNllLossShape>::OK;
        or_panic(self.try_forward(input, target))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ. (PyTorch
    /// accepts any `eps`, and so does this.)
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::PoissonNLLLoss;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// let err = PoissonNLLLoss::new().try_forward(x, Tensor::<(usize,)>::ones_with_shape((2,)));
    /// assert!(err.unwrap_err().to_string().contains("poisson_nll_loss"));
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
        let () = LossTargetCheck::<S, S2, PoissonNllLossShape>::OK;
        let target = as_pred_shape("poisson_nll_loss", &input.shape, target)?;
        let shape = input.shape;
        let (x, t) = on_merged_tape(input, target);
        // PyTorch: exp(x) - t * x, or x - t * log(x + eps).
        let loss = if self.log_input {
            let tx = binary_op(t.clone(), x.clone(), shape, MulKernel);
            binary_op(x.exp(), tx, shape, SubKernel)
        } else {
            let log_rate = x.clone().add_scalar(E::from_f64(self.eps)).ln();
            let t_log = binary_op(t.clone(), log_rate, shape, MulKernel);
            binary_op(x, t_log, shape, SubKernel)
        };
        let loss = if self.full {
            binary_op(loss, t.map_kernel(StirlingKernel), shape, AddKernel)
        } else {
            loss
        };
        Ok(self.reduction.reduce(loss))
    }
}

/// Gaussian negative log-likelihood, averaged (`F.gaussian_nll_loss`): [`GaussianNLLLoss`]
/// with PyTorch's defaults. Panics where [`GaussianNLLLoss::try_forward`] returns an error.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::gaussian_nll_loss;
/// let mean = Tensor::<Rank1<2>>::from_array([0.0, 2.0]);
/// let var = Tensor::<Rank1<2>>::ones();
/// let loss = gaussian_nll_loss(mean, Tensor::zeros(), var);
/// assert_eq!(loss.to_vec(), vec![(0.0 + 0.5 * 4.0) / 2.0]); // 0.5 (ln 1 + d^2 / 1)
/// ```
pub fn gaussian_nll_loss<S: Shape + LossTarget<S2>, S2: Shape, SV: Shape, E: Float, T, TR, TV>(
    input: Tensor<S, E, T>,
    target: Tensor<S2, E, TR>,
    var: Tensor<SV, E, TV>,
) -> Tensor<(), E, LossTape<E, LossTape<E, T, TR>, TV>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
    LossTape<E, T, TR>: Merge<E, TV>,
    TV: Tape<E>,
{
    let () = LossTargetCheck::<S, S2, GaussianNllLossShape>::OK;
    GaussianNLLLoss::new().forward(input, target, var)
}

/// Gaussian negative log-likelihood (`torch.nn.GaussianNLLLoss`) of a predicted mean `x` and
/// variance `v` against a target `t`: `0.5 (ln v + (x - t)^2 / v)` for every element
/// (`+ 0.5 ln(2 pi)` with `full = true`), reduced by `reduction`. As in PyTorch the variance
/// is clamped to at least `eps` for the value only: the gradient reaches `v` as if it had not
/// been clamped. `var` has the input's shape, or the input's rank with one dimension of size
/// 1 where the input's differs (one variance shared along that axis, broadcast); PyTorch's
/// other forms, a variance without the last dimension and a Python float, are not taken
/// (give the variance a last dimension of size 1). All three receive gradients when traced.
/// As in PyTorch, any `eps` is accepted. Defaults: `full = false`, `eps = 1e-6`, the mean.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::{GaussianNLLLoss, Reduction};
/// let var = Tensor::<Rank2<2, 1>>::from_array([[1.0], [0.0]]); // the 0 is clamped to 1e-6
/// let loss = GaussianNLLLoss::new().reduction(Reduction::None);
/// let y = loss.forward(Tensor::<Rank2<2, 2>>::zeros(), Tensor::zeros(), var).to_vec();
/// assert_eq!(y[0], 0.0);
/// assert!((y[2] - 0.5 * 1e-6f32.ln()).abs() < 1e-5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianNLLLoss<R = MeanReduction> {
    /// Whether to add the constant `0.5 ln(2 pi)` (`full=`, default false).
    pub full: bool,
    /// The least variance used in the value (`eps=`, default 1e-6).
    pub eps: f64,
    /// How the per-element losses are reduced.
    pub reduction: R,
}

impl Default for GaussianNLLLoss {
    fn default() -> Self {
        GaussianNLLLoss {
            full: false,
            eps: 1e-6,
            reduction: MeanReduction,
        }
    }
}

impl GaussianNLLLoss {
    /// PyTorch's defaults: `full = false`, `eps = 1e-6`, the mean.
    ///
    /// ```
    /// use shaped::nn::loss::GaussianNLLLoss;
    /// assert_eq!(GaussianNLLLoss::new().eps, 1e-6);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<R: Reduce> GaussianNLLLoss<R> {
    /// The same loss with or without the constant `0.5 ln(2 pi)` (`full=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::GaussianNLLLoss;
    /// let x = Tensor::<Rank1<1>, f64>::zeros();
    /// let y = GaussianNLLLoss::new().full(true).forward(x.clone(), x, Tensor::<Rank1<1>, f64>::ones());
    /// assert!((y.to_vec()[0] - 0.5 * (2.0 * std::f64::consts::PI).ln()).abs() < 1e-15);
    /// ```
    pub fn full(self, full: bool) -> Self {
        GaussianNLLLoss { full, ..self }
    }

    /// The same loss with another `eps`, the least variance used.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::GaussianNLLLoss;
    /// let x = Tensor::<Rank1<1>, f64>::zeros();
    /// let y = GaussianNLLLoss::new().eps(1.0).forward(x.clone(), x, Tensor::<Rank1<1>, f64>::zeros());
    /// assert_eq!(y.to_vec(), vec![0.0]); // 0.5 ln 1
    /// ```
    pub fn eps(self, eps: f64) -> Self {
        GaussianNLLLoss { eps, ..self }
    }

    /// The same loss with another reduction (`reduction=`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::{GaussianNLLLoss, Reduction};
    /// let x = Tensor::<Rank1<2>>::from_array([1.0, 1.0]);
    /// let y = GaussianNLLLoss::new().reduction(Reduction::Sum).forward(x, Tensor::zeros(), Tensor::<Rank1<2>>::ones());
    /// assert_eq!(y.to_vec(), vec![1.0]);
    /// ```
    pub fn reduction<R2: Reduce>(self, reduction: R2) -> GaussianNLLLoss<R2> {
        GaussianNLLLoss {
            full: self.full,
            eps: self.eps,
            reduction,
        }
    }

    /// The loss of the mean `input` and variance `var` against `target`. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::GaussianNLLLoss;
    /// let x = Tensor::<Rank1<2>>::from_array([1.0, 1.0]);
    /// let y = GaussianNLLLoss::new().forward(x, Tensor::zeros(), Tensor::<Rank1<2>>::ones());
    /// assert_eq!(y.to_vec(), vec![0.5]);
    /// ```
    pub fn forward<S: Shape + LossTarget<S2>, S2: Shape, SV: Shape, E: Float, T, TR, TV>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
        var: Tensor<SV, E, TV>,
    ) -> Tensor<R::Output<S>, E, LossTape<E, LossTape<E, T, TR>, TV>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        LossTape<E, T, TR>: Merge<E, TV>,
        TV: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, GaussianNllLossShape>::OK;
        or_panic(self.try_forward(input, target, var))
    }

    /// [`forward`](Self::forward), with an error when run-time sizes differ, `var` has a
    /// shape PyTorch rejects, or a variance is negative (PyTorch's `ValueError`s).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::loss::GaussianNLLLoss;
    /// let x = Tensor::<Rank1<2>>::zeros();
    /// let var = Tensor::<Rank1<2>>::from_array([1.0, -1.0]);
    /// let err = GaussianNLLLoss::new().try_forward(x.clone(), x, var).unwrap_err();
    /// assert!(err.to_string().contains("negative"));
    /// ```
    pub fn try_forward<S: Shape + LossTarget<S2>, S2: Shape, SV: Shape, E: Float, T, TR, TV>(
        &self,
        input: Tensor<S, E, T>,
        target: Tensor<S2, E, TR>,
        var: Tensor<SV, E, TV>,
    ) -> Result<Tensor<R::Output<S>, E, LossTape<E, LossTape<E, T, TR>, TV>>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        LossTape<E, T, TR>: Merge<E, TV>,
        TV: Tape<E>,
    {
        let () = LossTargetCheck::<S, S2, GaussianNllLossShape>::OK;
        const OP: &str = "gaussian_nll_loss";
        let target = as_pred_shape(OP, &input.shape, target)?;
        check_variance_shape(input.shape.dims().as_slice(), var.shape.dims().as_slice())?;
        if let Some(p) = var.as_slice().iter().position(|&v| v < E::ZERO) {
            return Err(Error::value(
                "gaussian_nll_loss var",
                format!(
                    "var has a negative entry, {} at position {p}",
                    var.as_slice()[p]
                ),
            ));
        }
        let shape = input.shape;
        let squared = binary_op(input, target, shape, OfDifference(SquareKernel));
        let (squared, var) = on_merged_tape(squared, var);
        let var = var
            .try_broadcast_to_dyn(shape)?
            .map_kernel(ClampMinPassThroughKernel(E::from_f64(self.eps)));
        let scaled = binary_op(squared, var.clone(), shape, DivKernel);
        let loss = binary_op(var.ln(), scaled, shape, AddKernel).mul_scalar(E::from_f64(0.5));
        let loss = if self.full {
            loss.add_scalar(E::from_f64(0.5 * (2.0 * std::f64::consts::PI).ln()))
        } else {
            loss
        };
        Ok(self.reduction.reduce(loss))
    }
}

/// PyTorch's accepted variance shapes: the input's, or the input's rank with exactly one
/// dimension of size 1 where the input's differs.
pub(crate) fn check_variance_shape(input: &[usize], var: &[usize]) -> Result<()> {
    if input == var {
        return Ok(());
    }
    let differing: Vec<usize> = input
        .iter()
        .zip(var)
        .filter(|(a, b)| a != b)
        .map(|(_, &b)| b)
        .collect();
    if input.len() == var.len() && differing.iter().sum::<usize>() == 1 {
        return Ok(());
    }
    let hint = if input.len() == var.len() + 1 && input[..var.len()] == *var {
        " (PyTorch's var with the last dimension left out: give it that dimension, of size 1)"
    } else {
        ""
    };
    Err(Error::shape(
        "gaussian_nll_loss",
        format!("var of shape {var:?} does not fit the input's {input:?}{hint}"),
    ))
}
