//! Fully connected layer.

use super::init;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind};
use crate::autograd::Tape;
use crate::autograd::UniqueId;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::linear::linear_op;
use crate::shape::Dims;
use crate::shape::check::{DimCheck, LinearInput};
use crate::shape::{Const, Dim, DimEq, LastDim, Shape, ShapeMismatch};
use crate::tensor::Tensor;
use rand::Rng;
use std::sync::Arc;

/// `y = x W^T + b`, PyTorch's `nn.Linear`, generic over static (`Const<N>`) or run-time
/// (`usize`) sizes. Use the aliases [`Linear`] (static, the usual choice) or [`LinearDyn`].
///
/// The weight has PyTorch's layout `(out, in)` and names `weight`, `bias`. The input may have
/// any leading batch dimensions: `(.., in) -> (.., out)`.
#[derive(Clone, Debug)]
pub struct LinearLayer<I: Dim, O: Dim, E: Float = f32> {
    /// `(out_features, in_features)`.
    pub weight: Tensor<(O, I), E>,
    /// `(out_features,)`, or `None` for `bias=False`.
    pub bias: Option<Tensor<(O,), E>>,
}

/// A linear layer with sizes in the type: `Linear<784, 128>`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Linear, Module};
/// use rand::SeedableRng;
/// let layer = Linear::<3, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let y = layer.forward(Tensor::<Rank3<4, 5, 3>>::ones()); // leading dims pass through
/// assert_eq!(y.dims().as_slice(), &[4, 5, 2]);
/// ```
pub type Linear<const I: usize, const O: usize, E = f32> = LinearLayer<Const<I>, Const<O>, E>;

/// A linear layer with sizes known only at run time (e.g. read from a config file). A
/// mismatch with the input is an `Err` from `try_forward`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LinearDyn, Module};
/// use rand::SeedableRng;
/// let layer = LinearDyn::<f32>::new_dyn(3, 2, true, &mut rand::rngs::StdRng::seed_from_u64(0));
/// assert!(layer.try_forward(Tensor::<Rank2<4, 3>>::ones()).is_ok());
/// assert!(layer.try_forward(Tensor::<Rank2<4, 5>>::ones()).is_err());
/// ```
pub type LinearDyn<E = f32> = LinearLayer<usize, usize, E>;

impl<I: Dim, O: Dim, E: Float> LinearLayer<I, O, E> {
    /// A layer with the given sizes, initialised like PyTorch: weight and bias uniform in
    /// `(-1/sqrt(in), 1/sqrt(in))`.
    pub fn with_dims<R: Rng + ?Sized>(
        in_features: I,
        out_features: O,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        let bound = init::linear_bound(in_features.size());
        let weight = init::uniform((out_features, in_features), bound, rng);
        let bias = bias.then(|| init::uniform((out_features,), bound, rng));
        LinearLayer { weight, bias }
    }
    /// Input size.
    pub fn in_features(&self) -> usize {
        self.weight.shape.1.size()
    }
    /// Output size.
    pub fn out_features(&self) -> usize {
        self.weight.shape.0.size()
    }
}

impl<const I: usize, const O: usize, E: Float> LinearLayer<Const<I>, Const<O>, E> {
    /// A static-size layer with bias, PyTorch's default initialisation from `rng`.
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, true, rng)
    }
    /// A static-size layer without bias (`bias=False`).
    pub fn new_no_bias<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, false, rng)
    }
}

