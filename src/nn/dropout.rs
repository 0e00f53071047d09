//! Dropout: random zeroing in training, identity in evaluation.

use super::mode::ModeFlag;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::binary::{MulKernel, binary_op};
use crate::shape::Shape;
use crate::tensor::Tensor;
use rand::distr::{Distribution, StandardUniform};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use std::sync::{Mutex, PoisonError};

/// PyTorch's `nn.Dropout(p)`, on inputs of any shape.
///
/// * Evaluation ([`Module::forward`] of a fresh layer, or after [`Params::eval`]): the
///   identity.
/// * Training ([`Module::forward_train`], or `forward` after [`Params::train`]): each element
///   is kept with probability `1 - p` and scaled by `1 / (1 - p)`, otherwise zeroed (all
///   zeroed when `p = 1`). The gradient goes through the same mask.
///
/// The random generator is seeded when the layer is built and lives inside it, so a model
/// built from a fixed seed drops the same elements on every run. A clone continues from the
/// same state, so it draws the same masks as the original. `forward` in training mode draws
/// through `&self` (the generator sits behind a mutex, so the layer stays `Send + Sync`);
/// evaluation takes no lock.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Dropout, Module, Params};
/// let mut drop = Dropout::with_seed(0.5, 42);
/// let x = Tensor::<Rank1<1000>>::ones();
/// assert_eq!(drop.forward(x.clone()).to_vec(), x.to_vec()); // evaluation: identity
/// let y = drop.forward_train(x).to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// let kept = y.iter().filter(|&&v| v == 2.0).count();
/// assert!((400..600).contains(&kept));
/// // PyTorch's `model.train()`: `forward` drops too. (A layer without parameters has
/// // `Params` for every element type, so a lone Dropout names one; models need not.)
/// Params::<f32>::train(&mut drop);
/// let x = Tensor::<Rank1<1000>>::ones();
/// assert!(drop.forward(x).to_vec().contains(&0.0));
/// ```
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    rng: Mutex<Xoshiro256PlusPlus>,
    mode: ModeFlag,
}

impl Clone for Dropout {
    fn clone(&self) -> Self {
        Dropout {
            p: self.p,
            rng: Mutex::new(
                self.rng
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone(),
            ),
            mode: self.mode,
        }
    }
}

impl Dropout {
    /// Dropout with probability `p`, its generator seeded from `rng`. Panics unless
    /// `0 <= p <= 1` (see [`try_new`](Self::try_new)).
    ///
    /// ```
    /// use shaped::nn::Dropout;
    /// use rand::SeedableRng;
    /// let drop = Dropout::new(0.1, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(drop.p(), 0.1);
    /// ```
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(p: f64, rng: &mut R) -> Self {
        Self::try_new(p, rng).or_panic()
    }

    /// [`new`](Self::new), with an error for `p` outside `[0, 1]`.
    ///
    /// ```
    /// use shaped::nn::Dropout;
    /// use rand::SeedableRng;
    /// assert!(Dropout::try_new(1.5, &mut rand::rngs::StdRng::seed_from_u64(0)).is_err());
    /// ```
    pub fn try_new<R: Rng + ?Sized>(p: f64, rng: &mut R) -> Result<Self> {
        Self::check(p)?;
        Ok(Dropout {
            p,
            rng: Mutex::new(Xoshiro256PlusPlus::from_rng(rng)),
            mode: ModeFlag::default(),
        })
    }

    /// Dropout with probability `p` and a generator seeded with `seed`. Panics unless
    /// `0 <= p <= 1`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Dropout, Module};
    /// let x = Tensor::<Rank1<8>>::ones();
    /// let a = Dropout::with_seed(0.5, 7).forward_train(x.clone());
    /// let b = Dropout::with_seed(0.5, 7).forward_train(x);
    /// assert_eq!(a.to_vec(), b.to_vec()); // same seed, same mask
    /// ```
    #[track_caller]
    pub fn with_seed(p: f64, seed: u64) -> Self {
        Self::check(p).or_panic();
        Dropout {
            p,
            rng: Mutex::new(Xoshiro256PlusPlus::seed_from_u64(seed)),
            mode: ModeFlag::default(),
        }
    }

