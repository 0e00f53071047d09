//! Layers and models: the [`Module`] trait, the [`Params`] visitor, and layers whose
//! parameter shapes are part of their types.

mod activation;
pub mod init;
mod linear;
mod module;
mod params;

pub use activation::{GELU, GELUTanh, LeakyReLU, LogSoftmax, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh};
pub use linear::{Linear, LinearDyn, LinearLayer};
pub use module::Module;
pub use params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
