//! # shaped
//!
//! Deep learning in Rust where every tensor carries its shape in its type: PyTorch's core
//! (tensors, autograd, layers, losses, optimizers) with shape bugs caught by the compiler.
//!
//! ```
//! use shaped::prelude::*;
//! let x = Tensor::<Rank2<2, 3>>::ones();
//! let w = Tensor::<Rank2<3, 4>>::full(0.5);
//! let y = x.matmul(w.clone().trace()).relu().sum();
//! let grads = y.backward();
//! assert_eq!(grads.get(&w).unwrap().to_vec(), vec![2.0; 12]);
//! ```
#![warn(missing_docs)]
// Shapes are types, so signatures spell them out; naming every one would hide more than it shows.
#![allow(clippy::type_complexity)]

pub mod autograd;
pub(crate) mod backend;
pub mod compile_errors;
pub mod data;
pub mod distributed;
pub mod dtype;
pub mod error;
pub mod gradcheck;
pub mod nn;
/// `#[derive(Params)]`, also at `shaped::nn::Params` (the derive and the trait share the
/// name, as serde's do).
///
/// ```
/// use shaped::nn::{Linear, Params};
/// use rand::SeedableRng;
///
/// #[derive(shaped::Params)]
/// struct Autoencoder {
///     encoder: Linear<4, 2>,
///     decoder: Option<Linear<2, 4>>,
/// }
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = Autoencoder { encoder: Linear::new(&mut rng), decoder: None };
/// assert_eq!(model.param_names(), ["encoder.weight", "encoder.bias"]);
/// ```
pub use shaped_derive::Params;
pub mod ops;
pub mod optim;
pub mod sample;
pub mod serialize;
pub mod shape;
pub mod strategies;
pub mod tensor;
pub mod train;

/// The common imports.
pub mod prelude {
    pub use crate::autograd::{Gradients, NoTape, OwnedTape, Tape};
    pub use crate::dtype::Float;
    pub use crate::error::{Error, Result};
    pub use crate::nn::{Module, Params};
    pub use crate::shape::{
        Const, ConstShape, Dim, DynShape, Rank0, Rank1, Rank2, Rank3, Rank4, Rank5, Rank6, Shape,
    };
    pub use crate::tensor::{Indices, Tensor};
}
