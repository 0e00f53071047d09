//! `nn.TransformerEncoderLayer` and `nn.TransformerEncoder` with run-time sizes.

use super::{
    EncoderInput, TransformerActivation, TransformerConfig, apply_dropout, dropouts, encoder_block,
    feed_forward,
};
use crate::autograd::{Tape, UniqueId};
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::nn::attention_dyn::MultiheadAttentionDyn;
use crate::nn::dropout::Dropout;
use crate::nn::layernorm::LayerNormDyn;
use crate::nn::linear::LinearDyn;
use crate::nn::module::Module;
use crate::nn::params::{ParamMut, ParamView, Params};
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;
use rand::Rng;

type Mask<E> = Tensor<(usize, usize), E>;
pub(super) type HiddenDyn<B, L, E, T> = Tensor<(B, L, usize), E, T>;

/// `x` `(B, L, X)` with its feature size checked against `d_model` and typed `usize`.
pub(super) fn features_dyn<B: Dim, L: Dim, X: Dim, E: Float, T: Tape<E>>(
    x: Tensor<(B, L, X), E, T>,
    d_model: usize,
    what: &'static str,
) -> Result<HiddenDyn<B, L, E, T>> {
    let (b, l, f) = x.shape;
    if f.size() != d_model {
        return Err(Error::shape(
            what,
            format!(
                "{what} expects d_model {d_model}, got {} (input shape {:?})",
                f.size(),
                x.shape.dims().as_slice()
            ),
        ));
    }
    Ok(Tensor {
        shape: (b, l, d_model),
        data: x.data,
        id: x.id,
        tape: x.tape,
    })
}

/// PyTorch's `nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, batch_first=True)`
/// with its sizes given at run time (e.g. read from a configuration file): the run-time twin
/// of [`TransformerEncoderLayer`](super::TransformerEncoderLayer), with the same wiring
/// (pre/post-norm, relu/gelu, the dropouts), initialisation and parameter names, so the same
/// state dict loads into either. Inputs `(B, L, X)` whose `X` is not `d_model` are an `Err`
/// naming both; the output's feature size is `usize`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, TransformerConfig, TransformerEncoderLayerDyn};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerEncoderLayerDyn::<f32>::new(8, 2, 32, TransformerConfig::default(), &mut rng);
/// let y = layer.forward(Tensor::<Rank3<3, 5, 8>>::ones());
/// assert_eq!(y.dims().as_slice(), &[3, 5, 8]);
/// let err = layer.try_forward(Tensor::<Rank3<3, 5, 6>>::ones()).unwrap_err();
/// assert!(err.to_string().contains("TransformerEncoderLayerDyn expects d_model 8, got 6"));
/// ```
#[derive(Clone, Debug)]
pub struct TransformerEncoderLayerDyn<E: Float = f32> {
    /// Self-attention.
    pub self_attn: MultiheadAttentionDyn<E>,
    /// The first feed-forward projection `d_model -> dim_feedforward`.
    pub linear1: LinearDyn<E>,
    /// The second feed-forward projection `dim_feedforward -> d_model`.
    pub linear2: LinearDyn<E>,
    /// The LayerNorm of the attention block.
    pub norm1: LayerNormDyn<E>,
    /// The LayerNorm of the feed-forward block.
    pub norm2: LayerNormDyn<E>,
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

impl<E: Float> TransformerEncoderLayerDyn<E> {
    /// A layer with PyTorch's initialisation, drawn from `rng` in the same order as the static
    /// layer; an `Err` names the values when a size is 0, `nhead` does not divide `d_model`,
    /// or `config` is invalid.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerEncoderLayerDyn};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let err = TransformerEncoderLayerDyn::<f32>::try_new(8, 3, 16, TransformerConfig::default(), &mut rng);
    /// assert!(err.unwrap_err().to_string().contains("num_heads 3 must divide embed_dim 8"));
    /// assert!(TransformerEncoderLayerDyn::<f32>::try_new(8, 2, 0, TransformerConfig::default(), &mut rng).is_err());
    /// ```
    pub fn try_new<R: Rng + ?Sized>(
        d_model: usize,
        nhead: usize,
        dim_feedforward: usize,
        config: TransformerConfig,
        rng: &mut R,
    ) -> Result<Self> {
        config.check()?;
        if dim_feedforward == 0 {
            return Err(Error::value(
                "TransformerEncoderLayerDyn",
                format!("dim_feedforward {dim_feedforward} must be at least 1"),
            ));
        }
        let self_attn = MultiheadAttentionDyn::try_new(d_model, nhead, rng)?;
        let linear1 = LinearDyn::new_dyn(d_model, dim_feedforward, true, rng);
        let linear2 = LinearDyn::new_dyn(dim_feedforward, d_model, true, rng);
        let norm = || {
            let mut n = LayerNormDyn::new_dyn(d_model);
            n.eps = config.layer_norm_eps;
            n
        };
        Ok(TransformerEncoderLayerDyn {
            self_attn,
            linear1,
            linear2,
            norm1: norm(),
            norm2: norm(),
            activation: config.activation,
            norm_first: config.norm_first,
            self_attn_dropout: Dropout::try_new(config.dropout, rng)?,
            dropout: Dropout::try_new(config.dropout, rng)?,
            dropout1: Dropout::try_new(config.dropout, rng)?,
            dropout2: Dropout::try_new(config.dropout, rng)?,
        })
    }

