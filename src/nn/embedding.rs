//! Embedding tables: integer indices in, rows of a learned matrix out.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::{NoTape, OwnedTape, Tape};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::lookup::gather_rows_op;
use crate::shape::{Const, Dim, Shape};
use crate::tensor::{Indices, Tensor};
use rand::Rng;

/// Shapes that take one more dimension at the end: an embedding of indices of shape `S`
/// has shape `(S.., D)`.
///
/// ```
/// use shaped::nn::AppendDim;
/// use shaped::shape::{Const, Rank2, Shape};
/// let s = <Rank2<2, 5>>::default().append(Const::<4>);
/// assert_eq!(s.dims().as_slice(), &[2, 5, 4]);
/// ```
#[diagnostic::on_unimplemented(
    message = "shape `{Self}` cannot take another dimension",
    note = "shapes have at most 6 dimensions, so indices for an embedding have at most 5"
)]
pub trait AppendDim: Shape {
    /// This shape with `D` added at the end.
    type Output<D: Dim>: Shape;
    /// This shape with `d` added at the end.
    fn append<D: Dim>(&self, d: D) -> Self::Output<D>;
}

macro_rules! append_dim {
    ($($A:ident $i:tt),*) => {
        impl<$($A: Dim),*> AppendDim for ($($A,)*) {
            type Output<New: Dim> = ($($A,)* New,);
            #[inline]
            fn append<New: Dim>(&self, d: New) -> Self::Output<New> {
                ($(self.$i,)* d,)
            }
        }
    };
}
append_dim!();
append_dim!(A 0);
append_dim!(A 0, B 1);
append_dim!(A 0, B 1, C 2);
append_dim!(A 0, B 1, C 2, D 3);
append_dim!(A 0, B 1, C 2, D 3, F 4);

/// Indices whose lookup should be traced: passing `TracedIndices(indices)` to an embedding
/// makes its output carry an [`OwnedTape`], so that gradients reach the table. Plain
/// [`Indices`] give an untraced output, for inference.
///
/// Indices are not differentiable themselves, so unlike a tensor they cannot carry a tape;
/// this wrapper is how an index input asks for one.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Embedding, Module, TracedIndices};
/// use rand::SeedableRng;
/// let emb = Embedding::<10, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let idx = Indices::<Rank1<2>>::from_array([4, 4]);
/// let grads = emb.forward(TracedIndices(idx)).sum().backward();
/// assert_eq!(grads.get(&emb.weight).unwrap().as_slice()[12..15], [2.0, 2.0, 2.0]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedIndices<S: Shape>(pub Indices<S>);

/// PyTorch's `nn.Embedding(V, D)`: index `i` becomes row `i` of `weight` (`(V, D)`),
/// generic over static (`Const<N>`) or run-time (`usize`) sizes. Use the aliases
/// [`Embedding`] and [`EmbeddingDyn`].
///
/// Indices of any shape `S` (rank 0 to 5) give an output of shape `(S.., D)`. An index
/// `>= V` is an `Err` from `try_forward` (a panic naming it from `forward`). The gradient
/// of a row is the sum of the output gradients of every position that looked it up.
/// `state_dict` name: `weight`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{EmbeddingLayer, Module};
/// // A table built from known rows, e.g. pretrained vectors.
/// let weight = Tensor::<Rank2<3, 2>>::from_array([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]]);
/// let emb = EmbeddingLayer { weight, padding_idx: None };
/// let y = emb.forward(Indices::<()>::from_vec(vec![2]).unwrap()); // a single index
/// assert_eq!(y.to_vec(), vec![3.0, 4.0]);
/// ```
#[derive(Clone, Debug)]
pub struct EmbeddingLayer<V: Dim, D: Dim, E: Float = f32> {
    /// The table, `(num_embeddings, embedding_dim)`, initially `N(0, 1)`.
    pub weight: Tensor<(V, D), E>,
    /// A row that receives no gradient (PyTorch's `padding_idx`); see
    /// [`with_padding_idx`](Self::with_padding_idx).
    pub padding_idx: Option<usize>,
}

