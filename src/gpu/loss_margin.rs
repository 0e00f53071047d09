//! The margin losses on the GPU: hinge embedding, soft margin, multi-label soft margin and
//! margin ranking, as [`GpuLoss`] (the loss structs of [`crate::nn::loss`] moved with
//! `to_device`) and as `F`-style functions with PyTorch's defaults. Each is composed from the
//! GPU ops as the CPU composes it, with the same reductions and checks.

// The signatures spell out reduced shapes and merged tapes, as the CPU losses do.
#![allow(clippy::type_complexity)]

use super::activations::GpuActivations;
use super::compare::GpuCompare;
use super::loss::{GpuLossTape, check_same, pair_terms};
use super::loss_modules::{GpuLoss, GpuLossWeight, upload_weight, weighted};
use super::loss_reduce::GpuReduce;
use super::ops::binary_op;
use super::reduce::sum_axis;
use super::tensor::{
    GpuTensor, ToDevice, add_grad, gpu_tensor, split, take_grad, wants, with_tape,
};
use crate::autograd::{Gradients, Merge, NoTape, Tape};
use crate::device::Wgpu;
use crate::device::kernels::BinaryOp;
use crate::device::layer_kernels::PairOp;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::loss::{
    ElementWeights, HingeEmbeddingLoss, MarginRankingLoss, MultiLabelShape,
    MultiLabelSoftMarginLoss, SoftMarginLoss,
};
use crate::shape::Shape;

/// `x` where `mask` is nonzero, else 0 (not `x * mask`, which is NaN for an infinite `x`):
/// the CPU's masked multiply. The gradient passes where `mask` is nonzero.
pub(crate) fn keep_where<S: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    mask: &GpuTensor<S, NoTape, E>,
) -> Result<GpuTensor<S, T, E>> {
    use crate::device::compare_kernels as kernels;
    let dims = x.shape.dims().to_vec();
    let (x, mut tape) = split(x);
    let zero = x.data.device().upload(&[E::ZERO]);
    let y = kernels::where_((&mask.data, &dims), (&x.data, &dims), (&zero, &[]), &dims)?;
    let out = gpu_tensor(x.shape, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id, m) = (x.id, out.id, mask.data.clone());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let gx = kernels::where_((&m, &dims), (&gy, &dims), (&zero, &[]), &dims)
                    .expect("shapes checked in forward");
                add_grad(g, x_id, gx);
            }),
        );
    }
    Ok(with_tape(out, tape))
}

macro_rules! settings_to_device {
    ($($name:ident),*) => {$(
        /// The loss on the GPU ([`GpuLoss`]); it holds no tensor, so nothing is uploaded.
        impl<R: Clone> ToDevice for $name<R> {
            type Output = GpuLoss<$name<R>>;
            fn to_device(&self, _: &Wgpu) -> Result<GpuLoss<$name<R>>> {
                Ok(GpuLoss::settings(self.clone()))
            }
        }
    )*};
}
settings_to_device!(HingeEmbeddingLoss, SoftMarginLoss, MarginRankingLoss);

/// The loss on the GPU ([`GpuLoss`]), its class `weight` uploaded.
impl<W: GpuLossWeight + Clone, R: Clone> ToDevice for MultiLabelSoftMarginLoss<W, R> {
    type Output = GpuLoss<MultiLabelSoftMarginLoss<W, R>>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuLoss {
            weight: upload_weight(&self.weight, gpu)?,
            ..GpuLoss::settings(self.clone())
        })
    }
}

