//! `nn.TransformerDecoderLayer` and the stack `nn.TransformerDecoder`.

use super::{
    Hidden, TransformerActivation, TransformerConfig, apply_dropout, decoder_block, dropouts,
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

/// The input of a decoder layer or stack with masks: PyTorch's `forward(tgt, memory,
/// tgt_mask=, memory_mask=, tgt_key_padding_mask=, memory_key_padding_mask=)`. Every mask is
/// an additive float (0 to keep, `-inf` to hide): `tgt_mask` `(L, L)` (e.g.
/// [`causal_mask`](crate::nn::causal_mask)), `memory_mask` `(L, S)`, `tgt_key_padding_mask`
/// `(B, L)` and `memory_key_padding_mask` `(B, S)` (see
/// [`key_padding_mask`](crate::nn::key_padding_mask)).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{causal_mask, DecoderInput};
/// let tgt = Tensor::<Rank3<2, 4, 8>>::ones();
/// let memory = Tensor::<Rank3<2, 6, 8>>::ones();
/// let input = DecoderInput::new(tgt, memory).with_tgt_mask(causal_mask(4));
/// assert!(input.tgt_mask.is_some() && input.memory_mask.is_none());
/// ```
#[derive(Clone, Debug)]
pub struct DecoderInput<X, M, E: Float = f32> {
    /// The target sequence, `(B, L, d_model)`.
    pub tgt: X,
    /// The encoder's output, `(B, S, d_model)`.
    pub memory: M,
    /// Additive self-attention mask `(L, L)`.
    pub tgt_mask: Option<Mask<E>>,
    /// Additive cross-attention mask `(L, S)`.
    pub memory_mask: Option<Mask<E>>,
    /// Additive target key padding mask `(B, L)`.
    pub tgt_key_padding_mask: Option<Mask<E>>,
    /// Additive memory key padding mask `(B, S)`.
    pub memory_key_padding_mask: Option<Mask<E>>,
}

impl<S: Shape, E: Float, T, Dv: Device, M> DecoderInput<Tensor<S, E, T, Dv>, M, E> {
    /// `tgt` and `memory` without masks; the masks take `tgt`'s element type.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::DecoderInput;
    /// let input = DecoderInput::new(Tensor::<Rank3<1, 2, 4>>::ones(), Tensor::<Rank3<1, 3, 4>>::ones());
    /// assert!(input.tgt_mask.is_none());
    /// ```
    pub fn new(tgt: Tensor<S, E, T, Dv>, memory: M) -> Self {
        DecoderInput {
            tgt,
            memory,
            tgt_mask: None,
            memory_mask: None,
            tgt_key_padding_mask: None,
            memory_key_padding_mask: None,
        }
    }
}

impl<X, M, E: Float> DecoderInput<X, M, E> {
    /// `(tgt, memory, [tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask])`.
    pub(super) fn split(self) -> (X, M, [Option<Mask<E>>; 4]) {
        let masks = [
            self.tgt_mask,
            self.memory_mask,
            self.tgt_key_padding_mask,
            self.memory_key_padding_mask,
        ];
        (self.tgt, self.memory, masks)
    }

    /// Sets the self-attention mask `(L, L)`, of static or run-time dimensions.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{causal_mask, DecoderInput};
    /// let (t, m) = (Tensor::<Rank3<1, 2, 4>>::ones(), Tensor::<Rank3<1, 3, 4>>::ones());
    /// assert!(DecoderInput::new(t, m).with_tgt_mask(causal_mask(2)).tgt_mask.is_some());
    /// ```
    pub fn with_tgt_mask<R: Dim, C: Dim>(mut self, mask: Tensor<(R, C), E>) -> Self {
        self.tgt_mask = Some(run_time_dims(mask));
        self
    }
    /// Sets the cross-attention mask `(L, S)`, of static or run-time dimensions.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::DecoderInput;
    /// let (t, m) = (Tensor::<Rank3<1, 2, 4>>::ones(), Tensor::<Rank3<1, 3, 4>>::ones());
    /// let mask = Tensor::<Rank2<2, 3>>::zeros(); // static or run-time dimensions
    /// assert!(DecoderInput::new(t, m).with_memory_mask(mask).memory_mask.is_some());
    /// ```
    pub fn with_memory_mask<R: Dim, C: Dim>(mut self, mask: Tensor<(R, C), E>) -> Self {
        self.memory_mask = Some(run_time_dims(mask));
        self
    }
    /// Sets the target key padding mask `(B, L)`, of static or run-time dimensions.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{key_padding_mask, DecoderInput};
    /// let (t, m) = (Tensor::<Rank3<1, 2, 4>>::ones(), Tensor::<Rank3<1, 3, 4>>::ones());
    /// let pad = key_padding_mask(&[false, true], 1, 2).unwrap();
    /// assert!(DecoderInput::new(t, m).with_tgt_key_padding_mask(pad).tgt_key_padding_mask.is_some());
    /// ```
    pub fn with_tgt_key_padding_mask<R: Dim, C: Dim>(mut self, mask: Tensor<(R, C), E>) -> Self {
        self.tgt_key_padding_mask = Some(run_time_dims(mask));
        self
    }
    /// Sets the memory key padding mask `(B, S)`, of static or run-time dimensions.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{key_padding_mask, DecoderInput};
    /// let (t, m) = (Tensor::<Rank3<1, 2, 4>>::ones(), Tensor::<Rank3<1, 3, 4>>::ones());
    /// let pad = key_padding_mask(&[false, false, true], 1, 3).unwrap();
    /// let input = DecoderInput::new(t, m).with_memory_key_padding_mask(pad);
    /// assert!(input.memory_key_padding_mask.is_some());
    /// ```
    pub fn with_memory_key_padding_mask<R: Dim, C: Dim>(mut self, mask: Tensor<(R, C), E>) -> Self {
        self.memory_key_padding_mask = Some(run_time_dims(mask));
        self
    }
}

/// The masks of one decoder call.
#[derive(Clone, Copy)]
pub(super) struct Masks<'a, E: Float> {
    pub(super) tgt: Option<&'a Mask<E>>,
    pub(super) memory: Option<&'a Mask<E>>,
    pub(super) tgt_padding: Option<&'a Mask<E>>,
    pub(super) memory_padding: Option<&'a Mask<E>>,
}

