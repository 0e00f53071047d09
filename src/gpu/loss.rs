//! Losses on GPU tensors, PyTorch's `F`-style functions under the names of
//! [`crate::nn::loss`] and with their defaults: `mse_loss`, `l1_loss`, `smooth_l1_loss`,
//! `huber_loss`, `kl_div`, `binary_cross_entropy`, `binary_cross_entropy_with_logits` and
//! `nll_loss` (`cross_entropy` is in `ops`, `cross_entropy_probs` in `loss_class`). Each
//! returns a GPU tensor whose `backward()` reaches the prediction and, when it is traced, the
//! target. The loss structs (weights, other reductions) run on the GPU through
//! [`GpuLoss`](super::GpuLoss).

use super::loss_class::pick_rows;
use super::loss_reduce::GpuKlDivReduce;
use super::ops::{GpuOps, binary_op};
use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, Merge, NoTape, Tape};
use crate::device::GpuStorage;
use crate::device::kernels::BinaryOp;
use crate::device::layer_kernels::{self, PairOp};
use crate::device::loss_kernels::{self, Term};
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::loss::KlDivReduce;
use crate::shape::{Dim, DimEq, Shape};
use crate::tensor::Indices;

/// The merged tape of a prediction and a target of element type `E` (f32 unless said): the
/// prediction's when the target is untraced.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::gpu::GpuLossTape;
/// let gpu = Wgpu::new()?;
/// let p = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?.trace();
/// let t = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let loss: GpuTensor<(), GpuLossTape<OwnedTape<f32>, NoTape>> = shaped::gpu::mse_loss(p, t);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub type GpuLossTape<T, TR, E = f32> = <T as Merge<E, TR>>::Output;

pub(crate) fn check_same<S: Shape>(op: &'static str, pred: &S, target: &S) -> Result<()> {
    let (a, b) = (pred.dims(), target.dims());
    if a != b {
        return Err(Error::shape(
            op,
            format!(
                "prediction of shape {:?} and target of shape {:?} differ",
                a.as_slice(),
                b.as_slice()
            ),
        ));
    }
    Ok(())
}

/// A public loss `$name` of a prediction and a target of one shape that panics when run-time
/// sizes differ, and `$try_name` that returns the `Err`, computed by `$body`.
macro_rules! elementwise_loss {
    ($(#[$doc:meta])* $name:ident, $try_name:ident, |$pred:ident, $target:ident| $body:expr) => {
        $(#[$doc])*
        #[track_caller]
        pub fn $name<S: Shape, E: Float, T, TR>(
            $pred: GpuTensor<S, T, E>,
            $target: GpuTensor<S, TR, E>,
        ) -> GpuTensor<(), GpuLossTape<T, TR, E>, E>
        where
            T: Tape<E> + Merge<E, TR>,
            TR: Tape<E>,
        {
            $try_name($pred, $target).or_panic()
        }

        #[doc = concat!("[`", stringify!($name), "`] with an `Err` when run-time sizes differ.")]
        pub fn $try_name<S: Shape, E: Float, T, TR>(
            $pred: GpuTensor<S, T, E>,
            $target: GpuTensor<S, TR, E>,
        ) -> Result<GpuTensor<(), GpuLossTape<T, TR, E>, E>>
        where
            T: Tape<E> + Merge<E, TR>,
            TR: Tape<E>,
        {
            $body
        }
    };
}

/// `pred - target` (one shape), traced through both.
pub(crate) fn diff<S: Shape, E: Float, T, TR>(
    op: &'static str,
    pred: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
) -> Result<GpuTensor<S, GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_same(op, &pred.shape, &target.shape)?;
    let shape = pred.shape;
    binary_op(pred, target, shape, BinaryOp::Sub)
}

elementwise_loss! {
    /// Mean squared error on the GPU, `mean((pred - target)^2)`: the GPU's
    /// [`mse_loss`](crate::nn::loss::mse_loss). Panics if run-time sizes differ.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let gpu = Wgpu::new()?;
    /// let p = Tensor::<Rank1<2>>::from_array([1.0, 2.0]).to_device(&gpu)?;
    /// let t = Tensor::<Rank1<2>>::from_array([0.0, 4.0]).to_device(&gpu)?;
    /// let grads = shaped::gpu::mse_loss(p.clone().trace(), t).backward();
    /// assert_eq!(grads.get_gpu(&p).unwrap().to_cpu()?.to_vec(), vec![1.0, -2.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    mse_loss,
    try_mse_loss,
    |pred, target| Ok(diff("mse_loss", pred, target)?.square().mean())
}

elementwise_loss! {
    /// Mean absolute error on the GPU, `mean(|pred - target|)`: the GPU's
    /// [`l1_loss`](crate::nn::loss::l1_loss) (gradient 0 where they are equal, as in PyTorch).
    /// Panics if run-time sizes differ.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let gpu = Wgpu::new()?;
    /// let p = Tensor::<Rank1<2>>::from_array([1.0, 2.0]).to_device(&gpu)?;
    /// let t = Tensor::<Rank1<2>>::from_array([0.0, 4.0]).to_device(&gpu)?;
    /// assert_eq!(shaped::gpu::l1_loss(p, t).to_cpu()?.to_vec(), vec![1.5]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    l1_loss,
    try_l1_loss,
    |pred, target| {
        use super::activations::GpuActivations;
        Ok(diff("l1_loss", pred, target)?.abs().mean())
    }
}

/// The fused elementwise loss term of `pred` and `target`, unreduced.
pub(crate) fn pair_terms<S: Shape, E: Float, T, TR>(
    op_name: &'static str,
    op: PairOp,
    pred: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
) -> Result<GpuTensor<S, GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_same(op_name, &pred.shape, &target.shape)?;
    let (a, ta) = split(pred);
    let (b, tb) = split(target);
    let mut tape = ta.merge(tb);
    let y = layer_kernels::pair(op, &a.data, &b.data);
    let terms = gpu_tensor(a.shape, y, NoTape);
    let (track_a, track_b) = (wants(&tape, a.id), wants(&tape, b.id));
    if track_a || track_b {
        let (a_id, b_id, out_id, ad, bd) = (a.id, b.id, terms.id, a.data, b.data);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                if track_a {
                    add_grad(
                        g,
                        a_id,
                        layer_kernels::pair_backward(op, &ad, &bd, &gy, false),
                    );
                }
                if track_b {
                    add_grad(
                        g,
                        b_id,
                        layer_kernels::pair_backward(op, &ad, &bd, &gy, true),
                    );
                }
            }),
        );
    }
    Ok(with_tape(terms, tape))
}

