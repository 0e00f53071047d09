//! The `Module` trait: a layer maps an input type to an output type decided by the types.

use crate::error::Result;
use crate::shape::ShapeMismatch;

/// A layer or model: maps `X` (usually a tensor) to [`Output`](Module::Output), a type
/// computed from `X` so that users never annotate intermediate shapes.
///
/// # Train and eval mode
///
/// * [`forward`](Module::forward) (`&self`, so one model can serve many threads) runs each
///   mode-dependent layer in the mode it was switched to with
///   [`model.train()`](super::Params::train) / [`model.eval()`](super::Params::eval) (PyTorch's
///   names; they reach every Dropout, BatchNorm, recurrent and transformer layer inside tuples,
///   `Vec`s, `Option`s and `#[derive(Params)]` structs). In training mode Dropout drops and
///   BatchNorm normalises with batch statistics and updates its running ones, even through
///   `&self`; in evaluation mode Dropout is the identity and BatchNorm uses its running
///   statistics.
/// * [`forward_train`](Module::forward_train) (`&mut self`) runs this one call in training
///   mode, whatever the flags say.
///
/// **A freshly built layer is in evaluation mode**, unlike PyTorch, where modules start in
/// training mode: `forward` is also the inference call a served model makes from many threads,
/// and it should not start dropping or moving running statistics because a program forgot
/// `eval()`. Training loops either call `forward_train` or switch once with `model.train()`
/// and call `forward`, as in PyTorch.
///
/// Your own struct implements only [`try_forward`](Module::try_forward), one body calling its
/// sublayers' `forward` / `try_forward`; `#[derive(Params)]` makes `train()` / `eval()` reach
/// them, and the provided `try_forward_train` runs that body with every layer it reaches in
/// training mode. Layers whose training pass differs override `try_forward_train`.
///
/// Both calls accept untraced inputs (no autograd cost) and traced ones (gradients reach the
/// layer's parameters). Layers implement the `try_` methods; an `Err` comes only from run-time
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

    /// This layer's build-time shape mismatch for input `X`, as a value ([`ShapeMismatch::NONE`]
    /// when the shapes fit): a computed input dimension that does not fit (`Linear<801, 10>`
    /// after a `Flatten` of 800 features). [`SHAPE_CHECK`](Module::SHAPE_CHECK) fails the
    /// build with it; containers (tuples, `Residual`, `Frozen`) pass their layers' on with the
    /// layer's position, so that the build error says `layer 7 (Linear<1350, 10>) ...`.
    /// Checks that cannot be phrased as a value (a kernel larger than its input) may fail the
    /// build while this constant is evaluated.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Linear, Module};
    /// assert!(<Linear<4, 2> as Module<Tensor<Rank2<3, 4>>>>::SHAPE_MISMATCH.is_none());
    /// ```
    const SHAPE_MISMATCH: ShapeMismatch = ShapeMismatch::NONE;

    /// This layer's build-time shape checks for input `X` (by default, failing on
    /// [`SHAPE_MISMATCH`](Module::SHAPE_MISMATCH)): a constant that fails the build, naming
    /// the layer and the sizes. `forward` evaluates it first, so the error points at the line
    /// that calls `forward`. A custom layer keeps the defaults: the sublayers it calls check
    /// themselves (a `#[derive(Module)]` struct combines its fields' mismatches, naming the
    /// field, as tuples do).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Linear, Module};
    /// // Evaluating it is free when the shapes fit.
    /// let () = <Linear<4, 2> as Module<Tensor<Rank2<3, 4>>>>::SHAPE_CHECK;
    /// ```
    const SHAPE_CHECK: () = <Self as Module<X>>::SHAPE_MISMATCH.check();

    /// The forward pass in the mode the model's layers are in (evaluation unless switched
    /// with [`train`](super::Params::train)), with an error for run-time dimensions that do
    /// not fit.
    fn try_forward(&self, x: X) -> Result<Self::Output>;

    /// The forward pass in training mode for this call. The provided body runs
    /// [`try_forward`](Module::try_forward) with every mode-dependent layer it reaches in
    /// training mode (a thread-local scope, restored afterwards), so a struct whose
    /// `try_forward` calls its sublayers needs nothing more; layers whose training pass
    /// differs override it.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Dropout, Linear, Module};
    /// use rand::SeedableRng;
    ///
    /// #[derive(shaped::Params)]
    /// struct Net {
    ///     fc: Linear<4, 4>,
    ///     drop: Dropout,
    /// }
    /// impl<B: Dim, T: Tape<f32>> Module<Tensor<(B, Const<4>), f32, T>> for Net {
    ///     type Output = Tensor<(B, Const<4>), f32, T>;
    ///     fn try_forward(&self, x: Tensor<(B, Const<4>), f32, T>) -> Result<Self::Output> {
    ///         self.drop.try_forward(self.fc.try_forward(x)?)
    ///     }
    /// }
    ///
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut net = Net { fc: Linear::new(&mut rng), drop: Dropout::with_seed(0.5, 1) };
    /// let x = Tensor::<(usize, Const<4>)>::ones_with_shape((64, Const));
    /// let dropped = net.forward_train(x.clone()).to_vec(); // training for this call
    /// assert!(dropped.iter().any(|&v| v == 0.0));
    /// assert_eq!(net.forward(x.clone()).to_vec(), net.forward(x).to_vec()); // still eval
    /// ```
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        super::mode::with_training(|| self.try_forward(x))
    }

    /// [`try_forward`](Module::try_forward) for a container that has already checked this
    /// layer's [`SHAPE_MISMATCH`](Module::SHAPE_MISMATCH) (with the layer's position): a
    /// layer whose `try_forward` evaluates its own check overrides this to skip it, so that a
    /// mismatch is reported once. Not for direct use.
    #[doc(hidden)]
    fn try_forward_unchecked(&self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        self.try_forward(x)
    }

    /// [`try_forward_train`](Module::try_forward_train) for a container; see
    /// [`try_forward_unchecked`](Module::try_forward_unchecked).
    #[doc(hidden)]
    fn try_forward_train_unchecked(&mut self, x: X) -> Result<Self::Output> {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        self.try_forward_train(x)
    }

    /// The forward pass in the model's current mode (see
    /// [`try_forward`](Module::try_forward)). Panics only if run-time dimensions do not fit;
    /// the panic points at the caller's line, and a tuple model names the layer
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

    /// The forward pass in training mode for this call (see
    /// [`try_forward_train`](Module::try_forward_train)). Panics only if run-time dimensions
    /// do not fit (at the caller's line, like [`forward`](Module::forward)).
    #[track_caller]
    fn forward_train(&mut self, x: X) -> Self::Output {
        let () = <Self as Module<X>>::SHAPE_CHECK;
        match self.try_forward_train(x) {
            Ok(y) => y,
            Err(e) => panic!("{e}"),
        }
    }
}