impl<'a, E: Float> Masks<'a, E> {
    pub(super) const NONE: Self = Masks {
        tgt: None,
        memory: None,
        tgt_padding: None,
        memory_padding: None,
    };
    pub(super) fn of(masks: &'a [Option<Mask<E>>; 4]) -> Self {
        let [tgt, memory, tgt_padding, memory_padding] = masks.each_ref().map(Option::as_ref);
        Masks {
            tgt,
            memory,
            tgt_padding,
            memory_padding,
        }
    }
}

/// PyTorch's `nn.TransformerDecoderLayer(D, H, F, batch_first=True)`: self-attention over the
/// target, cross-attention from the target to `memory` (the encoder's output), and a
/// feed-forward block `D -> F -> D`, each with a residual connection and a LayerNorm.
///
/// * post-norm (`norm_first = false`, the default): `x = norm1(x + sa(x));
///   x = norm2(x + ca(x, memory)); y = norm3(x + ff(x))`;
/// * pre-norm: `x = x + sa(norm1(x)); x = x + ca(norm2(x), memory); y = x + ff(norm3(x))`.
///
/// Input `(tgt, memory)`, `(B, L, D)` and `(B, S, D)`, or a [`DecoderInput`] with masks;
/// output `(B, L, D)`. Dropout acts in training mode only, where PyTorch puts it: on both
/// attentions' weights, after the activation and on the three residual branches. Parameter
/// names are PyTorch's: `self_attn.*`, `multihead_attn.*` (cross-attention), `linear1.*`,
/// `linear2.*`, `norm1.*`, `norm2.*`, `norm3.*`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{causal_mask, DecoderInput, TransformerConfig, TransformerDecoderLayer};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerDecoderLayer::<8, 2, 32>::new(TransformerConfig::default(), &mut rng);
/// let tgt = Tensor::<Rank3<2, 4, 8>>::ones();
/// let memory = Tensor::<Rank3<2, 6, 8>>::ones();
/// let y = layer.forward(DecoderInput::new(tgt, memory).with_tgt_mask(causal_mask(4)));
/// assert_eq!(y.dims().as_slice(), &[2, 4, 8]);
/// assert_eq!(layer.param_names()[4], "multihead_attn.in_proj_weight");
/// ```
#[derive(Clone, Debug)]
pub struct TransformerDecoderLayer<const D: usize, const H: usize, const F: usize, E: Float = f32> {
    /// Self-attention over the target.
    pub self_attn: MultiheadAttention<D, H, E>,
    /// Cross-attention from the target to the memory.
    pub multihead_attn: MultiheadAttention<D, H, E>,
    /// The first feed-forward projection `D -> F`.
    pub linear1: Linear<D, F, E>,
    /// The second feed-forward projection `F -> D`.
    pub linear2: Linear<F, D, E>,
    /// The LayerNorm of the self-attention block.
    pub norm1: LayerNorm<D, E>,
    /// The LayerNorm of the cross-attention block.
    pub norm2: LayerNorm<D, E>,
    /// The LayerNorm of the feed-forward block.
    pub norm3: LayerNorm<D, E>,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// Pre-norm instead of post-norm.
    pub norm_first: bool,
    /// Dropout on the self-attention weights (PyTorch's `self_attn.dropout`).
    pub self_attn_dropout: Dropout,
    /// Dropout on the cross-attention weights (PyTorch's `multihead_attn.dropout`).
    pub multihead_attn_dropout: Dropout,
    /// Dropout after the activation.
    pub dropout: Dropout,
    /// Dropout on the self-attention branch.
    pub dropout1: Dropout,
    /// Dropout on the cross-attention branch.
    pub dropout2: Dropout,
    /// Dropout on the feed-forward branch.
    pub dropout3: Dropout,
}

