//! `nn.TransformerEncoderLayer` on the GPU ([`GpuTransformerEncoderLayer`]): the CPU layer's
//! wiring (pre- or post-norm, relu or gelu) over the GPU attention, linear, LayerNorm and
//! dropout layers, so every backward step is one of theirs.

use super::activations::GpuActivations;
use super::attention::GpuMultiheadAttention;
use super::nn::{GpuLinear, GpuParamMut, GpuParams};
use super::norm::GpuLayerNorm;
use super::ops::{GpuOps, binary_op};
use super::recurrent::retype;
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use crate::autograd::Tape;
use crate::device::Wgpu;
use crate::device::kernels::BinaryOp;
use crate::error::{Error, Result};
use crate::nn::{
    AttentionOptions, EncoderInput, Module, Params, TransformerActivation, TransformerEncoderLayer,
};
use crate::shape::{Const, Dim, DimEq, Shape};
use crate::tensor::Tensor;

type Hidden<B, L, const D: usize, T> = GpuTensor<(B, L, Const<D>), T>;

/// [`TransformerEncoderLayer`] (batch-first, pre- or post-norm, relu or gelu) on the GPU,
/// made by `layer.to_device(&gpu)`: the same parameters under PyTorch's names
/// (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.weight`, ...). As a [`Module`] it
/// maps `x` `(B, L, D)`, or an [`EncoderInput`] with `mask` `(L, L)` and
/// `src_key_padding_mask` `(B, L)` (CPU tensors, uploaded with the call), to `(B, L, D)`.
/// Dropout after the attention, inside and after the feed-forward block acts in training mode
/// ([`train`](Self::train) or `forward_train`) with the GPU Dropout; dropout on the attention
/// weights is not on the GPU yet, so a training-mode call with `dropout > 0` is an `Err`
/// (evaluation, or `dropout = 0`, runs).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{Module, TransformerConfig, TransformerEncoderLayer};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let config = TransformerConfig { norm_first: true, ..Default::default() };
/// let layer = TransformerEncoderLayer::<8, 2, 16>::new(config, &mut shaped::rand::rngs::StdRng::seed_from_u64(0));
/// let layer = layer.to_device(&gpu)?; // evaluation mode, as PyTorch after .eval()
/// let y = layer.forward(Tensor::<Rank3<2, 5, 8>>::ones().to_device(&gpu)?);
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 5, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuTransformerEncoderLayer<const D: usize, const H: usize, const F: usize> {
    /// Self-attention.
    pub self_attn: GpuMultiheadAttention<D, H>,
    /// `D -> F`.
    pub linear1: GpuLinear<Const<D>, Const<F>>,
    /// `F -> D`.
    pub linear2: GpuLinear<Const<F>, Const<D>>,
    /// Before (pre-norm) or after (post-norm) the attention block.
    pub norm1: GpuLayerNorm<Const<D>>,
    /// Before (pre-norm) or after (post-norm) the feed-forward block.
    pub norm2: GpuLayerNorm<Const<D>>,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// Pre-norm (`norm_first=True`) or post-norm.
    pub norm_first: bool,
    /// The CPU layer it came from: its dropouts (probabilities, generators, modes); `to_cpu`
    /// puts the GPU parameters in.
    template: TransformerEncoderLayer<D, H, F, f32>,
}