    /// [`try_new`](Self::try_new), panicking at the caller's line.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerEncoderLayerDyn};
    /// use rand::SeedableRng;
    /// let layer = TransformerEncoderLayerDyn::<f32>::new(16, 4, 64, TransformerConfig::default(), &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.d_model(), 16);
    /// ```
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        d_model: usize,
        nhead: usize,
        dim_feedforward: usize,
        config: TransformerConfig,
        rng: &mut R,
    ) -> Self {
        Self::try_new(d_model, nhead, dim_feedforward, config, rng).or_panic()
    }

    /// The feature size.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerEncoderLayerDyn};
    /// use rand::SeedableRng;
    /// let layer = TransformerEncoderLayerDyn::<f32>::new(12, 3, 24, TransformerConfig::default(), &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.d_model(), 12);
    /// ```
    pub fn d_model(&self) -> usize {
        self.self_attn.embed_dim()
    }

    /// Makes a clone independent: new parameter ids, and fresh generators for the dropouts.
    fn detach_clone<R: Rng + ?Sized>(&mut self, rng: &mut R) {
        fn renew<S: Shape, E: Float>(t: &mut Tensor<S, E>) {
            t.id = UniqueId::new();
        }
        let a = &mut self.self_attn;
        renew(&mut a.in_proj_weight);
        if let Some(b) = &mut a.in_proj_bias {
            renew(b);
        }
        for l in [&mut a.out_proj, &mut self.linear1, &mut self.linear2] {
            renew(&mut l.weight);
            if let Some(b) = &mut l.bias {
                renew(b);
            }
        }
        for n in [&mut self.norm1, &mut self.norm2] {
            renew(&mut n.weight);
            renew(&mut n.bias);
        }
        for d in [
            &mut self.self_attn_dropout,
            &mut self.dropout,
            &mut self.dropout1,
            &mut self.dropout2,
        ] {
            *d = Dropout::new(d.p(), rng);
        }
    }

    fn run<B: Dim, L: Dim, T: Tape<E>>(
        &self,
        x: HiddenDyn<B, L, E, T>,
        mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
        forced: bool,
    ) -> Result<HiddenDyn<B, L, E, T>> {
        let [attn_drop, inner_drop, drop1, drop2] = dropouts(
            forced,
            [
                &self.self_attn_dropout,
                &self.dropout,
                &self.dropout1,
                &self.dropout2,
            ],
        );
        let self_attention = |x: HiddenDyn<B, L, E, T>| -> Result<HiddenDyn<B, L, E, T>> {
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

    fn run_train<B: Dim, L: Dim, T: Tape<E>>(
        &mut self,
        x: HiddenDyn<B, L, E, T>,
        mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
    ) -> Result<HiddenDyn<B, L, E, T>> {
        self.run(x, mask, key_padding_mask, true)
    }
}

const LAYER: &str = "TransformerEncoderLayerDyn";

impl<E: Float, B: Dim, L: Dim, X: Dim, T: Tape<E>> Module<Tensor<(B, L, X), E, T>>
    for TransformerEncoderLayerDyn<E>
{
    type Output = HiddenDyn<B, L, E, T>;
    fn try_forward(&self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        self.run(features_dyn(x, self.d_model(), LAYER)?, None, None, false)
    }
    fn try_forward_train(&mut self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        let x = features_dyn(x, self.d_model(), LAYER)?;
        self.run_train(x, None, None)
    }
}

impl<E: Float, B: Dim, L: Dim, X: Dim, T: Tape<E>> Module<EncoderInput<Tensor<(B, L, X), E, T>, E>>
    for TransformerEncoderLayerDyn<E>
{
    type Output = HiddenDyn<B, L, E, T>;
    fn try_forward(&self, input: EncoderInput<Tensor<(B, L, X), E, T>, E>) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        self.run(
            features_dyn(input.src, self.d_model(), LAYER)?,
            mask,
            pad,
            false,
        )
    }
    fn try_forward_train(
        &mut self,
        input: EncoderInput<Tensor<(B, L, X), E, T>, E>,
    ) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        let x = features_dyn(input.src, self.d_model(), LAYER)?;
        self.run_train(x, mask, pad)
    }
}

impl<E: Float> Params<E> for TransformerEncoderLayerDyn<E> {
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
}

