//! Multi-head attention (`nn.MultiheadAttention`, batch-first).

use super::dropout::Dropout;
use super::init;
use super::linear::Linear;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::attention::{Projected, attention_op};
use crate::ops::linear::linear_op;
use crate::shape::{Const, Dim, DimEq, Prod, Shape};
use crate::tensor::Tensor;
use rand::Rng;

pub(super) type Seq<E, T> = Tensor<(usize, usize, usize), E, T>;
type Heads<E, T> = Tensor<(usize, usize, usize, usize), E, T>;

/// Multi-head attention with `EMBED` features split over `HEADS` heads, PyTorch's
/// `nn.MultiheadAttention(EMBED, HEADS, batch_first=True)`. `HEADS` must divide `EMBED`; that
/// is checked when the code is built. As a [`Module`] it returns the output and the weights
/// averaged over heads; [`try_forward_with`](Self::try_forward_with) takes PyTorch's keyword
/// arguments (`key_padding_mask`, `need_weights = false`, dropout on the weights).
///
/// Parameters keep PyTorch's names and layout: `in_proj_weight` `(3E, E)` stacking
/// `W_q; W_k; W_v`, `in_proj_bias` `(3E)`, and `out_proj.weight` / `out_proj.bias`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, MultiheadAttention};
/// use rand::SeedableRng;
/// let mha = MultiheadAttention::<8, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = Tensor::<Rank3<2, 5, 8>>::ones();
/// let (y, weights) = mha.forward(x); // self-attention
/// assert_eq!(y.dims().as_slice(), &[2, 5, 8]);
/// assert_eq!(weights.dims().as_slice(), &[2, 5, 5]);
/// ```
#[derive(Clone, Debug)]
pub struct MultiheadAttention<const EMBED: usize, const HEADS: usize, E: Float = f32> {
    /// `[W_q; W_k; W_v]`, `(3 EMBED, EMBED)`.
    pub in_proj_weight: Tensor<(Prod<Const<3>, Const<EMBED>>, Const<EMBED>), E>,
    /// `[b_q; b_k; b_v]`.
    pub in_proj_bias: Option<Tensor<(Prod<Const<3>, Const<EMBED>>,), E>>,
    /// The output projection.
    pub out_proj: Linear<EMBED, EMBED, E>,
}

/// Inputs of an attention call: query `(B, L, E)`, key and value `(B, S, E)`, and an
/// optional additive float mask `(L, S)` (0 to keep, `-inf` to hide).
pub struct AttentionInput<Q, K, V, M> {
    /// Queries.
    pub query: Q,
    /// Keys.
    pub key: K,
    /// Values.
    pub value: V,
    /// Additive mask.
    pub attn_mask: Option<M>,
}

/// The keyword arguments of one attention call, as in PyTorch's
/// `forward(query, key, value, key_padding_mask=, need_weights=, attn_mask=)`, for
/// [`MultiheadAttention::try_forward_with`]. `Default` is PyTorch's: no masks, weights
/// returned, no dropout.
///
/// * `attn_mask`: additive float mask `(L, S)` (0 to keep, `-inf` to hide), the same for
///   every batch element and head.
/// * `key_padding_mask`: additive float mask `(B, S)` hiding keys per batch element (see
///   [`key_padding_mask`](crate::nn::key_padding_mask) to build one from booleans).
/// * `need_weights`: `false` skips the head-averaged weights (none are computed or returned).
/// * `dropout`: PyTorch's `dropout=` of the layer, applied to the attention weights whatever
///   the dropout's own train/eval flag; pass it in training mode only.
///
/// ```
/// use shaped::nn::AttentionOptions;
/// let opts = AttentionOptions::<f32> { need_weights: false, ..Default::default() };
/// assert!(opts.attn_mask.is_none() && opts.dropout.is_none());
/// ```
#[derive(Debug)]
pub struct AttentionOptions<'a, E: Float = f32> {
    /// Additive mask `(L, S)`.
    pub attn_mask: Option<&'a Tensor<(usize, usize), E>>,
    /// Additive mask `(B, S)`.
    pub key_padding_mask: Option<&'a Tensor<(usize, usize), E>>,
    /// Whether to compute and return the weights averaged over heads.
    pub need_weights: bool,
    /// Dropout on the attention weights (training mode).
    pub dropout: Option<&'a mut Dropout>,
}

