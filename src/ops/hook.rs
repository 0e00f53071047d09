//! Gradient hooks (`Tensor.register_hook`): a function of a tensor's gradient, called during
//! the backward pass, that may read it or replace it.

use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

impl<S: Shape, E: Float, T: Tape<E>> Tensor<S, E, T> {
    /// `self` with a gradient hook (PyTorch's `x.register_hook(fn)`): during the backward
    /// pass, `hook` is called once with the gradient of the returned tensor (the sum over
    /// all its uses, as in PyTorch); returning `Some(g)` replaces that gradient by `g` for
    /// everything upstream, returning `None` keeps it. The values are shared, not copied.
    ///
    /// Use the returned tensor: with owned tapes the hook belongs to the value it returns,
    /// so uses of the original `self` bypass it. The hook is not called when no gradient
    /// reaches the tensor, and never for an untraced one (inference runs the same forward
    /// code without calling it). This is also how to read an intermediate tensor's gradient
    /// (PyTorch's `retain_grad`): a hook that stores it.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use std::sync::{Arc, Mutex};
    /// let x = Tensor::<Rank1<3>, f64>::from_array([1.0, -2.0, 3.0]);
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let store = seen.clone();
    /// // y = 2x, seen by the hook, then its gradient halved on the way back to x.
    /// let y = x.clone().trace().mul_scalar(2.0).register_hook(move |g| {
    ///     store.lock().unwrap().extend(g.to_vec());
    ///     Some(g.clone().mul_scalar(0.5))
    /// });
    /// let grads = y.square().sum().backward(); // d/dy = 2y
    /// assert_eq!(*seen.lock().unwrap(), vec![4.0, -8.0, 12.0]);
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![4.0, -8.0, 12.0]); // 2 * (2y / 2)
    /// ```
    ///
    /// # Panics
    ///
    /// During `backward`, when the hook returns a gradient whose run-time sizes differ
    /// from the tensor's (static sizes are checked by the types), as PyTorch raises.
    pub fn register_hook<F>(self, hook: F) -> Self
    where
        F: FnOnce(&Tensor<S, E>) -> Option<Tensor<S, E>> + Send + 'static,
    {
        let (x, mut tape) = self.split_tape();
        if !(T::TRACING && tape.tracks(x.id)) {
            return Tensor {
                shape: x.shape,
                data: x.data,
                id: x.id,
                tape,
            };
        }
        let (x_id, shape, out_id) = (x.id, x.shape, UniqueId::new());
        tape.record(
            out_id,
            Box::new(move |grads: &mut Gradients<E>| {
                let Some(gy) = grads.take(out_id) else { return };
                let gy = Tensor {
                    shape,
                    data: Arc::new(gy),
                    id: UniqueId::new(),
                    tape: NoTape,
                };
                let g = match hook(&gy) {
                    None => gy,
                    Some(g) => {
                        let (given, wanted) = (g.shape.dims(), shape.dims());
                        assert!(
                            given.as_slice() == wanted.as_slice(),
                            "register_hook: the hook returned a gradient of shape {given:?} \
                             for a tensor of shape {wanted:?}"
                        );
                        g
                    }
                };
                grads.add_shared(x_id, g.data);
            }),
        );
        Tensor {
            shape,
            data: x.data,
            id: out_id,
            tape,
        }
    }
}