/// The loss term `op` of `pred` and `target` ([`loss_kernels::term`]), unreduced; `weights`
/// are [`Term::BcePosWeight`]'s positive weights, read cyclically.
pub(crate) fn term_terms<S: Shape, E: Float, T, TR>(
    op_name: &'static str,
    op: Term,
    pred: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    weights: Option<GpuStorage<E>>,
) -> Result<GpuTensor<S, GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_same(op_name, &pred.shape, &target.shape)?;
    let (a, ta) = split(pred);
    let (b, tb) = split(target);
    let mut tape = ta.merge(tb);
    // Terms without weights never read the buffer: any will do.
    let w = weights.unwrap_or_else(|| a.data.clone());
    let y = loss_kernels::term(op, &a.data, &b.data, &w);
    let terms = gpu_tensor(a.shape, y, NoTape);
    let (track_a, track_b) = (wants(&tape, a.id), wants(&tape, b.id));
    if track_a || track_b {
        let (a_id, b_id, out_id, ad, bd) = (a.id, b.id, terms.id, a.data, b.data);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                for (track, id, to_target) in [(track_a, a_id, false), (track_b, b_id, true)] {
                    if track {
                        let d = loss_kernels::term_backward(op, (&ad, &bd, &w), &gy, to_target);
                        add_grad(g, id, d);
                    }
                }
            }),
        );
    }
    Ok(with_tape(terms, tape))
}

/// `beta` of Smooth L1 (not negative) and `delta` of Huber (positive), checked as on the CPU.
pub(crate) fn check_beta(beta: f64) -> Result<()> {
    if beta.is_nan() || beta < 0.0 {
        return Err(Error::value(
            "smooth_l1_loss beta",
            format!("{beta} is negative"),
        ));
    }
    Ok(())
}

/// See [`check_beta`].
pub(crate) fn check_delta(delta: f64) -> Result<()> {
    if delta.is_nan() || delta <= 0.0 {
        return Err(Error::value(
            "huber_loss delta",
            format!("{delta} is not positive"),
        ));
    }
    Ok(())
}

