//! Multi-head attention on the GPU ([`GpuMultiheadAttention`]), composed from the GPU ops:
//! one projection op per input (a product with its block of `in_proj_weight`), the head split
//! as a permutation, the scores as one batched product over `batch * heads`, the masks added
//! with broadcasting, softmax, the values mixed by a second batched product and `out_proj`.
//! Every step's backward is the op's own, so no kernel is specific to attention.

use super::nn::{GpuLinear, GpuParamMut, GpuParams};
use super::ops::{GpuOps, binary_op};
use super::recurrent::retype;
use super::reduce::GpuAxisOps;
use super::shape_ops::{GpuShapeOps, permute_gpu};
use super::tensor::{
    GpuTensor, ToCpu, ToDevice, add_grad, gpu_tensor, split, take_grad, wants, with_tape,
};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::Wgpu;
use crate::device::kernels::{self, BinaryOp};
use crate::device::seq_kernels::{self, matmul_at, rows, transposed};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{AttentionOptions, Dropout, Module, MultiheadAttention};
use crate::shape::{Const, Dim, DimEq, Prod, Shape};
use crate::tensor::Tensor;

type Seq<T, E> = GpuTensor<(usize, usize, usize), T, E>;
/// An additive mask on the CPU, `(L, S)` or `(B, S)`.
type Mask<E> = Tensor<(usize, usize), E>;

/// `nn.MultiheadAttention(EMBED, HEADS, batch_first=True)` on the GPU, made by
/// `mha.to_device(&gpu)` from a [`MultiheadAttention`]: the same parameters (`in_proj_weight`
/// `(3E, E)` stacking `W_q; W_k; W_v`, `in_proj_bias`, `out_proj`). As a [`Module`] on `x`
/// `(B, L, E)` it is self-attention returning `y` and the weights averaged over heads;
/// [`try_forward_with`](Self::try_forward_with) takes query, key and value and PyTorch's
/// keyword arguments (`attn_mask`, `key_padding_mask`, `need_weights`). `E` is the CPU
/// layer's element type: `MultiheadAttention<EMBED, HEADS, f64>` runs in f64 (adapters with
/// `SHADER_F64`), its masks f64 CPU tensors.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{AttentionOptions, Module, MultiheadAttention};
/// use shaped::rand::SeedableRng;
/// let gpu = Wgpu::new()?;
/// let mha = MultiheadAttention::<8, 2>::new(&mut shaped::rand::rngs::StdRng::seed_from_u64(0));
/// let mha = mha.to_device(&gpu)?;
/// let x = Tensor::<Rank3<2, 5, 8>>::ones().to_device(&gpu)?;
/// let (y, w) = mha.forward(x.clone()); // self-attention
/// assert_eq!(w.to_cpu()?.dims().as_slice(), &[2, 5, 5]);
/// let mask = MultiheadAttention::<8, 2>::causal_mask(5);
/// let opts = AttentionOptions { attn_mask: Some(&mask), need_weights: false, ..Default::default() };
/// let (y, w) = mha.try_forward_with(x.clone(), x.clone(), x, opts)?;
/// assert!(w.is_none());
/// assert_eq!(y.to_cpu()?.dims().as_slice(), &[2, 5, 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuMultiheadAttention<const EMBED: usize, const HEADS: usize, E: Float = f32> {
    /// `[W_q; W_k; W_v]`, `(3 EMBED, EMBED)`.
    pub in_proj_weight: GpuTensor<(Prod<Const<3>, Const<EMBED>>, Const<EMBED>), NoTape, E>,
    /// `[b_q; b_k; b_v]`.
    pub in_proj_bias: Option<GpuTensor<(Prod<Const<3>, Const<EMBED>>,), NoTape, E>>,
    /// The output projection.
    pub out_proj: GpuLinear<Const<EMBED>, Const<EMBED>, E>,
}

impl<const EMBED: usize, const HEADS: usize, E: Float> ToDevice
    for MultiheadAttention<EMBED, HEADS, E>
{
    type Output = GpuMultiheadAttention<EMBED, HEADS, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuMultiheadAttention {
            in_proj_weight: self.in_proj_weight.to_device(gpu)?,
            in_proj_bias: self
                .in_proj_bias
                .as_ref()
                .map(|b| b.to_device(gpu))
                .transpose()?,
            out_proj: self.out_proj.to_device(gpu)?,
        })
    }
}

