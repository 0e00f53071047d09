//! Transformer blocks, PyTorch's `nn.TransformerEncoderLayer` / `nn.TransformerDecoderLayer`
//! and the stacks `nn.TransformerEncoder` / `nn.TransformerDecoder` (`batch_first=True`),
//! composed from [`MultiheadAttention`](super::MultiheadAttention), [`Linear`](super::Linear),
//! [`LayerNorm`](super::LayerNorm) and [`Dropout`](super::Dropout).

mod decoder;
mod decoder_dyn;
mod encoder;
mod encoder_dyn;

pub use decoder::{DecoderInput, TransformerDecoder, TransformerDecoderLayer};
pub use decoder_dyn::{TransformerDecoderDyn, TransformerDecoderLayerDyn};
pub use encoder::{EncoderInput, TransformerEncoder, TransformerEncoderLayer};
pub use encoder_dyn::{TransformerEncoderDyn, TransformerEncoderLayerDyn};

use super::attention::MultiheadAttention;
use super::dropout::Dropout;
use super::layernorm::LayerNorm;
use super::linear::Linear;
use super::module::Module;
use crate::autograd::{Tape, UniqueId};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::binary::{AddKernel, binary_op};
use crate::shape::{Const, Dim, DimEq, Shape};
use crate::tensor::Tensor;

/// The feed-forward activation of a transformer layer, PyTorch's `activation="relu"` (the
/// default) or `"gelu"` (exact, erf-based).
///
/// ```
/// use shaped::nn::TransformerActivation;
/// assert_eq!(TransformerActivation::default(), TransformerActivation::Relu);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TransformerActivation {
    /// `max(x, 0)`.
    #[default]
    Relu,
    /// `x Φ(x)` with the exact normal CDF.
    Gelu,
}

/// The run-time options of a transformer layer, with PyTorch's defaults: `dropout = 0.1`,
/// `activation = relu`, `layer_norm_eps = 1e-5`, `norm_first = false` (post-norm). The sizes
/// (`d_model`, `nhead`, `dim_feedforward`) are in the layer's type instead.
///
/// ```
/// use shaped::nn::{TransformerActivation, TransformerConfig};
/// let pre_norm = TransformerConfig::default().norm_first(true).activation(TransformerActivation::Gelu);
/// assert_eq!(pre_norm.dropout, 0.1);
/// assert!(pre_norm.norm_first);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TransformerConfig {
    /// Dropout probability, used on the attention weights, after the activation and on every
    /// residual branch (training mode only).
    pub dropout: f64,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// `eps` of every LayerNorm.
    pub layer_norm_eps: f64,
    /// Pre-norm (`x + f(norm(x))`) instead of post-norm (`norm(x + f(x))`).
    pub norm_first: bool,
}

impl Default for TransformerConfig {
    fn default() -> Self {
        TransformerConfig {
            dropout: 0.1,
            activation: TransformerActivation::Relu,
            layer_norm_eps: 1e-5,
            norm_first: false,
        }
    }
}

impl TransformerConfig {
    /// Sets the dropout probability.
    ///
    /// ```
    /// use shaped::nn::TransformerConfig;
    /// assert_eq!(TransformerConfig::default().dropout(0.0).dropout, 0.0);
    /// ```
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }
    /// Sets the activation.
    ///
    /// ```
    /// use shaped::nn::{TransformerActivation, TransformerConfig};
    /// let c = TransformerConfig::default().activation(TransformerActivation::Gelu);
    /// assert_eq!(c.activation, TransformerActivation::Gelu);
    /// ```
    pub fn activation(mut self, activation: TransformerActivation) -> Self {
        self.activation = activation;
        self
    }
    /// Sets the LayerNorm `eps`.
    ///
    /// ```
    /// use shaped::nn::TransformerConfig;
    /// assert_eq!(TransformerConfig::default().layer_norm_eps(1e-6).layer_norm_eps, 1e-6);
    /// ```
    pub fn layer_norm_eps(mut self, eps: f64) -> Self {
        self.layer_norm_eps = eps;
        self
    }
    /// Chooses pre-norm (`true`) or post-norm (`false`, PyTorch's default).
    ///
    /// ```
    /// use shaped::nn::TransformerConfig;
    /// assert!(TransformerConfig::default().norm_first(true).norm_first);
    /// ```
    pub fn norm_first(mut self, norm_first: bool) -> Self {
        self.norm_first = norm_first;
        self
    }

    fn check(&self) -> Result<()> {
        if !(self.layer_norm_eps >= 0.0 && self.layer_norm_eps.is_finite()) {
            return Err(Error::value(
                "TransformerConfig layer_norm_eps",
                format!(
                    "{} is not a finite non-negative number",
                    self.layer_norm_eps
                ),
            ));
        }
        Ok(())
    }
}