/// Smooth L1 loss on the GPU, averaged: the GPU's
/// [`smooth_l1_loss`](crate::nn::loss::smooth_l1_loss) (`0.5 d^2 / beta` where
/// `|d| < beta`, else `|d| - 0.5 beta`). Panics if run-time sizes differ or `beta < 0`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let p = Tensor::<Rank1<2>>::from_array([0.5, 3.0]).to_device(&gpu)?;
/// let t = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?;
/// let loss = shaped::gpu::smooth_l1_loss(p, t, 1.0).to_cpu()?;
/// assert_eq!(loss.to_vec(), vec![(0.125 + 2.5) / 2.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn smooth_l1_loss<S: Shape, E: Float, T, TR>(
    pred: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    beta: f64,
) -> GpuTensor<(), GpuLossTape<T, TR, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    try_smooth_l1_loss(pred, target, beta).or_panic()
}

/// [`smooth_l1_loss`] with an `Err` when run-time sizes differ or `beta < 0`.
pub fn try_smooth_l1_loss<S: Shape, E: Float, T, TR>(
    pred: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    beta: f64,
) -> Result<GpuTensor<(), GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_beta(beta)?;
    let op = Term::SmoothL1(beta);
    Ok(term_terms("smooth_l1_loss", op, pred, target, None)?.mean())
}

/// Huber loss on the GPU, averaged: the GPU's [`huber_loss`](crate::nn::loss::huber_loss)
/// (`0.5 d^2` where `|d| < delta`, else `delta (|d| - 0.5 delta)`). Panics if run-time sizes
/// differ or `delta <= 0`.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let p = Tensor::<Rank1<2>>::from_array([0.5, 3.0]).to_device(&gpu)?;
/// let t = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?;
/// let loss = shaped::gpu::huber_loss(p, t, 2.0).to_cpu()?;
/// assert_eq!(loss.to_vec(), vec![(0.125 + 4.0) / 2.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn huber_loss<S: Shape, E: Float, T, TR>(
    pred: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    delta: f64,
) -> GpuTensor<(), GpuLossTape<T, TR, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    try_huber_loss(pred, target, delta).or_panic()
}

/// [`huber_loss`] with an `Err` when run-time sizes differ or `delta <= 0`.
pub fn try_huber_loss<S: Shape, E: Float, T, TR>(
    pred: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    delta: f64,
) -> Result<GpuTensor<(), GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    check_delta(delta)?;
    let op = Term::Huber(delta);
    Ok(term_terms("huber_loss", op, pred, target, None)?.mean())
}

/// The Kullback-Leibler divergence of GPU log-probabilities `input` from probabilities
/// `target`, reduced by `reduction`: the GPU's [`kl_div`](crate::nn::loss::kl_div)
/// (`target (ln target - input)`, 0 where the target is 0; see
/// [`KLDivLoss`](crate::nn::loss::KLDivLoss) on the GPU for log-targets). Panics if run-time
/// sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::loss::Reduction;
/// let gpu = Wgpu::new()?;
/// let q = Tensor::<Rank2<1, 2>>::from_array([[0.25, 0.75]]).ln().to_device(&gpu)?;
/// let p = Tensor::<Rank2<1, 2>>::from_array([[0.5, 0.5]]).to_device(&gpu)?;
/// let loss = shaped::gpu::kl_div(q, p, Reduction::BatchMean).to_cpu()?;
/// let expected = 0.5 * (0.5f32 / 0.25).ln() + 0.5 * (0.5f32 / 0.75).ln();
/// assert!((loss.to_vec()[0] - expected).abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn kl_div<S: Shape, E: Float, T, TR, R: GpuKlDivReduce>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    reduction: R,
) -> GpuTensor<<R as KlDivReduce>::Output<S>, GpuLossTape<T, TR, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    try_kl_div(input, target, reduction).or_panic()
}

/// [`kl_div`] with an `Err` when run-time sizes differ.
pub fn try_kl_div<S: Shape, E: Float, T, TR, R: GpuKlDivReduce>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    reduction: R,
) -> Result<GpuTensor<<R as KlDivReduce>::Output<S>, GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    let terms = term_terms("kl_div", Term::KlDiv, input, target, None)?;
    Ok(reduction.reduce_kl_gpu(terms))
}

