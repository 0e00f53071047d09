//! Model state on disk and back: safetensors files by PyTorch `state_dict` name, single
//! tensors and named collections, and native training checkpoints.
//!
//! * [`save_safetensors`] / [`load_safetensors`]: a model's parameters and buffers, found
//!   through the [`Params`](crate::nn::Params) visitor. The files are what PyTorch's
//!   `safetensors.torch.save_file(model.state_dict(), path)` writes and `load_file` reads, so
//!   weights move both ways between PyTorch and typed models here. Loading checks every name
//!   and shape against the model's types.
//! * [`save_tensor`], [`save_tensors`], [`load_tensor`], [`load_tensors`]: the same format
//!   for tensors that are not part of a model.
//! * [`Checkpoint`]: model and optimizer state, epoch, step and RNG position in one
//!   checksummed file, to resume training exactly where it stopped.
//!
//! Every file is written through [`write_atomic`], so a crash mid-save never replaces a good
//! file with a partial one; every loader returns an error, never panics, on truncated,
//! corrupted or hostile input, and sizes its allocations by the bytes actually present,
//! never by the lengths a header declares.
//!
//! ```
//! use shaped::nn::{Linear, ReLU};
//! use shaped::serialize::{load_safetensors, save_safetensors};
//! use rand::SeedableRng;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let model = (Linear::<4, 8>::new(&mut rng), ReLU, Linear::<8, 3>::new(&mut rng));
//! let path = std::env::temp_dir().join("shaped_doc_serialize.safetensors");
//! save_safetensors(&model, &path).unwrap(); // names 0.weight, 0.bias, 2.weight, 2.bias
//!
//! let mut wider = (Linear::<4, 16>::new(&mut rng), ReLU, Linear::<16, 3>::new(&mut rng));
//! let err = load_safetensors(&mut wider, &path).unwrap_err();
//! assert!(err.to_string().contains("`0.weight`: the file has shape [8, 4], the model has shape [16, 4]"));
//! # std::fs::remove_file(&path).unwrap();
//! ```

mod atomic;
mod checkpoint;
mod crc32;
mod fit;
mod json;
mod serde_struct;
mod st;
mod st_format;
#[cfg(test)]
mod st_format_tests;
mod state;
mod tied;

pub use atomic::{STALE_TEMP_AGE, write_atomic};
pub use checkpoint::{CHECKPOINT_MAGIC, CHECKPOINT_VERSION, Checkpoint, NamedValues};
pub use crc32::{Crc32, crc32};
pub use fit::LoadOptions;
pub use st::{
    SINGLE_TENSOR_NAME, from_safetensors, load_safetensors, load_safetensors_with, load_tensor,
    load_tensors, save_safetensors, save_tensor, save_tensors, tensors_from_safetensors,
    tensors_to_safetensors, to_safetensors,
};
pub use state::{LoadMode, LoadReport};