/// An additive causal mask `(L, L)` for the `mask` / `tgt_mask` arguments: 0 where a query
/// may look, `-inf` where the key comes after the query (PyTorch's
/// `nn.Transformer.generate_square_subsequent_mask`).
///
/// ```
/// use shaped::nn::causal_mask;
/// let m = causal_mask::<f32>(2);
/// assert_eq!(m.to_vec(), vec![0.0, f32::NEG_INFINITY, 0.0, 0.0]);
/// ```
pub fn causal_mask<E: Float>(len: usize) -> Tensor<(usize, usize), E> {
    MultiheadAttention::<1, 1, E>::causal_mask(len)
}

/// An additive key padding mask `(batch, src_len)` from PyTorch's boolean convention:
/// `true` marks a padded key that no query may attend to (`-inf`), `false` a real one (0).
/// `padded` is row-major `(batch, src_len)`; another length is an `Err`.
///
/// A query whose keys are all padded gets NaN outputs, as in PyTorch.
///
/// ```
/// use shaped::nn::key_padding_mask;
/// let m = key_padding_mask::<f32>(&[false, false, true, false, false, false], 2, 3).unwrap();
/// assert_eq!(m.to_vec()[2], f32::NEG_INFINITY);
/// assert!(key_padding_mask::<f32>(&[false; 5], 2, 3).is_err());
/// ```
pub fn key_padding_mask<E: Float>(
    padded: &[bool],
    batch: usize,
    src_len: usize,
) -> Result<Tensor<(usize, usize), E>> {
    if Some(padded.len()) != batch.checked_mul(src_len) {
        return Err(Error::shape(
            "key_padding_mask",
            format!(
                "{} flags do not fill (batch, src_len) = ({batch}, {src_len})",
                padded.len()
            ),
        ));
    }
    let data = padded
        .iter()
        .map(|&p| if p { E::NEG_INFINITY } else { E::ZERO })
        .collect();
    Tensor::from_vec_with_shape(data, (batch, src_len))
}

/// A rank-2 mask with run-time dimensions (any static or computed ones become `usize`).
fn run_time_dims<R: Dim, C: Dim, E: Float>(mask: Tensor<(R, C), E>) -> Tensor<(usize, usize), E> {
    let (r, c) = mask.shape;
    Tensor {
        shape: (r.size(), c.size()),
        data: mask.data,
        id: mask.id,
        tape: mask.tape,
    }
}

type Hidden<B, L, const D: usize, E, T> = Tensor<(B, L, Const<D>), E, T>;

/// `x` with its feature dimension checked against `D` and typed `Const<D>`.
fn features<B: Dim, L: Dim, X: DimEq<Const<D>>, const D: usize, E: Float, T: Tape<E>>(
    x: Tensor<(B, L, X), E, T>,
    what: &'static str,
) -> Result<Hidden<B, L, D, E, T>> {
    let (b, l, f) = x.shape;
    f.dim_eq(Const::<D>).map_err(|_| {
        Error::shape(
            what,
            format!(
                "input of shape {:?} has {} features, the layer takes d_model = {D}",
                x.shape.dims().as_slice(),
                f.size()
            ),
        )
    })?;
    Ok(Tensor {
        shape: (b, l, Const),
        data: x.data,
        id: x.id,
        tape: x.tape,
    })
}

/// `x + y` for two tensors of one shape (a residual connection).
fn residual<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    y: Tensor<S, E, T>,
) -> Tensor<S, E, T> {
    let shape = x.shape;
    binary_op(x, y, shape, AddKernel)
}

/// `linear2(dropout(activation(linear1(x))))`, then the branch dropout: PyTorch's `_ff_block`,
/// for static (`Linear`) and run-time (`LinearDyn`) projections alike.
fn feed_forward<S, SH, E, T, L1, L2>(
    linear1: &L1,
    linear2: &L2,
    activation: TransformerActivation,
    x: Tensor<S, E, T>,
    inner: Option<&Dropout>,
    branch: Option<&Dropout>,
) -> Result<Tensor<S, E, T>>
where
    S: Shape,
    SH: Shape,
    E: Float,
    T: Tape<E>,
    L1: Module<Tensor<S, E, T>, Output = Tensor<SH, E, T>>,
    L2: Module<Tensor<SH, E, T>, Output = Tensor<S, E, T>>,
{
    let h = activate(activation, linear1.try_forward(x)?);
    let h = linear2.try_forward(apply_dropout(inner, h)?)?;
    apply_dropout(branch, h)
}

