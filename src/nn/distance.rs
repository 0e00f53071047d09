//! Layers comparing two inputs: [`CosineSimilarity`] and [`PairwiseDistance`]
//! (`nn.CosineSimilarity`, `nn.PairwiseDistance`). Both take the pair `(x1, x2)` as one
//! input, `layer.forward((x1, x2))`, and have no parameters.

use super::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::distance::{
    try_cosine_similarity_along, try_pairwise_distance, try_pairwise_distance_keepdim,
};
use crate::shape::{BroadcastShapes, Const, HasAxis, LastDim, Shape};
use crate::tensor::Tensor;

/// The cosine similarity of `x1` and `x2` along axis `DIM` (`nn.CosineSimilarity(dim=DIM,
/// eps)`, PyTorch's default `dim = 1` and `eps = 1e-8`), as
/// [`cosine_similarity`](crate::ops::distance::cosine_similarity) computes it: `(N, D)`
/// inputs give `(N,)`; a `(D,)` pair needs `CosineSimilarity<0>` (a missing axis does not
/// compile, where PyTorch raises), built by `CosineSimilarity::new().dim::<0>()`. The
/// inputs broadcast.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{CosineSimilarity, Module};
/// let a = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.0], [3.0, 4.0]]);
/// let b = Tensor::<Rank2<2, 2>>::from_array([[2.0, 0.0], [-3.0, -4.0]]);
/// let cos: Tensor<Rank1<2>> = CosineSimilarity::new().forward((a.clone(), b.clone()));
/// assert_eq!(cos.to_vec(), vec![1.0, -1.0]);
/// // along the batch axis instead: two columns
/// let cols: Tensor<Rank1<2>> = CosineSimilarity::new().dim::<0>().forward((a, b));
/// assert_eq!(cols.dims().as_slice(), &[2]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CosineSimilarity<const DIM: usize = 1> {
    /// The floor under each norm (default 1e-8).
    pub eps: f64,
}

impl<const DIM: usize> Default for CosineSimilarity<DIM> {
    fn default() -> Self {
        CosineSimilarity { eps: 1e-8 }
    }
}

impl CosineSimilarity {
    /// PyTorch's defaults: `dim = 1`, `eps = 1e-8`.
    ///
    /// ```
    /// use shaped::nn::CosineSimilarity;
    /// assert_eq!(CosineSimilarity::new().eps, 1e-8);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<const DIM: usize> CosineSimilarity<DIM> {
    /// The same layer along axis `D` (`dim=D`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{CosineSimilarity, Module};
    /// let layer: CosineSimilarity<0> = CosineSimilarity::new().dim::<0>();
    /// let a = Tensor::<Rank1<2>>::from_array([1.0, 1.0]);
    /// let cos: Tensor<()> = layer.forward((a.clone(), a));
    /// assert!((cos.to_vec()[0] - 1.0).abs() < 1e-6);
    /// ```
    pub fn dim<const D: usize>(self) -> CosineSimilarity<D> {
        CosineSimilarity { eps: self.eps }
    }

    /// The same layer with another `eps=`.
    ///
    /// ```
    /// use shaped::nn::CosineSimilarity;
    /// assert_eq!(CosineSimilarity::new().eps(1e-6).eps, 1e-6);
    /// ```
    pub fn eps(self, eps: f64) -> Self {
        CosineSimilarity { eps }
    }
}

impl<const DIM: usize, S, S2, E, T, T2> Module<(Tensor<S, E, T>, Tensor<S2, E, T2>)>
    for CosineSimilarity<DIM>
where
    S: BroadcastShapes<S2>,
    <S as BroadcastShapes<S2>>::Output: HasAxis<DIM>,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    type Output = Tensor<
        <<S as BroadcastShapes<S2>>::Output as HasAxis<DIM>>::Reduced,
        E,
        <T as Merge<E, T2>>::Output,
    >;
    fn try_forward(&self, (x1, x2): (Tensor<S, E, T>, Tensor<S2, E, T2>)) -> Result<Self::Output> {
        try_cosine_similarity_along(x1, x2, self.eps, |s| (DIM, s.reduced()))
    }
}

