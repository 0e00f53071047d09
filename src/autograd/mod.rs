//! Reverse-mode automatic differentiation with owned tapes.
//!
//! An untraced tensor carries [`NoTape`], a zero-sized type: ops on it record nothing.
//! `x.trace()` gives it an [`OwnedTape`], which every op moves from its inputs to its output,
//! appending one backward step. Binary ops [`Merge`] the tapes of both sides, in either order.
//! `loss.backward()` exists only for a traced scalar; it runs the steps newest first and returns
//! [`Gradients`], read back through the leaf tensors themselves.
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
        let mut ops = tape.ops;
        // Ids grow with creation, so descending ids visit every consumer before its producer.
        ops.sort_unstable_by_key(|(id, _)| core::cmp::Reverse(*id));
        for (_, op) in ops {
            op(&mut grads);
        }
        grads
    }
}
