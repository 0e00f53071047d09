//! `nn.TransformerDecoderLayer` and `nn.TransformerDecoder` with run-time sizes on the GPU
//! ([`GpuTransformerDecoderLayerDyn`], [`GpuTransformerDecoderDyn`]): the static GPU decoder's
//! wiring and masks ([`DecoderMasks`], [`split_input`]) over the run-time GPU layers.

use super::attention_dyn::GpuMultiheadAttentionDyn;
use super::nn::{GpuLinear, GpuParamMut, GpuParams};
use super::norm::GpuLayerNorm;
use super::recurrent::retype;
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use super::transformer::{feed_forward, residual};
use super::transformer_decoder::{DecoderMasks, split_input};
use super::transformer_dyn::{HiddenDyn, attention_block_dyn, features_dyn};
use crate::autograd::Tape;
use crate::device::Wgpu;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{
    DecoderInput, Module, Params, TransformerActivation, TransformerDecoderDyn,
    TransformerDecoderLayerDyn,
};
use crate::shape::{Dim, DimEq, Shape};

type Target<B, L, X, T, E> = GpuTensor<(B, L, X), T, E>;
type Memory<B2, S, XM, T, E> = GpuTensor<(B2, S, XM), T, E>;

/// `memory` with its feature axis as the run-time `d_model`, or the CPU layer's `Err`.
fn memory_dyn<B2: Dim, S: Dim, XM: Dim, E: Float, T: Tape<E>>(
    memory: Memory<B2, S, XM, T, E>,
    d_model: usize,
    what: &'static str,
) -> Result<GpuTensor<(B2, S, usize), T, E>> {
    let (b, s, got) = memory.shape;
    if got.size() != d_model {
        return Err(Error::shape(
            what,
            format!(
                "{what} expects memory d_model {d_model}, got {} (memory shape {:?})",
                got.size(),
                memory.shape.dims().as_slice()
            ),
        ));
    }
    Ok(retype(memory, (b, s, d_model)))
}

/// [`TransformerDecoderLayerDyn`] (batch-first, pre- or post-norm, relu or gelu, sizes given
/// at run time) on the GPU, made by `layer.to_device(&gpu)`: the same parameters under
/// PyTorch's names (`self_attn.`, `multihead_attn.`, `linear1.`, `norm1.` ... `norm3.`). As a
/// [`Module`] it maps `(tgt, memory)`, or a [`DecoderInput`] with its four masks (CPU
/// tensors, uploaded with the call), to `(B, L, d_model)`. Every dropout acts in training
/// mode ([`train`](Self::train) or `forward_train`) with the CPU layer's generators.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, TransformerConfig, TransformerDecoderLayerDyn};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerDecoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rng);
/// let layer = layer.to_device(&gpu)?;
/// let tgt = Tensor::<(usize, usize, usize)>::ones_with_shape((2, 4, 8)).to_device(&gpu)?;
/// let memory = Tensor::<(usize, usize, usize)>::ones_with_shape((2, 6, 8)).to_device(&gpu)?;
/// assert_eq!(layer.forward((tgt, memory)).to_cpu()?.dims().as_slice(), &[2, 4, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuTransformerDecoderLayerDyn<E: Float = f32> {
    /// Self-attention over the target.
    pub self_attn: GpuMultiheadAttentionDyn<E>,
    /// Cross-attention over the memory.
    pub multihead_attn: GpuMultiheadAttentionDyn<E>,
    /// `d_model -> dim_feedforward`.
    pub linear1: GpuLinear<usize, usize, E>,
    /// `dim_feedforward -> d_model`.
    pub linear2: GpuLinear<usize, usize, E>,
    /// Around the self-attention block.
    pub norm1: GpuLayerNorm<usize, E>,
    /// Around the cross-attention block.
    pub norm2: GpuLayerNorm<usize, E>,
    /// Around the feed-forward block.
    pub norm3: GpuLayerNorm<usize, E>,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// Pre-norm (`norm_first=True`) or post-norm.
    pub norm_first: bool,
    /// The CPU layer it came from: its dropouts (probabilities, generators, modes), so the
    /// GPU draws the CPU's masks; `to_cpu` puts the GPU parameters in.
    template: TransformerDecoderLayerDyn<E>,
}

impl<E: Float> ToDevice for TransformerDecoderLayerDyn<E> {
    type Output = GpuTransformerDecoderLayerDyn<E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuTransformerDecoderLayerDyn {
            self_attn: self.self_attn.to_device(gpu)?,
            multihead_attn: self.multihead_attn.to_device(gpu)?,
            linear1: self.linear1.to_device(gpu)?,
            linear2: self.linear2.to_device(gpu)?,
            norm1: self.norm1.to_device(gpu)?,
            norm2: self.norm2.to_device(gpu)?,
            norm3: self.norm3.to_device(gpu)?,
            activation: self.activation,
            norm_first: self.norm_first,
            template: self.clone(),
        })
    }
}

