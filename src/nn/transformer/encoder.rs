//! `nn.TransformerEncoderLayer` and the stack `nn.TransformerEncoder`.

use super::{
    Hidden, TransformerActivation, TransformerConfig, apply_dropout, dropouts, encoder_block,
    features, feed_forward, layer_norm, renew_ids, run_time_dims,
};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::Result;
use crate::nn::attention::MultiheadAttention;
use crate::nn::dropout::Dropout;
use crate::nn::layernorm::LayerNorm;
use crate::nn::linear::Linear;
use crate::nn::module::Module;
use crate::nn::params::{ParamMut, ParamView, Params};
use crate::shape::{Const, Dim, DimEq, Shape};
use crate::tensor::Device;
use crate::tensor::Tensor;
use rand::Rng;

type Mask<E> = Tensor<(usize, usize), E>;

/// The input of an encoder layer or stack with masks: PyTorch's
/// `forward(src, mask=, src_key_padding_mask=)`. Both masks are additive floats (0 to keep,
/// `-inf` to hide): `mask` is `(L, L)` (e.g. [`causal_mask`](crate::nn::causal_mask)),
/// `src_key_padding_mask` is `(B, L)` (see [`key_padding_mask`](crate::nn::key_padding_mask)).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{causal_mask, EncoderInput};
/// let input = EncoderInput::new(Tensor::<Rank3<2, 4, 8>>::ones()).with_mask(causal_mask(4));
/// assert!(input.mask.is_some() && input.src_key_padding_mask.is_none());
/// ```
#[derive(Clone, Debug)]
pub struct EncoderInput<X, E: Float = f32> {
    /// The sequence, `(B, L, d_model)`.
    pub src: X,
    /// Additive attention mask `(L, L)`.
    pub mask: Option<Mask<E>>,
    /// Additive key padding mask `(B, L)`.
    pub src_key_padding_mask: Option<Mask<E>>,
}

impl<S: Shape, E: Float, T, Dv: Device> EncoderInput<Tensor<S, E, T, Dv>, E> {
    /// `src` without masks; the masks take `src`'s element type.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::EncoderInput;
    /// let input = EncoderInput::new(Tensor::<Rank3<1, 3, 4>>::ones());
    /// assert!(input.mask.is_none());
    /// ```
    pub fn new(src: Tensor<S, E, T, Dv>) -> Self {
        EncoderInput {
            src,
            mask: None,
            src_key_padding_mask: None,
        }
    }
}

impl<X, E: Float> EncoderInput<X, E> {
    /// Sets the additive attention mask `(L, L)`, of static or run-time dimensions.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{causal_mask, EncoderInput};
    /// let input = EncoderInput::new(Tensor::<Rank3<1, 3, 4>>::ones()).with_mask(causal_mask(3));
    /// assert_eq!(input.mask.unwrap().dims().as_slice(), &[3, 3]);
    /// let input = EncoderInput::new(Tensor::<Rank3<1, 3, 4>>::ones()).with_mask(Tensor::<Rank2<3, 3>>::zeros());
    /// assert!(input.mask.is_some());
    /// ```
    pub fn with_mask<R: Dim, C: Dim>(mut self, mask: Tensor<(R, C), E>) -> Self {
        self.mask = Some(run_time_dims(mask));
        self
    }
    /// Sets the additive key padding mask `(B, L)`, of static or run-time dimensions.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{key_padding_mask, EncoderInput};
    /// let pad = key_padding_mask(&[false, false, true], 1, 3).unwrap();
    /// let input = EncoderInput::new(Tensor::<Rank3<1, 3, 4>>::ones()).with_key_padding_mask(pad);
    /// assert!(input.src_key_padding_mask.is_some());
    /// ```
    pub fn with_key_padding_mask<R: Dim, C: Dim>(mut self, mask: Tensor<(R, C), E>) -> Self {
        self.src_key_padding_mask = Some(run_time_dims(mask));
        self
    }
}

