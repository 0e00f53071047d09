//! The loss structs of [`crate::nn::loss`] on the GPU: `loss.to_device(&gpu)` gives a
//! [`GpuLoss`] that holds the same settings (and its weights on the GPU) and whose `forward`
//! takes GPU tensors, with the CPU struct's reductions, weights and checks. This file has the
//! elementwise losses; the class losses are in `loss_class`.

// The signatures spell out reduced shapes and merged tapes, as the CPU losses do.
#![allow(clippy::type_complexity)]

use super::loss::{GpuLossTape, check_beta, check_delta, diff, pair_terms, term_terms};
use super::loss_reduce::{GpuKlDivReduce, GpuReduce};
use super::ops::{GpuOps, binary_op};
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use crate::autograd::{Merge, NoTape, Tape};
use crate::device::Wgpu;
use crate::device::kernels::BinaryOp;
use crate::device::layer_kernels::PairOp;
use crate::device::loss_kernels::Term;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::loss::{
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, ElementWeights, HuberLoss, KLDivLoss,
    KlDivReduce, L1Loss, MSELoss, NLLLoss, NoWeight, PosWeights, Reduce, SmoothL1Loss,
};
use crate::shape::{DynShape, Shape};
use crate::tensor::Tensor;
use std::any::Any;

/// A loss struct of [`crate::nn::loss`] moved to the GPU with
/// [`to_device`](ToDevice::to_device) (PyTorch's `criterion.to(device)`): its `forward` and
/// `try_forward` take GPU tensors and behave as the CPU struct's (reductions, `weight`,
/// `pos_weight`, `ignore_index`, `label_smoothing`, `beta`, `delta`, `log_target`, the same
/// checks and errors). Weights are uploaded once, here. [`to_cpu`](ToCpu::to_cpu) gives the
/// CPU struct back. Inputs are f32 or f64 GPU tensors (f64 weights for f64 inputs, as on the
/// CPU).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::loss::{CrossEntropyLoss, Reduction};
/// let gpu = Wgpu::new()?;
/// let w = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 0.5]);
/// let loss = CrossEntropyLoss::new().weight(w).label_smoothing(0.1).reduction(Reduction::Sum);
/// let loss = loss.to_device(&gpu)?;
/// let logits = Tensor::<Rank2<2, 3>>::zeros().to_device(&gpu)?.trace();
/// let y = loss.forward(logits, &Indices::<Rank1<2>>::from_array([0, 2]));
/// let _grads = y.backward();
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuLoss<L> {
    /// The loss's settings, as built on the CPU (its CPU weights included).
    pub loss: L,
    /// `weight`, on the GPU.
    pub(crate) weight: Option<GpuWeight>,
    /// `pos_weight`, on the GPU.
    pub(crate) pos_weight: Option<GpuWeight>,
}

/// A loss weight on the GPU, of the element type of the CPU tensor it came from: the loss
/// struct's type says nothing of its tensors' element type (`NoWeight` has none), so one
/// `GpuLoss` type holds f32 or f64 weights and `forward` takes them as its input's type.
#[derive(Clone, Debug)]
pub(crate) enum GpuWeight {
    F32(GpuTensor<DynShape>),
    F64(GpuTensor<DynShape, NoTape, f64>),
}

impl GpuWeight {
    fn new<E: Float>(t: GpuTensor<DynShape, NoTape, E>) -> Self {
        let t: Box<dyn Any> = Box::new(t);
        match t.downcast::<GpuTensor<DynShape>>() {
            Ok(t) => GpuWeight::F32(*t),
            Err(t) => GpuWeight::F64(*t.downcast().expect("a Float is f32 or f64")),
        }
    }