impl<const D: usize, const H: usize, const F: usize> ToDevice
    for TransformerEncoderLayer<D, H, F, f32>
{
    type Output = GpuTransformerEncoderLayer<D, H, F>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuTransformerEncoderLayer {
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

impl<const D: usize, const H: usize, const F: usize> ToCpu for GpuTransformerEncoderLayer<D, H, F> {
    type Output = TransformerEncoderLayer<D, H, F, f32>;
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

impl<const D: usize, const H: usize, const F: usize> GpuParams
    for GpuTransformerEncoderLayer<D, H, F>
{
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_>)) {
        self.self_attn.visit_gpu(&format!("{prefix}self_attn."), f);
        self.linear1.visit_gpu(&format!("{prefix}linear1."), f);
        self.linear2.visit_gpu(&format!("{prefix}linear2."), f);
        self.norm1.visit_gpu(&format!("{prefix}norm1."), f);
        self.norm2.visit_gpu(&format!("{prefix}norm2."), f);
    }
    fn set_training(&mut self, training: bool) {
        Params::<f32>::set_training(&mut self.template, training);
    }
    fn is_training(&self) -> bool {
        Params::<f32>::is_training(&self.template)
    }
}

impl<const D: usize, const H: usize, const F: usize> GpuTransformerEncoderLayer<D, H, F> {
    /// Training mode: the dropouts drop (PyTorch's `layer.train()`).
    pub fn train(&mut self) {
        Params::<f32>::set_training(&mut self.template, true);
    }
    /// Evaluation mode: the dropouts pass everything through (PyTorch's `layer.eval()`).
    pub fn eval(&mut self) {
        Params::<f32>::set_training(&mut self.template, false);
    }

    fn run<B: Dim, L: Dim, T: Tape<f32>>(
        &self,
        x: Hidden<B, L, D, T>,
        mask: Option<&Tensor<(usize, usize)>>,
        key_padding_mask: Option<&Tensor<(usize, usize)>>,
    ) -> Result<Hidden<B, L, D, T>> {
        let t = &self.template;
        let attn_drop = &t.self_attn_dropout;
        if attn_drop.active() && attn_drop.p() > 0.0 {
            return Err(Error::value(
                "TransformerEncoderLayer",
                format!(
                    "dropout {} on the attention weights is not on the GPU yet (evaluation mode, or dropout = 0, runs)",
                    attn_drop.p()
                ),
            ));
        }
        let residual = |a: Hidden<B, L, D, T>, b: Hidden<B, L, D, T>| {
            let shape = a.shape;
            binary_op(a, b, shape, BinaryOp::Add)
        };
        let self_attention = |x: Hidden<B, L, D, T>| -> Result<Hidden<B, L, D, T>> {
            let options = AttentionOptions {
                attn_mask: mask,
                key_padding_mask,
                need_weights: false,
                dropout: None,
            };
            let (y, _) = self
                .self_attn
                .try_forward_with(x.clone(), x.clone(), x, options)?;
            t.dropout1.try_forward(y)
        };
        let ff = |x: Hidden<B, L, D, T>| -> Result<Hidden<B, L, D, T>> {
            let h = self.linear1.try_forward(x)?;
            let h = match self.activation {
                TransformerActivation::Relu => h.relu(),
                TransformerActivation::Gelu => h.gelu(),
            };
            let h = self.linear2.try_forward(t.dropout.try_forward(h)?)?;
            t.dropout2.try_forward(h)
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

/// `x` with its feature axis as `Const<D>`, or an `Err` naming the sizes.
fn features<B: Dim, L: Dim, X: DimEq<Const<D>>, T, const D: usize>(
    x: GpuTensor<(B, L, X), T>,
) -> Result<Hidden<B, L, D, T>> {
    x.shape.2.dim_eq(Const::<D>).map_err(|_| {
        Error::shape(
            "TransformerEncoderLayer",
            format!(
                "input of shape {:?} does not have d_model = {D} features",
                x.shape.dims().as_slice()
            ),
        )
    })?;
    let shape = (x.shape.0, x.shape.1, Const::<D>);
    Ok(retype(x, shape))
}

impl<const D: usize, const H: usize, const F: usize, B, L, X, T> Module<GpuTensor<(B, L, X), T>>
    for GpuTransformerEncoderLayer<D, H, F>
where
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    T: Tape<f32>,
{
    type Output = Hidden<B, L, D, T>;
    fn try_forward(&self, x: GpuTensor<(B, L, X), T>) -> Result<Self::Output> {
        self.run(features(x)?, None, None)
    }
}

impl<const D: usize, const H: usize, const F: usize, B, L, X, T>
    Module<EncoderInput<GpuTensor<(B, L, X), T>, f32>> for GpuTransformerEncoderLayer<D, H, F>
where
    B: Dim,
    L: Dim,
    X: DimEq<Const<D>>,
    T: Tape<f32>,
{
    type Output = Hidden<B, L, D, T>;
    fn try_forward(
        &self,
        input: EncoderInput<GpuTensor<(B, L, X), T>, f32>,
    ) -> Result<Self::Output> {
        let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
        self.run(features(input.src)?, mask, pad)
    }
}
