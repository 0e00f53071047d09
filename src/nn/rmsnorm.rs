//! Root-mean-square normalisation over the last dimension (LLaMA-style transformers).

use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::norm::rms_norm_op;
use crate::shape::check::{DimCheck, RmsNormInput};
use crate::shape::{Const, Dim, DimEq, LastDim, Shape, ShapeMismatch};
use crate::tensor::Tensor;

/// PyTorch's `nn.RMSNorm(D)` over the last dimension (`elementwise_affine=True`), generic
/// over a static (`Const<D>`) or run-time (`usize`) size. Use the aliases [`RMSNorm`] and
/// [`RMSNormDyn`].
///
/// `y = x / sqrt(mean(x^2) + eps) * weight`, the mean over each row of the last dimension.
/// `eps` `None` is PyTorch's default: the element type's machine epsilon
/// (`torch.finfo(x.dtype).eps`). Input `(.., D)`, any leading dimensions. `state_dict`
/// name: `weight`, initially ones.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RMSNormLayer};
/// let norm = RMSNormLayer::<Const<2>, f64>::new();
/// let y = norm.forward(Tensor::<Rank2<1, 2>, f64>::from_array([[3.0, 4.0]]));
/// let rms = (12.5f64 + f64::EPSILON).sqrt();
/// assert!((y.as_slice()[0] - 3.0 / rms).abs() < 1e-15);
/// ```
#[derive(Clone, Debug)]
pub struct RMSNormLayer<D: Dim, E: Float = f32> {
    /// Scale, `(D,)`, initially ones.
    pub weight: Tensor<(D,), E>,
    /// Added to the mean square inside the square root; `None` (PyTorch's default) is the
    /// element type's machine epsilon.
    pub eps: Option<f64>,
}

/// RMSNorm over a last dimension of static size `D`; another size does not compile.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RMSNorm};
/// let norm = RMSNorm::<4>::new();
/// let y = norm.forward(Tensor::<Rank2<1, 4>>::from_array([[1.0, -1.0, 1.0, -1.0]]));
/// assert!(y.as_slice().iter().all(|v| (v.abs() - 1.0).abs() < 1e-6));
/// ```
///
/// ```compile_fail
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RMSNorm};
/// let _ = RMSNorm::<4>::new().forward(Tensor::<Rank2<1, 5>>::zeros());
/// ```
pub type RMSNorm<const D: usize, E = f32> = RMSNormLayer<Const<D>, E>;
/// RMSNorm over a last dimension whose size is known only at run time; an input with
/// another size is an `Err` from `try_forward`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RMSNormDyn};
/// let norm = RMSNormDyn::<f32>::new_dyn(4);
/// assert!(norm.try_forward(Tensor::<Rank3<2, 3, 4>>::ones()).is_ok());
/// assert!(norm.try_forward(Tensor::<Rank2<2, 5>>::ones()).is_err());
/// ```
pub type RMSNormDyn<E = f32> = RMSNormLayer<usize, E>;

impl<D: Dim, E: Float> RMSNormLayer<D, E> {
    /// Ones for the weight and PyTorch's default `eps`.
    pub fn with_dims(d: D) -> Self {
        RMSNormLayer {
            weight: Tensor::ones_with_shape((d,)),
            eps: None,
        }
    }
    /// The size of the normalised (last) dimension.
    pub fn normalized_size(&self) -> usize {
        self.weight.shape.0.size()
    }
    /// The `eps` in use: the set one, or `E`'s machine epsilon.
    pub fn eps_value(&self) -> f64 {
        self.eps.unwrap_or(E::EPSILON.to_f64())
    }
}

impl<const D: usize, E: Float> RMSNormLayer<Const<D>, E> {
    /// A layer over `D` features, PyTorch's initial values.
    pub fn new() -> Self {
        Self::with_dims(Const)
    }
}

impl<const D: usize, E: Float> Default for RMSNormLayer<Const<D>, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Float> RMSNormLayer<usize, E> {
    /// A layer over `d` features known at run time.
    pub fn new_dyn(d: usize) -> Self {
        Self::with_dims(d)
    }
}

impl<D: Dim, E: Float, S: Shape + LastDim, T: Tape<E>> Module<Tensor<S, E, T>>
    for RMSNormLayer<D, E>
where
    S::Last: DimEq<D>,
{
    type Output = Tensor<S, E, T>;
    const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<S::Last, D, RmsNormInput>::MISMATCH;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let () = <Self as Module<Tensor<S, E, T>>>::SHAPE_CHECK;
        self.try_forward_unchecked(x)
    }
    fn try_forward_train_unchecked(&mut self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        super::mode::with_training(|| self.try_forward_unchecked(x))
    }
    fn try_forward_unchecked(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        super::layernorm::check_last_dim("RMSNorm", &x.shape, &self.weight.shape.0)?;
        let w = self.weight.traced_as::<T>();
        Ok(rms_norm_op(x, Some(w), self.eps_value()))
    }
}

impl<D: Dim, E: Float> Params<E> for RMSNormLayer<D, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        let name = format!("{prefix}weight");
        visit_tensor(&self.weight, &name, TensorKind::Parameter, f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        let name = format!("{prefix}weight");
        visit_tensor_mut(&mut self.weight, &name, TensorKind::Parameter, f);
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        let eps = self
            .eps
            .map_or("None".to_string(), super::summary::py_float);
        f(
            super::module_name(prefix),
            format!(
                "RMSNorm(({},), eps={eps}, elementwise_affine=True)",
                self.normalized_size()
            ),
        )
    }
}
