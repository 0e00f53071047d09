//! Combinators: `Residual` (`x + f(x)`), `Frozen` (parameters that optimizers skip) and
//! `Identity`.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::binary::{AddKernel, binary_op};
use crate::shape::check::{ResidualShape, SameShapeCheck};
use crate::shape::{SameShape, Shape, ShapeMismatch};
use crate::tensor::Tensor;

/// The output of a layer inside [`Residual`]: it must have the input's shape, so that
/// `x + f(x)` needs no broadcasting. The shapes may be spelled differently: a padded
/// convolution's `ConvOut<Const<16>, 3, 1, 1, 1>` stands for the input's `Const<16>`
/// ([`SameShape`]); static sizes that differ fail the build naming both, run-time ones are an
/// `Err` from `try_forward`.
#[diagnostic::on_unimplemented(
    message = "Residual: the inner layer changes the shape from `{X}` to `{Self}`",
    label = "x + f(x) needs f(x) to have the shape of x",
    note = "wrap only layers that keep the shape, or project x with a Linear/Conv first"
)]
pub trait SameAsInput<X> {
    /// Both sizes, when static sizes differ (the build fails with it).
    const MISMATCH: ShapeMismatch;
    /// The output, as the input's type, after checking run-time sizes against `x`.
    fn into_input_type(self, x: &X) -> Result<X>;
}
impl<S: Shape, S2: SameShape<S>, E: Float, T> SameAsInput<Tensor<S, E, T>> for Tensor<S2, E, T> {
    const MISMATCH: ShapeMismatch = SameShapeCheck::<S2, S, ResidualShape>::MISMATCH;
    fn into_input_type(self, x: &Tensor<S, E, T>) -> Result<Tensor<S, E, T>> {
        self.shape.same_shape(&x.shape)?;
        Ok(Tensor {
            shape: x.shape,
            data: self.data,
            id: self.id,
            tape: self.tape,
        })
    }
}

/// `x + f(x)`, a residual connection around `f` (which must keep the shape).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Linear, ReLU, Residual};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let block = Residual((Linear::<4, 4>::new(&mut rng), ReLU));
/// let y = block.forward(Tensor::<Rank2<2, 4>>::ones());
/// assert_eq!(block.param_names(), ["0.0.weight", "0.0.bias"]);
/// assert_eq!(y.dims().as_slice(), &[2, 4]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Residual<M>(pub M);

impl<M, S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for Residual<M>
where
    M: Module<Tensor<S, E, T>>,
    M::Output: SameAsInput<Tensor<S, E, T>>,
{
    type Output = Tensor<S, E, T>;
    // The body's mismatch (at position 0, as in parameter names) comes first: a shape error
    // inside the body would also change f(x)'s shape.
    const SHAPE_MISMATCH: ShapeMismatch = <M as Module<Tensor<S, E, T>>>::SHAPE_MISMATCH
        .at(0)
        .or(<M::Output as SameAsInput<Tensor<S, E, T>>>::MISMATCH);
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let () = <Self as Module<Tensor<S, E, T>>>::SHAPE_CHECK;
        self.try_forward_unchecked(x)
    }
    fn try_forward_train(&mut self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let () = <Self as Module<Tensor<S, E, T>>>::SHAPE_CHECK;
        self.try_forward_train_unchecked(x)
    }
    fn try_forward_unchecked(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let fx = self
            .0
            .try_forward_unchecked(x.clone())?
            .into_input_type(&x)?;
        let shape = x.shape;
        Ok(binary_op(x, fx, shape, AddKernel))
    }
    fn try_forward_train_unchecked(&mut self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let fx = self
            .0
            .try_forward_train_unchecked(x.clone())?
            .into_input_type(&x)?;
        let shape = x.shape;
        Ok(binary_op(x, fx, shape, AddKernel))
    }
}

impl<E: Float, M: Params<E>> Params<E> for Residual<M> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.0.visit(&format!("{prefix}0."), f)
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.0.visit_mut(&format!("{prefix}0."), f)
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(super::module_name(prefix), "Residual".to_string());
        self.0.describe(&format!("{prefix}0."), f)
    }
    fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
        self.0.visit_tied(&format!("{prefix}0."), f)
    }
    fn set_training(&mut self, training: bool) {
        self.0.set_training(training)
    }
    fn is_training(&self) -> bool {
        self.0.is_training()
    }
}

/// A layer whose parameters are not trained: they are reported as buffers, so optimizers
/// and gradient clipping skip them, while saving and loading still include them (like
/// `requires_grad_(False)` in PyTorch). Gradients still flow through the layer to its input.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Frozen, Linear, TensorKind};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = (Frozen(Linear::<4, 4>::new(&mut rng)), Linear::<4, 2>::new(&mut rng));
/// assert_eq!(model.num_params(), 4 * 2 + 2); // only the second layer trains
/// ```
#[derive(Clone, Debug, Default)]
pub struct Frozen<M>(pub M);

impl<X, M: Module<X>> Module<X> for Frozen<M> {
    type Output = M::Output;
    const SHAPE_MISMATCH: ShapeMismatch = M::SHAPE_MISMATCH;
    const SHAPE_CHECK: () = M::SHAPE_CHECK;
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        self.0.try_forward(x)
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        self.0.try_forward_train(x)
    }
    fn try_forward_unchecked(&self, x: X) -> Result<Self::Output> {
        self.0.try_forward_unchecked(x)
    }
    fn try_forward_train_unchecked(&mut self, x: X) -> Result<Self::Output> {
        self.0.try_forward_train_unchecked(x)
    }
}

impl<E: Float, M: Params<E>> Params<E> for Frozen<M> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.0.visit(prefix, &mut |mut p| {
            p.kind = TensorKind::Buffer;
            f(p)
        })
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.0.visit_mut(prefix, &mut |mut p| {
            p.kind = TensorKind::Buffer;
            f(p)
        })
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        let own = super::module_name(prefix);
        self.0.describe(prefix, &mut |name, d| {
            f(
                name,
                if name == own {
                    format!("Frozen {d}")
                } else {
                    d
                },
            )
        })
    }
    fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
        self.0.visit_tied(prefix, f)
    }
    fn set_training(&mut self, training: bool) {
        self.0.set_training(training)
    }
    fn is_training(&self) -> bool {
        self.0.is_training()
    }
}

/// Passes its input through unchanged, PyTorch's `nn.Identity`: the placeholder for an
/// optional layer (a shortcut without projection, a removed head), for any input a layer
/// takes.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Identity, Module, Residual};
/// let x = Tensor::<Rank2<1, 2>>::from_array([[1.0, -2.0]]);
/// assert_eq!(Identity.forward(x.clone()).to_vec(), vec![1.0, -2.0]);
/// assert_eq!(Residual(Identity).forward(x).to_vec(), vec![2.0, -4.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl<X> Module<X> for Identity {
    type Output = X;
    fn try_forward(&self, x: X) -> Result<X> {
        Ok(x)
    }
}

impl<E: Float> Params<E> for Identity {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
}
