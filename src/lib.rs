//! # shaped
//!
//! Deep learning in Rust where every tensor carries its shape in its type: PyTorch's core
//! (tensors, autograd, layers, losses, optimizers, data loading, a training loop, sampling,
//! saving and loading) with shape bugs caught by the compiler. Names, defaults, parameter
//! layouts and state-dict names follow PyTorch.
//!
//! ## From `cargo add` to a trained, saved and reloaded model
//!
//! ```sh
//! cargo add shaped
//! ```
//!
//! The random number generators the constructors take come from [`rand`] (re-exported as
//! `shaped::rand`, the exact version the public API uses), so no second `rand` dependency is
//! needed and none can disagree with this one.
//!
//! ```
//! use shaped::data::{self, DataLoader};
//! use shaped::nn::{Linear, Module, ReLU};
//! use shaped::optim::Adam;
//! use shaped::prelude::*;
//! use shaped::rand::{SeedableRng, rngs::StdRng};
//! use shaped::serialize::{load_safetensors, save_safetensors};
//! use shaped::train::{Step, Trainer};
//!
//! // Iris: 4 features, 3 species. Every shape is in the type: Linear<4, 16> takes (batch, 4).
//! type Model = (Linear<4, 16>, ReLU, Linear<16, 3>);
//! let new_model = |seed| -> Model {
//!     let mut rng = StdRng::seed_from_u64(seed);
//!     (Linear::new(&mut rng), ReLU, Linear::new(&mut rng))
//! };
//!
//! let (train, val) = data::iris()?.split(0.2, 0)?;
//! let scaler = data::Standardizer::fit(&train)?; // fitted on the training part only
//! let (train, val) = (scaler.transform(&train), scaler.transform(&val));
//!
//! let mut model = new_model(0);
//! let mut opt = Adam::new(0.01);
//! let history = Trainer::new(&mut model, &mut opt)
//!     .epochs(40)
//!     .quiet(true) // the progress bar only shows on a terminal anyway
//!     .validate(DataLoader::new(&val, 64)?, |m, (x, y)| Step::cross_entropy(m.forward(x), &y))
//!     .fit(DataLoader::new(&train, 16)?.shuffle(0), |m, (x, y)| {
//!         // Traced forward: gradients reach the parameters, not the input.
//!         Step::cross_entropy(m.forward_train(x.trace_constant()), &y)
//!     })?;
//! assert!(history.last().unwrap().val_accuracy.unwrap() > 0.85);
//!
//! // Save by PyTorch state-dict names (0.weight, 0.bias, 2.weight, 2.bias) ...
//! let path = std::env::temp_dir().join(format!("shaped_front_page_{}.safetensors", std::process::id()));
//! save_safetensors(&model, &path)?;
//! // ... and load into a freshly initialised model of the same type.
//! let mut reloaded = new_model(1);
//! load_safetensors(&mut reloaded, &path)?;
//! let x = val.features().clone();
//! assert_eq!(reloaded.forward(x.clone()).to_vec(), model.forward(x).to_vec());
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), shaped::error::Error>(())
//! ```
//!
//! ## Where things are
//!
//! | what | where |
//! |---|---|
//! | tensors, creation, printing | [`tensor::Tensor`], [`prelude`] |
//! | shapes: `Const<N>`, `usize` dims, `Rank2<3, 4>`, computed dims | [`shape`] |
//! | autograd: `trace()`, `backward()`, [`Gradients`](autograd::Gradients) | [`autograd`] |
//! | ops (one module per family) | [`ops`] |
//! | layers: [`Linear`](nn::Linear), [`Conv2d`](nn::Conv2d), [`LSTM`](nn::LSTM), [`MultiheadAttention`](nn::MultiheadAttention), ...; tuples are `Sequential` | [`nn`] |
//! | losses: `cross_entropy`, `mse_loss`, `bce_with_logits`, ... | [`nn::loss`] |
//! | optimizers: [`Sgd`](optim::Sgd), [`Adam`](optim::Adam), [`AdamW`](optim::AdamW), [`RmsProp`](optim::RmsProp), clipping, parameter groups ([`ParamGroup`](optim::ParamGroup)), `Box<dyn Optimizer>` | [`optim`] |
//! | schedulers: [`StepLr`](optim::StepLr), [`ExponentialLr`](optim::ExponentialLr), [`CosineAnnealingLr`](optim::CosineAnnealingLr), [`LinearWarmup`](optim::LinearWarmup) | [`optim`] ([`Trainer::lr_schedule`](train::Trainer::lr_schedule)) |
//! | data: datasets, [`DataLoader`](data::DataLoader), CSV, MNIST IDX, bundled digits/iris/diabetes/words | [`data`] |
//! | the [`Trainer`](train::Trainer) (builder: `epochs`, `seed`, `patience`, `restore_best`, `save_best`, `output_dir`, `validate`, `lr_schedule`, `clip_grad_norm`, `accumulate`, callbacks), [`History`](train::History), curves | [`train`] |
//! | save/load: safetensors by state-dict name, checkpoints | [`serialize`] |
//! | sampling (greedy, temperature, top-k, top-p) | [`sample`] |
//! | gradient checks and proptest strategies for your own layers | [`gradcheck`], `strategies` (feature `proptest`) |
//!
//! Generic parameters read like PyTorch's positional arguments, with PyTorch's defaults:
//! `Conv2d<IN, OUT, K, S = 1, P = 0, D = 1, E = f32>` is `nn.Conv2d(IN, OUT, K, stride=S,
//! padding=P, dilation=D)`, and `Linear<I, O, E = f32>` holds an `(O, I)` weight. An
//! [`LSTM<I, H, L>`](nn::LSTM) is batch-first: `(B, S, I)` in, `(y, (h_n, c_n))` out with `y`
//! `(B, S, H)` and `h_n`, `c_n` `(L, B, H)`; a [`GRU`](nn::GRU) or [`RNN`](nn::RNN) returns
//! `(y, h_n)`. Every layer ends with its element type `E = f32`; for `f64` use the aliases
//! in [`nn::double`] (`double::Conv2d<1, 8, 3>` rather than `Conv2d<1, 8, 3, 1, 0, 1, f64>`).
//!
//! ```
//! use shaped::nn::{Conv2d, LSTM, Module};
//! use shaped::prelude::*;
//! use shaped::rand::{SeedableRng, rngs::StdRng};
//! let mut rng = StdRng::seed_from_u64(0);
//! let conv = Conv2d::<3, 8, 3, 1, 1>::new(&mut rng); // 3 -> 8 channels, 3x3, stride 1, padding 1
//! assert_eq!(conv.forward(Tensor::<Rank4<2, 3, 32, 32>>::zeros()).dims().as_slice(), &[2, 8, 32, 32]);
//! let lstm = LSTM::<10, 20, 2>::new(&mut rng); // 10 inputs, 20 hidden, 2 layers
//! let (y, (h, c)) = lstm.forward(Tensor::<Rank3<4, 7, 10>>::zeros());
//! assert_eq!(y.dims().as_slice(), &[4, 7, 20]);
//! assert_eq!((h.dims().as_slice(), c.dims().as_slice()), (&[2, 4, 20][..], &[2, 4, 20][..]));
//! ```
//!
//! ## Autograd in five lines
//!
//! ```
//! use shaped::prelude::*;
//! let x = Tensor::<Rank2<2, 3>>::ones();
//! let w = Tensor::<Rank2<3, 4>>::full(0.5);
//! let y = x.matmul(w.clone().trace()).relu().sum();
//! let grads = y.backward();
//! assert_eq!(grads.get(&w).unwrap().to_vec(), vec![2.0; 12]);
//! ```
//!
//! ## When it does not build, and more examples
//!
//! Shape bugs are compile errors whose messages name the dimensions; the common ones are
//! shown with their messages in [`compile_errors`]. Run-time sizes (`usize` dims) are checked
//! at run time: the `try_` variant of an op returns an [`Err`](error::Error), the plain one
//! panics with the same message.
//!
//! The repository's `examples/` folder holds complete programs (`cargo run --release
//! --example NAME`): `digits` (a CNN with the Trainer, the main example), `tour`, `tensors`,
//! `autograd`, `diabetes_regression`, `custom_layer`, `char_lstm`, `save_load` and `serve`;
//! the README lists what each shows.
#![warn(missing_docs)]
// Shapes are types, so signatures spell them out; naming every one would hide more than it shows.
#![allow(clippy::type_complexity)]