impl<E: Float> Default for AttentionOptions<'_, E> {
    fn default() -> Self {
        AttentionOptions {
            attn_mask: None,
            key_padding_mask: None,
            need_weights: true,
            dropout: None,
        }
    }
}

/// The result of [`MultiheadAttention::try_forward_with`]: `y (B, L, E)` and, when asked
/// for, the weights averaged over heads `(B, L, S)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{AttentionOptions, AttentionOutput, MultiheadAttention};
/// use rand::SeedableRng;
/// let mha = MultiheadAttention::<4, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = Tensor::<Rank3<1, 2, 4>>::ones();
/// let out: AttentionOutput<Const<1>, Const<2>, Const<2>, 4, f32, NoTape> =
///     mha.forward_with(x.clone(), x.clone(), x, AttentionOptions::default());
/// assert!(out.1.is_some());
/// ```
pub type AttentionOutput<B, L, S, const EMBED: usize, E, T> = (
    Tensor<(B, L, Const<EMBED>), E, T>,
    Option<Tensor<(B, L, S), E, T>>,
);

impl<const EMBED: usize, const HEADS: usize, E: Float> MultiheadAttention<EMBED, HEADS, E> {
    const HEADS_DIVIDE_EMBED: () = if HEADS == 0 || !EMBED.is_multiple_of(HEADS) {
        crate::shape::const_msg::ConstMsg::new()
            .s("MultiheadAttention: ")
            .n(HEADS)
            .s(" heads do not divide the embedding size ")
            .n(EMBED)
            .fail()
    };

