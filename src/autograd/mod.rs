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
//! differentiated (as in PyTorch, where `x` would require grad). Use [`Tensor::detach`](crate::tensor::Tensor::detach) for a
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

pub(crate) use gradients::GradSlot;
pub use gradients::{DeviceGrad, Gradients};
pub use tape::{BackwardOp, BackwardTape, Merge, NoTape, OwnedTape, Tape, UniqueId};
