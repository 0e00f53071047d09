//! Multi-head attention with a run-time embedding size and head count.

use super::attention::{
    AttentionCore, AttentionInput, AttentionOptions, Seq, mask_2d, retype, typed,
};
use super::dropout::Dropout;
use super::init;
use super::linear::LinearDyn;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::shape::{Dim, DimEq, Shape};
use crate::tensor::Tensor;
use rand::Rng;

/// PyTorch's `nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)` with both sizes
/// given at run time (e.g. read from a configuration file): the run-time twin of
/// [`MultiheadAttention`](super::MultiheadAttention), sharing its computation, parameter
/// names, layouts and initialisation (`in_proj_weight` `(3E, E)`, `in_proj_bias` `(3E)`,
/// `out_proj.weight`, `out_proj.bias`), so the same state dict loads into either.
///
/// Inputs `(B, L, X)` of any static or run-time dimensions; an `X` other than `embed_dim` is
/// an `Err` from `try_forward` naming both. Outputs have a run-time (`usize`) feature size.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, MultiheadAttentionDyn};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mha = MultiheadAttentionDyn::<f32>::new(8, 2, &mut rng);
/// let (y, weights) = mha.forward(Tensor::<Rank3<2, 5, 8>>::ones()); // self-attention
/// assert_eq!((y.dims().as_slice(), weights.dims().as_slice()), (&[2, 5, 8][..], &[2, 5, 5][..]));
/// let err = mha.try_forward(Tensor::<Rank3<2, 5, 6>>::ones()).unwrap_err();
/// assert!(err.to_string().contains("MultiheadAttentionDyn expects embed_dim 8, got 6"));
/// assert!(MultiheadAttentionDyn::<f32>::try_new(8, 3, &mut rng).is_err()); // 3 does not divide 8
/// ```
#[derive(Clone, Debug)]
pub struct MultiheadAttentionDyn<E: Float = f32> {
    /// `[W_q; W_k; W_v]`, `(3 embed_dim, embed_dim)`.
    pub in_proj_weight: Tensor<(usize, usize), E>,
    /// `[b_q; b_k; b_v]`, `(3 embed_dim,)`.
    pub in_proj_bias: Option<Tensor<(usize,), E>>,
    /// The output projection.
    pub out_proj: LinearDyn<E>,
    // Crate-visible so the GPU twin can be moved back with its head count.
    pub(crate) heads: usize,
}

/// The result of [`MultiheadAttentionDyn::try_forward_with`]: `y (B, L, embed_dim)` and,
/// when asked for, the weights averaged over heads `(B, L, S)`.
pub type AttentionOutputDyn<B, L, S, E, T> =
    (Tensor<(B, L, usize), E, T>, Option<Tensor<(B, L, S), E, T>>);

