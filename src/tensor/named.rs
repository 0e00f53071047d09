//! Renaming run-time dimensions ([`Dyn<Tag>`](crate::shape::Dyn)) of tensors and indices.

use super::{Indices, Tensor};
use crate::dtype::Float;
use crate::shape::{RenameShape, Shape};

impl<S: Shape, E: Float, T> Tensor<S, E, T> {
    /// The same tensor with its run-time dimensions under other names (`usize` and any
    /// [`Dyn<Tag>`](crate::shape::Dyn) turn into one another; static and computed dimensions
    /// stay as they are). No data moves and nothing is checked: this is where you say that a
    /// dimension is meant to become another, e.g. a sequence-first tensor read as
    /// batch-first after a transpose, or an anonymous `usize` batch given its name.
    /// Gradients flow through unchanged.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::shape::{Batch, Seq};
    /// let x = Tensor::<(usize, usize, Const<3>)>::zeros_with_shape((2, 5, Const));
    /// let named: Tensor<(Dyn<Batch>, Dyn<Seq>, Const<3>)> = x.rename();
    /// let seq_first = named.transpose::<0, 1>(); // (Dyn<Seq>, Dyn<Batch>, Const<3>)
    /// assert_eq!(seq_first.dims().as_slice(), &[5, 2, 3]);
    /// ```
    #[inline]
    pub fn rename<S2: Shape>(self) -> Tensor<S2, E, T>
    where
        S: RenameShape<S2>,
    {
        Tensor {
            shape: self.shape.rename_shape(),
            data: self.data,
            id: self.id,
            tape: self.tape,
        }
    }
}

impl<S: Shape> Indices<S> {
    /// The same indices with their run-time dimensions under other names, as
    /// [`Tensor::rename`].
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::shape::Batch;
    /// let y = Indices::<(usize,)>::from_vec_with_shape(vec![1, 0, 2], (3,)).unwrap();
    /// let y: Indices<(Dyn<Batch>,)> = y.rename();
    /// assert_eq!(y.to_vec(), vec![1, 0, 2]);
    /// ```
    #[inline]
    pub fn rename<S2: Shape>(self) -> Indices<S2>
    where
        S: RenameShape<S2>,
    {
        Indices {
            shape: self.shape.rename_shape(),
            data: self.data,
        }
    }
}
