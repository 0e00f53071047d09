//! Layer normalisation over the last dimension.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::norm::layer_norm_op;
use crate::shape::check::{DimCheck, LayerNormInput};
use crate::shape::{Const, Dim, DimEq, LastDim, Shape, ShapeMismatch};
use crate::tensor::Tensor;

/// PyTorch's `nn.LayerNorm(D)` over the last dimension (`elementwise_affine=True`),
/// generic over a static (`Const<D>`) or run-time (`usize`) size. Use the aliases
/// [`LayerNorm`] and [`LayerNormDyn`].
///
/// `y = (x - mean) / sqrt(var + eps) * weight + bias`, with the mean and the biased
/// variance of each row of the last dimension. The same in training and evaluation. Input
/// `(.., D)`, any leading dimensions. `state_dict` names: `weight`, `bias`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LayerNormLayer, Module};
/// let mut ln = LayerNormLayer::<Const<2>, f64>::new();
/// ln.bias = Tensor::from_array([10.0, 20.0]);
/// let y = ln.forward(Tensor::<Rank2<1, 2>, f64>::from_array([[-3.0, 3.0]]));
/// assert!((y.as_slice()[0] - 9.0).abs() < 1e-5 && (y.as_slice()[1] - 21.0).abs() < 1e-5);
/// ```
#[derive(Clone, Debug)]
pub struct LayerNormLayer<D: Dim, E: Float = f32> {
    /// Scale, `(D,)`, initially ones.
    pub weight: Tensor<(D,), E>,
    /// Shift, `(D,)`, initially zeros.
    pub bias: Tensor<(D,), E>,
    /// Added to the variance inside the square root (PyTorch's default `1e-5`).
    pub eps: f64,
}

/// LayerNorm over a last dimension of static size `D`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LayerNorm, Module};
/// let ln = LayerNorm::<4>::new();
/// let y = ln.forward(Tensor::<Rank2<1, 4>>::from_array([[1.0, 2.0, 3.0, 4.0]]));
/// let m: f32 = y.as_slice().iter().sum::<f32>() / 4.0;
/// let v: f32 = y.as_slice().iter().map(|y| y * y).sum::<f32>() / 4.0;
/// assert!(m.abs() < 1e-6 && (v - 1.0).abs() < 1e-4);
/// ```
pub type LayerNorm<const D: usize, E = f32> = LayerNormLayer<Const<D>, E>;
/// LayerNorm over a last dimension whose size is known only at run time; an input with
/// another size is an `Err` from `try_forward`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LayerNormDyn, Module};
/// let ln = LayerNormDyn::<f32>::new_dyn(4);
/// assert!(ln.try_forward(Tensor::<Rank3<2, 3, 4>>::ones()).is_ok());
/// assert!(ln.try_forward(Tensor::<Rank2<2, 5>>::ones()).is_err());
/// ```
pub type LayerNormDyn<E = f32> = LayerNormLayer<usize, E>;

impl<D: Dim, E: Float> LayerNormLayer<D, E> {
    /// A layer over a last dimension of size `d`, initialised like PyTorch: weight 1,
    /// bias 0, `eps = 1e-5`.
    ///
    /// ```
    /// use shaped::nn::LayerNormDyn;
    /// assert_eq!(LayerNormDyn::<f32>::with_dims(6).normalized_size(), 6);
    /// ```
    pub fn with_dims(d: D) -> Self {
        LayerNormLayer {
            weight: Tensor::ones_with_shape((d,)),
            bias: Tensor::zeros_with_shape((d,)),
            eps: 1e-5,
        }
    }

    /// The size of the normalised (last) dimension.
    ///
    /// ```
    /// use shaped::nn::LayerNorm;
    /// assert_eq!(LayerNorm::<8>::new().normalized_size(), 8);
    /// ```
    pub fn normalized_size(&self) -> usize {
        self.weight.shape.0.size()
    }
}

impl<const D: usize, E: Float> LayerNormLayer<Const<D>, E> {
    /// A layer over a last dimension of size `D`, initialised like PyTorch.
    ///
    /// ```
    /// use shaped::nn::{LayerNorm, Params};
    /// assert_eq!(LayerNorm::<8>::new().param_names(), ["weight", "bias"]);
    /// ```
    pub fn new() -> Self {
        Self::with_dims(Const)
    }
}

impl<const D: usize, E: Float> Default for LayerNormLayer<Const<D>, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Float> LayerNormLayer<usize, E> {
    /// A layer over a last dimension of run-time size `d`.
    ///
    /// ```
    /// use shaped::nn::LayerNormDyn;
    /// assert_eq!(LayerNormDyn::<f64>::new_dyn(3).weight.to_vec(), vec![1.0; 3]);
    /// ```
    pub fn new_dyn(d: usize) -> Self {
        Self::with_dims(d)
    }
}

impl<D: Dim, E: Float, S: Shape + LastDim, T: Tape<E>> Module<Tensor<S, E, T>>
    for LayerNormLayer<D, E>
where
    S::Last: DimEq<D>,
{
    type Output = Tensor<S, E, T>;
    const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<S::Last, D, LayerNormInput>::MISMATCH;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let () = <Self as Module<Tensor<S, E, T>>>::SHAPE_CHECK;
        self.try_forward_unchecked(x)
    }
    fn try_forward_train_unchecked(&mut self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        super::mode::with_training(|| self.try_forward_unchecked(x))
    }
    fn try_forward_unchecked(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        check_last_dim("LayerNorm", &x.shape, &self.weight.shape.0)?;
        let (w, b) = (self.weight.traced_as::<T>(), self.bias.traced_as::<T>());
        Ok(layer_norm_op(x, Some(w), Some(b), self.eps))
    }
}

/// That the last dimension of `shape` is the `d` features `layer` normalises (a run-time
/// check: static sizes are compared by the layer's `Module` bound).
pub(super) fn check_last_dim<S: Shape + LastDim, D: Dim>(
    layer: &'static str,
    shape: &S,
    d: &D,
) -> Result<()>
where
    S::Last: DimEq<D>,
{
    shape.last().sizes_equal(d).map_err(|_| {
        Error::shape(
            layer,
            format!(
                "input of shape {:?} has last dimension {}, the layer normalises {}",
                shape.dims().as_slice(),
                shape.last().size(),
                d.size()
            ),
        )
    })
}

impl<D: Dim, E: Float> Params<E> for LayerNormLayer<D, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_tensor(
            &self.weight,
            &format!("{prefix}weight"),
            TensorKind::Parameter,
            f,
        );
        visit_tensor(
            &self.bias,
            &format!("{prefix}bias"),
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
        visit_tensor_mut(
            &mut self.bias,
            &format!("{prefix}bias"),
            TensorKind::Parameter,
            f,
        );
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!(
                "LayerNorm(({},), eps={}, elementwise_affine=True)",
                self.weight.shape.0.size(),
                super::summary::py_float(self.eps)
            ),
        )
    }
}
