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
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{
    Dropout, EncoderInput, Module, Params, TransformerActivation, TransformerEncoderLayer,
};
use crate::shape::{Const, Dim, DimEq, Shape};
use crate::tensor::Tensor;

pub(super) type Hidden<B, L, const D: usize, T, E> = GpuTensor<(B, L, Const<D>), T, E>;

/// The masks of one attention call: additive `(L, S)` and `(B, S)`, CPU tensors.
#[derive(Clone, Copy)]
pub(super) struct AttentionMasks<'a, E: Float> {
    pub(super) attn: Option<&'a Tensor<(usize, usize), E>>,
    pub(super) key_padding: Option<&'a Tensor<(usize, usize), E>>,
}

// By hand: the derive would ask `E: Default`.
impl<E: Float> Default for AttentionMasks<'_, E> {
    fn default() -> Self {
        AttentionMasks {
            attn: None,
            key_padding: None,
        }
    }
}

/// `attn(x, kv, kv)` without the weights, as a transformer block calls it: `x` `(B, L, D)`,
/// `kv` `(B2, S, XM)` (self-attention passes `x` again), `dropout` on the weights.
pub(super) fn attention_block<const D: usize, const H: usize, B, L, B2, S, XM, E, T>(
    attn: &GpuMultiheadAttention<D, H, E>,
    x: Hidden<B, L, D, T, E>,
    kv: GpuTensor<(B2, S, XM), T, E>,
    masks: AttentionMasks<'_, E>,
    dropout: Option<&Dropout>,
) -> Result<Hidden<B, L, D, T, E>>
where
    B: Dim,
    L: Dim,
    B2: Dim,
    S: Dim,
    XM: Dim,
    E: Float,
    T: Tape<E>,
{
    let shape = x.shape;
    let q = retype(x, (shape.0.size(), shape.1.size(), D));
    let kd = kv.shape.dims();
    let kv = retype(kv, (kd[0], kd[1], kd[2]));
    let (y, _) = attn.attend(
        q,
        kv.clone(),
        kv,
        masks.attn,
        masks.key_padding,
        false,
        dropout,
    )?;
    Ok(retype(y, shape))
}

/// [`TransformerEncoderLayer`] (batch-first, pre- or post-norm, relu or gelu) on the GPU,
/// made by `layer.to_device(&gpu)`: the same parameters under PyTorch's names
/// (`self_attn.in_proj_weight`, `linear1.weight`, `norm1.weight`, ...). As a [`Module`] it
/// maps `x` `(B, L, D)`, or an [`EncoderInput`] with `mask` `(L, L)` and
/// `src_key_padding_mask` `(B, L)` (CPU tensors, uploaded with the call), to `(B, L, D)`.
/// Every dropout (on the attention weights, after the attention, inside and after the
/// feed-forward block) acts in training mode ([`train`](Self::train) or `forward_train`)
/// with the CPU layer's generators: the same seed drops the same elements on both devices.
/// `E` is the CPU layer's element type: an f64 layer runs in f64 (adapters with
/// `SHADER_F64`, see [`Wgpu::supports_f64`]) and takes f64 masks.
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
pub struct GpuTransformerEncoderLayer<
    const D: usize,
    const H: usize,
    const F: usize,
    E: Float = f32,
> {
    /// Self-attention.
    pub self_attn: GpuMultiheadAttention<D, H, E>,
    /// `D -> F`.
    pub linear1: GpuLinear<Const<D>, Const<F>, E>,
    /// `F -> D`.
    pub linear2: GpuLinear<Const<F>, Const<D>, E>,
    /// Before (pre-norm) or after (post-norm) the attention block.
    pub norm1: GpuLayerNorm<Const<D>, E>,
    /// Before (pre-norm) or after (post-norm) the feed-forward block.
    pub norm2: GpuLayerNorm<Const<D>, E>,
    /// The feed-forward activation.
    pub activation: TransformerActivation,
    /// Pre-norm (`norm_first=True`) or post-norm.
    pub norm_first: bool,
    /// The CPU layer it came from: its dropouts (probabilities, generators, modes); `to_cpu`
    /// puts the GPU parameters in.
    template: TransformerEncoderLayer<D, H, F, E>,
}

