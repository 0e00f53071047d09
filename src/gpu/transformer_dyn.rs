//! `nn.TransformerEncoderLayer` and `nn.TransformerEncoder` with run-time sizes on the GPU
//! ([`GpuTransformerEncoderLayerDyn`], [`GpuTransformerEncoderDyn`]): the static GPU layers'
//! wiring ([`residual`], [`feed_forward`]) over [`GpuMultiheadAttentionDyn`] and run-time
//! linear and LayerNorm layers, so every backward step is one of theirs.

use super::attention_dyn::GpuMultiheadAttentionDyn;
use super::nn::{GpuLinear, GpuParamMut, GpuParams};
use super::norm::GpuLayerNorm;
use super::recurrent::retype;
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use super::transformer::{feed_forward, residual};
use crate::autograd::Tape;
use crate::device::Wgpu;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{
    EncoderInput, Module, Params, TransformerActivation, TransformerEncoderDyn,
    TransformerEncoderLayerDyn,
};
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;

/// `(B, L, d_model)` with a run-time feature size.
pub(super) type HiddenDyn<B, L, T, E> = GpuTensor<(B, L, usize), T, E>;
type Mask<E> = Tensor<(usize, usize), E>;

/// `x` with its feature axis as the run-time `d_model`, or an `Err` naming the sizes and
/// `what` took it (the CPU layer's message).
pub(super) fn features_dyn<B: Dim, L: Dim, X: Dim, E: Float, T: Tape<E>>(
    x: GpuTensor<(B, L, X), T, E>,
    d_model: usize,
    what: &'static str,
) -> Result<HiddenDyn<B, L, T, E>> {
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
    Ok(retype(x, (b, l, d_model)))
}

/// Self- or cross-attention without the weights, as a transformer block calls it: `x`
/// `(B, L, D)`, `kv` `(B2, S, D)`, `dropout` on the weights.
pub(super) fn attention_block_dyn<B, L, B2, S, E, T>(
    attn: &GpuMultiheadAttentionDyn<E>,
    x: HiddenDyn<B, L, T, E>,
    kv: GpuTensor<(B2, S, usize), T, E>,
    (mask, key_padding_mask): (Option<&Mask<E>>, Option<&Mask<E>>),
    dropout: Option<&crate::nn::Dropout>,
) -> Result<HiddenDyn<B, L, T, E>>
where
    B: Dim,
    L: Dim,
    B2: Dim,
    S: Dim,
    E: Float,
    T: Tape<E>,
{
    let shape = x.shape;
    let q = retype(x, (shape.0.size(), shape.1.size(), shape.2));
    let kd = kv.shape.dims();
    let kv = retype(kv, (kd[0], kd[1], kd[2]));
    let (y, _) = attn.attend(q, kv.clone(), kv, mask, key_padding_mask, false, dropout)?;
    Ok(retype(y, shape))
}

/// [`TransformerEncoderLayerDyn`] (batch-first, pre- or post-norm, relu or gelu, sizes given
/// at run time) on the GPU, made by `layer.to_device(&gpu)`: the same parameters under
/// PyTorch's names (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.weight`, ...). As a
/// [`Module`] it maps `x` `(B, L, X)` with `X = d_model`, or an [`EncoderInput`] with `mask`
/// `(L, L)` and `src_key_padding_mask` `(B, L)` (CPU tensors, uploaded with the call), to
/// `(B, L, d_model)`. Every dropout acts in training mode ([`train`](Self::train) or
/// `forward_train`) with the CPU layer's generators: the same seed drops the same elements
/// on both devices.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, TransformerConfig, TransformerEncoderLayerDyn};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerEncoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rng);
/// let layer = layer.to_device(&gpu)?;
/// let x = Tensor::<(usize, usize, usize)>::ones_with_shape((2, 5, 8)).to_device(&gpu)?;
/// assert_eq!(layer.forward(x).to_cpu()?.dims().as_slice(), &[2, 5, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuTransformerEncoderLayerDyn<E: Float = f32> {
    /// Self-attention.
    pub self_attn: GpuMultiheadAttentionDyn<E>,
    /// `d_model -> dim_feedforward`.
    pub linear1: GpuLinear<usize, usize, E>,
    /// `dim_feedforward -> d_model`.
    pub linear2: GpuLinear<usize, usize, E>,
    /// Before (pre-norm) or after (post-norm) the attention block.
    pub norm1: GpuLayerNorm<usize, E>,
    /// Before (pre-norm) or after (post-norm) the feed-forward block.
    pub norm2: GpuLayerNorm<usize, E>,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// Pre-norm (`norm_first=True`) or post-norm.
    pub norm_first: bool,
    /// The CPU layer it came from: its dropouts (probabilities, generators, modes), so the
    /// GPU draws the CPU's masks; `to_cpu` puts the GPU parameters in.
    template: TransformerEncoderLayerDyn<E>,
}

