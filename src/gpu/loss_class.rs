//! The class losses on the GPU: [`CrossEntropyLoss`] (labels or probabilities) and
//! [`NLLLoss`] moved with `to_device`, with class weights, `ignore_index`, label smoothing and
//! every reduction as on the CPU, and [`cross_entropy_probs`]. The per-sample weights and the
//! weighted mean's denominator come from the labels, which stay in main memory, so no value
//! is read back from the GPU.

#![allow(clippy::type_complexity)]

use super::loss::{GpuLossTape, check_same};
use super::loss_modules::{GpuLoss, same_device};
use super::loss_reduce::GpuReduce;
use super::ops::{GpuOps, binary_op};
use super::reduce::GpuAxisOps;
use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, Merge, NoTape, Tape};
use crate::device::kernels::BinaryOp;
use crate::device::loss_kernels;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::loss::{ClassWeights, CrossEntropyLoss, NLLLoss, Reduce};
use crate::shape::{Dim, DimEq, DynShape, Shape};
use crate::tensor::{Indices, Tensor};

/// `-w[i] x[i, t[i]]` for every row `i` of `x` viewed as `(rows, classes)`, exactly 0 where
/// `t[i]` is negative, into `out` `(rows,)`; the gradient reaches `x` only.
pub(crate) fn pick_rows<S: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    classes: usize,
    t: &[E],
    w: &[E],
    out: SO,
) -> GpuTensor<SO, T, E> {
    let (x, mut tape) = split(x);
    let rows = t.len();
    let dev = &x.data.device;
    let (t, w) = (dev.upload(t), dev.upload(w));
    let y = loss_kernels::pick(&x.data, &t, &w, rows, classes);
    let result = gpu_tensor(out, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, result.id);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                add_grad(
                    g,
                    x_id,
                    loss_kernels::pick_backward(&t, &w, &gy, rows, classes),
                );
            }),
        );
    }
    with_tape(result, tape)
}

/// The labels checked as the CPU checks them: one per row, each `< classes` or the
/// `ignore_index`.
fn check_labels<N: Dim, N2: DimEq<N>>(
    op: &'static str,
    labels: &Indices<(N2,)>,
    n: N,
    classes: usize,
    ignore_index: Option<usize>,
) -> Result<()> {
    labels.shape().0.dim_eq(n).map_err(|_| {
        Error::shape(
            op,
            format!(
                "{} labels for a batch of {} rows of logits",
                labels.numel(),
                n.size()
            ),
        )
    })?;
    let bad = |&l: &usize| l >= classes && Some(l) != ignore_index;
    match labels.as_slice().iter().position(bad) {
        None => Ok(()),
        Some(p) => Err(Error::value(
            format!("{op} labels"),
            format!(
                "label {} at position {p} is out of range for {classes} classes",
                labels.as_slice()[p]
            ),
        )),
    }
}

/// What the class weights and `ignore_index` make of the labels (the CPU's rule): each row's
/// label as the pick kernel reads it (-1 where ignored), its weight, and the total weight of
/// the counted rows, the weighted mean's denominator.
struct Rows<E> {
    labels: Vec<E>,
    weights: Vec<E>,
    total: f64,
}

fn rows<E: Float>(
    labels: &[usize],
    class_weights: Option<&[E]>,
    ignore_index: Option<usize>,
) -> Rows<E> {
    let mut r = Rows {
        labels: Vec::with_capacity(labels.len()),
        weights: Vec::with_capacity(labels.len()),
        total: 0.0,
    };
    for &l in labels {
        if Some(l) == ignore_index {
            r.labels.push(-E::ONE);
            r.weights.push(E::ZERO);
        } else {
            let w = class_weights.map_or(E::ONE, |w| w[l]);
            r.labels.push(E::from_usize(l));
            r.weights.push(w);
            r.total += w.to_f64();
        }
    }
    r
}

/// The per-sample NLL `-w[y_i] log_probs[i, y_i]` (0 where ignored) and the rows it used.
fn per_sample_nll<N: Dim, C: Dim, N2: Dim, E: Float, T: Tape<E>>(
    log_probs: GpuTensor<(N, C), T, E>,
    labels: &Indices<(N2,)>,
    class_weights: Option<&[E]>,
    ignore_index: Option<usize>,
) -> (GpuTensor<(N,), T, E>, Rows<E>) {
    let (n, c) = log_probs.shape;
    let r = rows(labels.as_slice(), class_weights, ignore_index);
    let nll = pick_rows(log_probs, c.size(), &r.labels, &r.weights, (n,));
    (nll, r)
}

fn check_unit(op: &str, what: &str, v: f64) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::value(
            format!("{op} {what}"),
            format!("{v} is not in [0, 1]"),
        ))
    }
}

/// The class weights on the GPU as a `(C,)` row that broadcasts over `(N, C)`.
fn weight_row<E: Float>(w: &GpuTensor<DynShape, NoTape, E>) -> GpuTensor<(usize,), NoTape, E> {
    Tensor {
        shape: (w.shape.numel(),),
        data: w.data.clone(),
        id: w.id,
        tape: NoTape,
    }
}