impl<const D: usize, const H: usize, const F: usize, E: Float> TransformerDecoderLayer<D, H, F, E> {
    /// A layer with PyTorch's initialisation, its dropouts seeded from `rng`. Panics on an
    /// invalid `config` (see [`try_new`](Self::try_new)).
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerDecoderLayer};
    /// use rand::SeedableRng;
    /// let layer = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.dropout3.p(), 0.1);
    /// ```
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(config: TransformerConfig, rng: &mut R) -> Self {
        Self::try_new(config, rng).or_panic()
    }

    /// [`new`](Self::new), with an error for a dropout outside `[0, 1]` or a negative `eps`.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerDecoderLayer};
    /// use rand::SeedableRng;
    /// let bad = TransformerConfig::default().layer_norm_eps(-1.0);
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(TransformerDecoderLayer::<8, 2, 16>::try_new(bad, &mut rng).is_err());
    /// ```
    pub fn try_new<R: Rng + ?Sized>(config: TransformerConfig, rng: &mut R) -> Result<Self> {
        config.check()?;
        let self_attn = MultiheadAttention::new(rng);
        let multihead_attn = MultiheadAttention::new(rng);
        let linear1 = Linear::new(rng);
        let linear2 = Linear::new(rng);
        Ok(TransformerDecoderLayer {
            self_attn,
            multihead_attn,
            linear1,
            linear2,
            norm1: layer_norm(config.layer_norm_eps),
            norm2: layer_norm(config.layer_norm_eps),
            norm3: layer_norm(config.layer_norm_eps),
            activation: config.activation,
            norm_first: config.norm_first,
            self_attn_dropout: Dropout::try_new(config.dropout, rng)?,
            multihead_attn_dropout: Dropout::try_new(config.dropout, rng)?,
            dropout: Dropout::try_new(config.dropout, rng)?,
            dropout1: Dropout::try_new(config.dropout, rng)?,
            dropout2: Dropout::try_new(config.dropout, rng)?,
            dropout3: Dropout::try_new(config.dropout, rng)?,
        })
    }

    /// Makes a clone independent: new parameter ids, and fresh generators for the dropouts
    /// (same probabilities) drawn from `rng`.
    fn detach_clone<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        renew_ids(
            &mut [&mut self.self_attn, &mut self.multihead_attn],
            &mut self.linear1,
            &mut self.linear2,
            &mut [&mut self.norm1, &mut self.norm2, &mut self.norm3],
        );
        for d in [
            &mut self.self_attn_dropout,
            &mut self.multihead_attn_dropout,
            &mut self.dropout,
            &mut self.dropout1,
            &mut self.dropout2,
            &mut self.dropout3,
        ] {
            *d = Dropout::new(d.p(), rng);
        }
    }

    /// The layer on a typed target; `forced`: every dropout drops (`forward_train`), else
    /// each follows its own mode.
    fn run<B, L, B2, S, XM, T>(
        &self,
        x: Hidden<B, L, D, E, T>,
        memory: Tensor<(B2, S, XM), E, T>,
        masks: Masks<'_, E>,
        forced: bool,
    ) -> Result<Hidden<B, L, D, E, T>>
    where
        B: Dim,
        L: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: DimEq<Const<D>>,
        T: Tape<E>,
    {
        let [sa_drop, ca_drop, inner_drop, drop1, drop2, drop3] = dropouts(
            forced,
            [
                &self.self_attn_dropout,
                &self.multihead_attn_dropout,
                &self.dropout,
                &self.dropout1,
                &self.dropout2,
                &self.dropout3,
            ],
        );
        let self_attention = |x: Hidden<B, L, D, E, T>| -> Result<Hidden<B, L, D, E, T>> {
            let (y, _) = self.self_attn.attend(
                x.clone(),
                x.clone(),
                x,
                masks.tgt,
                masks.tgt_padding,
                false,
                sa_drop,
            )?;
            apply_dropout(drop1, y)
        };
        let cross_attention = |x: Hidden<B, L, D, E, T>| -> Result<Hidden<B, L, D, E, T>> {
            let (y, _) = self.multihead_attn.attend(
                x,
                memory.clone(),
                memory,
                masks.memory,
                masks.memory_padding,
                false,
                ca_drop,
            )?;
            apply_dropout(drop2, y)
        };
        let ff = |x| {
            feed_forward(
                &self.linear1,
                &self.linear2,
                self.activation,
                x,
                inner_drop,
                drop3,
            )
        };
        decoder_block(
            x,
            self.norm_first,
            [
                &|x| self.norm1.try_forward(x),
                &|x| self.norm2.try_forward(x),
                &|x| self.norm3.try_forward(x),
            ],
            self_attention,
            cross_attention,
            ff,
        )
    }

    /// [`run`](Self::run) in training mode, with this layer's dropouts.
    fn run_train<B, L, B2, S, XM, T>(
        &mut self,
        x: Hidden<B, L, D, E, T>,
        memory: Tensor<(B2, S, XM), E, T>,
        masks: Masks<'_, E>,
    ) -> Result<Hidden<B, L, D, E, T>>
    where
        B: Dim,
        L: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: DimEq<Const<D>>,
        T: Tape<E>,
    {
        self.run(x, memory, masks, true)
    }
}