/// An embedding table with sizes in the type: `Embedding<vocabulary, dimension>`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Embedding, Module};
/// use rand::SeedableRng;
/// let emb = Embedding::<100, 8>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let tokens = Indices::<Rank2<2, 5>>::from_array2([[1, 2, 3, 4, 5], [6, 7, 8, 9, 0]]);
/// let y: Tensor<Rank3<2, 5, 8>> = emb.forward(tokens);
/// assert_eq!(&y.as_slice()[..8], &emb.weight.as_slice()[8..16]); // row 1
/// ```
pub type Embedding<const V: usize, const D: usize, E = f32> = EmbeddingLayer<Const<V>, Const<D>, E>;
/// An embedding table with sizes known only at run time.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{EmbeddingDyn, Module};
/// use rand::SeedableRng;
/// let emb = EmbeddingDyn::<f32>::new_dyn(5, 2, &mut rand::rngs::StdRng::seed_from_u64(0));
/// assert!(emb.try_forward(Indices::<Rank1<2>>::from_array([0, 4])).is_ok());
/// assert!(emb.try_forward(Indices::<Rank1<2>>::from_array([0, 5])).is_err());
/// ```
pub type EmbeddingDyn<E = f32> = EmbeddingLayer<usize, usize, E>;

impl<V: Dim, D: Dim, E: Float> EmbeddingLayer<V, D, E> {
    /// A table of `num_embeddings` rows of size `embedding_dim`, drawn from `N(0, 1)` as
    /// PyTorch does.
    ///
    /// ```
    /// use shaped::nn::EmbeddingDyn;
    /// use rand::SeedableRng;
    /// let emb = EmbeddingDyn::<f32>::with_dims(4, 3, &mut rand::rngs::StdRng::seed_from_u64(1));
    /// assert_eq!(emb.weight.dims().as_slice(), &[4, 3]);
    /// ```
    pub fn with_dims<R: Rng + ?Sized>(num_embeddings: V, embedding_dim: D, rng: &mut R) -> Self {
        EmbeddingLayer {
            weight: Tensor::randn_with_shape((num_embeddings, embedding_dim), rng),
            padding_idx: None,
        }
    }

    /// Sets `padding_idx`: that row is filled with zeros, as PyTorch initialises it, and
    /// receives no gradient. Panics if `padding_idx >= num_embeddings`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Embedding, Module, TracedIndices};
    /// use rand::SeedableRng;
    /// let emb = Embedding::<4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).with_padding_idx(0);
    /// assert_eq!(&emb.weight.as_slice()[..2], &[0.0, 0.0]);
    /// let idx = Indices::<Rank1<3>>::from_array([0, 1, 0]);
    /// let grads = emb.forward(TracedIndices(idx)).sum().backward();
    /// assert_eq!(grads.get(&emb.weight).unwrap().to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
    /// ```
    #[track_caller]
    pub fn with_padding_idx(self, padding_idx: usize) -> Self {
        self.try_with_padding_idx(padding_idx).or_panic()
    }

    /// [`with_padding_idx`](Self::with_padding_idx), with an error naming the index and the
    /// table size when `padding_idx >= num_embeddings`.
    ///
    /// ```
    /// use shaped::nn::Embedding;
    /// use rand::SeedableRng;
    /// let emb = Embedding::<4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let err = emb.clone().try_with_padding_idx(4).unwrap_err();
    /// assert!(err.to_string().contains("padding_idx 4 is out of range for 4 embeddings"));
    /// assert_eq!(emb.try_with_padding_idx(3).unwrap().padding_idx, Some(3));
    /// ```
    pub fn try_with_padding_idx(mut self, padding_idx: usize) -> Result<Self> {
        let (v, d) = (self.num_embeddings(), self.embedding_dim());
        if padding_idx >= v {
            return Err(Error::value(
                "Embedding",
                format!("padding_idx {padding_idx} is out of range for {v} embeddings"),
            ));
        }
        self.weight.as_mut_slice()[padding_idx * d..(padding_idx + 1) * d].fill(E::ZERO);
        self.padding_idx = Some(padding_idx);
        Ok(self)
    }

    /// The number of rows (the vocabulary size).
    ///
    /// ```
    /// use shaped::nn::Embedding;
    /// use rand::SeedableRng;
    /// assert_eq!(Embedding::<7, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).num_embeddings(), 7);
    /// ```
    pub fn num_embeddings(&self) -> usize {
        self.weight.shape.0.size()
    }

    /// The size of each row.
    ///
    /// ```
    /// use shaped::nn::Embedding;
    /// use rand::SeedableRng;
    /// assert_eq!(Embedding::<7, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).embedding_dim(), 2);
    /// ```
    pub fn embedding_dim(&self) -> usize {
        self.weight.shape.1.size()
    }