    /// A layer with PyTorch's initialisation: `in_proj_weight` xavier-uniform, biases 0,
    /// `out_proj.weight` like a Linear layer.
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let () = Self::HEADS_DIVIDE_EMBED;
        let mut out_proj = Linear::<EMBED, EMBED, E>::new(rng);
        if let Some(b) = &mut out_proj.bias {
            b.as_mut_slice().fill(E::ZERO);
        }
        MultiheadAttention {
            in_proj_weight: init::uniform(
                Default::default(),
                init::xavier_bound(EMBED, 3 * EMBED),
                rng,
            ),
            in_proj_bias: Some(Tensor::zeros()),
            out_proj,
        }
    }

    /// An additive causal mask `(L, L)`: `-inf` where the key comes after the query.
    ///
    /// ```
    /// use shaped::nn::MultiheadAttention;
    /// let m = MultiheadAttention::<4, 2>::causal_mask(3);
    /// assert_eq!(m.to_vec()[1], f32::NEG_INFINITY);
    /// assert_eq!(m.to_vec()[3], 0.0);
    /// ```
    pub fn causal_mask(len: usize) -> Tensor<(usize, usize), E> {
        let data = (0..len * len)
            .map(|i| {
                if i % len > i / len {
                    E::NEG_INFINITY
                } else {
                    E::ZERO
                }
            })
            .collect();
        Tensor::from_vec_with_shape(data, (len, len)).expect("len * len elements")
    }

    /// The parameters as the shared computation takes them.
    fn core<T: Tape<E>>(&self) -> AttentionCore<E, T> {
        let () = Self::HEADS_DIVIDE_EMBED;
        AttentionCore {
            layer: "MultiheadAttention",
            embed: EMBED,
            heads: HEADS,
            in_w: retype(self.in_proj_weight.traced_as::<T>(), (3 * EMBED, EMBED)),
            in_b: self
                .in_proj_bias
                .as_ref()
                .map(|b| retype(b.traced_as::<T>(), (3 * EMBED,))),
            out_w: retype(self.out_proj.weight.traced_as::<T>(), (EMBED, EMBED)),
            out_b: self
                .out_proj
                .bias
                .as_ref()
                .map(|b| retype(b.traced_as::<T>(), (EMBED,))),
        }
    }

    /// The attention with PyTorch's keyword arguments (masks, `need_weights`, dropout on the
    /// weights): query `(B, L, E)`, key and value `(B, S, E)`. Returns `y (B, L, E)` and, if
    /// `options.need_weights`, the weights averaged over heads `(B, L, S)` (after dropout, as
    /// PyTorch returns them). An `Err` names the shapes that do not fit.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{AttentionOptions, Module, MultiheadAttention};
    /// use rand::SeedableRng;
    /// let mha = MultiheadAttention::<8, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let x = Tensor::<Rank3<2, 5, 8>>::ones();
    /// let mask = MultiheadAttention::<8, 2>::causal_mask(5);
    /// let opts = AttentionOptions { attn_mask: Some(&mask), need_weights: false, ..Default::default() };
    /// let (y, weights) = mha.try_forward_with(x.clone(), x.clone(), x, opts).unwrap();
    /// assert!(weights.is_none());
    /// assert_eq!(y.dims().as_slice(), &[2, 5, 8]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn try_forward_with<B, L, S, XQ, XK, XV, B2, B3, S3, T>(
        &self,
        query: Tensor<(B, L, XQ), E, T>,
        key: Tensor<(B2, S, XK), E, T>,
        value: Tensor<(B3, S3, XV), E, T>,
        options: AttentionOptions<'_, E>,
    ) -> Result<AttentionOutput<B, L, S, EMBED, E, T>>
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
        let dropout = options.dropout.map(|d| &*d);
        self.attend(
            query,
            key,
            value,
            options.attn_mask,
            options.key_padding_mask,
            options.need_weights,
            dropout,
        )
    }

    /// [`try_forward_with`](Self::try_forward_with) with the dropout given by reference
    /// (`Some`: drop, through the layer's mutex), as the transformer layers call it.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    pub(crate) fn attend<B, L, S, XQ, XK, XV, B2, B3, S3, T>(
        &self,
        query: Tensor<(B, L, XQ), E, T>,
        key: Tensor<(B2, S, XK), E, T>,
        value: Tensor<(B3, S3, XV), E, T>,
        attn_mask: Option<&Tensor<(usize, usize), E>>,
        key_padding_mask: Option<&Tensor<(usize, usize), E>>,
        need_weights: bool,
        dropout: Option<&Dropout>,
    ) -> Result<AttentionOutput<B, L, S, EMBED, E, T>>
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
        let (y, weights) = self.core().attend_with(
            query,
            key,
            value,
            attn_mask,
            key_padding_mask,
            need_weights,
            dropout,
        )?;
        Ok((
            typed(y, (b, l, Const)),
            weights.map(|w| typed(w, (b, l, s))),
        ))
    }

    /// [`try_forward_with`](Self::try_forward_with), panicking with the error's message.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{AttentionOptions, MultiheadAttention};
    /// use rand::SeedableRng;
    /// let mha = MultiheadAttention::<4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let (q, kv) = (Tensor::<Rank3<1, 2, 4>>::ones(), Tensor::<Rank3<1, 3, 4>>::ones());
    /// let (y, w) = mha.forward_with(q, kv.clone(), kv, AttentionOptions::default());
    /// assert_eq!(w.unwrap().dims().as_slice(), &[1, 2, 3]);
    /// assert_eq!(y.dims().as_slice(), &[1, 2, 4]);
    /// ```
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn forward_with<B, L, S, XQ, XK, XV, B2, B3, S3, T>(
        &self,
        query: Tensor<(B, L, XQ), E, T>,
        key: Tensor<(B2, S, XK), E, T>,
        value: Tensor<(B3, S3, XV), E, T>,
        options: AttentionOptions<'_, E>,
    ) -> AttentionOutput<B, L, S, EMBED, E, T>
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
        self.try_forward_with(query, key, value, options).or_panic()
    }
}

/// The computation shared by [`MultiheadAttention`] and
/// [`MultiheadAttentionDyn`](super::MultiheadAttentionDyn): their parameters with run-time
/// shapes (the same ids, so gradients land on the layer's tensors).
pub(super) struct AttentionCore<E: Float, T> {
    pub(super) layer: &'static str,
    pub(super) embed: usize,
    pub(super) heads: usize,
    pub(super) in_w: Tensor<(usize, usize), E, T>,
    pub(super) in_b: Option<Tensor<(usize,), E, T>>,
    pub(super) out_w: Tensor<(usize, usize), E, T>,
    pub(super) out_b: Option<Tensor<(usize,), E, T>>,
}

impl<E: Float, T: Tape<E>> AttentionCore<E, T> {
    /// Projects `x` `(B, N, E)` with rows `part*E..(part+1)*E` of the input projection and
    /// splits the heads: `(B, HEADS, N, E/HEADS)`.
    fn project<SX: Shape>(&self, x: Tensor<SX, E, T>, part: usize) -> Result<Heads<E, T>> {
        let (embed, heads) = (self.embed, self.heads);
        let p = self.project_flat(x, part)?;
        let (b, n, _) = p.shape;
        let split = p.try_reshape_dyn((b, n, heads, embed / heads))?;
        Ok(split.permute::<0, 2, 1, 3>())
    }