/// The wiring of an encoder layer, PyTorch's `TransformerEncoderLayer.forward`: pre-norm
/// `x + sa(norm1(x))`, `x + ff(norm2(x))`, or post-norm `norm1(x + sa(x))`,
/// `norm2(x + ff(x))`. Shared by the static and run-time layers.
fn encoder_block<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    norm_first: bool,
    norm1: impl Fn(Tensor<S, E, T>) -> Result<Tensor<S, E, T>>,
    norm2: impl Fn(Tensor<S, E, T>) -> Result<Tensor<S, E, T>>,
    self_attention: impl FnOnce(Tensor<S, E, T>) -> Result<Tensor<S, E, T>>,
    ff: impl FnOnce(Tensor<S, E, T>) -> Result<Tensor<S, E, T>>,
) -> Result<Tensor<S, E, T>> {
    if norm_first {
        let x = residual(x.clone(), self_attention(norm1(x)?)?);
        Ok(residual(x.clone(), ff(norm2(x)?)?))
    } else {
        let x = norm1(residual(x.clone(), self_attention(x)?))?;
        norm2(residual(x.clone(), ff(x)?))
    }
}

/// The wiring of a decoder layer, PyTorch's `TransformerDecoderLayer.forward`: pre-norm
/// `x + sa(norm1(x))`, `x + ca(norm2(x))`, `x + ff(norm3(x))`, or post-norm
/// `norm1(x + sa(x))`, `norm2(x + ca(x))`, `norm3(x + ff(x))`. Shared by the static and
/// run-time layers.
fn decoder_block<S: Shape, E: Float, T: Tape<E>>(
    x: Tensor<S, E, T>,
    norm_first: bool,
    norms: [&dyn Fn(Tensor<S, E, T>) -> Result<Tensor<S, E, T>>; 3],
    self_attention: impl FnOnce(Tensor<S, E, T>) -> Result<Tensor<S, E, T>>,
    cross_attention: impl FnOnce(Tensor<S, E, T>) -> Result<Tensor<S, E, T>>,
    ff: impl FnOnce(Tensor<S, E, T>) -> Result<Tensor<S, E, T>>,
) -> Result<Tensor<S, E, T>> {
    let [norm1, norm2, norm3] = norms;
    if norm_first {
        let x = residual(x.clone(), self_attention(norm1(x)?)?);
        let x = residual(x.clone(), cross_attention(norm2(x)?)?);
        Ok(residual(x.clone(), ff(norm3(x)?)?))
    } else {
        let x = norm1(residual(x.clone(), self_attention(x)?))?;
        let x = norm2(residual(x.clone(), cross_attention(x)?))?;
        norm3(residual(x.clone(), ff(x)?))
    }
}

/// The dropouts of one call: `Some` for each that drops (`forced`, as in `forward_train`, or
/// in training mode by its scope or flag), `None` for the identity.
fn dropouts<const N: usize>(forced: bool, drops: [&Dropout; N]) -> [Option<&Dropout>; N] {
    drops.map(|d| (forced || d.active()).then_some(d))
}

/// A LayerNorm over `D` features with PyTorch's initialisation and the given `eps`.
fn layer_norm<const D: usize, E: Float>(eps: f64) -> LayerNorm<D, E> {
    let mut norm = LayerNorm::new();
    norm.eps = eps;
    norm
}

/// Dropout in training mode (`Some`), the identity in evaluation (`None`).
fn apply_dropout<S: Shape, E: Float, T: Tape<E>>(
    dropout: Option<&Dropout>,
    x: Tensor<S, E, T>,
) -> Result<Tensor<S, E, T>> {
    Ok(match dropout {
        Some(d) => d.drop_shared(x),
        None => x,
    })
}

fn activate<S: Shape, E: Float, T: Tape<E>>(
    activation: TransformerActivation,
    x: Tensor<S, E, T>,
) -> Tensor<S, E, T> {
    match activation {
        TransformerActivation::Relu => x.relu(),
        TransformerActivation::Gelu => x.gelu(),
    }
}

/// Gives every parameter of `layers` a new id. A clone shares its parameters' ids, and with
/// them their gradients and optimizer state; PyTorch's deep copies are independent.
fn renew_ids<E: Float, const D: usize, const H: usize, const F: usize>(
    attention: &mut [&mut MultiheadAttention<D, H, E>],
    linear1: &mut Linear<D, F, E>,
    linear2: &mut Linear<F, D, E>,
    norms: &mut [&mut LayerNorm<D, E>],
) {
    fn renew<S: Shape, E: Float>(t: &mut Tensor<S, E>) {
        t.id = UniqueId::new();
    }
    for a in attention {
        renew(&mut a.in_proj_weight);
        if let Some(b) = &mut a.in_proj_bias {
            renew(b);
        }
        renew(&mut a.out_proj.weight);
        if let Some(b) = &mut a.out_proj.bias {
            renew(b);
        }
    }
    renew(&mut linear1.weight);
    if let Some(b) = &mut linear1.bias {
        renew(b);
    }
    renew(&mut linear2.weight);
    if let Some(b) = &mut linear2.bias {
        renew(b);
    }
    for n in norms {
        renew(&mut n.weight);
        renew(&mut n.bias);
    }
}
