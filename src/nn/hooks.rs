//! Module forward hooks, PyTorch's `register_forward_hook` / `register_forward_pre_hook`:
//! a closure that sees (and may replace) a layer's output, or its input, every time the layer
//! runs.
//!
//! A layer's type is part of the model's type here, so a hook is a wrapper around the layer
//! ([`ForwardHook`], [`ForwardPreHook`]; [`HookExt::with_forward_hook`] builds one) rather
//! than an entry in a list inside every layer: the wrapped layer keeps its parameter names
//! (`fc1.weight` stays `fc1.weight`), its `print(model)` line, its shape checks and its
//! train/eval mode, and an unhooked layer pays nothing. To remove a hook, keep the layer
//! (`hooked.layer`) and drop the wrapper, or keep the hook's effect switchable inside the
//! closure (a flag it reads).
//!
//! The closures are `Fn` (a forward takes `&self`): to record activations, capture a
//! `RefCell` / `Mutex` (the examples below).

use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::dtype::Float;
use crate::error::Result;
use crate::shape::ShapeMismatch;

/// `layer` followed by `hook(&layer, &output)` on every forward pass, PyTorch's
/// `register_forward_hook`: the hook reads the output (feature extraction, statistics,
/// debugging) and returns `None`, or returns `Some(new_output)` to replace it. Built by
/// [`HookExt::with_forward_hook`].
///
/// It runs in both modes (`forward` and `forward_train`) and on traced tensors: a replaced
/// output is what the next layer gets, gradients flowing through the replacement (build it
/// from `output` with tensor ops to keep the tape; `output.clone()` shares the tape
/// unchanged). Unlike PyTorch's hook it does not see the layer's input, which the layer
/// consumed; wrap the layer in a [`ForwardPreHook`] too for that.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{HookExt, Linear, Module, ReLU};
/// use rand::SeedableRng;
/// use std::cell::RefCell;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let seen = RefCell::new(Vec::new()); // the hidden layer's activations
/// let model = (
///     Linear::<4, 8>::new(&mut rng),
///     ReLU.with_forward_hook(|_, y: &Tensor<Rank2<2, 8>>| {
///         seen.borrow_mut().push(y.to_vec());
///         None // keep the output
///     }),
///     Linear::<8, 3>::new(&mut rng),
/// );
/// let out = model.forward(Tensor::<Rank2<2, 4>>::ones());
/// assert_eq!(out.dims().as_slice(), &[2, 3]);
/// assert_eq!(seen.borrow().len(), 1);
/// assert!(seen.borrow()[0].iter().all(|&v| v >= 0.0));
/// assert_eq!(model.param_names(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// ```
#[derive(Clone)]
pub struct ForwardHook<M, F> {
    /// The wrapped layer.
    pub layer: M,
    /// `hook(&layer, &output) -> Option<replacement>`.
    pub hook: F,
}

/// `hook(&layer, input)` before `layer` on every forward pass, PyTorch's
/// `register_forward_pre_hook`: the hook gets the input by value and returns what the layer
/// runs on (the input itself, after reading it, or a replacement of the same type). Built
/// by [`HookExt::with_forward_pre_hook`]; runs in both modes, on traced tensors too.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{HookExt, Linear, Module};
/// use rand::SeedableRng;
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// // Scale the input by 2 before the layer runs.
/// let layer = Linear::<3, 2>::new(&mut rng)
///     .with_forward_pre_hook(|_, x: Tensor<Rank2<1, 3>>| x.mul_scalar(2.0));
/// let x = Tensor::<Rank2<1, 3>>::from_array([[1.0, -1.0, 0.5]]);
/// let doubled = Tensor::<Rank2<1, 3>>::from_array([[2.0, -2.0, 1.0]]);
/// assert_eq!(layer.forward(x).to_vec(), layer.layer.forward(doubled).to_vec());
/// ```
#[derive(Clone)]
pub struct ForwardPreHook<M, F> {
    /// The wrapped layer.
    pub layer: M,
    /// `hook(&layer, input) -> input`.
    pub hook: F,
}

impl<M, F> ForwardHook<M, F> {
    /// `layer` with `hook` run on its output (see [`ForwardHook`]). The bound names the
    /// output type `Y`, so that a closure written here takes its references for any lifetime.
    pub fn new<Y>(layer: M, hook: F) -> Self
    where
        F: Fn(&M, &Y) -> Option<Y>,
    {
        Self { layer, hook }
    }
}

impl<M, F> ForwardPreHook<M, F> {
    /// `layer` with `hook` run on its input first (see [`ForwardPreHook`]), for input type `X`.
    pub fn new<X>(layer: M, hook: F) -> Self
    where
        F: Fn(&M, X) -> X,
    {
        Self { layer, hook }
    }
}