/// PyTorch's `nn.TransformerEncoder(layer, num_layers, norm)` of
/// [`TransformerEncoderLayerDyn`]s: the run-time twin of
/// [`TransformerEncoder`](super::TransformerEncoder), with the same names (`layers.0.…`,
/// `norm.weight`) and cloning rules.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{causal_mask, EncoderInput, LayerNormDyn, Module, Params, TransformerConfig, TransformerEncoderDyn, TransformerEncoderLayerDyn};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerEncoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rng);
/// let encoder = TransformerEncoderDyn::new(layer, 3, &mut rng).with_norm(LayerNormDyn::new_dyn(8));
/// let y = encoder.forward(EncoderInput::new(Tensor::<Rank3<2, 4, 8>>::ones()).with_mask(causal_mask(4)));
/// assert_eq!(y.dims().as_slice(), &[2, 4, 8]);
/// assert_eq!(encoder.param_names().last().unwrap(), "norm.bias");
/// ```
#[derive(Clone, Debug)]
pub struct TransformerEncoderDyn<E: Float = f32> {
    /// The layers, applied in order.
    pub layers: Vec<TransformerEncoderLayerDyn<E>>,
    /// The final LayerNorm, if any.
    pub norm: Option<LayerNormDyn<E>>,
}

impl<E: Float> TransformerEncoderDyn<E> {
    /// `num_layers` independent copies of `layer` (the same starting values, their own
    /// parameters and dropout generators), without a final norm.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerEncoderDyn, TransformerEncoderLayerDyn};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let layer = TransformerEncoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rng);
    /// assert_eq!(TransformerEncoderDyn::new(layer, 2, &mut rng).layers.len(), 2);
    /// ```
    pub fn new<R: Rng + ?Sized>(
        layer: TransformerEncoderLayerDyn<E>,
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
        TransformerEncoderDyn { layers, norm: None }
    }

    /// Adds a final LayerNorm (PyTorch's `norm=`).
    ///
    /// ```
    /// use shaped::nn::{LayerNormDyn, TransformerEncoderDyn};
    /// let encoder = TransformerEncoderDyn::<f32> { layers: Vec::new(), norm: None }.with_norm(LayerNormDyn::new_dyn(4));
    /// assert!(encoder.norm.is_some());
    /// ```
    pub fn with_norm(mut self, norm: LayerNormDyn<E>) -> Self {
        self.norm = Some(norm);
        self
    }

    /// The feature size the stack takes (`fallback` for an empty one without a norm).
    fn d_model(&self, fallback: usize) -> usize {
        match (self.layers.first(), &self.norm) {
            (Some(l), _) => l.d_model(),
            (None, Some(n)) => n.weight.shape.0,
            (None, None) => fallback,
        }
    }

    fn run<B: Dim, L: Dim, X: Dim, T: Tape<E>>(
        &self,
        x: Tensor<(B, L, X), E, T>,
        mask: Option<&Mask<E>>,
        pad: Option<&Mask<E>>,
    ) -> Result<HiddenDyn<B, L, E, T>> {
        let d_model = self.d_model(x.shape.2.size());
        let mut x = features_dyn(x, d_model, STACK)?;
        for layer in &self.layers {
            x = layer.run(x, mask, pad, false)?;
        }
        self.final_norm(x)
    }

    fn run_train<B: Dim, L: Dim, X: Dim, T: Tape<E>>(
        &mut self,
        x: Tensor<(B, L, X), E, T>,
        mask: Option<&Mask<E>>,
        pad: Option<&Mask<E>>,
    ) -> Result<HiddenDyn<B, L, E, T>> {
        let d_model = self.d_model(x.shape.2.size());
        let mut x = features_dyn(x, d_model, STACK)?;
        for layer in &mut self.layers {
            x = layer.run_train(x, mask, pad)?;
        }
        self.final_norm(x)
    }

    fn final_norm<B: Dim, L: Dim, T: Tape<E>>(
        &self,
        x: HiddenDyn<B, L, E, T>,
    ) -> Result<HiddenDyn<B, L, E, T>> {
        match &self.norm {
            Some(norm) => norm.try_forward(x),
            None => Ok(x),
        }
    }
}

const STACK: &str = "TransformerEncoderDyn";

impl<E: Float, B: Dim, L: Dim, X: Dim, T: Tape<E>> Module<Tensor<(B, L, X), E, T>>
    for TransformerEncoderDyn<E>
{
    type Output = HiddenDyn<B, L, E, T>;
    fn try_forward(&self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        self.run(x, None, None)
    }
    fn try_forward_train(&mut self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        self.run_train(x, None, None)
    }
}

impl<E: Float, B: Dim, L: Dim, X: Dim, T: Tape<E>> Module<EncoderInput<Tensor<(B, L, X), E, T>, E>>
    for TransformerEncoderDyn<E>
{
    type Output = HiddenDyn<B, L, E, T>;
    fn try_forward(&self, input: EncoderInput<Tensor<(B, L, X), E, T>, E>) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        self.run(input.src, mask, pad)
    }
    fn try_forward_train(
        &mut self,
        input: EncoderInput<Tensor<(B, L, X), E, T>, E>,
    ) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        self.run_train(input.src, mask, pad)
    }
}

impl<E: Float> Params<E> for TransformerEncoderDyn<E> {
    fn set_training(&mut self, training: bool) {
        self.layers.set_training(training);
    }
    fn is_training(&self) -> bool {
        self.layers.is_training()
    }
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
}
