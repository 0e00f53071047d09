//! `nn.TransformerDecoderLayer` on the GPU ([`GpuTransformerDecoderLayer`]): the CPU layer's
//! wiring (self-attention, cross-attention over the memory, feed-forward; pre- or post-norm)
//! over the GPU attention, linear, LayerNorm and dropout layers, so every backward step is
//! one of theirs.

use super::attention::GpuMultiheadAttention;
use super::nn::{GpuLinear, GpuParamMut, GpuParams};
use super::norm::GpuLayerNorm;
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use super::transformer::{
    AttentionMasks, Hidden, attention_block, features, feed_forward, residual,
};
use crate::autograd::Tape;
use crate::device::Wgpu;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::{DecoderInput, Module, Params, TransformerActivation, TransformerDecoderLayer};
use crate::shape::{Const, Dim, DimEq};
use crate::tensor::Tensor;

type Mask<E> = Tensor<(usize, usize), E>;

/// The four masks of a decoder call, as in PyTorch's `forward(tgt, memory, tgt_mask,
/// memory_mask, tgt_key_padding_mask, memory_key_padding_mask)`.
pub(super) struct DecoderMasks<'a, E: Float> {
    pub(super) tgt: AttentionMasks<'a, E>,
    pub(super) memory: AttentionMasks<'a, E>,
}

// By hand: the derives would ask `E: Clone` / `E: Copy`.
impl<E: Float> Clone for DecoderMasks<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E: Float> Copy for DecoderMasks<'_, E> {}

impl<'a, E: Float> DecoderMasks<'a, E> {
    pub(super) fn of(masks: &'a [Option<Mask<E>>; 4]) -> Self {
        let [tgt, memory, tgt_padding, memory_padding] = masks.each_ref().map(Option::as_ref);
        DecoderMasks {
            tgt: AttentionMasks {
                attn: tgt,
                key_padding: tgt_padding,
            },
            memory: AttentionMasks {
                attn: memory,
                key_padding: memory_padding,
            },
        }
    }
}

/// A [`DecoderInput`]'s tensors and its masks in the order [`DecoderMasks::of`] reads.
pub(super) fn split_input<X, M, E: Float>(
    input: DecoderInput<X, M, E>,
) -> (X, M, [Option<Mask<E>>; 4]) {
    let masks = [
        input.tgt_mask,
        input.memory_mask,
        input.tgt_key_padding_mask,
        input.memory_key_padding_mask,
    ];
    (input.tgt, input.memory, masks)
}

/// [`TransformerDecoderLayer`] (batch-first, pre- or post-norm, relu or gelu) on the GPU,
/// made by `layer.to_device(&gpu)`: the same parameters under PyTorch's names
/// (`self_attn.in_proj_weight`, `multihead_attn.out_proj.weight`, `linear1.weight`,
/// `norm3.bias`, ...). As a [`Module`] it maps `(tgt, memory)` (`(B, L, D)` and
/// `(B, S, D)`), or a [`DecoderInput`] with `tgt_mask` `(L, L)`, `memory_mask` `(L, S)`,
/// `tgt_key_padding_mask` `(B, L)` and `memory_key_padding_mask` `(B, S)` (additive CPU
/// tensors, uploaded with the call), to `(B, L, D)`. Every dropout (on both attentions'
/// weights, after each block, inside the feed-forward block) acts in training mode
/// ([`train`](Self::train) or `forward_train`) with the CPU layer's generators, so the same
/// seed drops the same elements on both devices. `E` is the CPU layer's element type: an f64
/// layer runs in f64 (adapters with `SHADER_F64`, see [`Wgpu::supports_f64`]).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{DecoderInput, Module, TransformerConfig, TransformerDecoderLayer, causal_mask};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let layer = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut shaped::rand::rngs::StdRng::seed_from_u64(0));
/// let layer = layer.to_device(&gpu)?; // evaluation mode, as PyTorch after .eval()
/// let tgt = Tensor::<Rank3<2, 5, 8>>::ones().to_device(&gpu)?;
/// let memory = Tensor::<Rank3<2, 7, 8>>::ones().to_device(&gpu)?;
/// let y = layer.forward(DecoderInput::new(tgt, memory).with_tgt_mask(causal_mask(5)));
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 5, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuTransformerDecoderLayer<
    const D: usize,
    const H: usize,
    const F: usize,
    E: Float = f32,
> {
    /// Self-attention over the target.
    pub self_attn: GpuMultiheadAttention<D, H, E>,
    /// Cross-attention: target queries over the memory.
    pub multihead_attn: GpuMultiheadAttention<D, H, E>,
    /// `D -> F`.
    pub linear1: GpuLinear<Const<D>, Const<F>, E>,
    /// `F -> D`.
    pub linear2: GpuLinear<Const<F>, Const<D>, E>,
    /// Around the self-attention block.
    pub norm1: GpuLayerNorm<Const<D>, E>,
    /// Around the cross-attention block.
    pub norm2: GpuLayerNorm<Const<D>, E>,
    /// Around the feed-forward block.
    pub norm3: GpuLayerNorm<Const<D>, E>,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// Pre-norm (`norm_first=True`) or post-norm.
    pub norm_first: bool,
    /// The CPU layer it came from: its dropouts (probabilities, generators, modes); `to_cpu`
    /// puts the GPU parameters in.
    template: TransformerDecoderLayer<D, H, F, E>,
}

