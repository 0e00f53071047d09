//! Where tensors meet autograd: [`Tensor::backward`] and the [`Gradients`] accessors keyed
//! by a tensor. The tape and gradient types themselves live in [`crate::autograd`], below
//! `tensor`: they know ids and buffers, not tensors.

use super::Tensor;
use crate::autograd::{BackwardTape, Gradients, OwnedTape, Tape, UniqueId};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::shape::{ScalarShape, Shape};

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// Runs the backward pass from this scalar and returns the gradients of every traced
    /// tensor it depends on. Only a traced rank-0 tensor has one: anything else is a
    /// compile error.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 2>, f64>::ones();
    /// let grads = x.clone().trace().mean().backward();
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![0.25; 4]);
    /// ```
    pub fn backward(self) -> Gradients<E>
    where
        S: ScalarShape,
        T: BackwardTape<E>,
    {
        run_backward(self.tape.into_owned(), self.id)
    }
}

/// The backward pass from the scalar `id`: generic over the element type alone, never
/// inlined, and compiled here for both (programs link to it instead of compiling their own
/// copy; see `backend::precompiled`).
#[inline(never)]
fn run_backward<E: Float>(tape: OwnedTape<E>, id: UniqueId) -> Gradients<E> {
    let mut grads = Gradients::default();
    grads.insert(id, vec![E::ONE]);
    tape.backpropagate(&mut grads);
    grads
}

crate::instances::shared_instances!(run_backward::<f32>, run_backward::<f64>);

impl<E: Float> Gradients<E> {
    /// The gradient of `t` as a tensor of the same shape, or `None` if no gradient reached it.
    pub fn get<S: Shape, T>(&self, t: &Tensor<S, E, T>) -> Option<Tensor<S, E>> {
        self.get_id(t.id)
            .map(|g| Tensor::from_parts(t.shape, g.to_vec()))
    }
    /// The gradient of `t` as a slice, without copying.
    pub fn get_slice<S: Shape, T>(&self, t: &Tensor<S, E, T>) -> Option<&[E]> {
        self.get_id(t.id)
    }
    /// Removes and returns the gradient of `t`.
    pub fn remove<S: Shape, T>(&mut self, t: &Tensor<S, E, T>) -> Option<Tensor<S, E>> {
        self.take(t.id).map(|g| Tensor::from_parts(t.shape, g))
    }
    /// Sets the gradient of `t` (replacing any), e.g. to feed an optimizer gradients computed
    /// elsewhere.
    ///
    /// Panics when `grad`'s run-time sizes differ from `t`'s; see [`try_set`](Self::try_set).
    #[track_caller]
    pub fn set<S: Shape, T>(&mut self, t: &Tensor<S, E, T>, grad: Tensor<S, E>) {
        self.try_set(t, grad).or_panic()
    }
    /// [`set`](Self::set), with an error naming both shapes when `grad`'s run-time sizes
    /// differ from `t`'s (every gradient stored has its tensor's shape, which backward
    /// steps rely on).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// let mut grads = Gradients::default();
    /// assert!(grads.try_set(&x, Tensor::zeros_with_shape((4,))).is_err());
    /// assert!(grads.try_set(&x, Tensor::ones_with_shape((3,))).is_ok());
    /// ```
    pub fn try_set<S: Shape, T>(
        &mut self,
        t: &Tensor<S, E, T>,
        grad: Tensor<S, E>,
    ) -> crate::error::Result<()> {
        let (want, got) = (t.dims(), grad.dims());
        if want != got || grad.numel() != t.numel() {
            return Err(crate::error::Error::shape(
                "Gradients::set",
                format!(
                    "the gradient has shape {:?} but the tensor has shape {:?}",
                    got.as_slice(),
                    want.as_slice()
                ),
            ));
        }
        self.insert(t.id, grad.into_vec());
        Ok(())
    }
}