impl<E: Float> ToDevice for TransformerEncoderLayerDyn<E> {
    type Output = GpuTransformerEncoderLayerDyn<E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuTransformerEncoderLayerDyn {
            self_attn: self.self_attn.to_device(gpu)?,
            linear1: self.linear1.to_device(gpu)?,
            linear2: self.linear2.to_device(gpu)?,
            norm1: self.norm1.to_device(gpu)?,
            norm2: self.norm2.to_device(gpu)?,
            activation: self.activation,
            norm_first: self.norm_first,
            template: self.clone(),
        })
    }
}

impl<E: Float> ToCpu for GpuTransformerEncoderLayerDyn<E> {
    type Output = TransformerEncoderLayerDyn<E>;
    fn to_cpu(&self) -> Result<Self::Output> {
        let mut out = self.template.clone();
        out.self_attn = self.self_attn.to_cpu()?;
        out.linear1 = self.linear1.to_cpu()?;
        out.linear2 = self.linear2.to_cpu()?;
        out.norm1 = self.norm1.to_cpu()?;
        out.norm2 = self.norm2.to_cpu()?;
        out.activation = self.activation;
        out.norm_first = self.norm_first;
        Ok(out)
    }
}

impl<E: Float> GpuParams<E> for GpuTransformerEncoderLayerDyn<E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        self.self_attn.visit_gpu(&format!("{prefix}self_attn."), f);
        self.linear1.visit_gpu(&format!("{prefix}linear1."), f);
        self.linear2.visit_gpu(&format!("{prefix}linear2."), f);
        self.norm1.visit_gpu(&format!("{prefix}norm1."), f);
        self.norm2.visit_gpu(&format!("{prefix}norm2."), f);
    }
    fn set_training(&mut self, training: bool) {
        Params::<E>::set_training(&mut self.template, training);
    }
    fn is_training(&self) -> bool {
        Params::<E>::is_training(&self.template)
    }
}

const LAYER: &str = "TransformerEncoderLayerDyn";

impl<E: Float> GpuTransformerEncoderLayerDyn<E> {
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

    pub(super) fn run<B: Dim, L: Dim, T: Tape<E>>(
        &self,
        x: HiddenDyn<B, L, T, E>,
        mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
    ) -> Result<HiddenDyn<B, L, T, E>> {
        let t = &self.template;
        let attn_drop = t.self_attn_dropout.active().then_some(&t.self_attn_dropout);
        let self_attention = |x: HiddenDyn<B, L, T, E>| -> Result<HiddenDyn<B, L, T, E>> {
            let y = attention_block_dyn(
                &self.self_attn,
                x.clone(),
                x,
                (mask, key_padding_mask),
                attn_drop,
            )?;
            t.dropout1.try_forward(y)
        };
        let ff = |x| {
            feed_forward(
                (&self.linear1, &self.linear2),
                self.activation,
                x,
                (&t.dropout, &t.dropout2),
            )
        };
        if self.norm_first {
            let x = residual(x.clone(), self_attention(self.norm1.try_forward(x)?)?)?;
            residual(x.clone(), ff(self.norm2.try_forward(x)?)?)
        } else {
            let x = self
                .norm1
                .try_forward(residual(x.clone(), self_attention(x)?)?)?;
            self.norm2.try_forward(residual(x.clone(), ff(x)?)?)
        }
    }
}

