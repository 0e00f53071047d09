//! Reverse-mode automatic differentiation with owned tapes.
//!
//! An untraced tensor carries [`NoTape`], a zero-sized type: ops on it record nothing.
//! `x.trace()` gives it an [`OwnedTape`], which every op moves from its inputs to its output,
//! adding one backward step. Binary ops [`Merge`] the tapes of both sides, in either order.
//! `loss.backward()` exists only for a traced scalar; it runs the steps newest first and returns
//! [`Gradients`], read back through the leaf tensors themselves.
//!
//! Gradients are keyed by tensor id, and every use of a traced id receives them: in
//! `let t = x.trace(); t.clone() * t`, and also in `x.trace() * x`, both factors are
//! differentiated (as in PyTorch, where `x` would require grad). Use [`Tensor::detach`] for a
//! use that must not be differentiated: it gives a new id. A clone of a traced tensor keeps
//! its full history, so any traced tensor can be backpropagated on its own. As in
//! PyTorch, a graph can be backpropagated once; a second `backward()` through the same ops
//! panics (detach carried state such as an RNN's hidden state between batches).
//!
//! ```
//! use shaped::prelude::*;
//! let w = Tensor::<Rank1<2>, f64>::from_array([3.0, -1.0]);
//! let loss = w.clone().trace().square().sum();
//! let grads = loss.backward();
//! assert_eq!(grads.get(&w).unwrap().to_vec(), vec![6.0, -2.0]);
//! ```

mod gradients;
mod tape;

pub use gradients::Gradients;
pub use tape::{BackwardOp, BackwardTape, Merge, NoTape, OwnedTape, Tape, UniqueId};

use crate::dtype::Float;
use crate::shape::{ScalarShape, Shape};
use crate::tensor::Tensor;

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
        let tape = self.tape.into_owned();
        let mut grads = Gradients::default();
        grads.insert(self.id, vec![E::ONE]);
        for node in tape.nodes() {
            // A poisoned lock means another backward panicked mid-step; its op is unusable.
            let op = node.op.lock().ok().and_then(|mut op| op.take());
            match op {
                Some(op) => op(&mut grads),
                None => panic!(
                    "backward() reached an op whose backward step already ran: this graph was \
                     backpropagated before (trace the inputs again for a second backward pass)"
                ),
            }
        }
        grads
    }
}