/// The distance `||x1 - x2 + eps||_p` between rows, along the last axis
/// (`nn.PairwiseDistance(p, eps, keepdim)`, PyTorch's defaults `p = 2`, `eps = 1e-6`,
/// `keepdim = false`), as [`pairwise_distance`](crate::ops::distance::pairwise_distance)
/// computes it. `KEEPDIM` is PyTorch's `keepdim`, a type parameter because it changes the
/// output's shape: [`keepdim`](Self::keepdim) sets it. The inputs broadcast.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, PairwiseDistance};
/// let a = Tensor::<Rank2<2, 2>, f64>::from_array([[0.0, 0.0], [1.0, 1.0]]);
/// let b = Tensor::<Rank2<2, 2>, f64>::from_array([[3.0, 4.0], [1.0, 0.0]]);
/// let d: Tensor<Rank1<2>, f64> = PairwiseDistance::new().eps(0.0).forward((a.clone(), b.clone()));
/// assert_eq!(d.to_vec(), vec![5.0, 1.0]);
/// let k: Tensor<Rank2<2, 1>, f64> = PairwiseDistance::new().p(1.0).eps(0.0).keepdim().forward((a, b));
/// assert_eq!(k.to_vec(), vec![7.0, 1.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairwiseDistance<const KEEPDIM: bool = false> {
    /// The norm (default 2; positive, or `f64::INFINITY`).
    pub p: f64,
    /// Added to the differences (default 1e-6).
    pub eps: f64,
}

impl Default for PairwiseDistance {
    fn default() -> Self {
        PairwiseDistance { p: 2.0, eps: 1e-6 }
    }
}

impl PairwiseDistance {
    /// PyTorch's defaults: `p = 2`, `eps = 1e-6`, `keepdim = false`.
    ///
    /// ```
    /// use shaped::nn::PairwiseDistance;
    /// let d = PairwiseDistance::new();
    /// assert_eq!((d.p, d.eps), (2.0, 1e-6));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The same layer keeping the reduced axis with size 1 (`keepdim=True`).
    ///
    /// ```
    /// use shaped::nn::PairwiseDistance;
    /// let d: PairwiseDistance<true> = PairwiseDistance::new().keepdim();
    /// assert_eq!(d.p, 2.0);
    /// ```
    pub fn keepdim(self) -> PairwiseDistance<true> {
        PairwiseDistance {
            p: self.p,
            eps: self.eps,
        }
    }
}

impl<const KEEPDIM: bool> PairwiseDistance<KEEPDIM> {
    /// The same layer with another norm (`p=`).
    ///
    /// ```
    /// use shaped::nn::PairwiseDistance;
    /// assert_eq!(PairwiseDistance::new().p(1.0).p, 1.0);
    /// ```
    pub fn p(self, p: f64) -> Self {
        PairwiseDistance { p, ..self }
    }

    /// The same layer with another `eps=`.
    ///
    /// ```
    /// use shaped::nn::PairwiseDistance;
    /// assert_eq!(PairwiseDistance::new().eps(0.0).eps, 0.0);
    /// ```
    pub fn eps(self, eps: f64) -> Self {
        PairwiseDistance { eps, ..self }
    }
}

impl<S, S2, E, T, T2> Module<(Tensor<S, E, T>, Tensor<S2, E, T2>)> for PairwiseDistance<false>
where
    S: BroadcastShapes<S2>,
    <S as BroadcastShapes<S2>>::Output: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    type Output = Tensor<
        <<S as BroadcastShapes<S2>>::Output as LastDim>::WithoutLast,
        E,
        <T as Merge<E, T2>>::Output,
    >;
    fn try_forward(&self, (x1, x2): (Tensor<S, E, T>, Tensor<S2, E, T2>)) -> Result<Self::Output> {
        try_pairwise_distance(x1, x2, self.p, self.eps)
    }
}

impl<S, S2, E, T, T2> Module<(Tensor<S, E, T>, Tensor<S2, E, T2>)> for PairwiseDistance<true>
where
    S: BroadcastShapes<S2>,
    <S as BroadcastShapes<S2>>::Output: LastDim,
    S2: Shape,
    E: Float,
    T: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    type Output = Tensor<
        <<S as BroadcastShapes<S2>>::Output as LastDim>::WithLast<Const<1>>,
        E,
        <T as Merge<E, T2>>::Output,
    >;
    fn try_forward(&self, (x1, x2): (Tensor<S, E, T>, Tensor<S2, E, T2>)) -> Result<Self::Output> {
        try_pairwise_distance_keepdim(x1, x2, self.p, self.eps)
    }
}

impl<E: Float, const DIM: usize> Params<E> for CosineSimilarity<DIM> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
}

impl<E: Float, const KEEPDIM: bool> Params<E> for PairwiseDistance<KEEPDIM> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
}