    /// Projects `x` `(B, N, E)` with rows `part*E..(part+1)*E` of the input projection:
    /// `(B, N, E)`, heads side by side.
    fn project_flat<SX: Shape>(&self, x: Tensor<SX, E, T>, part: usize) -> Result<Seq<E, T>> {
        let embed = self.embed;
        let d = x.shape.dims();
        let (b, n) = (d[0], d[1]);
        let w = self.in_w.clone().try_narrow_dyn::<0>(part * embed, embed)?;
        let bias = match &self.in_b {
            Some(bias) => Some(bias.clone().try_narrow_dyn::<0>(part * embed, embed)?),
            None => None,
        };
        Ok(linear_op(x, w, bias, (b, n, embed)))
    }

    /// Checks the shapes of the inputs and masks against each other and the layer:
    /// `(B, L, S)`, or an error naming the shapes that do not fit.
    fn check<SQ: Shape, SK: Shape, SV: Shape>(
        &self,
        q: &Tensor<SQ, E, T>,
        k: &Tensor<SK, E, T>,
        v: &Tensor<SV, E, T>,
        attn_mask: Option<&Tensor<(usize, usize), E>>,
        key_padding_mask: Option<&Tensor<(usize, usize), E>>,
    ) -> Result<(usize, usize, usize)> {
        let (layer, embed) = (self.layer, self.embed);
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
        if let Some(m) = attn_mask {
            let md = m.shape.dims();
            if md.as_slice() != [l, s] {
                return Err(Error::shape(
                    layer,
                    format!(
                        "attn_mask of shape {:?} does not fit (L, S) = ({l}, {s})",
                        md.as_slice()
                    ),
                ));
            }
        }
        if let Some(m) = key_padding_mask {
            let md = m.shape.dims();
            if md.as_slice() != [b, s] {
                return Err(Error::shape(
                    layer,
                    format!(
                        "key_padding_mask of shape {:?} does not fit (B, S) = ({b}, {s})",
                        md.as_slice()
                    ),
                ));
            }
        }
        Ok((b, l, s))
    }

    /// The attention without weights or dropout as one primitive ([`attention_op`]): the
    /// heads are read in place from the projections, one `(B, L, 3E)` projection for
    /// self-attention (the same tensor as query, key and value).
    fn fused<SQ: Shape, SK: Shape, SV: Shape>(
        &self,
        q: Tensor<SQ, E, T>,
        k: Tensor<SK, E, T>,
        v: Tensor<SV, E, T>,
        attn_mask: Option<&Tensor<(usize, usize), E>>,
        key_padding_mask: Option<&Tensor<(usize, usize), E>>,
    ) -> Result<Seq<E, T>> {
        let embed = self.embed;
        let (b, l, _) = self.check(&q, &k, &v, attn_mask, key_padding_mask)?;
        let projected = if q.id == k.id && k.id == v.id {
            let ((q, tq), (_, tk), (_, tv)) = (q.split_tape(), k.split_tape(), v.split_tape());
            let q = Tensor {
                shape: q.shape,
                data: q.data,
                id: q.id,
                tape: tq.merge(tk).merge(tv),
            };
            Projected::Packed(linear_op(
                q,
                self.in_w.clone(),
                self.in_b.clone(),
                (b, l, 3 * embed),
            ))
        } else {
            Projected::Apart(
                self.project_flat(q, 0)?,
                self.project_flat(k, 1)?,
                self.project_flat(v, 2)?,
            )
        };
        let scale = E::ONE / E::from_usize(embed / self.heads).sqrt();
        let ctx = attention_op(
            projected,
            self.heads,
            scale,
            attn_mask.map(|m| m.as_slice()),
            key_padding_mask.map(|m| m.as_slice()),
        );
        Ok(linear_op(
            ctx,
            self.out_w.clone(),
            self.out_b.clone(),
            (b, l, embed),
        ))
    }