impl<R: GpuReduce> GpuLoss<HingeEmbeddingLoss<R>> {
    /// The hinge embedding loss of `input` against `target` (labels 1 and -1), as the CPU
    /// struct's `forward`: `x` where `y = 1`, `max(0, margin - x)` where `y = -1` (both
    /// terms for any other label, as PyTorch); the target takes no gradient. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::{HingeEmbeddingLoss, Reduction};
    /// let gpu = Wgpu::new()?;
    /// let loss = HingeEmbeddingLoss::new().margin(2.0).reduction(Reduction::None).to_device(&gpu)?;
    /// let x = Tensor::<Rank1<3>>::from_array([0.5, 0.5, 0.5]).to_device(&gpu)?;
    /// let y = Tensor::<Rank1<3>>::from_array([1.0, -1.0, 0.0]).to_device(&gpu)?;
    /// assert_eq!(loss.forward(x, y).to_cpu()?.to_vec(), vec![0.5, 1.5, 2.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<S: Shape, E: Float, T, TR>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
    ) -> GpuTensor<R::Output<S>, GpuLossTape<T, TR, E>, E>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        self.try_forward(input, target).or_panic()
    }

    /// [`forward`](Self::forward) with an `Err` when run-time sizes differ.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::HingeEmbeddingLoss;
    /// let gpu = Wgpu::new()?;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
    /// let y = Tensor::<(usize,)>::ones_with_shape((2,)).to_device(&gpu)?;
    /// assert!(HingeEmbeddingLoss::new().to_device(&gpu)?.try_forward(x, y).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_forward<S: Shape, E: Float, T, TR>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
    ) -> Result<GpuTensor<R::Output<S>, GpuLossTape<T, TR, E>, E>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        check_same("hinge_embedding_loss", &input.shape, &target.shape)?;
        let (t, tt) = split(target);
        let (x, tx) = split(input);
        let x = with_tape(x, tx.merge(tt));
        let (not_positive, not_negative) = (t.ne_scalar(E::ONE), t.ne_scalar(-E::ONE));
        let hinge = (-x.clone() + E::from_f64(self.loss.margin)).clamp(E::ZERO, E::INFINITY);
        let hinge = keep_where(hinge, &not_positive)?;
        let linear = keep_where(x, &not_negative)?;
        let shape = hinge.shape;
        let terms = binary_op(hinge, linear, shape, BinaryOp::Add)?;
        Ok(self.loss.reduction.reduce_gpu(terms))
    }
}

impl<R: GpuReduce> GpuLoss<SoftMarginLoss<R>> {
    /// The soft margin loss `ln(1 + e^(-y x))` of `input` against `target` (labels 1 and
    /// -1), as the CPU struct's `forward` (computed as `-log_sigmoid(y x)`, finite for any
    /// finite `x y`; a traced target receives a gradient). Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::{SoftMarginLoss, Reduction};
    /// let gpu = Wgpu::new()?;
    /// let loss = SoftMarginLoss::new().reduction(Reduction::None).to_device(&gpu)?;
    /// let x = Tensor::<Rank1<2>>::from_array([100.0, -100.0]).to_device(&gpu)?;
    /// let y = Tensor::<Rank1<2>>::from_array([-1.0, 1.0]).to_device(&gpu)?;
    /// assert_eq!(loss.forward(x, y).to_cpu()?.to_vec(), vec![100.0, 100.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<S: Shape, E: Float, T, TR>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
    ) -> GpuTensor<R::Output<S>, GpuLossTape<T, TR, E>, E>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        self.try_forward(input, target).or_panic()
    }

    /// [`forward`](Self::forward) with an `Err` when run-time sizes differ.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::SoftMarginLoss;
    /// let gpu = Wgpu::new()?;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
    /// let y = Tensor::<(usize,)>::ones_with_shape((4,)).to_device(&gpu)?;
    /// assert!(SoftMarginLoss::new().to_device(&gpu)?.try_forward(x, y).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_forward<S: Shape, E: Float, T, TR>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
    ) -> Result<GpuTensor<R::Output<S>, GpuLossTape<T, TR, E>, E>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
    {
        check_same("soft_margin_loss", &input.shape, &target.shape)?;
        let shape = input.shape;
        let margin = binary_op(input, target, shape, BinaryOp::Mul)?;
        Ok(self.loss.reduction.reduce_gpu(-margin.logsigmoid()))
    }
}