/// PyTorch's `nn.TransformerEncoderLayer(D, H, F, batch_first=True)`: self-attention and a
/// feed-forward block `D -> F -> D`, each with a residual connection and a LayerNorm.
///
/// * post-norm (`norm_first = false`, the default): `x = norm1(x + sa(x)); y = norm2(x + ff(x))`;
/// * pre-norm (`norm_first = true`): `x = x + sa(norm1(x)); y = x + ff(norm2(x))`.
///
/// Input `(B, L, D)` (batch and length may be run-time sizes), output `(B, L, D)`; pass an
/// [`EncoderInput`] for masks. Dropout (the [`TransformerConfig`] probability) acts in
/// training mode ([`Module::forward_train`], or `forward` after `train()`) where PyTorch puts
/// it: on the attention weights, after the activation and on both residual branches. Parameter names are PyTorch's:
/// `self_attn.in_proj_weight`, `linear1.weight`, `norm1.weight`, ...
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{TransformerConfig, TransformerEncoderLayer};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerEncoderLayer::<8, 2, 32>::new(TransformerConfig::default(), &mut rng);
/// let x = Tensor::<(usize, usize, Const<8>)>::ones_with_shape((3, 5, Const));
/// let y = layer.forward(x); // evaluation mode: no dropout
/// assert_eq!(y.dims().as_slice(), &[3, 5, 8]);
/// assert_eq!(layer.param_names()[0], "self_attn.in_proj_weight");
/// ```
#[derive(Clone, Debug)]
pub struct TransformerEncoderLayer<const D: usize, const H: usize, const F: usize, E: Float = f32> {
    /// Self-attention.
    pub self_attn: MultiheadAttention<D, H, E>,
    /// The first feed-forward projection `D -> F`.
    pub linear1: Linear<D, F, E>,
    /// The second feed-forward projection `F -> D`.
    pub linear2: Linear<F, D, E>,
    /// The LayerNorm of the attention block.
    pub norm1: LayerNorm<D, E>,
    /// The LayerNorm of the feed-forward block.
    pub norm2: LayerNorm<D, E>,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// Pre-norm instead of post-norm.
    pub norm_first: bool,
    /// Dropout on the attention weights (PyTorch's `self_attn.dropout`).
    pub self_attn_dropout: Dropout,
    /// Dropout after the activation.
    pub dropout: Dropout,
    /// Dropout on the attention branch.
    pub dropout1: Dropout,
    /// Dropout on the feed-forward branch.
    pub dropout2: Dropout,
}

