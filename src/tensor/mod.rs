//! The tensor type.

mod convert;
mod create;
mod display;
mod grad;
mod indices;
mod named;
mod seed;

pub use indices::Indices;
pub use seed::{DEFAULT_SEED, GlobalRng, get_rng_state, initial_seed, manual_seed, set_rng_state};

pub use create::TensorArray;

use crate::autograd::{NoTape, OwnedTape, Tape, UniqueId};

pub(crate) use crate::device::{Cpu, Device};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::{Dims, Shape};
use std::sync::Arc;

/// An n-dimensional array whose shape `S` is part of its type.
///
/// * `S`: a [`Shape`], e.g. `Rank2<3, 4>` or `(usize, Const<10>)`.
/// * `E`: the element type, `f32` (default) or `f64`.
/// * `T`: the tape, [`NoTape`] (default) or [`OwnedTape`] for a traced tensor.
/// * `D`: the [`Device`] holding the elements, [`Cpu`] (default) or, with the `wgpu` feature,
///   a GPU. Ops take tensors of one device only; transfers are explicit.
///
/// Storage is row-major and shared copy-on-write: `clone()` is cheap, and an op that owns the
/// only reference to a buffer reuses it.
///
/// ```
/// use shaped::prelude::*;
/// let a = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// let b = Tensor::<Rank1<3>>::ones();
/// let c = a + b; // broadcasts (2, 3) + (3,)
/// assert_eq!(c.to_vec(), vec![2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
/// ```
pub struct Tensor<S: Shape, E: Float = f32, T = NoTape, D: Device = Cpu> {
    pub(crate) shape: S,
    pub(crate) data: D::Storage<E>,
    pub(crate) id: UniqueId,
    pub(crate) tape: T,
}

impl<S: Shape, E: Float, T: Tape<E>, D: Device> Clone for Tensor<S, E, T, D> {
    /// Shares the buffer and the id. A clone of a traced tensor is traced too and shares its
    /// history (the graph is reference-counted), so either copy can be used or dropped.
    fn clone(&self) -> Self {
        Tensor {
            shape: self.shape,
            data: self.data.clone(),
            id: self.id,
            tape: self.tape.for_clone(self.id),
        }
    }
}

impl<S: Shape, E: Float> Tensor<S, E> {
    /// A tensor from its shape and a buffer of exactly `shape.numel()` elements.
    pub(crate) fn from_parts(shape: S, data: Vec<E>) -> Self {
        debug_assert_eq!(shape.numel(), data.len());
        Tensor {
            shape,
            data: Arc::new(data),
            id: UniqueId::new(),
            tape: NoTape,
        }
    }

    /// Starts tracing: ops on the result record how to compute gradients for it.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank1<2>, f64>::from_array([1.0, 2.0]);
    /// let grads = x.clone().trace().sum().backward();
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![1.0, 1.0]);
    /// ```
    pub fn trace(self) -> Tensor<S, E, OwnedTape<E>> {
        let tape = OwnedTape::tracking(self.id);
        self.put_tape(tape)
    }

    /// Traces the ops applied to this tensor without asking for its own gradient: PyTorch's
    /// usual model input (`requires_grad=False`). Layer parameters met on the way are still
    /// traced and get gradients; work needed only for this tensor's gradient is skipped (the
    /// input gradient of a first `Linear` or `Conv2d`, say), so a training step costs what
    /// it costs in PyTorch.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Linear, Module};
    /// let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// let mut layer = Linear::<3, 2>::new(&mut rng);
    /// let x = Tensor::<Rank2<4, 3>>::ones();
    /// let grads = layer.forward_train(x.clone().trace_constant()).sum().backward();
    /// assert!(grads.get(&layer.weight).is_some());
    /// assert!(grads.get(&x).is_none());
    /// ```
    pub fn trace_constant(self) -> Tensor<S, E, OwnedTape<E>> {
        self.put_tape(OwnedTape::untracked())
    }
}

