//! Multi-head attention with run-time sizes on the GPU ([`GpuMultiheadAttentionDyn`]): the
//! static layer's computation ([`InProj::attend`]) with the sizes read from the parameters.

use super::attention::InProj;
use super::nn::{GpuLinear, GpuParamMut, GpuParams};
use super::recurrent::retype;
use super::tensor::{GpuTensor, ToCpu, ToDevice};
use crate::autograd::{NoTape, Tape};
use crate::device::Wgpu;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{AttentionOptions, Dropout, Module, MultiheadAttentionDyn};
use crate::shape::{Dim, DimEq, Shape};
use crate::tensor::Tensor;

type Seq<T, E> = GpuTensor<(usize, usize, usize), T, E>;
/// An additive mask on the CPU, `(L, S)` or `(B, S)`.
type Mask<E> = Tensor<(usize, usize), E>;

/// [`MultiheadAttentionDyn`] (`nn.MultiheadAttention(embed_dim, num_heads,
/// batch_first=True)` with run-time sizes) on the GPU, made by `mha.to_device(&gpu)`: the same
/// parameters under the same names (`in_proj_weight` `(3E, E)`, `in_proj_bias`,
/// `out_proj.weight`, `out_proj.bias`). As a [`Module`] on `x` `(B, L, X)` it is
/// self-attention returning `y` `(B, L, embed_dim)` and the weights averaged over heads;
/// [`try_forward_with`](Self::try_forward_with) takes query, key, value and PyTorch's keyword
/// arguments. An input whose feature size is not `embed_dim` is an `Err` naming both.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{AttentionOptions, Module, MultiheadAttentionDyn, causal_mask};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let mha = MultiheadAttentionDyn::<f32>::new(8, 2, &mut shaped::rand::rngs::StdRng::seed_from_u64(0));
/// let mha = mha.to_device(&gpu)?;
/// let x = Tensor::<(usize, usize, usize)>::ones_with_shape((2, 5, 8)).to_device(&gpu)?;
/// let (y, w) = mha.forward(x.clone()); // self-attention
/// assert_eq!(w.to_cpu()?.dims().as_slice(), &[2, 5, 5]);
/// let mask = causal_mask::<f32>(5);
/// let opts = AttentionOptions { attn_mask: Some(&mask), need_weights: false, ..Default::default() };
/// let (y, w) = mha.try_forward_with(x.clone(), x.clone(), x, opts)?;
/// assert!(w.is_none());
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 5, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuMultiheadAttentionDyn<E: Float = f32> {
    /// `[W_q; W_k; W_v]`, `(3 embed_dim, embed_dim)`.
    pub in_proj_weight: GpuTensor<(usize, usize), NoTape, E>,
    /// `[b_q; b_k; b_v]`, `(3 embed_dim,)`.
    pub in_proj_bias: Option<GpuTensor<(usize,), NoTape, E>>,
    /// The output projection.
    pub out_proj: GpuLinear<usize, usize, E>,
    heads: usize,
}

impl<E: Float> ToDevice for MultiheadAttentionDyn<E> {
    type Output = GpuMultiheadAttentionDyn<E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuMultiheadAttentionDyn {
            in_proj_weight: self.in_proj_weight.to_device(gpu)?,
            in_proj_bias: self
                .in_proj_bias
                .as_ref()
                .map(|b| b.to_device(gpu))
                .transpose()?,
            out_proj: self.out_proj.to_device(gpu)?,
            heads: self.num_heads(),
        })
    }
}

impl<E: Float> ToCpu for GpuMultiheadAttentionDyn<E> {
    type Output = MultiheadAttentionDyn<E>;
    fn to_cpu(&self) -> Result<Self::Output> {
        Ok(MultiheadAttentionDyn {
            in_proj_weight: self.in_proj_weight.to_cpu()?,
            in_proj_bias: self.in_proj_bias.as_ref().map(|b| b.to_cpu()).transpose()?,
            out_proj: self.out_proj.to_cpu()?,
            heads: self.heads,
        })
    }
}

impl<E: Float> GpuParams<E> for GpuMultiheadAttentionDyn<E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        f(GpuParamMut {
            name: &format!("{prefix}in_proj_weight"),
            id: self.in_proj_weight.id,
            data: &mut self.in_proj_weight.data,
        });
        if let Some(b) = &mut self.in_proj_bias {
            f(GpuParamMut {
                name: &format!("{prefix}in_proj_bias"),
                id: b.id,
                data: &mut b.data,
            });
        }
        self.out_proj.visit_gpu(&format!("{prefix}out_proj."), f);
    }
}

/// The result of [`GpuMultiheadAttentionDyn::try_forward_with`]: `y (B, L, embed_dim)` and,
/// when asked for, the weights averaged over heads `(B, L, S)`.
pub type GpuAttentionOutputDyn<B, L, S, T, E = f32> = (
    GpuTensor<(B, L, usize), T, E>,
    Option<GpuTensor<(B, L, S), T, E>>,
);