impl<const D: usize, const H: usize, const F: usize, E: Float> TransformerEncoderLayer<D, H, F, E> {
    /// A layer with PyTorch's initialisation (see [`MultiheadAttention::new`] and
    /// [`Linear::new`]), its dropouts seeded from `rng`. Panics on an invalid `config` (see
    /// [`try_new`](Self::try_new)).
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerEncoderLayer};
    /// use rand::SeedableRng;
    /// let config = TransformerConfig::default().norm_first(true);
    /// let layer = TransformerEncoderLayer::<16, 4, 64>::new(config, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert!(layer.norm_first);
    /// ```
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(config: TransformerConfig, rng: &mut R) -> Self {
        Self::try_new(config, rng).or_panic()
    }

    /// [`new`](Self::new), with an error for a dropout outside `[0, 1]` or a negative `eps`.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerEncoderLayer};
    /// use rand::SeedableRng;
    /// let bad = TransformerConfig::default().dropout(2.0);
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(TransformerEncoderLayer::<8, 2, 16>::try_new(bad, &mut rng).is_err());
    /// ```
    pub fn try_new<R: Rng + ?Sized>(config: TransformerConfig, rng: &mut R) -> Result<Self> {
        config.check()?;
        let self_attn = MultiheadAttention::new(rng);
        let linear1 = Linear::new(rng);
        let linear2 = Linear::new(rng);
        Ok(TransformerEncoderLayer {
            self_attn,
            linear1,
            linear2,
            norm1: layer_norm(config.layer_norm_eps),
            norm2: layer_norm(config.layer_norm_eps),
            activation: config.activation,
            norm_first: config.norm_first,
            self_attn_dropout: Dropout::try_new(config.dropout, rng)?,
            dropout: Dropout::try_new(config.dropout, rng)?,
            dropout1: Dropout::try_new(config.dropout, rng)?,
            dropout2: Dropout::try_new(config.dropout, rng)?,
        })
    }

    /// Makes a clone independent: new parameter ids, and fresh generators for the dropouts
    /// (same probabilities) drawn from `rng`.
    fn detach_clone<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        renew_ids(
            &mut [&mut self.self_attn],
            &mut self.linear1,
            &mut self.linear2,
            &mut [&mut self.norm1, &mut self.norm2],
        );
        for d in [
            &mut self.self_attn_dropout,
            &mut self.dropout,
            &mut self.dropout1,
            &mut self.dropout2,
        ] {
            *d = Dropout::new(d.p(), rng);
        }
    }

    /// The layer on a typed input; `forced`: every dropout drops (`forward_train`), else each
    /// follows its own mode.
    fn run<B: Dim, L: Dim, T: Tape<E>>(
        &self,
        x: Hidden<B, L, D, E, T>,
        mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
        forced: bool,
    ) -> Result<Hidden<B, L, D, E, T>> {
        let [attn_drop, inner_drop, drop1, drop2] = dropouts(
            forced,
            [
                &self.self_attn_dropout,
                &self.dropout,
                &self.dropout1,
                &self.dropout2,
            ],
        );
        let self_attention = |x: Hidden<B, L, D, E, T>| -> Result<Hidden<B, L, D, E, T>> {
            let (y, _) = self.self_attn.attend(
                x.clone(),
                x.clone(),
                x,
                mask,
                key_padding_mask,
                false,
                attn_drop,
            )?;
            apply_dropout(drop1, y)
        };
        let ff = |x| {
            feed_forward(
                &self.linear1,
                &self.linear2,
                self.activation,
                x,
                inner_drop,
                drop2,
            )
        };
        encoder_block(
            x,
            self.norm_first,
            |x| self.norm1.try_forward(x),
            |x| self.norm2.try_forward(x),
            self_attention,
            ff,
        )
    }

    /// [`run`](Self::run) in training mode, with this layer's dropouts.
    fn run_train<B: Dim, L: Dim, T: Tape<E>>(
        &mut self,
        x: Hidden<B, L, D, E, T>,
        mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
    ) -> Result<Hidden<B, L, D, E, T>> {
        self.run(x, mask, key_padding_mask, true)
    }
}

const LAYER: &str = "TransformerEncoderLayer";

impl<const D: usize, const H: usize, const F: usize, E, B, L, X, T> Module<Tensor<(B, L, X), E, T>>
    for TransformerEncoderLayer<D, H, F, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    T: Tape<E>,
{
    type Output = Tensor<(B, L, Const<D>), E, T>;
    fn try_forward(&self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        self.run(features(x, LAYER)?, None, None, false)
    }
    fn try_forward_train(&mut self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        self.run_train(features(x, LAYER)?, None, None)
    }
}

impl<const D: usize, const H: usize, const F: usize, E, B, L, X, T>
    Module<EncoderInput<Tensor<(B, L, X), E, T>, E>> for TransformerEncoderLayer<D, H, F, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    T: Tape<E>,
{
    type Output = Tensor<(B, L, Const<D>), E, T>;
    fn try_forward(&self, input: EncoderInput<Tensor<(B, L, X), E, T>, E>) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        self.run(features(input.src, LAYER)?, mask, pad, false)
    }
    fn try_forward_train(
        &mut self,
        input: EncoderInput<Tensor<(B, L, X), E, T>, E>,
    ) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        self.run_train(features(input.src, LAYER)?, mask, pad)
    }
}