impl<E: Float> ToCpu for GpuTransformerDecoderLayerDyn<E> {
    type Output = TransformerDecoderLayerDyn<E>;
    fn to_cpu(&self) -> Result<Self::Output> {
        let mut out = self.template.clone();
        out.self_attn = self.self_attn.to_cpu()?;
        out.multihead_attn = self.multihead_attn.to_cpu()?;
        out.linear1 = self.linear1.to_cpu()?;
        out.linear2 = self.linear2.to_cpu()?;
        out.norm1 = self.norm1.to_cpu()?;
        out.norm2 = self.norm2.to_cpu()?;
        out.norm3 = self.norm3.to_cpu()?;
        out.activation = self.activation;
        out.norm_first = self.norm_first;
        Ok(out)
    }
}

impl<E: Float> GpuParams<E> for GpuTransformerDecoderLayerDyn<E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        self.self_attn.visit_gpu(&format!("{prefix}self_attn."), f);
        self.multihead_attn
            .visit_gpu(&format!("{prefix}multihead_attn."), f);
        self.linear1.visit_gpu(&format!("{prefix}linear1."), f);
        self.linear2.visit_gpu(&format!("{prefix}linear2."), f);
        self.norm1.visit_gpu(&format!("{prefix}norm1."), f);
        self.norm2.visit_gpu(&format!("{prefix}norm2."), f);
        self.norm3.visit_gpu(&format!("{prefix}norm3."), f);
    }
    fn set_training(&mut self, training: bool) {
        Params::<E>::set_training(&mut self.template, training);
    }
    fn is_training(&self) -> bool {
        Params::<E>::is_training(&self.template)
    }
}

const LAYER: &str = "TransformerDecoderLayerDyn";

impl<E: Float> GpuTransformerDecoderLayerDyn<E> {
    /// The model width.
    pub fn d_model(&self) -> usize {
        self.self_attn.embed_dim()
    }
    /// Training mode: the dropouts drop (PyTorch's `layer.train()`).
    pub fn train(&mut self) {
        Params::<E>::set_training(&mut self.template, true);
    }
    /// Evaluation mode: the dropouts pass everything through (PyTorch's `layer.eval()`).
    pub fn eval(&mut self) {
        Params::<E>::set_training(&mut self.template, false);
    }

    fn run<B: Dim, L: Dim, B2: Dim, S: Dim, T: Tape<E>>(
        &self,
        x: HiddenDyn<B, L, T, E>,
        memory: GpuTensor<(B2, S, usize), T, E>,
        masks: DecoderMasks<'_, E>,
    ) -> Result<HiddenDyn<B, L, T, E>> {
        let t = &self.template;
        let sa_drop = t.self_attn_dropout.active().then_some(&t.self_attn_dropout);
        let ca_drop = (t.multihead_attn_dropout.active()).then_some(&t.multihead_attn_dropout);
        let (tgt_masks, memory_masks) = (
            (masks.tgt.attn, masks.tgt.key_padding),
            (masks.memory.attn, masks.memory.key_padding),
        );
        let self_attention = |x: HiddenDyn<B, L, T, E>| -> Result<HiddenDyn<B, L, T, E>> {
            let y = attention_block_dyn(&self.self_attn, x.clone(), x, tgt_masks, sa_drop)?;
            t.dropout1.try_forward(y)
        };
        let cross_attention = |x: HiddenDyn<B, L, T, E>| -> Result<HiddenDyn<B, L, T, E>> {
            let y = attention_block_dyn(&self.multihead_attn, x, memory, memory_masks, ca_drop)?;
            t.dropout2.try_forward(y)
        };
        let ff = |x| {
            feed_forward(
                (&self.linear1, &self.linear2),
                self.activation,
                x,
                (&t.dropout, &t.dropout3),
            )
        };
        if self.norm_first {
            let x = residual(x.clone(), self_attention(self.norm1.try_forward(x)?)?)?;
            let x = residual(x.clone(), cross_attention(self.norm2.try_forward(x)?)?)?;
            residual(x.clone(), ff(self.norm3.try_forward(x)?)?)
        } else {
            let x = self
                .norm1
                .try_forward(residual(x.clone(), self_attention(x)?)?)?;
            let x = self
                .norm2
                .try_forward(residual(x.clone(), cross_attention(x)?)?)?;
            self.norm3.try_forward(residual(x.clone(), ff(x)?)?)
        }
    }

