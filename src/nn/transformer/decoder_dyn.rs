//! `nn.TransformerDecoderLayer` and `nn.TransformerDecoder` with run-time sizes.

use super::decoder::Masks;
use super::encoder_dyn::{HiddenDyn, features_dyn};
use super::{
    DecoderInput, TransformerActivation, TransformerConfig, apply_dropout, decoder_block, dropouts,
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
use crate::shape::{Dim, DimEq, Shape};
use crate::tensor::Tensor;
use rand::Rng;

/// PyTorch's `nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward, batch_first=True)`
/// with its sizes given at run time: the run-time twin of
/// [`TransformerDecoderLayer`](super::TransformerDecoderLayer), with the same wiring,
/// initialisation and parameter names (`self_attn.*`, `multihead_attn.*`, `linear1.*`, ...).
/// Input `(tgt, memory)` or a [`DecoderInput`]; a target or memory whose feature size is not
/// `d_model` is an `Err` naming both.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{causal_mask, DecoderInput, Module, TransformerConfig, TransformerDecoderLayerDyn};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerDecoderLayerDyn::<f32>::new(8, 2, 32, TransformerConfig::default(), &mut rng);
/// let (tgt, memory) = (Tensor::<Rank3<2, 4, 8>>::ones(), Tensor::<Rank3<2, 6, 8>>::ones());
/// let y = layer.forward(DecoderInput::new(tgt.clone(), memory).with_tgt_mask(causal_mask(4)));
/// assert_eq!(y.dims().as_slice(), &[2, 4, 8]);
/// let err = layer.try_forward((tgt, Tensor::<Rank3<2, 6, 5>>::ones())).unwrap_err();
/// assert!(err.to_string().contains("TransformerDecoderLayerDyn expects memory d_model 8, got 5"));
/// ```
#[derive(Clone, Debug)]
pub struct TransformerDecoderLayerDyn<E: Float = f32> {
    /// Self-attention over the target.
    pub self_attn: MultiheadAttentionDyn<E>,
    /// Cross-attention from the target to the memory.
    pub multihead_attn: MultiheadAttentionDyn<E>,
    /// The first feed-forward projection `d_model -> dim_feedforward`.
    pub linear1: LinearDyn<E>,
    /// The second feed-forward projection `dim_feedforward -> d_model`.
    pub linear2: LinearDyn<E>,
    /// The LayerNorm of the self-attention block.
    pub norm1: LayerNormDyn<E>,
    /// The LayerNorm of the cross-attention block.
    pub norm2: LayerNormDyn<E>,
    /// The LayerNorm of the feed-forward block.
    pub norm3: LayerNormDyn<E>,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// Pre-norm instead of post-norm.
    pub norm_first: bool,
    /// Dropout on the self-attention weights.
    pub self_attn_dropout: Dropout,
    /// Dropout on the cross-attention weights.
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

impl<E: Float> TransformerDecoderLayerDyn<E> {
    /// A layer with PyTorch's initialisation, drawn from `rng` in the same order as the static
    /// layer; an `Err` names the values when a size is 0, `nhead` does not divide `d_model`,
    /// or `config` is invalid.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerDecoderLayerDyn};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(TransformerDecoderLayerDyn::<f32>::try_new(6, 4, 16, TransformerConfig::default(), &mut rng).is_err());
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
                "TransformerDecoderLayerDyn",
                format!("dim_feedforward {dim_feedforward} must be at least 1"),
            ));
        }
        let self_attn = MultiheadAttentionDyn::try_new(d_model, nhead, rng)?;
        let multihead_attn = MultiheadAttentionDyn::try_new(d_model, nhead, rng)?;
        let linear1 = LinearDyn::new_dyn(d_model, dim_feedforward, true, rng);
        let linear2 = LinearDyn::new_dyn(dim_feedforward, d_model, true, rng);
        let norm = || {
            let mut n = LayerNormDyn::new_dyn(d_model);
            n.eps = config.layer_norm_eps;
            n
        };
        Ok(TransformerDecoderLayerDyn {
            self_attn,
            multihead_attn,
            linear1,
            linear2,
            norm1: norm(),
            norm2: norm(),
            norm3: norm(),
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

    /// [`try_new`](Self::try_new), panicking at the caller's line.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerDecoderLayerDyn};
    /// use rand::SeedableRng;
    /// let layer = TransformerDecoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.d_model(), 8);
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
    /// use shaped::nn::{TransformerConfig, TransformerDecoderLayerDyn};
    /// use rand::SeedableRng;
    /// let layer = TransformerDecoderLayerDyn::<f32>::new(12, 3, 24, TransformerConfig::default(), &mut rand::rngs::StdRng::seed_from_u64(0));
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
        for a in [&mut self.self_attn, &mut self.multihead_attn] {
            renew(&mut a.in_proj_weight);
            if let Some(b) = &mut a.in_proj_bias {
                renew(b);
            }
            renew(&mut a.out_proj.weight);
            if let Some(b) = &mut a.out_proj.bias {
                renew(b);
            }
        }
        for l in [&mut self.linear1, &mut self.linear2] {
            renew(&mut l.weight);
            if let Some(b) = &mut l.bias {
                renew(b);
            }
        }
        for n in [&mut self.norm1, &mut self.norm2, &mut self.norm3] {
            renew(&mut n.weight);
            renew(&mut n.bias);
        }
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

    /// `memory` with its feature size checked against `d_model`.
    fn check_memory<B2: Dim, S: Dim, XM: Dim, T>(
        &self,
        memory: &Tensor<(B2, S, XM), E, T>,
        what: &'static str,
    ) -> Result<()> {
        let d_model = self.d_model();
        let got = memory.shape.2.size();
        if got != d_model {
            return Err(Error::shape(
                what,
                format!(
                    "{what} expects memory d_model {d_model}, got {got} (memory shape {:?})",
                    memory.shape.dims().as_slice()
                ),
            ));
        }
        Ok(())
    }

    fn run<B, L, B2, S, XM, T>(
        &self,
        x: HiddenDyn<B, L, E, T>,
        memory: Tensor<(B2, S, XM), E, T>,
        masks: Masks<'_, E>,
        forced: bool,
    ) -> Result<HiddenDyn<B, L, E, T>>
    where
        B: Dim,
        L: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: Dim,
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
        let self_attention = |x: HiddenDyn<B, L, E, T>| -> Result<HiddenDyn<B, L, E, T>> {
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
        let cross_attention = |x: HiddenDyn<B, L, E, T>| -> Result<HiddenDyn<B, L, E, T>> {
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

    fn run_train<B, L, B2, S, XM, T>(
        &mut self,
        x: HiddenDyn<B, L, E, T>,
        memory: Tensor<(B2, S, XM), E, T>,
        masks: Masks<'_, E>,
    ) -> Result<HiddenDyn<B, L, E, T>>
    where
        B: Dim,
        L: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: Dim,
        T: Tape<E>,
    {
        self.run(x, memory, masks, true)
    }
}

const LAYER: &str = "TransformerDecoderLayerDyn";

type Target<B, L, X, E, T> = Tensor<(B, L, X), E, T>;
type Memory<B2, S, XM, E, T> = Tensor<(B2, S, XM), E, T>;

impl<E, B, L, X, B2, S, XM, T> Module<(Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>)>
    for TransformerDecoderLayerDyn<E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: Dim,
    B2: DimEq<B>,
    S: Dim,
    XM: Dim,
    T: Tape<E>,
{
    type Output = HiddenDyn<B, L, E, T>;
    fn try_forward(
        &self,
        (tgt, memory): (Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>),
    ) -> Result<Self::Output> {
        self.check_memory(&memory, LAYER)?;
        let x = features_dyn(tgt, self.d_model(), LAYER)?;
        self.run(x, memory, Masks::NONE, false)
    }
    fn try_forward_train(
        &mut self,
        (tgt, memory): (Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>),
    ) -> Result<Self::Output> {
        self.check_memory(&memory, LAYER)?;
        let x = features_dyn(tgt, self.d_model(), LAYER)?;
        self.run_train(x, memory, Masks::NONE)
    }
}

impl<E, B, L, X, B2, S, XM, T>
    Module<DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>>
    for TransformerDecoderLayerDyn<E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: Dim,
    B2: DimEq<B>,
    S: Dim,
    XM: Dim,
    T: Tape<E>,
{
    type Output = HiddenDyn<B, L, E, T>;
    fn try_forward(
        &self,
        input: DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>,
    ) -> Result<Self::Output> {
        let (tgt, memory, masks) = input.split();
        self.check_memory(&memory, LAYER)?;
        let x = features_dyn(tgt, self.d_model(), LAYER)?;
        self.run(x, memory, Masks::of(&masks), false)
    }
    fn try_forward_train(
        &mut self,
        input: DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>,
    ) -> Result<Self::Output> {
        let (tgt, memory, masks) = input.split();
        self.check_memory(&memory, LAYER)?;
        let x = features_dyn(tgt, self.d_model(), LAYER)?;
        self.run_train(x, memory, Masks::of(&masks))
    }
}

impl<E: Float> Params<E> for TransformerDecoderLayerDyn<E> {
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
}

/// PyTorch's `nn.TransformerDecoder(layer, num_layers, norm)` of
/// [`TransformerDecoderLayerDyn`]s: the run-time twin of
/// [`TransformerDecoder`](super::TransformerDecoder).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LayerNormDyn, Module, Params, TransformerConfig, TransformerDecoderDyn, TransformerDecoderLayerDyn};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerDecoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rng);
/// let decoder = TransformerDecoderDyn::new(layer, 2, &mut rng).with_norm(LayerNormDyn::new_dyn(8));
/// let y = decoder.forward((Tensor::<Rank3<2, 3, 8>>::ones(), Tensor::<Rank3<2, 5, 8>>::ones()));
/// assert_eq!(y.dims().as_slice(), &[2, 3, 8]);
/// assert_eq!(decoder.param_names()[0], "layers.0.self_attn.in_proj_weight");
/// ```
#[derive(Clone, Debug)]
pub struct TransformerDecoderDyn<E: Float = f32> {
    /// The layers, applied in order.
    pub layers: Vec<TransformerDecoderLayerDyn<E>>,
    /// The final LayerNorm, if any.
    pub norm: Option<LayerNormDyn<E>>,
}

impl<E: Float> TransformerDecoderDyn<E> {
    /// `num_layers` independent copies of `layer`, without a final norm.
    ///
    /// ```
    /// use shaped::nn::{TransformerConfig, TransformerDecoderDyn, TransformerDecoderLayerDyn};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let layer = TransformerDecoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rng);
    /// assert_eq!(TransformerDecoderDyn::new(layer, 3, &mut rng).layers.len(), 3);
    /// ```
    pub fn new<R: Rng + ?Sized>(
        layer: TransformerDecoderLayerDyn<E>,
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
        TransformerDecoderDyn { layers, norm: None }
    }

    /// Adds a final LayerNorm (PyTorch's `norm=`).
    ///
    /// ```
    /// use shaped::nn::{LayerNormDyn, TransformerDecoderDyn};
    /// let decoder = TransformerDecoderDyn::<f32> { layers: Vec::new(), norm: None }.with_norm(LayerNormDyn::new_dyn(4));
    /// assert!(decoder.norm.is_some());
    /// ```
    pub fn with_norm(mut self, norm: LayerNormDyn<E>) -> Self {
        self.norm = Some(norm);
        self
    }

    fn d_model(&self, fallback: usize) -> usize {
        match (self.layers.first(), &self.norm) {
            (Some(l), _) => l.d_model(),
            (None, Some(n)) => n.weight.shape.0,
            (None, None) => fallback,
        }
    }

    fn run<B, L, X, B2, S, XM, T>(
        &self,
        tgt: Target<B, L, X, E, T>,
        memory: Memory<B2, S, XM, E, T>,
        masks: Masks<'_, E>,
    ) -> Result<HiddenDyn<B, L, E, T>>
    where
        B: Dim,
        L: Dim,
        X: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: Dim,
        T: Tape<E>,
    {
        let d_model = self.d_model(tgt.shape.2.size());
        let mut x = features_dyn(tgt, d_model, STACK)?;
        for layer in &self.layers {
            layer.check_memory(&memory, STACK)?;
            x = layer.run(x, memory.clone(), masks, false)?;
        }
        self.final_norm(x)
    }

    fn run_train<B, L, X, B2, S, XM, T>(
        &mut self,
        tgt: Target<B, L, X, E, T>,
        memory: Memory<B2, S, XM, E, T>,
        masks: Masks<'_, E>,
    ) -> Result<HiddenDyn<B, L, E, T>>
    where
        B: Dim,
        L: Dim,
        X: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: Dim,
        T: Tape<E>,
    {
        let d_model = self.d_model(tgt.shape.2.size());
        let mut x = features_dyn(tgt, d_model, STACK)?;
        for layer in &mut self.layers {
            layer.check_memory(&memory, STACK)?;
            x = layer.run_train(x, memory.clone(), masks)?;
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

const STACK: &str = "TransformerDecoderDyn";

impl<E, B, L, X, B2, S, XM, T> Module<(Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>)>
    for TransformerDecoderDyn<E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: Dim,
    B2: DimEq<B>,
    S: Dim,
    XM: Dim,
    T: Tape<E>,
{
    type Output = HiddenDyn<B, L, E, T>;
    fn try_forward(
        &self,
        (tgt, memory): (Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>),
    ) -> Result<Self::Output> {
        self.run(tgt, memory, Masks::NONE)
    }
    fn try_forward_train(
        &mut self,
        (tgt, memory): (Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>),
    ) -> Result<Self::Output> {
        self.run_train(tgt, memory, Masks::NONE)
    }
}

impl<E, B, L, X, B2, S, XM, T>
    Module<DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>>
    for TransformerDecoderDyn<E>
where
    E: Float,
    B: Dim,
    L: Dim,
    X: Dim,
    B2: DimEq<B>,
    S: Dim,
    XM: Dim,
    T: Tape<E>,
{
    type Output = HiddenDyn<B, L, E, T>;
    fn try_forward(
        &self,
        input: DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>,
    ) -> Result<Self::Output> {
        let (tgt, memory, masks) = input.split();
        self.run(tgt, memory, Masks::of(&masks))
    }
    fn try_forward_train(
        &mut self,
        input: DecoderInput<Target<B, L, X, E, T>, Memory<B2, S, XM, E, T>, E>,
    ) -> Result<Self::Output> {
        let (tgt, memory, masks) = input.split();
        self.run_train(tgt, memory, Masks::of(&masks))
    }
}

impl<E: Float> Params<E> for TransformerDecoderDyn<E> {
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
            "TransformerDecoder".to_string(),
        );
        self.layers.describe(&format!("{prefix}layers."), f);
        if let Some(norm) = &self.norm {
            norm.describe(&format!("{prefix}norm."), f);
        }
    }
}