impl<const D: usize, const H: usize, const F: usize, E: Float> Params<E>
    for TransformerEncoderLayer<D, H, F, E>
{
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.self_attn.visit(&format!("{prefix}self_attn."), f);
        self.linear1.visit(&format!("{prefix}linear1."), f);
        self.linear2.visit(&format!("{prefix}linear2."), f);
        self.norm1.visit(&format!("{prefix}norm1."), f);
        self.norm2.visit(&format!("{prefix}norm2."), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.self_attn.visit_mut(&format!("{prefix}self_attn."), f);
        self.linear1.visit_mut(&format!("{prefix}linear1."), f);
        self.linear2.visit_mut(&format!("{prefix}linear2."), f);
        self.norm1.visit_mut(&format!("{prefix}norm1."), f);
        self.norm2.visit_mut(&format!("{prefix}norm2."), f);
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            crate::nn::module_name(prefix),
            "TransformerEncoderLayer".to_string(),
        );
        self.self_attn.describe(&format!("{prefix}self_attn."), f);
        self.linear1.describe(&format!("{prefix}linear1."), f);
        self.linear2.describe(&format!("{prefix}linear2."), f);
        self.norm1.describe(&format!("{prefix}norm1."), f);
        self.norm2.describe(&format!("{prefix}norm2."), f);
    }
    fn set_training(&mut self, training: bool) {
        for d in [
            &mut self.self_attn_dropout,
            &mut self.dropout,
            &mut self.dropout1,
            &mut self.dropout2,
        ] {
            Params::<E>::set_training(d, training);
        }
    }
    fn is_training(&self) -> bool {
        [
            &self.self_attn_dropout,
            &self.dropout,
            &self.dropout1,
            &self.dropout2,
        ]
        .into_iter()
        .any(Params::<E>::is_training)
    }
}

/// PyTorch's `nn.TransformerEncoder(layer, num_layers, norm)`: `num_layers` encoder layers in
/// sequence, then an optional final LayerNorm. Parameter names `layers.0.self_attn.…`,
/// `norm.weight`. Masks (an [`EncoderInput`]) go to every layer.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{causal_mask, EncoderInput, LayerNorm, TransformerConfig, TransformerEncoder, TransformerEncoderLayer};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng);
/// let encoder = TransformerEncoder::new(layer, 3, &mut rng).with_norm(LayerNorm::new());
/// let y = encoder.forward(EncoderInput::new(Tensor::<Rank3<2, 4, 8>>::ones()).with_mask(causal_mask(4)));
/// assert_eq!(y.dims().as_slice(), &[2, 4, 8]);
/// assert!(encoder.param_names().contains(&"layers.2.norm2.bias".to_string()));
/// assert_eq!(encoder.param_names().last().unwrap(), "norm.bias");
/// ```
#[derive(Clone, Debug)]
pub struct TransformerEncoder<const D: usize, const H: usize, const F: usize, E: Float = f32> {
    /// The layers, applied in order.
    pub layers: Vec<TransformerEncoderLayer<D, H, F, E>>,
    /// The final LayerNorm, if any.
    pub norm: Option<LayerNorm<D, E>>,
}

impl<const D: usize, const H: usize, const F: usize, E: Float> TransformerEncoder<D, H, F, E> {
    /// `num_layers` copies of `layer` without a final norm. As in PyTorch (`_get_clones`), the
    /// copies start with the same parameter values (independent parameters: their own gradients
    /// and optimizer state); their dropouts get fresh generators from `rng`
    /// so that they draw different masks.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerEncoder, TransformerEncoderLayer};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let layer = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng);
    /// let encoder = TransformerEncoder::new(layer, 2, &mut rng);
    /// assert_eq!(encoder.num_layers(), 2);
    /// assert!(encoder.norm.is_none());
    /// ```
    pub fn new<R: Rng + ?Sized>(
        layer: TransformerEncoderLayer<D, H, F, E>,
        num_layers: usize,
        rng: &mut R,
    ) -> Self {
        let layers = (0..num_layers)
            .map(|_| {
                let mut l = layer.clone();
                l.detach_clone(rng);
                l
            })
            .collect();
        TransformerEncoder { layers, norm: None }
    }