impl<W, R: GpuReduce> GpuLoss<MultiLabelSoftMarginLoss<W, R>> {
    /// The multi-label soft margin loss of logits `input` against 0/1 `target`, classes on
    /// the last axis, as the CPU struct's `forward`: per sample the mean over classes of the
    /// (weighted) BCE-with-logits terms, then reduced over the samples (`Reduction::None`
    /// gives one loss per sample). Panics where [`try_forward`](Self::try_forward) returns an
    /// error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::{MultiLabelSoftMarginLoss, Reduction};
    /// let gpu = Wgpu::new()?;
    /// let w = Tensor::<Rank1<2>>::from_array([2.0, 0.0]);
    /// let loss = MultiLabelSoftMarginLoss::new().weight(w).reduction(Reduction::None);
    /// let loss = loss.to_device(&gpu)?;
    /// let x = Tensor::<Rank2<3, 2>>::zeros().to_device(&gpu)?;
    /// let y: GpuTensor<Rank1<3>> = loss.forward(x, Tensor::ones().to_device(&gpu)?);
    /// assert!((y.to_cpu()?.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<S: MultiLabelShape, E: Float, T, TR>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
    ) -> GpuTensor<R::Output<S::Samples>, GpuLossTape<T, TR, E>, E>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ElementWeights<S, E>,
    {
        self.try_forward(input, target).or_panic()
    }

    /// [`forward`](Self::forward) with an `Err` when run-time sizes differ or the weight does
    /// not broadcast to the input.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::MultiLabelSoftMarginLoss;
    /// let gpu = Wgpu::new()?;
    /// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3)).to_device(&gpu)?;
    /// let w = Tensor::<(usize,)>::ones_with_shape((2,));
    /// let loss = MultiLabelSoftMarginLoss::new().weight(w).to_device(&gpu)?;
    /// assert!(loss.try_forward(x.clone(), x).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_forward<S: MultiLabelShape, E: Float, T, TR>(
        &self,
        input: GpuTensor<S, T, E>,
        target: GpuTensor<S, TR, E>,
    ) -> Result<GpuTensor<R::Output<S::Samples>, GpuLossTape<T, TR, E>, E>>
    where
        T: Tape<E> + Merge<E, TR>,
        TR: Tape<E>,
        W: ElementWeights<S, E>,
    {
        const OP: &str = "multilabel_soft_margin_loss";
        let dims = input.shape.dims();
        let dims = dims.as_slice();
        let samples = dims
            .split_last()
            .and_then(|(_, rest)| S::Samples::from_dims(rest))
            .ok_or_else(|| {
                Error::shape(OP, format!("input of shape {dims:?} has no class axis"))
            })?;
        let per_element = pair_terms(OP, PairOp::BceWithLogits, input, target)?;
        let per_element = weighted(OP, per_element, &self.weight_as(OP)?)?;
        let per_sample = sum_axis(per_element, dims.len() - 1, samples, true);
        Ok(self.loss.reduction.reduce_gpu(per_sample))
    }
}

impl<R: GpuReduce> GpuLoss<MarginRankingLoss<R>> {
    /// The margin ranking loss `max(0, -y (x1 - x2) + margin)` of the pairs `input1`,
    /// `input2` against labels `target` (1: `x1` should rank higher), as the CPU struct's
    /// `forward`; all three receive gradients when traced. Panics where
    /// [`try_forward`](Self::try_forward) returns an error.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::{MarginRankingLoss, Reduction};
    /// let gpu = Wgpu::new()?;
    /// let loss = MarginRankingLoss::new().reduction(Reduction::None).to_device(&gpu)?;
    /// let a = Tensor::<Rank1<2>>::from_array([1.0, 1.0]).to_device(&gpu)?;
    /// let b = Tensor::<Rank1<2>>::from_array([0.0, 3.0]).to_device(&gpu)?;
    /// let y = Tensor::<Rank1<2>>::from_array([-1.0, -1.0]).to_device(&gpu)?;
    /// assert_eq!(loss.forward(a, b, y).to_cpu()?.to_vec(), vec![1.0, 0.0]);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    #[track_caller]
    pub fn forward<S: Shape, E: Float, T1, T2, TR>(
        &self,
        input1: GpuTensor<S, T1, E>,
        input2: GpuTensor<S, T2, E>,
        target: GpuTensor<S, TR, E>,
    ) -> GpuTensor<R::Output<S>, GpuLossTape<GpuLossTape<T1, T2, E>, TR, E>, E>
    where
        T1: Tape<E> + Merge<E, T2>,
        T2: Tape<E>,
        GpuLossTape<T1, T2, E>: Merge<E, TR>,
        TR: Tape<E>,
    {
        self.try_forward(input1, input2, target).or_panic()
    }