const LAYER: &str = "TransformerDecoderLayer";

type Target<B, L, X, E, T> = Tensor<(B, L, X), E, T>;
type Memory<B2, S, XM, E, T> = Tensor<(B2, S, XM), E, T>;

impl<const D: usize, const H: usize, const F: usize, E, B, L, X, B2, S, XM, T>
    Module<(Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>)> for TransformerDecoderLayer<D, H, F, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    B2: DimEq<B>,
    S: Dim,
    XM: DimEq<Const<D>>,
    T: Tape<E>,
{
    type Output = Tensor<(B, L, Const<D>), E, T>;
    fn try_forward(
        &self,
        (tgt, memory): (Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>),
    ) -> Result<Self::Output> {
        self.run(features(tgt, LAYER)?, memory, Masks::NONE, false)
    }
    fn try_forward_train(
        &mut self,
        (tgt, memory): (Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>),
    ) -> Result<Self::Output> {
        self.run_train(features(tgt, LAYER)?, memory, Masks::NONE)
    }
}

impl<const D: usize, const H: usize, const F: usize, E, B, L, X, B2, S, XM, T>
    Module<DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>>
    for TransformerDecoderLayer<D, H, F, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    B2: DimEq<B>,
    S: Dim,
    XM: DimEq<Const<D>>,
    T: Tape<E>,
{
    type Output = Tensor<(B, L, Const<D>), E, T>;
    fn try_forward(
        &self,
        input: DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>,
    ) -> Result<Self::Output> {
        let (tgt, memory, masks) = input.split();
        self.run(features(tgt, LAYER)?, memory, Masks::of(&masks), false)
    }
    fn try_forward_train(
        &mut self,
        input: DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>,
    ) -> Result<Self::Output> {
        let (tgt, memory, masks) = input.split();
        self.run_train(features(tgt, LAYER)?, memory, Masks::of(&masks))
    }
}

