//! Integer index tensors (PyTorch's int64 tensors): class labels, gather indices, argmax.

use crate::error::{Error, Result};
use crate::shape::{ConstShape, Shape};
use std::sync::Arc;

/// A tensor of indices with a typed shape. Indices are not differentiable, so they carry no
/// tape and no element type parameter.
///
/// ```
/// use shaped::prelude::*;
/// let labels = Indices::<Rank1<3>>::from_array([2, 0, 1]);
/// assert_eq!(labels.as_slice(), &[2, 0, 1]);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Indices<S: Shape> {
    pub(crate) shape: S,
    pub(crate) data: Arc<Vec<usize>>,
}

impl<S: Shape> Indices<S> {
    /// From a row-major `Vec` and a shape; an error if the length is wrong.
    pub fn from_vec_with_shape(data: Vec<usize>, shape: S) -> Result<Self> {
        let numel = shape.try_numel("Indices::from_vec_with_shape")?;
        if data.len() != numel {
            return Err(Error::Length {
                what: format!("indices of shape {:?}", shape.dims()),
                expected: numel,
                got: data.len(),
            });
        }
        Ok(Indices {
            shape,
            data: Arc::new(data),
        })
    }
    pub(crate) fn from_parts(shape: S, data: Vec<usize>) -> Self {
        debug_assert_eq!(shape.numel(), data.len());
        Indices {
            shape,
            data: Arc::new(data),
        }
    }
    /// The shape value.
    pub fn shape(&self) -> &S {
        &self.shape
    }
    /// The indices in row-major order.
    pub fn as_slice(&self) -> &[usize] {
        &self.data
    }
    /// The indices, copied.
    pub fn to_vec(&self) -> Vec<usize> {
        self.data.to_vec()
    }
    /// The number of indices.
    pub fn numel(&self) -> usize {
        self.data.len()
    }
    /// An error naming the first index that is not below `bound`.
    pub fn check_below(&self, bound: usize, what: &str) -> Result<()> {
        match self.data.iter().position(|&i| i >= bound) {
            None => Ok(()),
            Some(p) => Err(Error::value(
                what,
                format!(
                    "index {} at position {p} is out of range for size {bound}",
                    self.data[p]
                ),
            )),
        }
    }
}

impl<S: ConstShape> Indices<S> {
    /// From a row-major `Vec`; an error if the length is wrong.
    pub fn from_vec(data: Vec<usize>) -> Result<Self> {
        Self::from_vec_with_shape(data, S::default())
    }
}

impl<const N: usize> Indices<(crate::shape::Const<N>,)> {
    /// From an array of `N` indices.
    pub fn from_array(a: [usize; N]) -> Self {
        Indices::from_parts(Default::default(), a.to_vec())
    }
}

impl<const M: usize, const N: usize> Indices<(crate::shape::Const<M>, crate::shape::Const<N>)> {
    /// From an `M x N` array of indices.
    pub fn from_array2(a: [[usize; N]; M]) -> Self {
        Indices::from_parts(Default::default(), a.iter().flatten().copied().collect())
    }
}

impl<S: Shape> core::fmt::Debug for Indices<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Indices({:?}, shape={:?})",
            self.data,
            self.shape.dims().as_slice()
        )
    }
}
