//! Loss weights: PyTorch's `weight=` (per class for the class losses, per element for BCE)
//! and `pos_weight=` (per class of BCE with logits). Each is either [`NoWeight`] (PyTorch's
//! `None`, the default) or a constant tensor whose shape the types check against the loss's.

use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::{BroadcastDim, BroadcastShapes, Dim, DimEq, LastDim, Shape};
use crate::tensor::Tensor;

/// No weight: PyTorch's `weight=None` / `pos_weight=None`, every loss builder's default.
///
/// ```
/// use shaped::nn::loss::{CrossEntropyLoss, NoWeight};
/// let loss: CrossEntropyLoss<NoWeight> = CrossEntropyLoss::new();
/// assert_eq!(loss.weight, NoWeight);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoWeight;

/// A class weight for the class losses ([`CrossEntropyLoss::weight`](super::CrossEntropyLoss::weight),
/// [`NLLLoss::weight`](super::NLLLoss::weight)): [`NoWeight`] or a `(K,)` tensor whose length
/// `K` must equal the class count `C` (by type for static sizes).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::ClassWeights;
/// let w = Tensor::<Rank1<3>>::from_array([1.0, 2.0, 3.0]);
/// assert_eq!(w.class_weights("demo", Const::<3>).unwrap(), Some(&[1.0, 2.0, 3.0][..]));
/// let dynamic = Tensor::<(usize,)>::ones_with_shape((2,));
/// assert!(ClassWeights::<_, f32>::class_weights(&dynamic, "demo", Const::<3>).is_err());
/// ```
///
/// Static counts that differ do not compile:
///
/// ```compile_fail
/// use shaped::prelude::*;
/// use shaped::nn::loss::CrossEntropyLoss;
/// let labels = Indices::<Rank1<2>>::from_array([0, 2]);
/// let weight = Tensor::<Rank1<4>>::ones(); // 3 classes
/// let _ = CrossEntropyLoss::new().weight(weight).forward(Tensor::<Rank2<2, 3>>::zeros(), &labels);
/// ```
pub trait ClassWeights<C: Dim, E: Float> {
    /// The weight of every class, checked against the class count `c`; `None` for no weight.
    fn class_weights(&self, op: &'static str, c: C) -> Result<Option<&[E]>>;
}

impl<C: Dim, E: Float> ClassWeights<C, E> for NoWeight {
    fn class_weights(&self, _: &'static str, _: C) -> Result<Option<&[E]>> {
        Ok(None)
    }
}

impl<K: DimEq<C>, C: Dim, E: Float> ClassWeights<C, E> for Tensor<(K,), E> {
    fn class_weights(&self, op: &'static str, c: C) -> Result<Option<&[E]>> {
        self.shape().0.dim_eq(c).map_err(|_| {
            Error::shape(
                op,
                format!("{} class weights for {} classes", self.numel(), c.size()),
            )
        })?;
        Ok(Some(self.as_slice()))
    }
}

/// A positive-class weight for [`BCEWithLogitsLoss::pos_weight`](super::BCEWithLogitsLoss::pos_weight):
/// [`NoWeight`] or a `(P,)` tensor broadcast over the last dimension of the input, as in
/// PyTorch (`P` equals the last dimension, or is 1).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::PosWeights;
/// let pw = Tensor::<Rank1<2>>::from_array([1.0, 3.0]);
/// let full = pw.pos_weights("demo", &<Rank2<2, 2>>::default()).unwrap().unwrap();
/// assert_eq!(full, vec![1.0, 3.0, 1.0, 3.0]);
/// ```
pub trait PosWeights<S: Shape, E: Float> {
    /// The weight of every element of a loss of shape `shape`; `None` for no weight.
    fn pos_weights(&self, op: &'static str, shape: &S) -> Result<Option<Vec<E>>>;
}

impl<S: Shape, E: Float> PosWeights<S, E> for NoWeight {
    fn pos_weights(&self, _: &'static str, _: &S) -> Result<Option<Vec<E>>> {
        Ok(None)
    }
}

impl<P, S, E> PosWeights<S, E> for Tensor<(P,), E>
where
    P: BroadcastDim<S::Last>,
    S: LastDim,
    E: Float,
{
    fn pos_weights(&self, op: &'static str, shape: &S) -> Result<Option<Vec<E>>> {
        let (n, last) = (self.numel(), shape.last().size());
        if n != last && n != 1 {
            return Err(Error::shape(
                op,
                format!("{n} positive weights for a last dimension of {last}"),
            ));
        }
        Ok(Some(self.clone().try_broadcast_to_dyn(*shape)?.into_vec()))
    }
}

/// A weight for every element of an elementwise loss ([`BCELoss::weight`](super::BCELoss::weight),
/// [`BCEWithLogitsLoss::weight`](super::BCEWithLogitsLoss::weight)): [`NoWeight`] or a tensor
/// that broadcasts to the input's shape, as in PyTorch.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::loss::ElementWeights;
/// let w = Tensor::<Rank2<2, 1>>::from_array([[1.0], [2.0]]);
/// let full = w.element_weights("demo", &<Rank2<2, 2>>::default()).unwrap().unwrap();
/// assert_eq!(full, vec![1.0, 1.0, 2.0, 2.0]);
/// ```
pub trait ElementWeights<S: Shape, E: Float> {
    /// The weight of every element of a loss of shape `shape`; `None` for no weight.
    fn element_weights(&self, op: &'static str, shape: &S) -> Result<Option<Vec<E>>>;
}

impl<S: Shape, E: Float> ElementWeights<S, E> for NoWeight {
    fn element_weights(&self, _: &'static str, _: &S) -> Result<Option<Vec<E>>> {
        Ok(None)
    }
}

impl<W: Shape, S: BroadcastShapes<W>, E: Float> ElementWeights<S, E> for Tensor<W, E> {
    fn element_weights(&self, op: &'static str, shape: &S) -> Result<Option<Vec<E>>> {
        let full = self.clone().try_broadcast_to_dyn(*shape).map_err(|_| {
            Error::shape(
                op,
                format!(
                    "weight of shape {:?} does not broadcast to the input's {:?}",
                    self.dims().as_slice(),
                    shape.dims().as_slice()
                ),
            )
        })?;
        Ok(Some(full.into_vec()))
    }
}