impl<const D: usize, const H: usize, const F: usize, E: Float> Params<E>
    for TransformerDecoderLayer<D, H, F, E>
{
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.self_attn.visit(&format!("{prefix}self_attn."), f);
        self.multihead_attn
            .visit(&format!("{prefix}multihead_attn."), f);
        self.linear1.visit(&format!("{prefix}linear1."), f);
        self.linear2.visit(&format!("{prefix}linear2."), f);
        self.norm1.visit(&format!("{prefix}norm1."), f);
        self.norm2.visit(&format!("{prefix}norm2."), f);
        self.norm3.visit(&format!("{prefix}norm3."), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.self_attn.visit_mut(&format!("{prefix}self_attn."), f);
        self.multihead_attn
            .visit_mut(&format!("{prefix}multihead_attn."), f);
        self.linear1.visit_mut(&format!("{prefix}linear1."), f);
        self.linear2.visit_mut(&format!("{prefix}linear2."), f);
        self.norm1.visit_mut(&format!("{prefix}norm1."), f);
        self.norm2.visit_mut(&format!("{prefix}norm2."), f);
        self.norm3.visit_mut(&format!("{prefix}norm3."), f);
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            crate::nn::module_name(prefix),
            "TransformerDecoderLayer".to_string(),
        );
        self.self_attn.describe(&format!("{prefix}self_attn."), f);
        self.multihead_attn
            .describe(&format!("{prefix}multihead_attn."), f);
        self.linear1.describe(&format!("{prefix}linear1."), f);
        self.linear2.describe(&format!("{prefix}linear2."), f);
        self.norm1.describe(&format!("{prefix}norm1."), f);
        self.norm2.describe(&format!("{prefix}norm2."), f);
        self.norm3.describe(&format!("{prefix}norm3."), f);
    }
    fn set_training(&mut self, training: bool) {
        for d in [
            &mut self.self_attn_dropout,
            &mut self.multihead_attn_dropout,
            &mut self.dropout,
            &mut self.dropout1,
            &mut self.dropout2,
            &mut self.dropout3,
        ] {
            Params::<E>::set_training(d, training);
        }
    }
    fn is_training(&self) -> bool {
        [
            &self.self_attn_dropout,
            &self.multihead_attn_dropout,
            &self.dropout,
            &self.dropout1,
            &self.dropout2,
            &self.dropout3,
        ]
        .into_iter()
        .any(Params::<E>::is_training)
    }
}

/// PyTorch's `nn.TransformerDecoder(layer, num_layers, norm)`: `num_layers` decoder layers in
/// sequence, each attending to the same `memory`, then an optional final LayerNorm.
/// Parameter names `layers.0.self_attn.…`, `norm.weight`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LayerNorm, TransformerConfig, TransformerDecoder, TransformerDecoderLayer};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng);
/// let decoder = TransformerDecoder::new(layer, 2, &mut rng).with_norm(LayerNorm::new());
/// let y = decoder.forward((Tensor::<Rank3<2, 3, 8>>::ones(), Tensor::<Rank3<2, 5, 8>>::ones()));
/// assert_eq!(y.dims().as_slice(), &[2, 3, 8]);
/// assert_eq!(decoder.param_names()[0], "layers.0.self_attn.in_proj_weight");
/// ```
#[derive(Clone, Debug)]
pub struct TransformerDecoder<const D: usize, const H: usize, const F: usize, E: Float = f32> {
    /// The layers, applied in order.
    pub layers: Vec<TransformerDecoderLayer<D, H, F, E>>,
    /// The final LayerNorm, if any.
    pub norm: Option<LayerNorm<D, E>>,
}