/// `layer.with_forward_hook(f)` and `layer.with_forward_pre_hook(f)` for every layer: the
/// layer wrapped in a [`ForwardHook`] or [`ForwardPreHook`].
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{HookExt, Module, ReLU};
/// // Clamp the output of a ReLU at 1 (a replacement built from the output).
/// let capped = ReLU.with_forward_hook(|_, y: &Tensor<Rank1<3>>| Some(y.clone().clamp(0.0, 1.0)));
/// let y = capped.forward(Tensor::<Rank1<3>>::from_array([-1.0, 0.5, 3.0]));
/// assert_eq!(y.to_vec(), vec![0.0, 0.5, 1.0]);
/// ```
pub trait HookExt: Sized {
    /// This layer, then `hook(&layer, &output)`, which may return a replacement output.
    fn with_forward_hook<Y, F>(self, hook: F) -> ForwardHook<Self, F>
    where
        F: Fn(&Self, &Y) -> Option<Y>,
    {
        ForwardHook::new(self, hook)
    }
    /// `hook(&layer, input)` first, then this layer on what the hook returns.
    fn with_forward_pre_hook<X, F>(self, hook: F) -> ForwardPreHook<Self, F>
    where
        F: Fn(&Self, X) -> X,
    {
        ForwardPreHook::new(self, hook)
    }
}

impl<M> HookExt for M {}

impl<M: core::fmt::Debug, F> core::fmt::Debug for ForwardHook<M, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ForwardHook")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

impl<M: core::fmt::Debug, F> core::fmt::Debug for ForwardPreHook<M, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ForwardPreHook")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

impl<X, M, F> Module<X> for ForwardHook<M, F>
where
    M: Module<X>,
    F: Fn(&M, &M::Output) -> Option<M::Output>,
{
    type Output = M::Output;
    const SHAPE_MISMATCH: ShapeMismatch = M::SHAPE_MISMATCH;
    const SHAPE_CHECK: () = M::SHAPE_CHECK;
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        let y = self.layer.try_forward(x)?;
        Ok(self.after(y))
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let y = self.layer.try_forward_train(x)?;
        Ok(self.after(y))
    }
    fn try_forward_unchecked(&self, x: X) -> Result<Self::Output> {
        let y = self.layer.try_forward_unchecked(x)?;
        Ok(self.after(y))
    }
    fn try_forward_train_unchecked(&mut self, x: X) -> Result<Self::Output> {
        let y = self.layer.try_forward_train_unchecked(x)?;
        Ok(self.after(y))
    }
}

impl<M, F> ForwardHook<M, F> {
    /// The hook's replacement of `y`, or `y`.
    fn after<Y>(&self, y: Y) -> Y
    where
        F: Fn(&M, &Y) -> Option<Y>,
    {
        (self.hook)(&self.layer, &y).unwrap_or(y)
    }
}

impl<X, M, F> Module<X> for ForwardPreHook<M, F>
where
    M: Module<X>,
    F: Fn(&M, X) -> X,
{
    type Output = M::Output;
    const SHAPE_MISMATCH: ShapeMismatch = M::SHAPE_MISMATCH;
    const SHAPE_CHECK: () = M::SHAPE_CHECK;
    fn try_forward(&self, x: X) -> Result<Self::Output> {
        self.layer.try_forward((self.hook)(&self.layer, x))
    }
    fn try_forward_train(&mut self, x: X) -> Result<Self::Output> {
        let x = (self.hook)(&self.layer, x);
        self.layer.try_forward_train(x)
    }
    fn try_forward_unchecked(&self, x: X) -> Result<Self::Output> {
        self.layer
            .try_forward_unchecked((self.hook)(&self.layer, x))
    }
    fn try_forward_train_unchecked(&mut self, x: X) -> Result<Self::Output> {
        let x = (self.hook)(&self.layer, x);
        self.layer.try_forward_train_unchecked(x)
    }
}

/// Both wrappers are transparent to parameters: the layer's names, kinds, description and
/// mode, as if it were not wrapped (PyTorch's hooks do not change `state_dict` either).
macro_rules! transparent_params {
    ($wrapper:ident) => {
        impl<E: Float, M: Params<E>, F> Params<E> for $wrapper<M, F> {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
                self.layer.visit(prefix, f)
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
                self.layer.visit_mut(prefix, f)
            }
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                self.layer.describe(prefix, f)
            }
            fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
                self.layer.visit_tied(prefix, f)
            }
            fn set_training(&mut self, training: bool) {
                self.layer.set_training(training)
            }
            fn is_training(&self) -> bool {
                self.layer.is_training()
            }
        }
    };
}
transparent_params!(ForwardHook);
transparent_params!(ForwardPreHook);