impl<S: Shape, E: Float, T> Tensor<S, E, T> {
    /// The shape value (static dimensions are zero-sized).
    pub fn shape(&self) -> &S {
        &self.shape
    }
    /// The run-time sizes of every dimension.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(Tensor::<Rank2<2, 3>>::zeros().dims().as_slice(), &[2, 3]);
    /// ```
    pub fn dims(&self) -> Dims {
        self.shape.dims()
    }
    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }
    /// The id gradients are stored under.
    pub fn id(&self) -> UniqueId {
        self.id
    }
    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[E] {
        &self.data
    }
    /// The elements in row-major order, copied.
    pub fn to_vec(&self) -> Vec<E> {
        self.data.to_vec()
    }
    /// The elements, without copying when this tensor owns its buffer alone.
    pub fn into_vec(self) -> Vec<E> {
        Arc::try_unwrap(self.data).unwrap_or_else(|shared| shared.to_vec())
    }
    /// The elements, mutably: copies the buffer first if it is shared (copy-on-write).
    /// Writing through this does not record anything on a tape.
    pub fn as_mut_slice(&mut self) -> &mut [E] {
        Arc::make_mut(&mut self.data).as_mut_slice()
    }
    /// Separates the tape from the values.
    pub fn split_tape(self) -> (Tensor<S, E>, T) {
        (
            Tensor {
                shape: self.shape,
                data: self.data,
                id: self.id,
                tape: NoTape,
            },
            self.tape,
        )
    }
    /// The same tensor (same id, shared buffer) without its tape. Unlike [`detach`](Self::detach)
    /// it keeps the id, so a traced tensor placed in a layer's parameter slot this way still
    /// receives gradients when the layer traces its parameters: the way to gradcheck a
    /// layer with respect to one of its parameters.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::Linear;
    /// let w = Tensor::<Rank2<1, 2>, f64>::from_array([[2.0, -1.0]]);
    /// let layer = Linear::<2, 1, f64> { weight: w.clone().trace().without_tape(), bias: None };
    /// let x = Tensor::<Rank2<1, 2>, f64>::from_array([[3.0, 4.0]]);
    /// let grads = layer.forward(x.trace()).sum().backward();
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![3.0, 4.0]);
    /// ```
    pub fn without_tape(self) -> Tensor<S, E> {
        self.split_tape().0
    }
    /// The values without the tape, under a new id (`torch.detach`): gradients do not flow
    /// back through the result, even where the original is traced elsewhere in the same
    /// expression. The buffer is shared, not copied.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank1<2>, f64>::from_array([1.0, 3.0]);
    /// let t = x.clone().trace();
    /// let grads = (t.clone() * t.detach()).sum().backward(); // d/dx (x * const)
    /// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![1.0, 3.0]);
    /// ```
    pub fn detach(self) -> Tensor<S, E> {
        let (t, _) = self.split_tape();
        Tensor {
            shape: t.shape,
            data: t.data,
            id: UniqueId::new(),
            tape: NoTape,
        }
    }
    /// A copy (sharing the buffer and id) carrying a tape of type `T2`: traced when `T2` is
    /// [`OwnedTape`], so that gradients reach this tensor. Layers use this on their
    /// parameters when the input is traced.
    pub fn traced_as<T2: Tape<E>>(&self) -> Tensor<S, E, T2>
    where
        E: Float,
    {
        Tensor {
            shape: self.shape,
            data: self.data.clone(),
            id: self.id,
            tape: T2::leaf(self.id),
        }
    }
    /// Replaces the tape.
    pub fn put_tape<T2>(self, tape: T2) -> Tensor<S, E, T2> {
        Tensor {
            shape: self.shape,
            data: self.data,
            id: self.id,
            tape,
        }
    }
    /// A reference to the tape.
    pub fn tape(&self) -> &T {
        &self.tape
    }
    /// The element at a multi-index, or an error naming the index and shape.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let t = Tensor::<Rank2<2, 2>>::from_array([[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(t.at(&[1, 0]).unwrap(), 3.0);
    /// assert!(t.at(&[2, 0]).is_err());
    /// ```
    pub fn at(&self, index: &[usize]) -> Result<E> {
        let dims = self.dims();
        if index.len() != dims.rank() || index.iter().zip(dims.iter()).any(|(i, d)| i >= d) {
            return Err(Error::value(
                "index",
                format!("{index:?} is out of bounds for shape {:?}", dims.as_slice()),
            ));
        }
        let strides = dims.strides();
        Ok(self.data[index
            .iter()
            .zip(strides.iter())
            .map(|(i, s)| i * s)
            .sum::<usize>()])
    }
}

/// An op's output tensor: a fresh id, the given buffer and the (moved) tape.
#[inline]
pub(crate) fn new_tensor<S: Shape, E: Float, T>(
    shape: S,
    data: Vec<E>,
    tape: T,
) -> Tensor<S, E, T> {
    debug_assert_eq!(
        shape.numel(),
        data.len(),
        "op produced a buffer of the wrong size"
    );
    Tensor {
        shape,
        data: Arc::new(data),
        id: UniqueId::new(),
        tape,
    }
}