    /// [`forward`](Self::forward) with an `Err` when run-time sizes differ.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::loss::MarginRankingLoss;
    /// let gpu = Wgpu::new()?;
    /// let a = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
    /// let y = Tensor::<(usize,)>::ones_with_shape((2,)).to_device(&gpu)?;
    /// let loss = MarginRankingLoss::new().to_device(&gpu)?;
    /// assert!(loss.try_forward(a.clone(), a, y).is_err());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_forward<S: Shape, E: Float, T1, T2, TR>(
        &self,
        input1: GpuTensor<S, T1, E>,
        input2: GpuTensor<S, T2, E>,
        target: GpuTensor<S, TR, E>,
    ) -> Result<GpuTensor<R::Output<S>, GpuLossTape<GpuLossTape<T1, T2, E>, TR, E>, E>>
    where
        T1: Tape<E> + Merge<E, T2>,
        T2: Tape<E>,
        GpuLossTape<T1, T2, E>: Merge<E, TR>,
        TR: Tape<E>,
    {
        const OP: &str = "margin_ranking_loss";
        check_same(OP, &input1.shape, &input2.shape)?;
        check_same(OP, &input1.shape, &target.shape)?;
        let shape = input1.shape;
        let difference = binary_op(input1, input2, shape, BinaryOp::Sub)?;
        let loss = -binary_op(difference, target, shape, BinaryOp::Mul)?;
        let loss = (loss + E::from_f64(self.loss.margin)).clamp(E::ZERO, E::INFINITY);
        Ok(self.loss.reduction.reduce_gpu(loss))
    }
}

/// Hinge embedding loss on the GPU, averaged: the GPU's
/// [`hinge_embedding_loss`](crate::nn::loss::hinge_embedding_loss) (`F.hinge_embedding_loss`).
/// Panics if run-time sizes differ (see [`try_hinge_embedding_loss`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank1<2>>::from_array([0.3, 0.25]).to_device(&gpu)?;
/// let y = Tensor::<Rank1<2>>::from_array([1.0, -1.0]).to_device(&gpu)?;
/// let loss = shaped::gpu::hinge_embedding_loss(x, y, 1.0);
/// assert!((loss.to_cpu()?.to_vec()[0] - (0.3 + 0.75) / 2.0).abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn hinge_embedding_loss<S: Shape, E: Float, T, TR>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    margin: f64,
) -> GpuTensor<(), GpuLossTape<T, TR, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    try_hinge_embedding_loss(input, target, margin).or_panic()
}

/// [`hinge_embedding_loss`] with an `Err` when run-time sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
/// let y = Tensor::<(usize,)>::ones_with_shape((2,)).to_device(&gpu)?;
/// assert!(shaped::gpu::try_hinge_embedding_loss(x, y, 1.0).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_hinge_embedding_loss<S: Shape, E: Float, T, TR>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
    margin: f64,
) -> Result<GpuTensor<(), GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    GpuLoss::settings(HingeEmbeddingLoss::new().margin(margin)).try_forward(input, target)
}

/// Soft margin loss on the GPU, averaged: the GPU's
/// [`soft_margin_loss`](crate::nn::loss::soft_margin_loss) (`F.soft_margin_loss`). Panics if
/// run-time sizes differ (see [`try_soft_margin_loss`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?;
/// let y = Tensor::<Rank1<2>>::from_array([1.0, -1.0]).to_device(&gpu)?;
/// let loss = shaped::gpu::soft_margin_loss(x, y);
/// assert!((loss.to_cpu()?.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn soft_margin_loss<S: Shape, E: Float, T, TR>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
) -> GpuTensor<(), GpuLossTape<T, TR, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    try_soft_margin_loss(input, target).or_panic()
}

/// [`soft_margin_loss`] with an `Err` when run-time sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
/// let y = Tensor::<(usize,)>::ones_with_shape((2,)).to_device(&gpu)?;
/// assert!(shaped::gpu::try_soft_margin_loss(x, y).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_soft_margin_loss<S: Shape, E: Float, T, TR>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
) -> Result<GpuTensor<(), GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    GpuLoss::settings(SoftMarginLoss::new()).try_forward(input, target)
}