pub mod autograd;
pub(crate) mod backend;
pub mod compile_errors;
pub mod data;
pub mod device;
pub mod distributed;
pub mod dtype;
pub mod error;
#[cfg(feature = "wgpu")]
pub mod gpu;
pub mod gradcheck;
mod instances;
pub mod nn;
/// `#[derive(Module)]` for a struct whose layer fields run in order, also at
/// `shaped::nn::Module` (see [`nn::Module`](derive@nn::Module)).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Linear, ReLU};
/// use rand::SeedableRng;
///
/// #[derive(shaped::Params, shaped::Module)]
/// struct Head {
///     hidden: Linear<4, 4>,
///     act: ReLU,
///     out: Linear<4, 1>,
/// }
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let head = Head { hidden: Linear::new(&mut rng), act: ReLU, out: Linear::new(&mut rng) };
/// assert_eq!(head.forward(Tensor::<Rank2<2, 4>>::ones()).dims().as_slice(), &[2, 1]);
/// ```
pub use shaped_derive::Module;
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
/// Needs the `proptest` feature (off by default; this crate's own tests turn it on).
#[cfg(feature = "proptest")]
pub mod strategies;
pub mod tensor;
pub mod train;

/// The `rand` crate, at the exact version whose RNGs this crate's constructors take
/// (`Linear::new(&mut rng)`, `Tensor::randn(&mut rng)`, ...): use it instead of a separate
/// `rand` dependency, which would have to match this version.
///
/// ```
/// use shaped::rand::{SeedableRng, rngs::StdRng};
/// let layer = shaped::nn::Linear::<4, 2>::new(&mut StdRng::seed_from_u64(0));
/// assert_eq!(layer.weight.dims().as_slice(), &[2, 4]);
/// ```
pub use rand;

/// The crate-level random number generator (PyTorch's default generator), for code that
/// does not pass an RNG: seed it with [`manual_seed`], draw through [`GlobalRng`] or
/// [`Tensor::randn_like`](tensor::Tensor::randn_like). Process-wide, like PyTorch's.
///
/// ```rust,standalone_crate
/// shaped::manual_seed(0);
/// let layer = shaped::nn::Linear::<4, 2>::new(&mut shaped::GlobalRng);
/// assert_eq!(shaped::initial_seed(), 0);
/// ```
pub use tensor::{
    DEFAULT_SEED, GlobalRng, get_rng_state, initial_seed, manual_seed, set_rng_state,
};

/// The common imports.
pub mod prelude {
    pub use crate::autograd::{Gradients, NoTape, OwnedTape, Tape};
    pub use crate::dtype::Float;
    pub use crate::error::{Error, Result};
    pub use crate::nn::{Module, Params};
    pub use crate::shape::{
        Const, ConstShape, Dim, Dyn, DynShape, Rank0, Rank1, Rank2, Rank3, Rank4, Rank5, Rank6,
        Shape,
    };
    pub use crate::tensor::{Indices, Tensor};
}