    /// The weight as a tensor of element type `E`: an `Err` when it is of the other type
    /// (which the `forward` bounds `ClassWeights<C, E>`, `ElementWeights<S, E>` rule out).
    pub(crate) fn get<E: Float>(&self, op: &'static str) -> Result<GpuTensor<DynShape, NoTape, E>> {
        let (t, dtype): (&dyn Any, &str) = match self {
            GpuWeight::F32(t) => (t, "f32"),
            GpuWeight::F64(t) => (t, "f64"),
        };
        t.downcast_ref().cloned().ok_or_else(|| {
            Error::value(
                op,
                format!(
                    "the loss's weights are {dtype} but its input is {}",
                    E::DTYPE
                ),
            )
        })
    }
}

impl<L> GpuLoss<L> {
    /// `weight` as a tensor of element type `E`.
    pub(crate) fn weight_as<E: Float>(
        &self,
        op: &'static str,
    ) -> Result<Option<GpuTensor<DynShape, NoTape, E>>> {
        self.weight.as_ref().map(|w| w.get(op)).transpose()
    }

    /// `pos_weight` as a tensor of element type `E`.
    pub(crate) fn pos_weight_as<E: Float>(
        &self,
        op: &'static str,
    ) -> Result<Option<GpuTensor<DynShape, NoTape, E>>> {
        self.pos_weight.as_ref().map(|w| w.get(op)).transpose()
    }
}

/// A loss weight that moves to the GPU with its loss: [`NoWeight`] or an `f32` or `f64`
/// tensor (`f64` where the adapter has `SHADER_F64`).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::gpu::GpuLossWeight;
/// use shaped::nn::loss::NoWeight;
/// let gpu = Wgpu::new()?;
/// assert!(NoWeight.weight_to_device(&gpu)?.is_none());
/// let w = Tensor::<Rank1<2>>::ones().weight_to_device(&gpu)?.unwrap();
/// assert_eq!(w.to_cpu()?.to_vec(), vec![1.0, 1.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
pub trait GpuLossWeight {
    /// The weight's element type (`f32` for [`NoWeight`], which has none).
    type Elem: Float;
    /// The weight on `gpu`, `None` for no weight.
    fn weight_to_device(
        &self,
        gpu: &Wgpu,
    ) -> Result<Option<GpuTensor<DynShape, NoTape, Self::Elem>>>;
}

impl GpuLossWeight for NoWeight {
    type Elem = f32;
    fn weight_to_device(&self, _: &Wgpu) -> Result<Option<GpuTensor<DynShape>>> {
        Ok(None)
    }
}

impl<S: Shape, E: Float> GpuLossWeight for Tensor<S, E> {
    type Elem = E;
    fn weight_to_device(&self, gpu: &Wgpu) -> Result<Option<GpuTensor<DynShape, NoTape, E>>> {
        let t = self.to_device(gpu)?;
        let shape = DynShape(t.shape.dims());
        Ok(Some(Tensor {
            shape,
            data: t.data,
            id: t.id,
            tape: t.tape,
        }))
    }
}

impl<L> GpuLoss<L> {
    pub(crate) fn settings(loss: L) -> Self {
        GpuLoss {
            loss,
            weight: None,
            pos_weight: None,
        }
    }
}

/// The CPU struct back (its weights were never removed from it).
impl<L: Clone> ToCpu for GpuLoss<L> {
    type Output = L;
    fn to_cpu(&self) -> Result<L> {
        Ok(self.loss.clone())
    }
}

/// `w` on `gpu`, its element type kept in the value.
pub(crate) fn upload_weight<W: GpuLossWeight>(w: &W, gpu: &Wgpu) -> Result<Option<GpuWeight>> {
    Ok(w.weight_to_device(gpu)?.map(GpuWeight::new))
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
settings_to_device!(MSELoss, L1Loss, SmoothL1Loss, HuberLoss, KLDivLoss);

/// The loss on the GPU ([`GpuLoss`]), its `weight` uploaded.
impl<W: GpuLossWeight + Clone, R: Clone> ToDevice for BCELoss<W, R> {
    type Output = GpuLoss<BCELoss<W, R>>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuLoss {
            weight: upload_weight(&self.weight, gpu)?,
            ..GpuLoss::settings(self.clone())
        })
    }
}