impl<E: Float> MultiheadAttentionDyn<E> {
    /// A layer with PyTorch's initialisation (`in_proj_weight` xavier-uniform, biases 0,
    /// `out_proj.weight` like a Linear layer); an `Err` names the values when a size is 0 or
    /// `num_heads` does not divide `embed_dim`.
    ///
    /// ```
    /// use shaped::nn::{MultiheadAttentionDyn, Params};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let err = MultiheadAttentionDyn::<f32>::try_new(10, 4, &mut rng).unwrap_err();
    /// assert!(err.to_string().contains("num_heads 4 must divide embed_dim 10"));
    /// let mha = MultiheadAttentionDyn::<f32>::try_new(10, 5, &mut rng).unwrap();
    /// assert_eq!(mha.num_params(), 3 * 10 * 10 + 3 * 10 + 10 * 10 + 10);
    /// ```
    pub fn try_new<R: Rng + ?Sized>(
        embed_dim: usize,
        num_heads: usize,
        rng: &mut R,
    ) -> Result<Self> {
        if embed_dim == 0 || num_heads == 0 || !embed_dim.is_multiple_of(num_heads) {
            return Err(Error::value(
                "MultiheadAttentionDyn",
                format!(
                    "num_heads {num_heads} must divide embed_dim {embed_dim} (both at least 1)"
                ),
            ));
        }
        let three = embed_dim.checked_mul(3).ok_or_else(|| {
            Error::value(
                "MultiheadAttentionDyn",
                format!("embed_dim {embed_dim} is too large"),
            )
        })?;
        (three, embed_dim).try_numel("MultiheadAttentionDyn")?;
        // The same draws in the same order as the static layer: out_proj first, then
        // in_proj_weight.
        let mut out_proj = LinearDyn::new_dyn(embed_dim, embed_dim, true, rng);
        if let Some(b) = &mut out_proj.bias {
            b.as_mut_slice().fill(E::ZERO);
        }
        Ok(MultiheadAttentionDyn {
            in_proj_weight: init::uniform(
                (three, embed_dim),
                init::xavier_bound(embed_dim, three),
                rng,
            ),
            in_proj_bias: Some(Tensor::zeros_with_shape((three,))),
            out_proj,
            heads: num_heads,
        })
    }
    /// [`try_new`](Self::try_new), panicking at the caller's line.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mha = shaped::nn::MultiheadAttentionDyn::<f32>::new(8, 4, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!((mha.embed_dim(), mha.num_heads()), (8, 4));
    /// ```
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(embed_dim: usize, num_heads: usize, rng: &mut R) -> Self {
        Self::try_new(embed_dim, num_heads, rng).or_panic()
    }
    /// The embedding size.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mha = shaped::nn::MultiheadAttentionDyn::<f32>::new(12, 3, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!((mha.embed_dim(), mha.num_heads()), (12, 3));
    /// ```
    pub fn embed_dim(&self) -> usize {
        self.in_proj_weight.shape.1
    }
    /// The number of heads.
    ///
    /// ```
    /// use rand::SeedableRng;
    /// let mha = shaped::nn::MultiheadAttentionDyn::<f32>::new(12, 3, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!((mha.embed_dim(), mha.num_heads()), (12, 3));
    /// ```
    pub fn num_heads(&self) -> usize {
        self.heads
    }

    /// The parameters as the shared computation takes them, after checking that replaced
    /// tensors still have the sizes the layer needs.
    fn core<T: Tape<E>>(&self) -> Result<AttentionCore<E, T>> {
        let embed = self.embed_dim();
        let bad = |what: &str, got: &[usize], want: &[usize]| {
            Err(Error::shape(
                "MultiheadAttentionDyn",
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
        if let Some(b) = &self.out_proj.bias
            && b.shape.0 != embed
        {
            return bad("out_proj.bias", &[b.shape.0], &[embed]);
        }
        Ok(AttentionCore {
            layer: "MultiheadAttentionDyn",
            embed,
            heads: self.heads,
            in_w: self.in_proj_weight.traced_as::<T>(),
            in_b: self.in_proj_bias.as_ref().map(|b| b.traced_as::<T>()),
            out_w: self.out_proj.weight.traced_as::<T>(),
            out_b: self.out_proj.bias.as_ref().map(|b| b.traced_as::<T>()),
        })
    }

    /// The attention with PyTorch's keyword arguments (masks, `need_weights`, dropout on the
    /// weights), as [`MultiheadAttention::try_forward_with`](super::MultiheadAttention::try_forward_with):
    /// query `(B, L, E)`, key and value `(B, S, E)`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{AttentionOptions, MultiheadAttentionDyn, causal_mask};
    /// use rand::SeedableRng;
    /// let mha = MultiheadAttentionDyn::<f32>::new(8, 2, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// let x = Tensor::<(usize, usize, usize)>::ones_with_shape((2, 5, 8));
    /// let mask = causal_mask(5);
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
    ) -> Result<AttentionOutputDyn<B, L, S, E, T>>
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
    /// (`Some`: drop), as the transformer layers call it.
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
    ) -> Result<AttentionOutputDyn<B, L, S, E, T>>
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
        let embed = self.embed_dim();
        let (y, weights) = self.core()?.attend_with(
            query,
            key,
            value,
            attn_mask,
            key_padding_mask,
            need_weights,
            dropout,
        )?;
        Ok((
            typed(y, (b, l, embed)),
            weights.map(|w| typed(w, (b, l, s))),
        ))
    }