impl<const D: usize, const H: usize, const F: usize, E: Float> ToDevice
    for TransformerEncoderLayer<D, H, F, E>
{
    type Output = GpuTransformerEncoderLayer<D, H, F, E>;
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

impl<const D: usize, const H: usize, const F: usize, E: Float> ToCpu
    for GpuTransformerEncoderLayer<D, H, F, E>
{
    type Output = TransformerEncoderLayer<D, H, F, E>;
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

impl<const D: usize, const H: usize, const F: usize, E: Float> GpuParams<E>
    for GpuTransformerEncoderLayer<D, H, F, E>
{
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

impl<const D: usize, const H: usize, const F: usize, E: Float>
    GpuTransformerEncoderLayer<D, H, F, E>
{
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
        x: Hidden<B, L, D, T, E>,
        mask: Option<&Tensor<(usize, usize), E>>,
        key_padding_mask: Option<&Tensor<(usize, usize), E>>,
    ) -> Result<Hidden<B, L, D, T, E>> {
        let t = &self.template;
        let attn_drop = t.self_attn_dropout.active().then_some(&t.self_attn_dropout);
        let self_attention = |x: Hidden<B, L, D, T, E>| -> Result<Hidden<B, L, D, T, E>> {
            let y = attention_block(
                &self.self_attn,
                x.clone(),
                x,
                AttentionMasks {
                    attn: mask,
                    key_padding: key_padding_mask,
                },
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

const LAYER: &str = "TransformerEncoderLayer";

/// `x + y`, the residual connection.
pub(super) fn residual<S: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    y: GpuTensor<S, T, E>,
) -> Result<GpuTensor<S, T, E>> {
    let shape = x.shape;
    binary_op(x, y, shape, BinaryOp::Add)
}

/// `dropout2(linear2(dropout(activation(linear1(x)))))`, the feed-forward block; each
/// dropout drops only in training mode.
/// Generic over the feature dimensions: the run-time layers (`usize`) share it.
pub(super) fn feed_forward<B, L, E, T, M, F>(
    (linear1, linear2): (&GpuLinear<M, F, E>, &GpuLinear<F, M, E>),
    activation: TransformerActivation,
    x: GpuTensor<(B, L, M), T, E>,
    (inner, branch): (&Dropout, &Dropout),
) -> Result<GpuTensor<(B, L, M), T, E>>
where
    B: Dim,
    L: Dim,
    M: DimEq<M>,
    F: DimEq<F>,
    E: Float,
    T: Tape<E>,
{
    let h = linear1.try_forward(x)?;
    let h = match activation {
        TransformerActivation::Relu => h.relu(),
        TransformerActivation::Gelu => h.gelu(),
    };
    let h = linear2.try_forward(inner.try_forward(h)?)?;
    branch.try_forward(h)
}

/// `x` with its feature axis as `Const<D>`, or an `Err` naming the sizes and `what` took it.
pub(super) fn features<B: Dim, L: Dim, X: DimEq<Const<D>>, E: Float, T, const D: usize>(
    x: GpuTensor<(B, L, X), T, E>,
    what: &'static str,
) -> Result<Hidden<B, L, D, T, E>> {
    x.shape.2.dim_eq(Const::<D>).map_err(|_| {
        Error::shape(
            what,
            format!(
                "input of shape {:?} does not have d_model = {D} features",
                x.shape.dims().as_slice()
            ),
        )
    })?;
    let shape = (x.shape.0, x.shape.1, Const::<D>);
    Ok(retype(x, shape))
}

/// `Module` for `x` and for an [`EncoderInput`] on a type whose `run` takes the checked
/// features and the two masks; `$name` names the module in shape errors.
macro_rules! encoder_modules {
    ($gpu:ident, $name:expr) => {
        impl<const D: usize, const H: usize, const F: usize, B, L, X, E, T>
            Module<GpuTensor<(B, L, X), T, E>> for $gpu<D, H, F, E>
        where
            B: Dim,
            L: Dim,
            X: DimEq<Const<D>>,
            E: Float,
            T: Tape<E>,
        {
            type Output = Hidden<B, L, D, T, E>;
            fn try_forward(&self, x: GpuTensor<(B, L, X), T, E>) -> Result<Self::Output> {
                self.run(features(x, $name)?, None, None)
            }
        }

        impl<const D: usize, const H: usize, const F: usize, B, L, X, E, T>
            Module<EncoderInput<GpuTensor<(B, L, X), T, E>, E>> for $gpu<D, H, F, E>
        where
            B: Dim,
            L: Dim,
            X: DimEq<Const<D>>,
            E: Float,
            T: Tape<E>,
        {
            type Output = Hidden<B, L, D, T, E>;
            fn try_forward(
                &self,
                input: EncoderInput<GpuTensor<(B, L, X), T, E>, E>,
            ) -> Result<Self::Output> {
                let (mask, pad) = (input.mask.as_ref(), input.src_key_padding_mask.as_ref());
                self.run(features(input.src, $name)?, mask, pad)
            }
        }
    };
}
pub(super) use encoder_modules;

encoder_modules!(GpuTransformerEncoderLayer, LAYER);