impl<const D: usize, const H: usize, const F: usize, E: Float> ToDevice
    for TransformerDecoderLayer<D, H, F, E>
{
    type Output = GpuTransformerDecoderLayer<D, H, F, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuTransformerDecoderLayer {
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

impl<const D: usize, const H: usize, const F: usize, E: Float> ToCpu
    for GpuTransformerDecoderLayer<D, H, F, E>
{
    type Output = TransformerDecoderLayer<D, H, F, E>;
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

impl<const D: usize, const H: usize, const F: usize, E: Float> GpuParams<E>
    for GpuTransformerDecoderLayer<D, H, F, E>
{
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
}

impl<const D: usize, const H: usize, const F: usize, E: Float>
    GpuTransformerDecoderLayer<D, H, F, E>
{
    /// Training mode: the dropouts drop (PyTorch's `layer.train()`).
    pub fn train(&mut self) {
        Params::<E>::set_training(&mut self.template, true);
    }
    /// Evaluation mode: the dropouts pass everything through (PyTorch's `layer.eval()`).
    pub fn eval(&mut self) {
        Params::<E>::set_training(&mut self.template, false);
    }

    pub(super) fn run<B, L, B2, S, XM, T>(
        &self,
        x: Hidden<B, L, D, T, E>,
        memory: GpuTensor<(B2, S, XM), T, E>,
        masks: DecoderMasks<'_, E>,
    ) -> Result<Hidden<B, L, D, T, E>>
    where
        B: Dim,
        L: Dim,
        B2: DimEq<B>,
        S: Dim,
        XM: DimEq<Const<D>>,
        T: Tape<E>,
    {
        let t = &self.template;
        let sa_drop = t.self_attn_dropout.active().then_some(&t.self_attn_dropout);
        let ca_drop = (t.multihead_attn_dropout.active()).then_some(&t.multihead_attn_dropout);
        let self_attention = |x: Hidden<B, L, D, T, E>| -> Result<Hidden<B, L, D, T, E>> {
            let y = attention_block(&self.self_attn, x.clone(), x, masks.tgt, sa_drop)?;
            t.dropout1.try_forward(y)
        };
        let cross_attention = |x: Hidden<B, L, D, T, E>| -> Result<Hidden<B, L, D, T, E>> {
            let y = attention_block(&self.multihead_attn, x, memory, masks.memory, ca_drop)?;
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
}

const LAYER: &str = "TransformerDecoderLayer";

type Target<B, L, X, T, E> = GpuTensor<(B, L, X), T, E>;
type Memory<B2, S, XM, T, E> = GpuTensor<(B2, S, XM), T, E>;

/// `Module` for `(tgt, memory)` and for a [`DecoderInput`] on a type whose `run` takes the
/// checked features, the memory and the masks; `$name` names the module in shape errors.
/// Uses the `Target`, `Memory` and `Hidden` aliases in scope where it is invoked.
macro_rules! decoder_modules {
    ($gpu:ident, $name:expr) => {
        impl<const D: usize, const H: usize, const F: usize, B, L, X, B2, S, XM, E, T>
            Module<(Target<B, L, X, T, E>, Memory<B2, S, XM, T, E>)> for $gpu<D, H, F, E>
        where
            B: Dim,
            L: Dim,
            X: DimEq<Const<D>>,
            B2: DimEq<B>,
            S: Dim,
            XM: DimEq<Const<D>>,
            E: Float,
            T: Tape<E>,
        {
            type Output = Hidden<B, L, D, T, E>;
            fn try_forward(
                &self,
                input: (Target<B, L, X, T, E>, Memory<B2, S, XM, T, E>),
            ) -> Result<Self::Output> {
                self.try_forward(DecoderInput::new(input.0, input.1))
            }
        }

        impl<const D: usize, const H: usize, const F: usize, B, L, X, B2, S, XM, E, T>
            Module<DecoderInput<Target<B, L, X, T, E>, Memory<B2, S, XM, T, E>, E>>
            for $gpu<D, H, F, E>
        where
            B: Dim,
            L: Dim,
            X: DimEq<Const<D>>,
            B2: DimEq<B>,
            S: Dim,
            XM: DimEq<Const<D>>,
            E: Float,
            T: Tape<E>,
        {
            type Output = Hidden<B, L, D, T, E>;
            fn try_forward(
                &self,
                input: DecoderInput<Target<B, L, X, T, E>, Memory<B2, S, XM, T, E>, E>,
            ) -> Result<Self::Output> {
                let (tgt, memory, masks) = split_input(input);
                self.run(features(tgt, $name)?, memory, DecoderMasks::of(&masks))
            }
        }
    };
}
pub(super) use decoder_modules;

decoder_modules!(GpuTransformerDecoderLayer, LAYER);