impl<const EMBED: usize, const HEADS: usize, E: Float> ToCpu
    for GpuMultiheadAttention<EMBED, HEADS, E>
{
    type Output = MultiheadAttention<EMBED, HEADS, E>;
    fn to_cpu(&self) -> Result<Self::Output> {
        Ok(MultiheadAttention {
            in_proj_weight: self.in_proj_weight.to_cpu()?,
            in_proj_bias: self.in_proj_bias.as_ref().map(|b| b.to_cpu()).transpose()?,
            out_proj: self.out_proj.to_cpu()?,
        })
    }
}

impl<const EMBED: usize, const HEADS: usize, E: Float> GpuParams<E>
    for GpuMultiheadAttention<EMBED, HEADS, E>
{
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

/// The result of [`GpuMultiheadAttention::try_forward_with`]: `y (B, L, E)` and, when asked
/// for, the weights averaged over heads `(B, L, S)`.
pub type GpuAttentionOutput<B, L, S, const EMBED: usize, T, E = f32> = (
    GpuTensor<(B, L, Const<EMBED>), T, E>,
    Option<GpuTensor<(B, L, S), T, E>>,
);

/// The input projections of an attention layer on the GPU, whatever its shape types: the
/// static and the run-time layers share every step below, so they differ only in types.
pub(super) struct InProj<'a, WS: Shape, BS: Shape, E: Float> {
    /// The layer's name, for errors.
    pub layer: &'static str,
    /// The embedding size `E`.
    pub embed: usize,
    /// The head count; it divides `embed` (the layers check it when made).
    pub heads: usize,
    /// `[W_q; W_k; W_v]`, `(3 embed, embed)`.
    pub weight: &'a GpuTensor<WS, NoTape, E>,
    /// `[b_q; b_k; b_v]`.
    pub bias: Option<&'a GpuTensor<BS, NoTape, E>>,
}

