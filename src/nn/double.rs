//! The layers in `f64`, without restating the defaults before the element type:
//! `double::Conv2d<1, 8, 3>` is `Conv2d<1, 8, 3, 1, 0, 1, f64>`, and every other default
//! (stride, padding, dilation, layers) stays PyTorch's.
//!
//! The element type is the last generic parameter of every layer, after the ones with
//! defaults, so choosing `f64` directly means spelling those defaults out; these aliases take
//! the same parameters as the `f32` layers and fix `E = f64`. Parameter-free layers
//! (activations, pooling, [`Flatten`](super::Flatten), [`Dropout`](super::Dropout)) work in
//! either type as they are.
//!
//! ```
//! use shaped::nn::{Flatten, MaxPool2d, Module, ReLU, double};
//! use shaped::prelude::*;
//! use shaped::rand::{SeedableRng, rngs::StdRng};
//! let mut rng = StdRng::seed_from_u64(0);
//! // (1, 8, 8) images -> 8 channels of 6x6 -> pooled 3x3 -> 72 features -> 10 classes, in f64.
//! let model: (double::Conv2d<1, 8, 3>, ReLU, MaxPool2d<2>, Flatten, double::Linear<72, 10>) =
//!     (double::Conv2d::new(&mut rng), ReLU, MaxPool2d, Flatten, double::Linear::new(&mut rng));
//! let y = model.forward(Tensor::<Rank4<2, 1, 8, 8>, f64>::zeros());
//! assert_eq!(y.dims().as_slice(), &[2, 10]);
//! ```

use crate::shape::Const;

/// [`Linear`](super::Linear) in `f64`.
pub type Linear<const I: usize, const O: usize> = super::Linear<I, O, f64>;
/// [`LinearDyn`](super::LinearDyn) in `f64`.
pub type LinearDyn = super::LinearDyn<f64>;
/// [`Conv1d`](super::Conv1d) in `f64`: `Conv1d<IN, OUT, K, S = 1, P = 0, D = 1>`.
pub type Conv1d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
> = super::Conv1d<IN, OUT, K, S, P, D, f64>;
/// [`Conv2d`](super::Conv2d) in `f64`: `Conv2d<IN, OUT, K, S = 1, P = 0, D = 1>`.
pub type Conv2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
> = super::Conv2d<IN, OUT, K, S, P, D, f64>;
/// [`Conv3d`](super::Conv3d) in `f64`: `Conv3d<IN, OUT, K, S = 1, P = 0, D = 1>`.
pub type Conv3d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
> = super::Conv3d<IN, OUT, K, S, P, D, f64>;
/// [`ConvTranspose2d`](super::ConvTranspose2d) in `f64`:
/// `ConvTranspose2d<IN, OUT, K, S = 1, P = 0, OP = 0, D = 1>`.
pub type ConvTranspose2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const OP: usize = 0,
    const D: usize = 1,
> = super::ConvTranspose2d<IN, OUT, K, S, P, OP, D, f64>;
/// [`LSTM`](super::LSTM) in `f64`: `LSTM<I, H, L = 1>`.
pub type LSTM<const I: usize, const H: usize, const L: usize = 1> = super::LSTM<I, H, L, f64>;
/// [`GRU`](super::GRU) in `f64`: `GRU<I, H, L = 1>`.
pub type GRU<const I: usize, const H: usize, const L: usize = 1> = super::GRU<I, H, L, f64>;
/// [`RNN`](super::RNN) in `f64`: `RNN<I, H, L = 1>`.
pub type RNN<const I: usize, const H: usize, const L: usize = 1> = super::RNN<I, H, L, f64>;
/// [`BatchNorm1d`](super::BatchNorm1d) in `f64`.
pub type BatchNorm1d<const C: usize> = super::BatchNorm1d<C, f64>;
/// [`BatchNorm2d`](super::BatchNorm2d) in `f64`.
pub type BatchNorm2d<const C: usize> = super::BatchNorm2d<C, f64>;
/// [`BatchNorm3d`](super::BatchNorm3d) in `f64`.
pub type BatchNorm3d<const C: usize> = super::BatchNorm3d<C, f64>;
/// [`LayerNorm`](super::LayerNorm) in `f64`.
pub type LayerNorm<const D: usize> = super::LayerNorm<D, f64>;
/// [`Embedding`](super::Embedding) in `f64`.
pub type Embedding<const V: usize, const D: usize> = super::Embedding<V, D, f64>;
/// [`MultiheadAttention`](super::MultiheadAttention) in `f64`.
pub type MultiheadAttention<const EMBED: usize, const HEADS: usize> =
    super::MultiheadAttention<EMBED, HEADS, f64>;
/// [`TransformerEncoderLayer`](super::TransformerEncoderLayer) in `f64`.
pub type TransformerEncoderLayer<const D: usize, const H: usize, const F: usize> =
    super::TransformerEncoderLayer<D, H, F, f64>;
/// [`TransformerDecoderLayer`](super::TransformerDecoderLayer) in `f64`.
pub type TransformerDecoderLayer<const D: usize, const H: usize, const F: usize> =
    super::TransformerDecoderLayer<D, H, F, f64>;
/// [`TransformerEncoder`](super::TransformerEncoder) in `f64`.
pub type TransformerEncoder<const D: usize, const H: usize, const F: usize> =
    super::TransformerEncoder<D, H, F, f64>;
/// [`TransformerDecoder`](super::TransformerDecoder) in `f64`.
pub type TransformerDecoder<const D: usize, const H: usize, const F: usize> =
    super::TransformerDecoder<D, H, F, f64>;
/// [`Standardizer`](super::Standardizer) in `f64`, for `F` features.
pub type Standardizer<const F: usize> = super::Standardizer<Const<F>, f64>;