    /// The probability of zeroing an element.
    ///
    /// ```
    /// use shaped::nn::Dropout;
    /// assert_eq!(Dropout::with_seed(0.25, 0).p(), 0.25);
    /// ```
    pub fn p(&self) -> f64 {
        self.p
    }

    fn check(p: f64) -> Result<()> {
        if (0.0..=1.0).contains(&p) {
            Ok(())
        } else {
            Err(Error::value(
                "Dropout p",
                format!("{p} is not a probability in [0, 1]"),
            ))
        }
    }

    /// Whether this call drops: the mode a scope on this thread imposes
    /// ([`forward_train`](Module::forward_train) of an enclosing model, the `Trainer`'s
    /// validation), else the layer's flag ([`Params::train`]).
    pub(crate) fn active(&self) -> bool {
        self.mode.active()
    }

    /// Drops with the generator behind the mutex (training through `&self`).
    /// The next training-mode mask of `n` elements (`0` or `1/(1-p)`), drawn from the layer's
    /// generator as `forward` draws it (the GPU backend uploads it); `None` when `p == 0`.
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    pub(crate) fn next_mask<E: Float>(&self, n: usize) -> Option<Vec<E>> {
        if self.p == 0.0 {
            return None;
        }
        let scale = if self.p < 1.0 {
            E::from_f64(1.0 / (1.0 - self.p))
        } else {
            E::ZERO
        };
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        Some(mask_values(1.0 - self.p, scale, &mut rng, n))
    }

    pub(crate) fn drop_shared<S: Shape, E: Float, T: Tape<E>>(
        &self,
        x: Tensor<S, E, T>,
    ) -> Tensor<S, E, T> {
        if self.p == 0.0 {
            return x;
        }
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        apply_mask(self.p, &mut rng, x)
    }
}

/// `x` times a fresh keep-mask scaled by `1 / (1 - p)`.
/// `n` mask values: `scale` with probability `keep`, else zero.
fn mask_values<E: Float>(keep: f64, scale: E, rng: &mut Xoshiro256PlusPlus, n: usize) -> Vec<E> {
    (0..n)
        .map(|_| {
            let u: f64 = StandardUniform.sample(rng);
            if u < keep { scale } else { E::ZERO }
        })
        .collect()
}

fn apply_mask<S: Shape, E: Float, T: Tape<E>>(
    p: f64,
    rng: &mut Xoshiro256PlusPlus,
    x: Tensor<S, E, T>,
) -> Tensor<S, E, T> {
    let (keep, scale) = (
        1.0 - p,
        if p < 1.0 {
            E::from_f64(1.0 / (1.0 - p))
        } else {
            E::ZERO
        },
    );
    let mask = mask_values(keep, scale, rng, x.numel());
    let shape = x.shape;
    binary_op(x, Tensor::from_parts(shape, mask), shape, MulKernel)
}

impl<S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for Dropout {
    type Output = Tensor<S, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        Ok(if self.active() {
            self.drop_shared(x)
        } else {
            x
        })
    }
    fn try_forward_train(&mut self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        if self.p == 0.0 {
            return Ok(x);
        }
        let rng = self.rng.get_mut().unwrap_or_else(PoisonError::into_inner);
        Ok(apply_mask(self.p, rng, x))
    }
}

impl<E: Float> Params<E> for Dropout {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!("Dropout(p={})", super::summary::py_float(self.p)),
        )
    }
    fn set_training(&mut self, training: bool) {
        self.mode.set(training);
    }
    fn is_training(&self) -> bool {
        self.mode.get()
    }
}
