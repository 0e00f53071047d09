//! The `Module` trait: a layer maps an input type to an output type decided by the types.

use crate::error::Result;

/// A layer or model: maps `X` (usually a tensor) to [`Output`](Module::Output), a type
/// computed from `X` so that users never annotate intermediate shapes.
///
/// * [`forward`](Module::forward) is evaluation mode (PyTorch's `model.eval()`): `&self`, so one
///   model can serve many threads; Dropout is off and BatchNorm uses its running statistics.
/// * [`forward_train`](Module::forward_train) is training mode (`model.train()`): `&mut self`;
///   Dropout drops and BatchNorm normalises with batch statistics and updates its running ones.
///
/// Both accept untraced inputs (no autograd cost) and traced ones (gradients reach the layer's
/// parameters). Layers implement the `try_` methods; an `Err` comes only from run-time
/// (`usize`) dimensions that do not fit.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Linear, Module, ReLU};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = (Linear::<4, 8>::new(&mut rng), ReLU, Linear::<8, 2>::new(&mut rng));
/// let y = model.forward(Tensor::<Rank2<3, 4>>::ones()); // Tensor<Rank2<3, 2>>
/// assert_eq!(y.dims().as_slice(), &[3, 2]);
/// ```
pub trait Module<X> {
    /// The output type for input `X`.
    type Output;

    /// This layer's build-time shape checks for input `X` (`()` when it has none): a constant
    /// that fails the build, naming the layer and the sizes, when a computed input dimension
    /// does not fit (`Linear<801, 10>` after a `Flatten` of 800 features). `forward` evaluates
    /// it first, so the error points at the line that calls `forward`; containers (tuples,
    /// `Residual`) combine their layers' checks. Custom layers keep the default or combine
    /// their sublayers' checks the same way.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Linear, Module};
    /// // Evaluating it is free when the shapes fit.
    /// let () = <Linear<4, 2> as Module<Tensor<Rank2<3, 4>>>>::SHAPE_CHECK;
    /// ```
    const SHAPE_CHECK: () = ();

    /// Evaluation-mode forward pass, with an error for run-time dimensions that do not fit.
    fn try_forward(&self, x: X) -> Result<Self::Output>;

    /// Training-mode forward pass; layers without train/eval differences use `try_forward`.
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        self.try_forward(x)
    }

    /// Evaluation-mode forward pass. Panics only if run-time dimensions do not fit; the
    /// panic points at the caller's line, and a tuple model names the layer
    /// (`layer 3 (LinearLayer<128, 10>): ...`).
    #[track_caller]
    fn forward(&self, x: X) -> Self::Output {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        // A match, not `unwrap_or_else`: a closure would report its own location.
        match self.try_forward(x) {
            Ok(y) => y,
            Err(e) => panic!("{e}"),
        }
    }

    /// Training-mode forward pass. Panics only if run-time dimensions do not fit (at the
    /// caller's line, like [`forward`](Module::forward)).
    #[track_caller]
    fn forward_train(&mut self, x: X) -> Self::Output {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        match self.try_forward_train(x) {
            Ok(y) => y,
            Err(e) => panic!("{e}"),
        }
    }
}