    /// The rows for `indices`, on a tape of type `T`: [`OwnedTape`] to train the table,
    /// [`NoTape`] for inference. This is what `forward` calls; use it inside your own
    /// `Module` impl to match the tape of the model's other inputs. Panics on an index
    /// `>= num_embeddings` (see [`try_lookup`](Self::try_lookup)).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::Embedding;
    /// use rand::SeedableRng;
    /// let emb = Embedding::<3, 2, f64>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let y = emb.lookup::<_, OwnedTape<f64>>(&Indices::<Rank1<1>>::from_array([2]));
    /// let grads = y.sum().backward();
    /// assert_eq!(grads.get(&emb.weight).unwrap().to_vec(), vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn lookup<S: AppendDim, T: Tape<E>>(
        &self,
        indices: &Indices<S>,
    ) -> Tensor<S::Output<D>, E, T> {
        self.try_lookup(indices).or_panic()
    }

    /// [`lookup`](Self::lookup), with an error naming the first index that is out of range.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::Embedding;
    /// use rand::SeedableRng;
    /// let emb = Embedding::<3, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let err = emb.try_lookup::<_, NoTape>(&Indices::<Rank1<2>>::from_array([1, 3])).unwrap_err();
    /// assert!(err.to_string().contains("index 3 at position 1"));
    /// ```
    pub fn try_lookup<S: AppendDim, T: Tape<E>>(
        &self,
        indices: &Indices<S>,
    ) -> Result<Tensor<S::Output<D>, E, T>> {
        let v = self.num_embeddings();
        if let Some(p) = crate::ops::index::first_out_of_range(indices.as_slice(), v) {
            return Err(Error::value(
                "Embedding indices",
                format!(
                    "index {} at position {p} is out of range for {v} embeddings",
                    indices.as_slice()[p]
                ),
            ));
        }
        let out = indices.shape().append(self.weight.shape.1);
        Ok(gather_rows_op(
            self.weight.traced_as::<T>(),
            indices.data.clone(),
            out,
            self.padding_idx,
        ))
    }
}

impl<const V: usize, const D: usize, E: Float> EmbeddingLayer<Const<V>, Const<D>, E> {
    /// A static-size table drawn from `N(0, 1)`.
    ///
    /// ```
    /// use shaped::nn::{Embedding, Params};
    /// use rand::SeedableRng;
    /// let emb = Embedding::<10, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(emb.param_names(), ["weight"]);
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, rng)
    }
}

impl<E: Float> EmbeddingLayer<usize, usize, E> {
    /// A run-time-size table drawn from `N(0, 1)`.
    ///
    /// ```
    /// use shaped::nn::EmbeddingDyn;
    /// use rand::SeedableRng;
    /// let emb = EmbeddingDyn::<f32>::new_dyn(10, 4, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(emb.num_embeddings(), 10);
    /// ```
    pub fn new_dyn<R: Rng + ?Sized>(
        num_embeddings: usize,
        embedding_dim: usize,
        rng: &mut R,
    ) -> Self {
        Self::with_dims(num_embeddings, embedding_dim, rng)
    }
}

impl<V: Dim, D: Dim, E: Float, S: AppendDim> Module<Indices<S>> for EmbeddingLayer<V, D, E> {
    type Output = Tensor<S::Output<D>, E, NoTape>;
    fn try_forward(&self, x: Indices<S>) -> Result<Self::Output> {
        self.try_lookup(&x)
    }
}

impl<V: Dim, D: Dim, E: Float, S: AppendDim> Module<TracedIndices<S>> for EmbeddingLayer<V, D, E> {
    type Output = Tensor<S::Output<D>, E, OwnedTape<E>>;
    fn try_forward(&self, x: TracedIndices<S>) -> Result<Self::Output> {
        self.try_lookup(&x.0)
    }
}

impl<V: Dim, D: Dim, E: Float> Params<E> for EmbeddingLayer<V, D, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_tensor(
            &self.weight,
            &format!("{prefix}weight"),
            TensorKind::Parameter,
            f,
        );
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        visit_tensor_mut(
            &mut self.weight,
            &format!("{prefix}weight"),
            TensorKind::Parameter,
            f,
        );
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        let (v, d) = (self.weight.shape.0.size(), self.weight.shape.1.size());
        let padding = match self.padding_idx {
            Some(i) => format!(", padding_idx={i}"),
            None => String::new(),
        };
        f(
            super::module_name(prefix),
            format!("Embedding({v}, {d}{padding})"),
        )
    }
}