/// Multi-label soft margin loss on the GPU, averaged: the GPU's
/// [`multilabel_soft_margin_loss`](crate::nn::loss::multilabel_soft_margin_loss)
/// (`F.multilabel_soft_margin_loss`), classes on the last axis. Panics if run-time sizes
/// differ (see [`try_multilabel_soft_margin_loss`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<Rank2<2, 3>>::zeros().to_device(&gpu)?;
/// let y = Tensor::<Rank2<2, 3>>::from_array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]).to_device(&gpu)?;
/// let loss = shaped::gpu::multilabel_soft_margin_loss(x, y);
/// assert!((loss.to_cpu()?.to_vec()[0] - 2f32.ln()).abs() < 1e-6);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn multilabel_soft_margin_loss<S: MultiLabelShape, E: Float, T, TR>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
) -> GpuTensor<(), GpuLossTape<T, TR, E>, E>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    try_multilabel_soft_margin_loss(input, target).or_panic()
}

/// [`multilabel_soft_margin_loss`] with an `Err` when run-time sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let x = Tensor::<(usize, usize)>::zeros_with_shape((2, 3)).to_device(&gpu)?;
/// let y = Tensor::<(usize, usize)>::ones_with_shape((2, 4)).to_device(&gpu)?;
/// assert!(shaped::gpu::try_multilabel_soft_margin_loss(x, y).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_multilabel_soft_margin_loss<S: MultiLabelShape, E: Float, T, TR>(
    input: GpuTensor<S, T, E>,
    target: GpuTensor<S, TR, E>,
) -> Result<GpuTensor<(), GpuLossTape<T, TR, E>, E>>
where
    T: Tape<E> + Merge<E, TR>,
    TR: Tape<E>,
{
    GpuLoss::settings(MultiLabelSoftMarginLoss::new()).try_forward(input, target)
}

/// Margin ranking loss on the GPU, averaged: the GPU's
/// [`margin_ranking_loss`](crate::nn::loss::margin_ranking_loss) (`F.margin_ranking_loss`).
/// Panics if run-time sizes differ (see [`try_margin_ranking_loss`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<Rank1<2>>::from_array([1.0, 1.0]).to_device(&gpu)?;
/// let b = Tensor::<Rank1<2>>::from_array([0.0, 3.0]).to_device(&gpu)?;
/// let y = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
/// let loss = shaped::gpu::margin_ranking_loss(a, b, y, 0.5);
/// assert_eq!(loss.to_cpu()?.to_vec(), vec![(0.0 + 2.5) / 2.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[track_caller]
pub fn margin_ranking_loss<S: Shape, E: Float, T1, T2, TR>(
    input1: GpuTensor<S, T1, E>,
    input2: GpuTensor<S, T2, E>,
    target: GpuTensor<S, TR, E>,
    margin: f64,
) -> GpuTensor<(), GpuLossTape<GpuLossTape<T1, T2, E>, TR, E>, E>
where
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
    GpuLossTape<T1, T2, E>: Merge<E, TR>,
    TR: Tape<E>,
{
    try_margin_ranking_loss(input1, input2, target, margin).or_panic()
}

/// [`margin_ranking_loss`] with an `Err` when run-time sizes differ.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?;
/// let a = Tensor::<(usize,)>::zeros_with_shape((3,)).to_device(&gpu)?;
/// let y = Tensor::<(usize,)>::ones_with_shape((2,)).to_device(&gpu)?;
/// assert!(shaped::gpu::try_margin_ranking_loss(a.clone(), a, y, 0.0).is_err());
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub fn try_margin_ranking_loss<S: Shape, E: Float, T1, T2, TR>(
    input1: GpuTensor<S, T1, E>,
    input2: GpuTensor<S, T2, E>,
    target: GpuTensor<S, TR, E>,
    margin: f64,
) -> Result<GpuTensor<(), GpuLossTape<GpuLossTape<T1, T2, E>, TR, E>, E>>
where
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
    GpuLossTape<T1, T2, E>: Merge<E, TR>,
    TR: Tape<E>,
{
    GpuLoss::settings(MarginRankingLoss::new().margin(margin)).try_forward(input1, input2, target)
}