impl<E: Float> LinearLayer<usize, usize, E> {
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

impl<I: Dim, O: Dim, E: Float, S: Shape + LastDim, T: Tape<E>> Module<Tensor<S, E, T>>
    for LinearLayer<I, O, E>
where
    S::Last: DimEq<I>,
{
    type Output = Tensor<S::WithLast<O>, E, T>;
    const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<S::Last, I, LinearInput<I, O>>::MISMATCH;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let () = <Self as Module<Tensor<S, E, T>>>::SHAPE_CHECK;
        self.try_forward_unchecked(x)
    }
    fn try_forward_train_unchecked(&mut self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        super::mode::with_training(|| self.try_forward_unchecked(x))
    }
    fn try_forward_unchecked(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        x.shape
            .last()
            .sizes_equal(&self.weight.shape.1)
            .map_err(|_| {
                crate::error::Error::shape(
                    "Linear",
                    format!(
                        "input of shape {:?} has {} features, the layer takes {}",
                        x.shape.dims().as_slice(),
                        x.shape.last().size(),
                        self.in_features()
                    ),
                )
            })?;
        let out = x.shape.with_last(self.weight.shape.0);
        let w = self.weight.traced_as::<T>();
        let b = self.bias.as_ref().map(|b| b.traced_as::<T>());
        Ok(linear_op(x, w, b, out))
    }
}

impl<I: Dim, O: Dim, E: Float> Params<E> for LinearLayer<I, O, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        let (w, b) = (&self.weight, self.bias.as_ref());
        visit_linear(
            (w.shape.dims(), &w.data, w.id),
            b.map(|b| (b.shape.dims(), &b.data[..], b.id)),
            prefix,
            f,
        );
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        let (w, b) = (&mut self.weight, self.bias.as_mut());
        visit_linear_mut(
            (w.shape.dims(), &mut w.data, w.id),
            b.map(|b| (b.shape.dims(), &mut b.data, b.id)),
            prefix,
            f,
        );
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        describe_linear(
            prefix,
            self.in_features(),
            self.out_features(),
            self.bias.is_some(),
            f,
        )
    }
}

/// [`Params::visit`] of a linear layer without its dims' types: compiled once per element
/// type, never inlined, and at `f32` in this crate for programs to link to (see
/// `backend::precompiled`), rather than once per layer shape in every program.
#[inline(never)]
fn visit_linear<E: Float>(
    (w_dims, w, w_id): (Dims, &[E], UniqueId),
    bias: Option<(Dims, &[E], UniqueId)>,
    prefix: &str,
    f: &mut dyn FnMut(ParamView<'_, E>),
) {
    let kind = TensorKind::Parameter;
    let name = format!("{prefix}weight");
    let (dims, data, id) = (w_dims, w, w_id);
    f(ParamView {
        name: &name,
        dims,
        data,
        id,
        kind,
    });
    if let Some((dims, data, id)) = bias {
        let name = format!("{prefix}bias");
        f(ParamView {
            name: &name,
            dims,
            data,
            id,
            kind,
        });
    }
}

/// [`Params::visit_mut`] of a linear layer, as [`visit_linear`] (copy-on-write buffers, as
/// `visit_tensor_mut`).
#[inline(never)]
fn visit_linear_mut<E: Float>(
    (w_dims, w, w_id): (Dims, &mut Arc<Vec<E>>, UniqueId),
    bias: Option<(Dims, &mut Arc<Vec<E>>, UniqueId)>,
    prefix: &str,
    f: &mut dyn FnMut(ParamMut<'_, E>),
) {
    let kind = TensorKind::Parameter;
    let name = format!("{prefix}weight");
    let (dims, data, id) = (w_dims, Arc::make_mut(w).as_mut_slice(), w_id);
    f(ParamMut {
        name: &name,
        dims,
        data,
        id,
        kind,
    });
    if let Some((dims, b, id)) = bias {
        let name = format!("{prefix}bias");
        let data = Arc::make_mut(b).as_mut_slice();
        f(ParamMut {
            name: &name,
            dims,
            data,
            id,
            kind,
        });
    }
}

crate::instances::shared_instances!(visit_linear::<f32>, visit_linear_mut::<f32>);

/// [`Params::describe`] of a linear layer (not generic: compiled once, here).
fn describe_linear(
    prefix: &str,
    in_features: usize,
    out_features: usize,
    bias: bool,
    f: &mut dyn FnMut(&str, String),
) {
    f(
        super::module_name(prefix),
        format!(
            "Linear(in_features={in_features}, out_features={out_features}, bias={})",
            super::summary::py_bool(bias)
        ),
    )
}