impl<W, R: GpuReduce> GpuLoss<CrossEntropyLoss<W, R>> {
    /// The loss of GPU `logits` `(N, C)` against class `labels` `(N,)` (in main memory,
    /// uploaded here), as [`CrossEntropyLoss::forward`]. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::{CrossEntropyLoss, Reduction};
    /// let gpu = Wgpu::new()?;
    /// let loss = CrossEntropyLoss::new().ignore_index(9).reduction(Reduction::None).to_device(&gpu)?;
    /// let logits = Tensor::<Rank2<2, 2>>::zeros().to_device(&gpu)?;
    /// let y = loss.forward(logits, &Indices::<Rank1<2>>::from_array([1, 9])).to_cpu()?;
    /// assert!((y.to_vec()[0] - 2f32.ln()).abs() < 1e-6 && y.to_vec()[1] == 0.0);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
        &self,
        logits: GpuTensor<(N, C), T, E>,
        labels: &Indices<(N2,)>,
    ) -> GpuTensor<<R as Reduce>::Output<(N,)>, T, E>
    where
        W: ClassWeights<C, E>,
    {
        self.try_forward(logits, labels).or_panic()
    }

    /// [`forward`](Self::forward), with an `Err` for a label `>= C` (other than the
    /// `ignore_index`), a label or weight count that differs at run time, or
    /// `label_smoothing` outside `[0, 1]`.
    pub fn try_forward<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
        &self,
        logits: GpuTensor<(N, C), T, E>,
        labels: &Indices<(N2,)>,
    ) -> Result<GpuTensor<<R as Reduce>::Output<(N,)>, T, E>>
    where
        W: ClassWeights<C, E>,
    {
        const OP: &str = "cross_entropy";
        let cfg = &self.loss;
        let (n, c) = logits.shape;
        check_labels(OP, labels, n, c.size(), cfg.ignore_index)?;
        check_unit(OP, "label_smoothing", cfg.label_smoothing)?;
        let class_weights = cfg.weight.class_weights(OP, c)?;
        let weight = self.weight_as::<E>(OP)?;
        if let Some(w) = &weight {
            same_device(OP, w, &logits)?;
        }
        let log_p = logits.log_softmax::<1>();
        let eps = cfg.label_smoothing;
        let (nll, r) = per_sample_nll(log_p.clone(), labels, class_weights, cfg.ignore_index);
        let per_sample = if eps == 0.0 {
            nll
        } else {
            // (1 - eps) nll - eps / C sum_c w_c log p[c], the second term 0 where ignored.
            let spread = match &weight {
                Some(w) => binary_op(log_p, weight_row(w), (n, c), BinaryOp::Mul)?,
                None => log_p,
            };
            let rows = spread.sum_dim::<1>();
            let scale = E::from_f64(eps / c.size() as f64);
            let (keep, scales): (Vec<E>, Vec<E>) = r
                .labels
                .iter()
                .map(|&l| {
                    if l < E::ZERO {
                        (-E::ONE, E::ZERO)
                    } else {
                        (E::ZERO, scale)
                    }
                })
                .unzip();
            let spread = pick_rows(rows, 1, &keep, &scales, (n,));
            binary_op(nll * E::from_f64(1.0 - eps), spread, (n,), BinaryOp::Add)?
        };
        Ok(if class_weights.is_some() || cfg.ignore_index.is_some() {
            cfg.reduction.reduce_weighted_gpu(per_sample, r.total)
        } else {
            cfg.reduction.reduce_gpu(per_sample)
        })
    }

    /// The loss of GPU `logits` `(N, C)` against GPU class probabilities `target` `(N, C)`,
    /// as [`CrossEntropyLoss::forward_probs`]. Panics where
    /// [`try_forward_probs`](Self::try_forward_probs) returns an error.
    #[track_caller]
    pub fn forward_probs<N: Dim, C: Dim, E: Float, T, TR>(
        &self,
        logits: GpuTensor<(N, C), T, E>,
        target: GpuTensor<(N, C), TR, E>,
    ) -> GpuTensor<<R as Reduce>::Output<(N,)>, GpuLossTape<T, TR, E>, E>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ClassWeights<C, E>,
    {
        self.try_forward_probs(logits, target).or_panic()
    }

    /// [`forward_probs`](Self::forward_probs), with an `Err` when run-time sizes differ,
    /// `label_smoothing` is outside `[0, 1]`, or an `ignore_index` is set.
    pub fn try_forward_probs<N: Dim, C: Dim, E: Float, T, TR>(
        &self,
        logits: GpuTensor<(N, C), T, E>,
        target: GpuTensor<(N, C), TR, E>,
    ) -> Result<GpuTensor<<R as Reduce>::Output<(N,)>, GpuLossTape<T, TR, E>, E>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ClassWeights<C, E>,
    {
        const OP: &str = "cross_entropy";
        let cfg = &self.loss;
        check_same(OP, &logits.shape, &target.shape)?;
        check_unit(OP, "label_smoothing", cfg.label_smoothing)?;
        if let Some(i) = cfg.ignore_index {
            return Err(Error::value(
                "cross_entropy ignore_index",
                format!("{i} is set, but probability targets cannot ignore a class"),
            ));
        }
        let shape = logits.shape;
        ClassWeights::<C, E>::class_weights(&cfg.weight, OP, shape.1)?;
        let weight = self.weight_as::<E>(OP)?;
        if let Some(w) = &weight {
            same_device(OP, w, &logits)?;
        }
        let eps = cfg.label_smoothing;
        let target = if eps == 0.0 {
            target
        } else {
            target * E::from_f64(1.0 - eps) + E::from_f64(eps / shape.1.size() as f64)
        };
        let mut terms = binary_op(logits.log_softmax::<1>(), target, shape, BinaryOp::Mul)?;
        if let Some(w) = &weight {
            terms = binary_op(terms, weight_row(w), shape, BinaryOp::Mul)?;
        }
        Ok(cfg.reduction.reduce_gpu(-terms.sum_dim::<1>()))
    }
}

