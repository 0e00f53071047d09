//! A linear layer whose weight belongs to another layer: tied weights, as PyTorch's
//! `self.decoder.weight = self.encoder.weight`.

use super::init;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::ops::linear::linear_op;
use crate::shape::check::{AnyDim, DimCheck};
use crate::shape::{Const, Dim, DimEq, LastDim, Shape};
use crate::tensor::Tensor;
use rand::Rng;

/// `y = x W^T + b` where `W` is another layer's tensor, passed at each call: PyTorch's
/// `nn.Linear` after `self.decoder.weight = self.encoder.weight` (the word language model's
/// `--tied`).
///
/// The layer holds only its bias (`bias`, as `nn.Linear`'s); the weight stays where it lives
/// (an [`Embedding`](crate::nn::Embedding)'s `(V, H)` weight is the `(out, in)` weight of a
/// `TiedLinear<H, V>`), so there is one tensor: both uses add into one gradient, an optimizer
/// updates it once with one state, and the two uses can never drift apart. In a
/// `#[derive(Params)]` struct, `#[param(tied(weight = "encoder.weight"))]` on the field
/// gives the weight its second `state_dict` name (`decoder.weight`), under which safetensors
/// files store it too, so PyTorch's `load_state_dict(strict=True)` accepts them and files
/// PyTorch writes load back (see [`Params::visit_tied`]).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Embedding, Module, Params, TiedLinear, TracedIndices};
/// use shaped::optim::{Optimizer, Sgd};
/// use rand::SeedableRng;
///
/// #[derive(shaped::Params)]
/// struct Lm {
///     encoder: Embedding<10, 4>,
///     #[param(tied(weight = "encoder.weight"))]
///     decoder: TiedLinear<4, 10>,
/// }
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut lm = Lm { encoder: Embedding::new(&mut rng), decoder: TiedLinear::new(&mut rng) };
/// let tokens = Indices::<Rank1<3>>::from_vec(vec![1, 2, 3]).unwrap();
/// let h = lm.encoder.forward(TracedIndices(tokens));
/// let logits = lm.decoder.forward(&lm.encoder.weight, h); // (3, 10): the weight used twice
/// let grads = logits.square().sum().backward();
/// Sgd::new(0.1).step(&mut lm, &grads);
/// assert_eq!(lm.num_params(), 10 * 4 + 10);
/// assert_eq!(lm.state_dict_names(), ["encoder.weight", "decoder.bias", "decoder.weight"]);
/// ```
#[derive(Clone, Debug)]
pub struct TiedLinearLayer<I: Dim, O: Dim, E: Float = f32> {
    /// `(out_features,)`, or `None` for `bias=False`.
    pub bias: Option<Tensor<(O,), E>>,
    in_features: I,
    out_features: O,
}

/// A tied linear layer with sizes in the type: `TiedLinear<H, V>` uses a `(V, H)` weight.
pub type TiedLinear<const I: usize, const O: usize, E = f32> =
    TiedLinearLayer<Const<I>, Const<O>, E>;

/// A tied linear layer with sizes known at run time.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{EmbeddingDyn, TiedLinearDyn};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let encoder = EmbeddingDyn::<f32>::new_dyn(7, 3, &mut rng);
/// let decoder = TiedLinearDyn::<f32>::new_dyn(3, 7, true, &mut rng);
/// let y = decoder.try_forward(&encoder.weight, Tensor::<Rank2<2, 3>>::ones()).unwrap();
/// assert_eq!(y.dims().as_slice(), &[2, 7]);
/// assert!(decoder.try_forward(&encoder.weight, Tensor::<Rank2<2, 4>>::ones()).is_err());
/// ```
pub type TiedLinearDyn<E = f32> = TiedLinearLayer<usize, usize, E>;