    /// [`try_forward_with`](Self::try_forward_with), panicking at the caller's line.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{AttentionOptions, MultiheadAttentionDyn};
    /// use rand::SeedableRng;
    /// let mha = MultiheadAttentionDyn::<f32>::new(4, 2, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// let (q, kv) = (Tensor::<Rank3<1, 2, 4>>::ones(), Tensor::<Rank3<1, 3, 4>>::ones());
    /// let (y, w) = mha.forward_with(q, kv.clone(), kv, AttentionOptions::default());
    /// assert_eq!((y.dims().as_slice(), w.unwrap().dims().as_slice()), (&[1, 2, 4][..], &[1, 2, 3][..]));
    /// ```
    #[allow(clippy::type_complexity)]
    #[track_caller]
    pub fn forward_with<B, L, S, XQ, XK, XV, B2, B3, S3, T>(
        &self,
        query: Tensor<(B, L, XQ), E, T>,
        key: Tensor<(B2, S, XK), E, T>,
        value: Tensor<(B3, S3, XV), E, T>,
        options: AttentionOptions<'_, E>,
    ) -> AttentionOutputDyn<B, L, S, E, T>
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
        self.try_forward_with(query, key, value, options).or_panic()
    }
}

impl<E: Float, B: Dim, L: Dim, X: Dim, T: Tape<E>> Module<Tensor<(B, L, X), E, T>>
    for MultiheadAttentionDyn<E>
{
    /// `(y, attn_weights)`: `(B, L, embed_dim)` and the weights averaged over heads `(B, L, L)`.
    type Output = (Tensor<(B, L, usize), E, T>, Tensor<(B, L, L), E, T>);
    fn try_forward(&self, x: Tensor<(B, L, X), E, T>) -> Result<Self::Output> {
        let (b, l) = (x.shape.0, x.shape.1);
        let (y, w) = self.core()?.attend(x.clone(), x.clone(), x, None)?;
        Ok((typed(y, (b, l, self.embed_dim())), typed(w, (b, l, l))))
    }
}

impl<E, B, L, S, XQ, XK, XV, B2, B3, S3, M, T>
    Module<
        AttentionInput<
            Tensor<(B, L, XQ), E, T>,
            Tensor<(B2, S, XK), E, T>,
            Tensor<(B3, S3, XV), E, T>,
            Tensor<M, E>,
        >,
    > for MultiheadAttentionDyn<E>
where
    E: Float,
    B: Dim,
    L: Dim,
    S: Dim,
    XQ: Dim,
    XK: Dim,
    XV: Dim,
    B2: DimEq<B>,
    B3: DimEq<B>,
    S3: DimEq<S>,
    M: Shape,
    T: Tape<E>,
{
    /// `(y, attn_weights)`: `(B, L, embed_dim)` and `(B, L, S)`.
    type Output = (Tensor<(B, L, usize), E, T>, Tensor<(B, L, S), E, T>);
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
        let (y, w): (Seq<E, T>, Seq<E, T>) =
            self.core()?
                .attend(input.query, input.key, input.value, mask)?;
        Ok((typed(y, (b, l, self.embed_dim())), retype(w, (b, l, s))))
    }
}

impl<E: Float> Params<E> for MultiheadAttentionDyn<E> {
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
            format!(
                "MultiheadAttention(embed_dim={}, num_heads={})",
                self.embed_dim(),
                self.heads
            ),
        )
    }
}