impl<WS: Shape, BS: Shape, E: Float> InProj<'_, WS, BS, E> {
    /// `x (B, N, E)` times block `part` of the input projection (and its bias): `(B, N, E)`.
    /// One op: its backward puts the weight's and the bias's gradients into their blocks.
    fn project<T: Tape<E>>(&self, x: Seq<T, E>, part: usize) -> Result<Seq<T, E>> {
        let e = self.embed;
        let (b, nn, _) = x.shape;
        let n = b * nn;
        let (x, mut tape) = split(x);
        let w = self.weight;
        tape = tape.merge(T::leaf(w.id));
        if let Some(bias) = self.bias {
            tape = tape.merge(T::leaf(bias.id));
        }
        let mut y = matmul_at(
            rows(&x.data, e),
            0,
            transposed(&w.data, e),
            part * e * e,
            1,
            n,
            e,
            e,
        )?;
        let bias_part = self
            .bias
            .map(|bias| seq_kernels::copy_range(&bias.data, part * e, e));
        if let Some(bp) = &bias_part {
            y = kernels::binary(BinaryOp::Add, &y, &[n, e], bp, &[e], &[n, e])?;
        }
        let out = gpu_tensor((b, nn, e), y, NoTape);
        let (w_id, b_id) = (w.id, self.bias.map(|b| b.id));
        let (tx, tw) = (wants(&tape, x.id), wants(&tape, w_id));
        let tb = b_id.is_some_and(|id| wants(&tape, id));
        if tx || tw || tb {
            let (x_id, out_id, xd, wd) = (x.id, out.id, x.data, w.data.clone());
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = take_grad(g, out_id) else {
                        return;
                    };
                    let dev = gy.device().clone();
                    if tx {
                        let dx = matmul_at(rows(&gy, e), 0, rows(&wd, e), part * e * e, 1, n, e, e)
                            .expect("sizes checked in forward");
                        add_grad(g, x_id, dx);
                    }
                    if tw {
                        let dwp = kernels::matmul(transposed(&gy, e), rows(&xd, e), 1, e, n, e)
                            .expect("sizes checked in forward");
                        let dw = seq_kernels::zeros(&dev, 3 * e * e);
                        seq_kernels::copy_into(&dwp, 0, &dw, part * e * e, e * e);
                        add_grad(g, w_id, dw);
                    }
                    if let (true, Some(b_id)) = (tb, b_id) {
                        let dbp = kernels::sum_to(&gy, &[n, e], &[e]).expect("rank 2");
                        let db = seq_kernels::zeros(&dev, 3 * e);
                        seq_kernels::copy_into(&dbp, 0, &db, part * e, e);
                        add_grad(g, b_id, db);
                    }
                }),
            );
        }
        Ok(with_tape(out, tape))
    }

    /// `(B, N, E)` to `(B * heads, N, E / heads)`.
    fn split_heads<T: Tape<E>>(&self, x: Seq<T, E>) -> Result<Seq<T, E>> {
        let (b, n, e) = x.shape;
        let heads = self.heads;
        let d = e / heads;
        let x = x.try_reshape_dyn((b, n, heads, d))?;
        let x = permute_gpu(x, (b, heads, n, d), &[0, 2, 1, 3]);
        x.try_reshape_dyn((b * heads, n, d))
    }

    /// The attention on run-time shapes: `out` (the output projection) applied to the heads'
    /// joined values `(B, L, E)` and, if asked, the weights averaged over heads `(B, L, S)`;
    /// `dropout` (`Some`: drop, whatever its mode) on the weights, with the mask the CPU
    /// layer would draw from the same generator.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn attend<T: Tape<E>, Y>(
        &self,
        out: impl FnOnce(Seq<T, E>) -> Result<Y>,
        q: Seq<T, E>,
        k: Seq<T, E>,
        v: Seq<T, E>,
        attn_mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
        need_weights: bool,
        dropout: Option<&Dropout>,
    ) -> Result<(Y, Option<Seq<T, E>>)> {
        let (layer, embed, heads) = (self.layer, self.embed, self.heads);
        let (qd, kd, vd) = (q.shape.dims(), k.shape.dims(), v.shape.dims());
        for (what, d) in [("query", &qd), ("key", &kd), ("value", &vd)] {
            if d[2] != embed {
                return Err(Error::shape(
                    layer,
                    format!(
                        "{layer} expects embed_dim {embed}, got {} ({what} of shape {:?})",
                        d[2],
                        d.as_slice()
                    ),
                ));
            }
        }
        let (b, l, s) = (qd[0], qd[1], kd[1]);
        if kd.as_slice() != vd.as_slice() || kd[0] != b {
            return Err(Error::shape(
                layer,
                format!(
                    "query {:?}, key {:?} and value {:?} do not fit (B, L, {embed}), (B, S, {embed})",
                    qd.as_slice(),
                    kd.as_slice(),
                    vd.as_slice()
                ),
            ));
        }
        for (what, m, want) in [
            ("attn_mask", attn_mask, [l, s]),
            ("key_padding_mask", key_padding_mask, [b, s]),
        ] {
            if let Some(m) = m
                && m.dims().as_slice() != want
            {
                return Err(Error::shape(
                    layer,
                    format!(
                        "{what} of shape {:?} does not fit {want:?}",
                        m.dims().as_slice()
                    ),
                ));
            }
        }
        let dev = q.data.device().clone();
        let head_dim = embed / heads;
        let q = self.split_heads(self.project(q, 0)?)? * (E::ONE / E::from_usize(head_dim).sqrt());
        let k = self.split_heads(self.project(k, 1)?)?;
        let v = self.split_heads(self.project(v, 2)?)?;
        let kt = permute_gpu(k, (b * heads, head_dim, s), &[0, 2, 1]);
        let scores: Seq<T, E> = q.try_matmul(kt)?;
        let mut scores = scores.try_reshape_dyn((b, heads, l, s))?;
        if let Some(m) = attn_mask {
            scores = scores + m.to_device(&dev)?;
        }
        if let Some(m) = key_padding_mask {
            // (B, S) -> (B, 1, 1, S): the same keys hidden for every head and query.
            let m = m.to_device(&dev)?.try_reshape_dyn((b, 1usize, 1usize, s))?;
            scores = scores + m;
        }
        let mut attn = scores.softmax::<3>();
        // The CPU draws the mask over (B, heads, L, S) in this order (`Dropout::drop_shared`);
        // p = 0 draws nothing there, so nothing here either.
        if let Some(mask) = dropout.and_then(|d| d.next_mask::<E>(attn.shape.numel())) {
            let mask = gpu_tensor(attn.shape, dev.upload(&mask), NoTape);
            let shape = attn.shape;
            attn = binary_op(attn, mask, shape, BinaryOp::Mul)?;
        }
        let weights = need_weights.then(|| attn.clone().mean_dim::<1>());
        let attn = attn.try_reshape_dyn((b * heads, l, s))?;
        let ctx: Seq<T, E> = attn.try_matmul(v)?;
        let ctx = ctx.try_reshape_dyn((b, heads, l, head_dim))?;
        let ctx = permute_gpu(ctx, (b, l, heads, head_dim), &[0, 2, 1, 3]);
        let ctx = ctx.try_reshape_dyn((b, l, embed))?;
        Ok((out(ctx)?, weights))
    }
}

