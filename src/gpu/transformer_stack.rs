//! The stacks `nn.TransformerEncoder` and `nn.TransformerDecoder` on the GPU
//! ([`GpuTransformerEncoder`], [`GpuTransformerDecoder`]): the GPU layers in order, the same
//! masks and memory for each, then the optional final LayerNorm.

use super::nn::{GpuParamMut, GpuParams};
use super::norm::GpuLayerNorm;
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use super::transformer::{GpuTransformerEncoderLayer, Hidden, encoder_modules, features};
use super::transformer_decoder::{
    DecoderMasks, GpuTransformerDecoderLayer, decoder_modules, split_input,
};
use crate::autograd::Tape;
use crate::device::Wgpu;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::{DecoderInput, EncoderInput, Module, TransformerDecoder, TransformerEncoder};
use crate::shape::{Const, Dim, DimEq};
use crate::tensor::Tensor;

/// The final LayerNorm of a stack, if it has one.
fn final_norm<B: Dim, L: Dim, E: Float, T: Tape<E>, const D: usize>(
    norm: Option<&GpuLayerNorm<Const<D>, E>>,
    x: Hidden<B, L, D, T, E>,
) -> Result<Hidden<B, L, D, T, E>> {
    match norm {
        Some(norm) => norm.try_forward(x),
        None => Ok(x),
    }
}

/// What every GPU transformer stack has, whatever its layer: `to_device` from the CPU stack,
/// `to_cpu` back, its parameters under `layers.{i}.` and `norm.`, the mode of every layer,
/// `train()`, `eval()` and `num_layers()`. `[$($g)*]` are the stack's generic parameters
/// besides `E`, `[$($a)*]` their names.
macro_rules! stack_common {
    ([$($g:tt)*] [$($a:tt)*] $gpu:ident, $cpu:ident) => {
        impl<$($g)* E: Float> ToDevice for $cpu<$($a)* E> {
            type Output = $gpu<$($a)* E>;
            fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
                Ok($gpu {
                    layers: self
                        .layers
                        .iter()
                        .map(|l| l.to_device(gpu))
                        .collect::<Result<_>>()?,
                    norm: self.norm.as_ref().map(|n| n.to_device(gpu)).transpose()?,
                })
            }
        }

        impl<$($g)* E: Float> ToCpu for $gpu<$($a)* E> {
            type Output = $cpu<$($a)* E>;
            fn to_cpu(&self) -> Result<Self::Output> {
                Ok($cpu {
                    layers: self
                        .layers
                        .iter()
                        .map(ToCpu::to_cpu)
                        .collect::<Result<_>>()?,
                    norm: self.norm.as_ref().map(ToCpu::to_cpu).transpose()?,
                })
            }
        }

        impl<$($g)* E: Float> GpuParams<E> for $gpu<$($a)* E> {
            fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
                for (i, layer) in self.layers.iter_mut().enumerate() {
                    layer.visit_gpu(&format!("{prefix}layers.{i}."), f);
                }
                if let Some(norm) = &mut self.norm {
                    norm.visit_gpu(&format!("{prefix}norm."), f);
                }
            }
            fn set_training(&mut self, training: bool) {
                self.layers
                    .iter_mut()
                    .for_each(|l| GpuParams::<E>::set_training(l, training));
            }
            fn is_training(&self) -> bool {
                self.layers.iter().any(GpuParams::<E>::is_training)
            }
        }

        impl<$($g)* E: Float> $gpu<$($a)* E> {
            /// Training mode for every layer: the dropouts drop (PyTorch's `model.train()`).
            pub fn train(&mut self) {
                self.layers.iter_mut().for_each(|l| l.train());
            }
            /// Evaluation mode for every layer (PyTorch's `model.eval()`).
            pub fn eval(&mut self) {
                self.layers.iter_mut().for_each(|l| l.eval());
            }
            /// The number of layers.
            pub fn num_layers(&self) -> usize {
                self.layers.len()
            }
        }
    };
}
pub(super) use stack_common;