impl<I: Dim, O: Dim, E: Float> TiedLinearLayer<I, O, E> {
    /// A layer with the given sizes; the bias (if any) is initialised as `nn.Linear`'s,
    /// uniform in `(-1/sqrt(in), 1/sqrt(in))`.
    pub fn with_dims<R: Rng + ?Sized>(
        in_features: I,
        out_features: O,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        let bound = init::linear_bound(in_features.size());
        TiedLinearLayer {
            bias: bias.then(|| init::uniform((out_features,), bound, rng)),
            in_features,
            out_features,
        }
    }
    /// Input size.
    pub fn in_features(&self) -> usize {
        self.in_features.size()
    }
    /// Output size.
    pub fn out_features(&self) -> usize {
        self.out_features.size()
    }

    /// `x W^T + b` with `weight` of shape `(out, in)`, traced like the layer's own parameters
    /// (so its gradient adds to the one from its other use). Errors when the weight or the
    /// input's last dimension do not have the layer's sizes.
    pub fn try_forward<S, WO, WI, T>(
        &self,
        weight: &Tensor<(WO, WI), E>,
        x: Tensor<S, E, T>,
    ) -> Result<Tensor<S::WithLast<O>, E, T>>
    where
        S: Shape + LastDim,
        S::Last: DimEq<I>,
        WO: DimEq<O>,
        WI: DimEq<I>,
        T: Tape<E>,
    {
        let () = DimCheck::<S::Last, I, AnyDim>::OK;
        let () = DimCheck::<WO, O, AnyDim>::OK;
        let () = DimCheck::<WI, I, AnyDim>::OK;
        let (wo, wi) = (weight.shape.0.size(), weight.shape.1.size());
        if (wo, wi) != (self.out_features(), self.in_features()) {
            return Err(Error::shape(
                "TiedLinear",
                format!(
                    "the tied weight has shape [{wo}, {wi}], the layer takes [{}, {}] (out, in)",
                    self.out_features(),
                    self.in_features()
                ),
            ));
        }
        if x.shape.last().size() != self.in_features() {
            return Err(Error::shape(
                "TiedLinear",
                format!(
                    "input of shape {:?} has {} features, the layer takes {}",
                    x.shape.dims().as_slice(),
                    x.shape.last().size(),
                    self.in_features()
                ),
            ));
        }
        let out = x.shape.with_last(self.out_features);
        let w = weight.traced_as::<T>();
        let b = self.bias.as_ref().map(|b| b.traced_as::<T>());
        Ok(linear_op(x, w, b, out))
    }

    /// [`try_forward`](Self::try_forward), panicking on a size mismatch.
    #[track_caller]
    pub fn forward<S, WO, WI, T>(
        &self,
        weight: &Tensor<(WO, WI), E>,
        x: Tensor<S, E, T>,
    ) -> Tensor<S::WithLast<O>, E, T>
    where
        S: Shape + LastDim,
        S::Last: DimEq<I>,
        WO: DimEq<O>,
        WI: DimEq<I>,
        T: Tape<E>,
    {
        self.try_forward(weight, x).or_panic()
    }
}

impl<const I: usize, const O: usize, E: Float> TiedLinearLayer<Const<I>, Const<O>, E> {
    /// A static-size layer with a bias, initialised as `nn.Linear`'s.
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, true, rng)
    }
    /// A static-size layer without bias (`bias=False`).
    pub fn new_no_bias() -> Self {
        TiedLinearLayer {
            bias: None,
            in_features: Const,
            out_features: Const,
        }
    }
}

impl<E: Float> TiedLinearLayer<usize, usize, E> {
    /// A run-time-size layer.
    pub fn new_dyn<R: Rng + ?Sized>(
        in_features: usize,
        out_features: usize,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        Self::with_dims(in_features, out_features, bias, rng)
    }
}

/// Only the bias: the weight is visited where it lives, and named here by the derive's
/// `#[param(tied(..))]`.
impl<I: Dim, O: Dim, E: Float> Params<E> for TiedLinearLayer<I, O, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        if let Some(b) = &self.bias {
            visit_tensor(b, &format!("{prefix}bias"), TensorKind::Parameter, f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        if let Some(b) = &mut self.bias {
            visit_tensor_mut(b, &format!("{prefix}bias"), TensorKind::Parameter, f);
        }
    }
}