impl<const EMBED: usize, const HEADS: usize, E: Float> GpuMultiheadAttention<EMBED, HEADS, E> {
    /// The attention on run-time shapes ([`InProj::attend`] with this layer's parameters).
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    pub(super) fn attend<T: Tape<E>>(
        &self,
        q: Seq<T, E>,
        k: Seq<T, E>,
        v: Seq<T, E>,
        attn_mask: Option<&Mask<E>>,
        key_padding_mask: Option<&Mask<E>>,
        need_weights: bool,
        dropout: Option<&Dropout>,
    ) -> Result<(
        GpuTensor<(usize, usize, Const<EMBED>), T, E>,
        Option<Seq<T, E>>,
    )> {
        const { assert!(HEADS > 0 && EMBED.is_multiple_of(HEADS)) };
        let proj = InProj {
            layer: "MultiheadAttention",
            embed: EMBED,
            heads: HEADS,
            weight: &self.in_proj_weight,
            bias: self.in_proj_bias.as_ref(),
        };
        let out = |ctx: Seq<T, E>| {
            let (b, l, _) = ctx.shape;
            self.out_proj
                .try_forward(ctx.try_reshape_dyn((b, l, Const::<EMBED>))?)
        };
        proj.attend(
            out,
            q,
            k,
            v,
            attn_mask,
            key_padding_mask,
            need_weights,
            dropout,
        )
    }

    /// The attention with PyTorch's keyword arguments: query `(B, L, E)`, key and value
    /// `(B, S, E)`, masks as CPU tensors (uploaded with the call, as PyTorch's masks are
    /// inputs): `attn_mask` `(L, S)` and `key_padding_mask` `(B, S)`, both additive (0 to
    /// keep, `-inf` to hide). Returns `y` and, if `options.need_weights`, the weights averaged
    /// over heads `(B, L, S)`. `options.dropout` drops attention weights (whatever the
    /// dropout's own mode, as on the CPU: pass it in training mode only) with the mask the
    /// CPU layer draws from the same generator, uploaded.
    #[allow(clippy::type_complexity)]
    pub fn try_forward_with<B, L, S, XQ, XK, XV, B2, B3, S3, T>(
        &self,
        query: GpuTensor<(B, L, XQ), T, E>,
        key: GpuTensor<(B2, S, XK), T, E>,
        value: GpuTensor<(B3, S3, XV), T, E>,
        options: AttentionOptions<'_, E>,
    ) -> Result<GpuAttentionOutput<B, L, S, EMBED, T, E>>
    where
        B: Dim,
        L: Dim,
        S: Dim,
        XQ: DimEq<Const<EMBED>>,
        XK: DimEq<Const<EMBED>>,
        XV: DimEq<Const<EMBED>>,
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
        Ok((retype(y, (b, l, Const)), w.map(|w| retype(w, (b, l, s)))))
    }
}

impl<const EMBED: usize, const HEADS: usize, B, L, X, E, T> Module<GpuTensor<(B, L, X), T, E>>
    for GpuMultiheadAttention<EMBED, HEADS, E>
where
    B: Dim,
    L: Dim,
    X: DimEq<Const<EMBED>>,
    E: Float,
    T: Tape<E>,
{
    /// `(y, attn_weights)`: `(B, L, E)` and the weights averaged over heads `(B, L, L)`.
    type Output = (
        GpuTensor<(B, L, Const<EMBED>), T, E>,
        GpuTensor<(B, L, L), T, E>,
    );
    fn try_forward(&self, x: GpuTensor<(B, L, X), T, E>) -> Result<Self::Output> {
        let (b, l) = (x.shape.0, x.shape.1);
        let d = x.shape.dims();
        let x = retype(x, (d[0], d[1], d[2]));
        let (y, w) = self.attend(x.clone(), x.clone(), x, None, None, true, None)?;
        let w = w.expect("asked for the weights");
        Ok((retype(y, (b, l, Const)), retype(w, (b, l, l))))
    }
}