/// [`TransformerEncoder`] on the GPU, made by `encoder.to_device(&gpu)`: every layer a
/// [`GpuTransformerEncoderLayer`], then the optional final norm; parameters under PyTorch's
/// names (`layers.0.self_attn.in_proj_weight`, ..., `norm.weight`). As a [`Module`] it maps
/// `x` `(B, L, D)` or an [`EncoderInput`] (the same `mask` and `src_key_padding_mask` for
/// every layer) to `(B, L, D)`. An f64 stack (`TransformerEncoder<D, H, F, f64>`) runs in f64
/// (adapters with `SHADER_F64`).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, TransformerConfig, TransformerEncoder, TransformerEncoderLayer};
/// use shaped::rand::SeedableRng;
/// let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
/// let gpu = Wgpu::new()?;
/// let layer = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng);
/// let encoder = TransformerEncoder::new(layer, 2, &mut rng).to_device(&gpu)?;
/// let y = encoder.forward(Tensor::<Rank3<2, 5, 8>>::ones().to_device(&gpu)?);
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 5, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuTransformerEncoder<const D: usize, const H: usize, const F: usize, E: Float = f32> {
    /// The layers, in order.
    pub layers: Vec<GpuTransformerEncoderLayer<D, H, F, E>>,
    /// The final LayerNorm, if any.
    pub norm: Option<GpuLayerNorm<Const<D>, E>>,
}

stack_common!([const D: usize, const H: usize, const F: usize,] [D, H, F,] GpuTransformerEncoder, TransformerEncoder);

const ENCODER: &str = "TransformerEncoder";

impl<const D: usize, const H: usize, const F: usize, E: Float> GpuTransformerEncoder<D, H, F, E> {
    fn run<B: Dim, L: Dim, T: Tape<E>>(
        &self,
        mut x: Hidden<B, L, D, T, E>,
        mask: Option<&Tensor<(usize, usize), E>>,
        pad: Option<&Tensor<(usize, usize), E>>,
    ) -> Result<Hidden<B, L, D, T, E>> {
        for layer in &self.layers {
            x = layer.run(x, mask, pad)?;
        }
        final_norm(self.norm.as_ref(), x)
    }
}

encoder_modules!(GpuTransformerEncoder, ENCODER);

/// [`TransformerDecoder`] on the GPU, made by `decoder.to_device(&gpu)`: every layer a
/// [`GpuTransformerDecoderLayer`] over the same memory and masks, then the optional final
/// norm; parameters under PyTorch's names (`layers.1.multihead_attn.in_proj_weight`, ...,
/// `norm.bias`). As a [`Module`] it maps `(tgt, memory)` or a [`DecoderInput`] to `(B, L, D)`.
/// An f64 stack (`TransformerDecoder<D, H, F, f64>`) runs in f64 (adapters with `SHADER_F64`).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{LayerNorm, Module, TransformerConfig, TransformerDecoder, TransformerDecoderLayer};
/// use shaped::rand::SeedableRng;
/// let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
/// let gpu = Wgpu::new()?;
/// let layer = TransformerDecoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut rng);
/// let decoder = TransformerDecoder::new(layer, 2, &mut rng).with_norm(LayerNorm::new());
/// let decoder = decoder.to_device(&gpu)?;
/// let tgt = Tensor::<Rank3<2, 5, 8>>::ones().to_device(&gpu)?;
/// let memory = Tensor::<Rank3<2, 3, 8>>::ones().to_device(&gpu)?;
/// let y = decoder.forward((tgt, memory));
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 5, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuTransformerDecoder<const D: usize, const H: usize, const F: usize, E: Float = f32> {
    /// The layers, in order.
    pub layers: Vec<GpuTransformerDecoderLayer<D, H, F, E>>,
    /// The final LayerNorm, if any.
    pub norm: Option<GpuLayerNorm<Const<D>, E>>,
}

stack_common!([const D: usize, const H: usize, const F: usize,] [D, H, F,] GpuTransformerDecoder, TransformerDecoder);

const DECODER: &str = "TransformerDecoder";

type Target<B, L, X, T, E> = GpuTensor<(B, L, X), T, E>;
type Memory<B2, S, XM, T, E> = GpuTensor<(B2, S, XM), T, E>;

impl<const D: usize, const H: usize, const F: usize, E: Float> GpuTransformerDecoder<D, H, F, E> {
    fn run<B, L, B2, S, XM, T>(
        &self,
        mut x: Hidden<B, L, D, T, E>,
        memory: Memory<B2, S, XM, T, E>,
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
        for layer in &self.layers {
            x = layer.run(x, memory.clone(), masks)?;
        }
        final_norm(self.norm.as_ref(), x)
    }
}

decoder_modules!(GpuTransformerDecoder, DECODER);