    /// Checks the shapes, projects, and returns the attention probabilities
    /// `(B, HEADS, L, S)` (softmax of the scaled, masked scores) with the projected values.
    #[allow(clippy::type_complexity)]
    pub(super) fn scores<SQ: Shape, SK: Shape, SV: Shape>(
        &self,
        q: Tensor<SQ, E, T>,
        k: Tensor<SK, E, T>,
        v: Tensor<SV, E, T>,
        attn_mask: Option<Tensor<(usize, usize), E>>,
        key_padding_mask: Option<&Tensor<(usize, usize), E>>,
    ) -> Result<(Heads<E, T>, Heads<E, T>)> {
        let embed = self.embed;
        let (b, _, s) = self.check(&q, &k, &v, attn_mask.as_ref(), key_padding_mask)?;
        let head_dim = embed / self.heads;
        let q = self
            .project(q, 0)?
            .mul_scalar(E::ONE / E::from_usize(head_dim).sqrt());
        let k = self.project(k, 1)?;
        let v = self.project(v, 2)?;
        let mut scores: Heads<E, T> = q.try_matmul(k.permute::<0, 1, 3, 2>())?;
        if let Some(m) = attn_mask {
            scores = scores.try_add(m)?;
        }
        if let Some(m) = key_padding_mask {
            // (B, S) -> (B, 1, 1, S): the same keys hidden for every head and query.
            scores = scores.try_add(m.clone().try_reshape_dyn((b, 1usize, 1usize, s))?)?;
        }
        Ok((scores.softmax::<3>(), v))
    }

    /// Mixes the values with the probabilities and applies the output projection:
    /// `(B, L, E)`.
    pub(super) fn mix(&self, attn: Heads<E, T>, v: Heads<E, T>) -> Result<Seq<E, T>> {
        let (b, l) = (attn.shape.0, attn.shape.2);
        let ctx: Heads<E, T> = attn.try_matmul(v)?;
        let ctx = ctx
            .permute::<0, 2, 1, 3>()
            .try_reshape_dyn((b, l, self.embed))?;
        Ok(linear_op(
            ctx,
            self.out_w.clone(),
            self.out_b.clone(),
            (b, l, self.embed),
        ))
    }

    /// Self-attention, or cross-attention with an optional mask of any shape type: `y` and
    /// the weights averaged over heads, `(B, L, E)` and `(B, L, S)` as run-time shapes.
    pub(super) fn attend<SQ: Shape, SK: Shape, SV: Shape>(
        &self,
        q: Tensor<SQ, E, T>,
        k: Tensor<SK, E, T>,
        v: Tensor<SV, E, T>,
        attn_mask: Option<Tensor<(usize, usize), E>>,
    ) -> Result<(Seq<E, T>, Seq<E, T>)> {
        let (attn, v) = self.scores(q, k, v, attn_mask, None)?;
        let w = attn.clone().mean_dim::<1>();
        Ok((self.mix(attn, v)?, w))
    }

    /// The attention with PyTorch's keyword arguments: `y` and, if asked for, the weights
    /// averaged over heads; `dropout` (`Some`: drop) on the weights.
    #[allow(clippy::type_complexity, clippy::too_many_arguments)]
    pub(super) fn attend_with<SQ: Shape, SK: Shape, SV: Shape>(
        &self,
        q: Tensor<SQ, E, T>,
        k: Tensor<SK, E, T>,
        v: Tensor<SV, E, T>,
        attn_mask: Option<&Tensor<(usize, usize), E>>,
        key_padding_mask: Option<&Tensor<(usize, usize), E>>,
        need_weights: bool,
        dropout: Option<&Dropout>,
    ) -> Result<(Seq<E, T>, Option<Seq<E, T>>)> {
        // Dropout of probability 0 (a training-mode layer built with dropout 0) is the identity.
        let dropout = dropout.filter(|d| d.p() != 0.0);
        if !need_weights && dropout.is_none() {
            let y = self.fused(q, k, v, attn_mask, key_padding_mask)?;
            return Ok((y, None));
        }
        let (mut attn, v) = self.scores(q, k, v, attn_mask.cloned(), key_padding_mask)?;
        if let Some(dropout) = dropout {
            attn = dropout.drop_shared(attn);
        }
        let weights = need_weights.then(|| attn.clone().mean_dim::<1>());
        Ok((self.mix(attn, v)?, weights))
    }
}

/// A mask of any shape type as `(L, S)`, with an error naming its shape when it does not fit.
pub(super) fn mask_2d<M: Shape, E: Float>(
    m: Tensor<M, E>,
    l: usize,
    s: usize,
) -> Result<Tensor<(usize, usize), E>> {
    let md = m.shape.dims();
    if md.as_slice() != [l, s] {
        return Err(Error::shape(
            "MultiheadAttention",
            format!(
                "attn_mask of shape {:?} does not fit (L, S) = ({l}, {s})",
                md.as_slice()
            ),
        ));
    }
    m.try_realize()
}