    fn run_any<B: Dim, L: Dim, X: Dim, B2: Dim, S: Dim, XM: Dim, T: Tape<E>>(
        &self,
        tgt: Target<B, L, X, T, E>,
        memory: Memory<B2, S, XM, T, E>,
        masks: DecoderMasks<'_, E>,
    ) -> Result<HiddenDyn<B, L, T, E>> {
        let d = self.d_model();
        let memory = memory_dyn(memory, d, LAYER)?;
        self.run(features_dyn(tgt, d, LAYER)?, memory, masks)
    }
}

/// `Module` for `(tgt, memory)` and for a [`DecoderInput`] on a type with
/// `run_any(tgt, memory, masks)`.
macro_rules! decoder_modules_dyn {
    ($gpu:ident) => {
        impl<B, L, X, B2, S, XM, E, T> Module<(Target<B, L, X, T, E>, Memory<B2, S, XM, T, E>)>
            for $gpu<E>
        where
            B: Dim,
            L: Dim,
            X: Dim,
            B2: DimEq<B>,
            S: Dim,
            XM: Dim,
            E: Float,
            T: Tape<E>,
        {
            type Output = HiddenDyn<B, L, T, E>;
            fn try_forward(
                &self,
                input: (Target<B, L, X, T, E>, Memory<B2, S, XM, T, E>),
            ) -> Result<Self::Output> {
                self.try_forward(DecoderInput::new(input.0, input.1))
            }
        }

        impl<B, L, X, B2, S, XM, E, T>
            Module<DecoderInput<Target<B, L, X, T, E>, Memory<B2, S, XM, T, E>, E>> for $gpu<E>
        where
            B: Dim,
            L: Dim,
            X: Dim,
            B2: DimEq<B>,
            S: Dim,
            XM: Dim,
            E: Float,
            T: Tape<E>,
        {
            type Output = HiddenDyn<B, L, T, E>;
            fn try_forward(
                &self,
                input: DecoderInput<Target<B, L, X, T, E>, Memory<B2, S, XM, T, E>, E>,
            ) -> Result<Self::Output> {
                let (tgt, memory, masks) = split_input(input);
                self.run_any(tgt, memory, DecoderMasks::of(&masks))
            }
        }
    };
}

decoder_modules_dyn!(GpuTransformerDecoderLayerDyn);

/// [`TransformerDecoderDyn`] on the GPU, made by `decoder.to_device(&gpu)`: the GPU layers in
/// order, each with the same memory and masks, then the optional final LayerNorm; parameters
/// under `layers.{i}.` and `norm.` as on the CPU.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, TransformerConfig, TransformerDecoderDyn, TransformerDecoderLayerDyn};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerDecoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rng);
/// let decoder = TransformerDecoderDyn::new(layer, 2, &mut rng).to_device(&gpu)?;
/// let tgt = Tensor::<(usize, usize, usize)>::ones_with_shape((2, 4, 8)).to_device(&gpu)?;
/// let memory = Tensor::<(usize, usize, usize)>::ones_with_shape((2, 6, 8)).to_device(&gpu)?;
/// assert_eq!(decoder.forward((tgt, memory)).to_cpu()?.dims().as_slice(), &[2, 4, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuTransformerDecoderDyn<E: Float = f32> {
    /// The layers, applied in order.
    pub layers: Vec<GpuTransformerDecoderLayerDyn<E>>,
    /// The final LayerNorm, if any.
    pub norm: Option<GpuLayerNorm<usize, E>>,
}

super::transformer_stack::stack_common!([] [] GpuTransformerDecoderDyn, TransformerDecoderDyn);

const STACK: &str = "TransformerDecoderDyn";

impl<E: Float> GpuTransformerDecoderDyn<E> {
    fn run_any<B: Dim, L: Dim, X: Dim, B2: Dim, S: Dim, XM: Dim, T: Tape<E>>(
        &self,
        tgt: Target<B, L, X, T, E>,
        memory: Memory<B2, S, XM, T, E>,
        masks: DecoderMasks<'_, E>,
    ) -> Result<HiddenDyn<B, L, T, E>> {
        // The CPU stack's width: its first layer's, else its norm's, else the target's.
        let d_model = match (self.layers.first(), &self.norm) {
            (Some(l), _) => l.d_model(),
            (None, Some(n)) => n.weight.shape.0,
            (None, None) => tgt.shape.2.size(),
        };
        let mut x = features_dyn(tgt, d_model, STACK)?;
        if !self.layers.is_empty() {
            let memory = memory_dyn(memory, d_model, STACK)?;
            for layer in &self.layers {
                x = layer.run(x, memory.clone(), masks)?;
            }
        }
        match &self.norm {
            Some(norm) => norm.try_forward(x),
            None => Ok(x),
        }
    }
}

decoder_modules_dyn!(GpuTransformerDecoderDyn);