impl<const D: usize, const H: usize, const F: usize, E: Float> TransformerDecoder<D, H, F, E> {
    /// `num_layers` copies of `layer` without a final norm. As in PyTorch (`_get_clones`), the
    /// copies start with the same parameter values (independent parameters: their own gradients
    /// and optimizer state); their dropouts get fresh generators from `rng`.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerDecoder, TransformerDecoderLayer};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let layer = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng);
    /// assert_eq!(TransformerDecoder::new(layer, 3, &mut rng).num_layers(), 3);
    /// ```
    pub fn new<R: Rng + ?Sized>(
        layer: TransformerDecoderLayer<D, H, F, E>,
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
        TransformerDecoder { layers, norm: None }
    }

    /// Adds a final LayerNorm (PyTorch's `norm=`).
    ///
    /// ```
    /// use shaped::nn::{LayerNorm, TransformerConfig, TransformerDecoder, TransformerDecoderLayer};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let layer = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng);
    /// assert!(TransformerDecoder::new(layer, 1, &mut rng).with_norm(LayerNorm::new()).norm.is_some());
    /// ```
    pub fn with_norm(mut self, norm: LayerNorm<D, E>) -> Self {
        self.norm = Some(norm);
        self
    }

    /// The number of layers.
    ///
    /// ```
    /// use shaped::nn::TransformerDecoder;
    /// let empty = TransformerDecoder::<8, 2, 16> { layers: Vec::new(), norm: None };
    /// assert_eq!(empty.num_layers(), 0);
    /// ```
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    fn run<B, L, B2, S, XM, T>(
        &self,
        mut x: Hidden<B, L, D, E, T>,
        memory: Tensor<(B2, S, XM), E, T>,
        masks: Masks<'_, E>,
    ) -> Result<Hidden<B, L, D, E, T>>
    where
        B: Dim,
        L: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: DimEq<Const<D>>,
        T: Tape<E>,
    {
        for layer in &self.layers {
            x = layer.run(x, memory.clone(), masks, false)?;
        }
        self.final_norm(x)
    }

    fn run_train<B, L, B2, S, XM, T>(
        &mut self,
        mut x: Hidden<B, L, D, E, T>,
        memory: Tensor<(B2, S, XM), E, T>,
        masks: Masks<'_, E>,
    ) -> Result<Hidden<B, L, D, E, T>>
    where
        B: Dim,
        L: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: DimEq<Const<D>>,
        T: Tape<E>,
    {
        for layer in &mut self.layers {
            x = layer.run_train(x, memory.clone(), masks)?;
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

const STACK: &str = "TransformerDecoder";

impl<const D: usize, const H: usize, const F: usize, E, B, L, X, B2, S, XM, T>
    Module<(Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>)> for TransformerDecoder<D, H, F, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    B2: DimEq<B>,
    S: Dim,
    XM: DimEq<Const<D>>,
    T: Tape<E>,
{
    type Output = Tensor<(B, L, Const<D>), E, T>;
    fn try_forward(
        &self,
        (tgt, memory): (Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>),
    ) -> Result<Self::Output> {
        self.run(features(tgt, STACK)?, memory, Masks::NONE)
    }
    fn try_forward_train(
        &mut self,
        (tgt, memory): (Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>),
    ) -> Result<Self::Output> {
        self.run_train(features(tgt, STACK)?, memory, Masks::NONE)
    }
}

impl<const D: usize, const H: usize, const F: usize, E, B, L, X, B2, S, XM, T>
    Module<DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>>
    for TransformerDecoder<D, H, F, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    B2: DimEq<B>,
    S: Dim,
    XM: DimEq<Const<D>>,
    T: Tape<E>,
{
    type Output = Tensor<(B, L, Const<D>), E, T>;
    fn try_forward(
        &self,
        input: DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>,
    ) -> Result<Self::Output> {
        let (tgt, memory, masks) = input.split();
        self.run(features(tgt, STACK)?, memory, Masks::of(&masks))
    }
    fn try_forward_train(
        &mut self,
        input: DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>,
    ) -> Result<Self::Output> {
        let (tgt, memory, masks) = input.split();
        self.run_train(features(tgt, STACK)?, memory, Masks::of(&masks))
    }
}

impl<const D: usize, const H: usize, const F: usize, E: Float> Params<E>
    for TransformerDecoder<D, H, F, E>
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
            "TransformerDecoder".to_string(),
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