/// `t` with another shape type of the same sizes; the id is kept, so gradients land on the
/// same buffer.
pub(super) fn retype<S: Shape, S2: Shape, E: Float, T>(
    t: Tensor<S, E, T>,
    shape: S2,
) -> Tensor<S2, E, T> {
    debug_assert_eq!(t.shape.dims().as_slice(), shape.dims().as_slice());
    Tensor {
        shape,
        data: t.data,
        id: t.id,
        tape: t.tape,
    }
}

pub(super) fn typed<S: Shape, E: Float, T>(t: Seq<E, T>, shape: S) -> Tensor<S, E, T> {
    // Same sizes and layout: the id is kept, so gradients land on the same buffer.
    Tensor {
        shape,
        data: t.data,
        id: t.id,
        tape: t.tape,
    }
}

impl<
    const EMBED: usize,
    const HEADS: usize,
    E: Float,
    B: Dim,
    L: Dim,
    X: DimEq<Const<EMBED>>,
    T: Tape<E>,
> Module<Tensor<(B, L, X), E, T>> for MultiheadAttention<EMBED, HEADS, E>
{
    /// `(y, attn_weights)`: `(B, L, E)` and the weights averaged over heads `(B, L, L)`.
    type Output = (Tensor<(B, L, Const<EMBED>), E, T>, Tensor<(B, L, L), E, T>);
    fn try_forward(&self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        let (b, l) = (x.shape.0, x.shape.1);
        let (y, w) = self.core().attend(x.clone(), x.clone(), x, None)?;
        Ok((typed(y, (b, l, Const)), typed(w, (b, l, l))))
    }
}

impl<const EMBED: usize, const HEADS: usize, E, B, L, S, XQ, XK, XV, B2, B3, S3, M, T>
    Module<
        AttentionInput<
            Tensor<(B, L, XQ), E, T>,
            Tensor<(B2, S, XK), E, T>,
            Tensor<(B3, S3, XV), E, T>,
            Tensor<M, E>,
        >,
    > for MultiheadAttention<EMBED, HEADS, E>
where
    E: Float,
    B: Dim,
    L: Dim,
    S: Dim,
    XQ: DimEq<Const<EMBED>>,
    XK: DimEq<Const<EMBED>>,
    XV: DimEq<Const<EMBED>>,
    B2: DimEq<B>,
    B3: DimEq<B>,
    S3: DimEq<S>,
    M: Shape,
    T: Tape<E>,
{
    /// `(y, attn_weights)`: `(B, L, E)` and `(B, L, S)`.
    type Output = (Tensor<(B, L, Const<EMBED>), E, T>, Tensor<(B, L, S), E, T>);
    #[allow(clippy::type_complexity)]
    fn try_forward(
        &self,
        input: AttentionInput<
            Tensor<(B, L, XQ), E, T>,
            Tensor<(B2, S, XK), E, T>,
            Tensor<(B3, S3, XV), E, T>,
            Tensor<M, E>,
        >,
    ) -> Result<Self::Output> {
        let (b, l, s) = (input.query.shape.0, input.query.shape.1, input.key.shape.1);
        let mask = match input.attn_mask {
            Some(m) => Some(mask_2d(m, l.size(), s.size())?),
            None => None,
        };
        let (y, w) = self
            .core()
            .attend(input.query, input.key, input.value, mask)?;
        Ok((typed(y, (b, l, Const)), typed(w, (b, l, s))))
    }
}

impl<const EMBED: usize, const HEADS: usize, E: Float> Params<E>
    for MultiheadAttention<EMBED, HEADS, E>
{
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_tensor(
            &self.in_proj_weight,
            &format!("{prefix}in_proj_weight"),
            TensorKind::Parameter,
            f,
        );
        if let Some(b) = &self.in_proj_bias {
            visit_tensor(
                b,
                &format!("{prefix}in_proj_bias"),
                TensorKind::Parameter,
                f,
            );
        }
        self.out_proj.visit(&format!("{prefix}out_proj."), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        visit_tensor_mut(
            &mut self.in_proj_weight,
            &format!("{prefix}in_proj_weight"),
            TensorKind::Parameter,
            f,
        );
        if let Some(b) = &mut self.in_proj_bias {
            visit_tensor_mut(
                b,
                &format!("{prefix}in_proj_bias"),
                TensorKind::Parameter,
                f,
            );
        }
        self.out_proj.visit_mut(&format!("{prefix}out_proj."), f);
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!("MultiheadAttention(embed_dim={EMBED}, num_heads={HEADS})"),
        )
    }
}