/// The loss on the GPU ([`GpuLoss`]), its `weight` and `pos_weight` uploaded.
impl<W: GpuLossWeight + Clone, P: GpuLossWeight + Clone, R: Clone> ToDevice
    for BCEWithLogitsLoss<W, P, R>
{
    type Output = GpuLoss<BCEWithLogitsLoss<W, P, R>>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuLoss {
            weight: upload_weight(&self.weight, gpu)?,
            pos_weight: upload_weight(&self.pos_weight, gpu)?,
            ..GpuLoss::settings(self.clone())
        })
    }
}

/// The loss on the GPU ([`GpuLoss`]), its class weights uploaded.
impl<W: GpuLossWeight + Clone, R: Clone> ToDevice for CrossEntropyLoss<W, R> {
    type Output = GpuLoss<CrossEntropyLoss<W, R>>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuLoss {
            weight: upload_weight(&self.weight, gpu)?,
            ..GpuLoss::settings(self.clone())
        })
    }
}

/// The loss on the GPU ([`GpuLoss`]), its class weights uploaded.
impl<W: GpuLossWeight + Clone, R: Clone> ToDevice for NLLLoss<W, R> {
    type Output = GpuLoss<NLLLoss<W, R>>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuLoss {
            weight: upload_weight(&self.weight, gpu)?,
            ..GpuLoss::settings(self.clone())
        })
    }
}

/// An `Err` when a loss's weight lives on another GPU device than its input: kernels would
/// read a buffer of another device.
pub(crate) fn same_device<S: Shape, E: Float, T>(
    op: &'static str,
    weight: &GpuTensor<DynShape, NoTape, E>,
    input: &GpuTensor<S, T, E>,
) -> Result<()> {
    crate::device::kernels::same_device(op, &weight.data, &input.data).map_err(|_| {
        Error::value(
            op,
            "the loss's weights are on another GPU device than its input (move the loss with \
             `to_device` to the input's device)",
        )
    })
}

/// `terms * weight`, the weight broadcast to the terms' shape (checked here, named as the CPU
/// names it).
pub(crate) fn weighted<S: Shape, E: Float, T: Tape<E>>(
    op: &'static str,
    terms: GpuTensor<S, T, E>,
    weight: &Option<GpuTensor<DynShape, NoTape, E>>,
) -> Result<GpuTensor<S, T, E>> {
    let Some(w) = weight else { return Ok(terms) };
    same_device(op, w, &terms)?;
    let (wd, sd) = (w.shape.dims(), terms.shape.dims());
    let (wd, sd) = (wd.as_slice(), sd.as_slice());
    let fits = wd.len() <= sd.len()
        && wd
            .iter()
            .rev()
            .zip(sd.iter().rev())
            .all(|(&a, &b)| a == b || a == 1);
    if !fits {
        return Err(Error::shape(
            op,
            format!("weight of shape {wd:?} does not broadcast to the input's {sd:?}"),
        ));
    }
    let shape = terms.shape;
    binary_op(terms, w.clone(), shape, BinaryOp::Mul)
}

/// A `forward` that panics where `try_forward` (the body) returns the `Err`, for a GPU loss
/// of a prediction and a target of one shape.
macro_rules! gpu_forward {
    (
        impl<$($g:ident),*> $L:ty where [$($bounds:tt)*], $Red:ident, $R:ident, $Out:ty;
        |$self:ident, $pred:ident, $target:ident| $body:expr
    ) => {
        impl<$($g),*> GpuLoss<$L> where $R: $Red {
            /// The loss of `pred` against `target`, as the CPU struct's `forward`. Panics
            /// where [`try_forward`](Self::try_forward) returns an error.
            #[track_caller]
            pub fn forward<S: Shape, E: Float, T, TR>(
                &self,
                pred: GpuTensor<S, T, E>,
                target: GpuTensor<S, TR, E>,
            ) -> GpuTensor<$Out, GpuLossTape<T, TR, E>, E>
            where
                T: Tape<E> + Merge<E, TR>,
                TR: Tape<E>,
                $($bounds)*
            {
                self.try_forward(pred, target).or_panic()
            }

            /// [`forward`](Self::forward) with an `Err` where the CPU struct's `try_forward`
            /// has one (run-time sizes that differ, invalid settings, weights that do not
            /// fit).
            pub fn try_forward<S: Shape, E: Float, T, TR>(
                &$self,
                $pred: GpuTensor<S, T, E>,
                $target: GpuTensor<S, TR, E>,
            ) -> Result<GpuTensor<$Out, GpuLossTape<T, TR, E>, E>>
            where
                T: Tape<E> + Merge<E, TR>,
                TR: Tape<E>,
                $($bounds)*
            {
                $body
            }
        }
    };
}