elementwise_loss! {
    /// Binary cross-entropy of probabilities on the GPU, averaged: the GPU's
    /// [`binary_cross_entropy`](crate::nn::loss::binary_cross_entropy), with PyTorch's
    /// logarithms clamped at -100 and its derivative `(p - t) / max(p (1 - p), 1e-12)`. The
    /// values stay on the GPU, so unlike the CPU function this does not check that they lie in
    /// `[0, 1]`: a prediction outside gives NaN (as PyTorch's CUDA kernel asserts instead).
    /// Panics if run-time sizes differ.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let gpu = Wgpu::new()?;
    /// let p = Tensor::<Rank1<2>>::from_array([0.5, 0.5]).to_device(&gpu)?;
    /// let t = Tensor::<Rank1<2>>::from_array([1.0, 0.0]).to_device(&gpu)?;
    /// let loss = shaped::gpu::binary_cross_entropy(p, t).to_cpu()?;
    /// assert!((loss.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    binary_cross_entropy,
    try_binary_cross_entropy,
    |pred, target| Ok(pair_terms("binary_cross_entropy", PairOp::Bce, pred, target)?.mean())
}

elementwise_loss! {
    /// Binary cross-entropy of logits on the GPU, averaged: the GPU's
    /// [`binary_cross_entropy_with_logits`](crate::nn::loss::binary_cross_entropy_with_logits),
    /// PyTorch's stable formula `(1 - t) x - log_sigmoid(x)`. Panics if run-time sizes differ.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// let gpu = Wgpu::new()?;
    /// let x = Tensor::<Rank1<2>>::from_array([0.0, 50.0]).to_device(&gpu)?;
    /// let t = Tensor::<Rank1<2>>::from_array([1.0, 0.0]).to_device(&gpu)?;
    /// let loss = shaped::gpu::binary_cross_entropy_with_logits(x, t).to_cpu()?;
    /// assert!((loss.to_vec()[0] - (2f32.ln() + 50.0) / 2.0).abs() < 1e-4);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    binary_cross_entropy_with_logits,
    try_binary_cross_entropy_with_logits,
    |logits, target| Ok(pair_terms(
        "binary_cross_entropy_with_logits",
        PairOp::BceWithLogits,
        logits,
        target,
    )?
    .mean())
}

/// Negative log-likelihood of GPU log-probabilities `(N, C)` and class labels (on the CPU,
/// uploaded here), averaged: the GPU's [`nll_loss`](crate::nn::loss::nll_loss). Panics,
/// naming the label, if one is `>= C`, or if the sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let lp = Tensor::<Rank2<2, 2>>::from_array([[-0.1, -2.0], [-3.0, -0.5]]).to_device(&gpu)?;
/// let loss = shaped::gpu::nll_loss(lp, &Indices::<Rank1<2>>::from_array([0, 1]));
/// assert!((loss.to_cpu()?.to_vec()[0] - 0.3).abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn nll_loss<N, C, N2, E, T>(
    log_probs: GpuTensor<(N, C), T, E>,
    labels: &Indices<(N2,)>,
) -> GpuTensor<(), T, E>
where
    N: Dim,
    C: Dim,
    N2: DimEq<N>,
    E: Float,
    T: Tape<E>,
{
    try_nll_loss(log_probs, labels).or_panic()
}

/// [`nll_loss`] with an `Err` for a label `>= C` or differing sizes.
pub fn try_nll_loss<N, C, N2, E, T>(
    log_probs: GpuTensor<(N, C), T, E>,
    labels: &Indices<(N2,)>,
) -> Result<GpuTensor<(), T, E>>
where
    N: Dim,
    C: Dim,
    N2: DimEq<N>,
    E: Float,
    T: Tape<E>,
{
    nll_checked(("nll_loss", "log-probabilities"), log_probs, labels)
}

/// The mean NLL after checking the labels against the rows and classes; `op` names the
/// caller in errors (`nll_loss`, `cross_entropy`) and `what` its input.
pub(crate) fn nll_checked<N, C, N2, E, T>(
    (op, what): (&'static str, &'static str),
    log_probs: GpuTensor<(N, C), T, E>,
    labels: &Indices<(N2,)>,
) -> Result<GpuTensor<(), T, E>>
where
    N: Dim,
    C: Dim,
    N2: DimEq<N>,
    E: Float,
    T: Tape<E>,
{
    let (rows, classes) = (log_probs.shape.0.size(), log_probs.shape.1.size());
    let labels = labels.as_slice();
    if labels.len() != rows {
        return Err(Error::shape(
            op,
            format!("{rows} rows of {what} but {} labels", labels.len()),
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        return Err(Error::value(
            op,
            format!("label {l} at position {i} is out of range for {classes} classes"),
        ));
    }
    // One derivative rule for every class loss: the pick kernel of `loss_class`.
    let targets: Vec<E> = labels.iter().map(|&l| E::from_usize(l)).collect();
    let n = log_probs.shape.0;
    Ok(pick_rows(log_probs, classes, &targets, &vec![E::ONE; rows], (n,)).mean())
}
