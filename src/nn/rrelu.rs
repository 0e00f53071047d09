//! RReLU: a leaky ReLU with a random negative slope per element in training, and their
//! mean in evaluation (PyTorch's `nn.RReLU`).

use super::mode::ModeFlag;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{OrPanic, Result};
use crate::ops::activation::check_rrelu_bounds;
use crate::shape::Shape;
use crate::tensor::Tensor;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use std::sync::{Mutex, PoisonError};

/// PyTorch's `nn.RReLU(lower, upper)` (defaults `1/8` and `1/3`: [`RReLU::LOWER`],
/// [`RReLU::UPPER`]), on inputs of any shape.
///
/// * Evaluation ([`Module::forward`] of a fresh layer, or after [`Params::eval`]): `x` where
///   positive, else `x` times the fixed slope `(lower + upper) / 2`
///   ([`Tensor::rrelu`]).
/// * Training ([`Module::forward_train`], or `forward` after [`Params::train`]): each
///   element `x <= 0` is multiplied by its own slope drawn uniformly from `[lower, upper)`,
///   and its gradient is that slope ([`Tensor::rrelu_train`]).
///
/// As [`Dropout`](super::Dropout), the generator is seeded when the layer is built and lives
/// inside it (behind a mutex, so that `forward` can draw through `&self`); a clone continues
/// from the same state.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RReLU};
/// let mut layer = RReLU::with_seed(0.1, 0.3, 7);
/// let x = Tensor::<Rank1<3>>::from_array([-1.0, 0.5, -2.0]);
/// assert_eq!(layer.forward(x.clone()).to_vec(), vec![-0.2, 0.5, -0.4]); // evaluation
/// let y = layer.forward_train(x).to_vec();
/// assert!((-0.3..=-0.1).contains(&y[0]) && y[1] == 0.5);
/// ```
#[derive(Debug)]
pub struct RReLU {
    lower: f64,
    upper: f64,
    rng: Mutex<Xoshiro256PlusPlus>,
    mode: ModeFlag,
}

impl Clone for RReLU {
    fn clone(&self) -> Self {
        RReLU {
            lower: self.lower,
            upper: self.upper,
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

impl Default for RReLU {
    /// PyTorch's `nn.RReLU()`: bounds `1/8` and `1/3`, the generator seeded with 0.
    fn default() -> Self {
        RReLU::with_seed(Self::LOWER, Self::UPPER, 0)
    }
}

impl RReLU {
    /// PyTorch's default lower bound, `1/8`.
    ///
    /// ```
    /// use shaped::nn::RReLU;
    /// assert_eq!(RReLU::default().bounds(), (RReLU::LOWER, RReLU::UPPER));
    /// ```
    pub const LOWER: f64 = 1.0 / 8.0;
    /// PyTorch's default upper bound, `1/3`.
    ///
    /// ```
    /// use shaped::nn::RReLU;
    /// assert_eq!(RReLU::UPPER, 1.0 / 3.0);
    /// ```
    pub const UPPER: f64 = 1.0 / 3.0;

    /// RReLU with slopes in `[lower, upper)`, its generator seeded from `rng`. Panics unless
    /// the bounds are finite with `lower <= upper` (see [`try_new`](Self::try_new)).
    ///
    /// ```
    /// use shaped::nn::RReLU;
    /// use rand::SeedableRng;
    /// let layer = RReLU::new(RReLU::LOWER, RReLU::UPPER, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.bounds(), (0.125, 1.0 / 3.0));
    /// ```
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(lower: f64, upper: f64, rng: &mut R) -> Self {
        Self::try_new(lower, upper, rng).or_panic()
    }

    /// [`new`](Self::new), with an error for bounds that are not finite with
    /// `lower <= upper`.
    ///
    /// ```
    /// use shaped::nn::RReLU;
    /// use rand::SeedableRng;
    /// assert!(RReLU::try_new(0.5, 0.1, &mut rand::rngs::StdRng::seed_from_u64(0)).is_err());
    /// ```
    pub fn try_new<R: Rng + ?Sized>(lower: f64, upper: f64, rng: &mut R) -> Result<Self> {
        check_rrelu_bounds(lower, upper)?;
        Ok(RReLU {
            lower,
            upper,
            rng: Mutex::new(Xoshiro256PlusPlus::from_rng(rng)),
            mode: ModeFlag::default(),
        })
    }

    /// RReLU with slopes in `[lower, upper)` and a generator seeded with `seed`. Panics
    /// unless the bounds are finite with `lower <= upper`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Module, RReLU};
    /// let x = Tensor::<Rank1<8>>::from_array([-1.0; 8]);
    /// let a = RReLU::with_seed(0.1, 0.3, 5).forward_train(x.clone());
    /// let b = RReLU::with_seed(0.1, 0.3, 5).forward_train(x);
    /// assert_eq!(a.to_vec(), b.to_vec()); // same seed, same slopes
    /// ```
    #[track_caller]
    pub fn with_seed(lower: f64, upper: f64, seed: u64) -> Self {
        check_rrelu_bounds(lower, upper).or_panic();
        RReLU {
            lower,
            upper,
            rng: Mutex::new(Xoshiro256PlusPlus::seed_from_u64(seed)),
            mode: ModeFlag::default(),
        }
    }

    /// `(lower, upper)`.
    ///
    /// ```
    /// use shaped::nn::RReLU;
    /// assert_eq!(RReLU::with_seed(0.1, 0.2, 0).bounds(), (0.1, 0.2));
    /// ```
    pub fn bounds(&self) -> (f64, f64) {
        (self.lower, self.upper)
    }
}

impl RReLU {
    /// Whether `forward` draws random slopes (training mode).
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    pub(crate) fn active(&self) -> bool {
        self.mode.active()
    }

    /// `n` slopes drawn uniformly from `[lower, upper]` by the layer's generator, one per
    /// element (the GPU backend uploads them and uses those of the non-positive elements).
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    pub(crate) fn draw_slopes<E: Float>(&self, n: usize) -> Vec<E> {
        use rand::distr::{Distribution, StandardUniform};
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        (0..n)
            .map(|_| {
                let u: f64 = StandardUniform.sample(&mut *rng);
                E::from_f64(self.lower + (self.upper - self.lower) * u)
            })
            .collect()
    }
}

impl<S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for RReLU {
    type Output = Tensor<S, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        if self.mode.active() {
            let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
            x.try_rrelu_train(self.lower, self.upper, &mut *rng)
        } else {
            x.try_rrelu(self.lower, self.upper)
        }
    }
    fn try_forward_train(&mut self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        let rng = self.rng.get_mut().unwrap_or_else(PoisonError::into_inner);
        x.try_rrelu_train(self.lower, self.upper, rng)
    }
}

impl<E: Float> Params<E> for RReLU {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!(
                "RReLU(lower={}, upper={})",
                super::summary::py_float(self.lower),
                super::summary::py_float(self.upper)
            ),
        )
    }
    fn set_training(&mut self, training: bool) {
        self.mode.set(training);
    }
    fn is_training(&self) -> bool {
        self.mode.get()
    }
}