gpu_forward! {
    impl<R> MSELoss<R> where [], GpuReduce, R, <R as Reduce>::Output<S>;
    |self, pred, target| Ok(self.loss.reduction.reduce_gpu(diff("mse_loss", pred, target)?.square()))
}

gpu_forward! {
    impl<R> L1Loss<R> where [], GpuReduce, R, <R as Reduce>::Output<S>;
    |self, pred, target| {
        use super::activations::GpuActivations;
        Ok(self.loss.reduction.reduce_gpu(diff("l1_loss", pred, target)?.abs()))
    }
}

gpu_forward! {
    impl<R> SmoothL1Loss<R> where [], GpuReduce, R, <R as Reduce>::Output<S>;
    |self, pred, target| {
        check_beta(self.loss.beta)?;
        let op = Term::SmoothL1(self.loss.beta);
        let terms = term_terms("smooth_l1_loss", op, pred, target, None)?;
        Ok(self.loss.reduction.reduce_gpu(terms))
    }
}

gpu_forward! {
    impl<R> HuberLoss<R> where [], GpuReduce, R, <R as Reduce>::Output<S>;
    |self, pred, target| {
        check_delta(self.loss.delta)?;
        let op = Term::Huber(self.loss.delta);
        let terms = term_terms("huber_loss", op, pred, target, None)?;
        Ok(self.loss.reduction.reduce_gpu(terms))
    }
}

gpu_forward! {
    impl<R> KLDivLoss<R> where [], GpuKlDivReduce, R, <R as KlDivReduce>::Output<S>;
    |self, input, target| {
        let op = if self.loss.log_target { Term::KlDivLogTarget } else { Term::KlDiv };
        let terms = term_terms("kl_div", op, input, target, None)?;
        Ok(self.loss.reduction.reduce_kl_gpu(terms))
    }
}

gpu_forward! {
    impl<W, R> BCELoss<W, R> where [W: ElementWeights<S, E>,], GpuReduce, R, <R as Reduce>::Output<S>;
    |self, pred, target| {
        const OP: &str = "binary_cross_entropy";
        let terms = pair_terms(OP, PairOp::Bce, pred, target)?;
        Ok(self.loss.reduction.reduce_gpu(weighted(OP, terms, &self.weight_as(OP)?)?))
    }
}

gpu_forward! {
    impl<W, P, R> BCEWithLogitsLoss<W, P, R>
        where [W: ElementWeights<S, E>, P: PosWeights<S, E>,], GpuReduce, R, <R as Reduce>::Output<S>;
    |self, logits, target| {
        const OP: &str = "binary_cross_entropy_with_logits";
        let terms = match &self.pos_weight_as::<E>(OP)? {
            Some(pw) => {
                same_device(OP, pw, &logits)?;
                let n = pw.shape.numel();
                let dims = logits.shape.dims();
                let last = dims.as_slice().last().copied().unwrap_or(1);
                if n != last && n != 1 {
                    return Err(Error::shape(
                        OP,
                        format!("{n} positive weights for a last dimension of {last}"),
                    ));
                }
                let op = Term::BcePosWeight;
                term_terms(OP, op, logits, target, Some(pw.data.clone()))?
            }
            None => pair_terms(OP, PairOp::BceWithLogits, logits, target)?,
        };
        Ok(self.loss.reduction.reduce_gpu(weighted(OP, terms, &self.weight_as(OP)?)?))
    }
}