/// `Module` for `x` and for an [`EncoderInput`] on a type with `run_any(x, mask, pad)`.
macro_rules! encoder_modules_dyn {
    ($gpu:ident) => {
        impl<B: Dim, L: Dim, X: Dim, E: Float, T: Tape<E>> Module<GpuTensor<(B, L, X), T, E>>
            for $gpu<E>
        {
            type Output = HiddenDyn<B, L, T, E>;
            fn try_forward(&self, x: GpuTensor<(B, L, X), T, E>) -> Result<Self::Output> {
                self.run_any(x, None, None)
            }
        }

        impl<B: Dim, L: Dim, X: Dim, E: Float, T: Tape<E>>
            Module<EncoderInput<GpuTensor<(B, L, X), T, E>, E>> for $gpu<E>
        {
            type Output = HiddenDyn<B, L, T, E>;
            fn try_forward(
                &self,
                input: EncoderInput<GpuTensor<(B, L, X), T, E>, E>,
            ) -> Result<Self::Output> {
                let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
                self.run_any(input.src, mask, pad)
            }
        }
    };
}

impl<E: Float> GpuTransformerEncoderLayerDyn<E> {
    fn run_any<B: Dim, L: Dim, X: Dim, T: Tape<E>>(
        &self,
        x: GpuTensor<(B, L, X), T, E>,
        mask: Option<&Mask<E>>,
        pad: Option<&Mask<E>>,
    ) -> Result<HiddenDyn<B, L, T, E>> {
        self.run(features_dyn(x, self.d_model(), LAYER)?, mask, pad)
    }
}

encoder_modules_dyn!(GpuTransformerEncoderLayerDyn);

/// [`TransformerEncoderDyn`] on the GPU, made by `encoder.to_device(&gpu)`: the GPU layers
/// in order, each with the same masks, then the optional final LayerNorm; parameters under
/// `layers.{i}.` and `norm.` as on the CPU.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, TransformerConfig, TransformerEncoderDyn, TransformerEncoderLayerDyn};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
/// let layer = TransformerEncoderLayerDyn::<f32>::new(8, 2, 16, TransformerConfig::default(), &mut rng);
/// let encoder = TransformerEncoderDyn::new(layer, 2, &mut rng).to_device(&gpu)?;
/// let x = Tensor::<(usize, usize, usize)>::ones_with_shape((2, 5, 8)).to_device(&gpu)?;
/// assert_eq!(encoder.forward(x).to_cpu()?.dims().as_slice(), &[2, 5, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuTransformerEncoderDyn<E: Float = f32> {
    /// The layers, applied in order.
    pub layers: Vec<GpuTransformerEncoderLayerDyn<E>>,
    /// The final LayerNorm, if any.
    pub norm: Option<GpuLayerNorm<usize, E>>,
}

super::transformer_stack::stack_common!([] [] GpuTransformerEncoderDyn, TransformerEncoderDyn);

const STACK: &str = "TransformerEncoderDyn";

impl<E: Float> GpuTransformerEncoderDyn<E> {
    fn run_any<B: Dim, L: Dim, X: Dim, T: Tape<E>>(
        &self,
        x: GpuTensor<(B, L, X), T, E>,
        mask: Option<&Mask<E>>,
        pad: Option<&Mask<E>>,
    ) -> Result<HiddenDyn<B, L, T, E>> {
        // The CPU stack's width: its first layer's, else its norm's, else the input's.
        let d_model = match (self.layers.first(), &self.norm) {
            (Some(l), _) => l.d_model(),
            (None, Some(n)) => n.weight.shape.0,
            (None, None) => x.shape.2.size(),
        };
        let mut x = features_dyn(x, d_model, STACK)?;
        for layer in &self.layers {
            x = layer.run(x, mask, pad)?;
        }
        match &self.norm {
            Some(norm) => norm.try_forward(x),
            None => Ok(x),
        }
    }
}

encoder_modules_dyn!(GpuTransformerEncoderDyn);