impl<E: Float> GpuMultiheadAttentionDyn<E> {
    /// The embedding size.
    pub fn embed_dim(&self) -> usize {
        self.in_proj_weight.shape.1
    }
    /// The number of heads.
    pub fn num_heads(&self) -> usize {
        self.heads
    }

    /// The attention on run-time shapes ([`InProj::attend`]), after checking that replaced
    /// parameters (the fields are public) still have the sizes `embed_dim` needs, as the CPU
    /// layer does: the kernels read blocks of them by those sizes.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn attend<T: Tape<E>>(
        &self,
        q: Seq<T, E>,
        k: Seq<T, E>,
        v: Seq<T, E>,
        attn_mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
        need_weights: bool,
        dropout: Option<&Dropout>,
    ) -> Result<(Seq<T, E>, Option<Seq<T, E>>)> {
        let layer = "MultiheadAttentionDyn";
        let embed = self.embed_dim();
        let bad = |what: &str, got: &[usize], want: &[usize]| {
            Err(Error::shape(
                layer,
                format!("{what} has shape {got:?}, embed_dim {embed} needs {want:?}"),
            ))
        };
        let wd = self.in_proj_weight.shape;
        if wd.0 != 3 * embed {
            return bad("in_proj_weight", &[wd.0, wd.1], &[3 * embed, embed]);
        }
        if let Some(b) = &self.in_proj_bias
            && b.shape.0 != 3 * embed
        {
            return bad("in_proj_bias", &[b.shape.0], &[3 * embed]);
        }
        let od = self.out_proj.weight.shape;
        if od != (embed, embed) {
            return bad("out_proj.weight", &[od.0, od.1], &[embed, embed]);
        }
        let proj = InProj {
            layer,
            embed,
            heads: self.heads,
            weight: &self.in_proj_weight,
            bias: self.in_proj_bias.as_ref(),
        };
        proj.attend(
            |ctx| self.out_proj.try_forward(ctx),
            q,
            k,
            v,
            attn_mask,
            key_padding_mask,
            need_weights,
            dropout,
        )
    }

    /// The attention with PyTorch's keyword arguments, as
    /// [`MultiheadAttentionDyn::try_forward_with`]: query `(B, L, E)`, key and value
    /// `(B, S, E)`, masks as CPU tensors (uploaded with the call): `attn_mask` `(L, S)` and
    /// `key_padding_mask` `(B, S)`, both additive. Returns `y` and, if
    /// `options.need_weights`, the weights averaged over heads `(B, L, S)`.
    /// `options.dropout` drops attention weights (whatever its mode, as on the CPU) with the
    /// mask the CPU layer draws from the same generator.
    #[allow(clippy::type_complexity)]
    pub fn try_forward_with<B, L, S, XQ, XK, XV, B2, B3, S3, T>(
        &self,
        query: GpuTensor<(B, L, XQ), T, E>,
        key: GpuTensor<(B2, S, XK), T, E>,
        value: GpuTensor<(B3, S3, XV), T, E>,
        options: AttentionOptions<'_, E>,
    ) -> Result<GpuAttentionOutputDyn<B, L, S, T, E>>
    where
        B: Dim,
        L: Dim,
        S: Dim,
        XQ: Dim,
        XK: Dim,
        XV: Dim,
        B2: DimEq<B>,
        B3: DimEq<B>,
        S3: DimEq<S>,
        T: Tape<E>,
    {
        let (b, l, s) = (query.shape.0, query.shape.1, key.shape.1);
        let three = |d: &[usize]| (d[0], d[1], d[2]);
        let (qs, ks, vs) = (
            three(&query.shape.dims()),
            three(&key.shape.dims()),
            three(&value.shape.dims()),
        );
        let (y, w) = self.attend(
            retype(query, qs),
            retype(key, ks),
            retype(value, vs),
            options.attn_mask,
            options.key_padding_mask,
            options.need_weights,
            options.dropout.map(|d| &*d),
        )?;
        let embed = self.embed_dim();
        Ok((retype(y, (b, l, embed)), w.map(|w| retype(w, (b, l, s)))))
    }
}

impl<B, L, X, E, T> Module<GpuTensor<(B, L, X), T, E>> for GpuMultiheadAttentionDyn<E>
where
    B: Dim,
    L: Dim,
    X: Dim,
    E: Float,
    T: Tape<E>,
{
    /// `(y, attn_weights)`: `(B, L, embed_dim)` and the weights averaged over heads `(B, L, L)`.
    type Output = (GpuTensor<(B, L, usize), T, E>, GpuTensor<(B, L, L), T, E>);
    fn try_forward(&self, x: GpuTensor<(B, L, X), T, E>) -> Result<Self::Output> {
        let (b, l) = (x.shape.0, x.shape.1);
        let d = x.shape.dims();
        let x = retype(x, (d[0], d[1], d[2]));
        let (y, w) = self.attend(x.clone(), x.clone(), x, None, None, true, None)?;
        let w = w.expect("asked for the weights");
        Ok((retype(y, (b, l, self.embed_dim())), retype(w, (b, l, l))))
    }
}