    /// Adds a final LayerNorm (PyTorch's `norm=`).
    ///
    /// ```
    /// use shaped::nn::{LayerNorm, TransformerConfig, TransformerEncoder, TransformerEncoderLayer};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let layer = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng);
    /// let encoder = TransformerEncoder::new(layer, 1, &mut rng).with_norm(LayerNorm::new());
    /// assert!(encoder.norm.is_some());
    /// ```
    pub fn with_norm(mut self, norm: LayerNorm<D, E>) -> Self {
        self.norm = Some(norm);
        self
    }

    /// The number of layers.
    ///
    /// ```
    /// use shaped::nn::TransformerEncoder;
    /// let empty = TransformerEncoder::<8, 2, 16> { layers: Vec::new(), norm: None };
    /// assert_eq!(empty.num_layers(), 0);
    /// ```
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    fn run<B: Dim, L: Dim, T: Tape<E>>(
        &self,
        mut x: Hidden<B, L, D, E, T>,
        mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
    ) -> Result<Hidden<B, L, D, E, T>> {
        for layer in &self.layers {
            x = layer.run(x, mask, key_padding_mask, false)?;
        }
        self.final_norm(x)
    }

    fn run_train<B: Dim, L: Dim, T: Tape<E>>(
        &mut self,
        mut x: Hidden<B, L, D, E, T>,
        mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
    ) -> Result<Hidden<B, L, D, E, T>> {
        for layer in &mut self.layers {
            x = layer.run_train(x, mask, key_padding_mask)?;
        }
        self.final_norm(x)
    }

    fn final_norm<B: Dim, L: Dim, T: Tape<E>>(
        &self,
        x: Hidden<B, L, D, E, T>,
    ) -> Result<Hidden<B, L, D, E, T>> {
        match &self.norm {
            Some(norm) => norm.try_forward(x),
            None => Ok(x),
        }
    }
}

const STACK: &str = "TransformerEncoder";

impl<const D: usize, const H: usize, const F: usize, E, B, L, X, T> Module<Tensor<(B, L, X), E, T>>
    for TransformerEncoder<D, H, F, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    T: Tape<E>,
{
    type Output = Tensor<(B, L, Const<D>), E, T>;
    fn try_forward(&self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        self.run(features(x, STACK)?, None, None)
    }
    fn try_forward_train(&mut self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        self.run_train(features(x, STACK)?, None, None)
    }
}

impl<const D: usize, const H: usize, const F: usize, E, B, L, X, T>
    Module<EncoderInput<Tensor<(B, L, X), E, T>, E>> for TransformerEncoder<D, H, F, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    T: Tape<E>,
{
    type Output = Tensor<(B, L, Const<D>), E, T>;
    fn try_forward(&self, input: EncoderInput<Tensor<(B, L, X), E, T>, E>) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        self.run(features(input.src, STACK)?, mask, pad)
    }
    fn try_forward_train(
        &mut self,
        input: EncoderInput<Tensor<(B, L, X), E, T>, E>,
    ) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        self.run_train(features(input.src, STACK)?, mask, pad)
    }
}

impl<const D: usize, const H: usize, const F: usize, E: Float> Params<E>
    for TransformerEncoder<D, H, F, E>
{
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.layers.visit(&format!("{prefix}layers."), f);
        if let Some(norm) = &self.norm {
            norm.visit(&format!("{prefix}norm."), f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.layers.visit_mut(&format!("{prefix}layers."), f);
        if let Some(norm) = &mut self.norm {
            norm.visit_mut(&format!("{prefix}norm."), f);
        }
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            crate::nn::module_name(prefix),
            "TransformerEncoder".to_string(),
        );
        self.layers.describe(&format!("{prefix}layers."), f);
        if let Some(norm) = &self.norm {
            norm.describe(&format!("{prefix}norm."), f);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.layers.set_training(training);
    }
    fn is_training(&self) -> bool {
        self.layers.is_training()
    }
}