impl<W, R: GpuReduce> GpuLoss<NLLLoss<W, R>> {
    /// The loss of GPU `log_probs` `(N, C)` against class `labels` `(N,)`, as
    /// [`NLLLoss::forward`]. Panics where [`try_forward`](Self::try_forward) returns an
    /// error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::NLLLoss;
    /// let gpu = Wgpu::new()?;
    /// let w = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
    /// let loss = NLLLoss::new().weight(w).to_device(&gpu)?;
    /// let lp = Tensor::<Rank2<2, 2>>::from_array([[-1.0, -2.0], [-3.0, -4.0]]).to_device(&gpu)?;
    /// let y = loss.forward(lp, &Indices::<Rank1<2>>::from_array([0, 1]));
    /// assert_eq!(y.to_cpu()?.to_vec(), vec![(1.0 + 12.0) / 4.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
        &self,
        log_probs: GpuTensor<(N, C), T, E>,
        labels: &Indices<(N2,)>,
    ) -> GpuTensor<<R as Reduce>::Output<(N,)>, T, E>
    where
        W: ClassWeights<C, E>,
    {
        self.try_forward(log_probs, labels).or_panic()
    }

    /// [`forward`](Self::forward), with an `Err` for a label `>= C` (other than the
    /// `ignore_index`) or a label or weight count that differs at run time.
    pub fn try_forward<N: Dim, C: Dim, N2: DimEq<N>, E: Float, T: Tape<E>>(
        &self,
        log_probs: GpuTensor<(N, C), T, E>,
        labels: &Indices<(N2,)>,
    ) -> Result<GpuTensor<<R as Reduce>::Output<(N,)>, T, E>>
    where
        W: ClassWeights<C, E>,
    {
        const OP: &str = "nll_loss";
        let cfg = &self.loss;
        let (n, c) = log_probs.shape;
        check_labels(OP, labels, n, c.size(), cfg.ignore_index)?;
        let class_weights = cfg.weight.class_weights(OP, c)?;
        let (nll, r) = per_sample_nll(log_probs, labels, class_weights, cfg.ignore_index);
        Ok(if class_weights.is_some() || cfg.ignore_index.is_some() {
            cfg.reduction.reduce_weighted_gpu(nll, r.total)
        } else {
            cfg.reduction.reduce_gpu(nll)
        })
    }
}

/// Cross-entropy between GPU logits `(N, C)` and GPU class probabilities `(N, C)`, averaged:
/// the GPU's [`cross_entropy_probs`](crate::nn::loss::cross_entropy_probs). Panics if
/// run-time sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let logits = Tensor::<Rank2<1, 2>>::zeros().to_device(&gpu)?;
/// let target = Tensor::<Rank2<1, 2>>::from_array([[0.25, 0.75]]).to_device(&gpu)?;
/// let loss = shaped::gpu::cross_entropy_probs(logits, target).to_cpu()?;
/// assert!((loss.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn cross_entropy_probs<N: Dim, C: Dim, E: Float, T, TR>(
    logits: GpuTensor<(N, C), T, E>,
    target: GpuTensor<(N, C), TR, E>,
) -> GpuTensor<(), GpuLossTape<T, TR, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    try_cross_entropy_probs(logits, target).or_panic()
}

/// [`cross_entropy_probs`] with an `Err` when run-time sizes differ.
pub fn try_cross_entropy_probs<N: Dim, C: Dim, E: Float, T, TR>(
    logits: GpuTensor<(N, C), T, E>,
    target: GpuTensor<(N, C), TR, E>,
) -> Result<GpuTensor<(), GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    GpuLoss::settings(CrossEntropyLoss::new()).try_forward_probs(logits, target)
}
