//! Dropout: random zeroing in training, identity in evaluation.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::binary::{MulKernel, binary_op};
use crate::shape::Shape;
use crate::tensor::Tensor;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardUniform};

/// PyTorch's `nn.Dropout(p)`, on inputs of any shape.
///
/// * Evaluation ([`Module::forward`]): the identity.
/// * Training ([`Module::forward_train`]): each element is kept with probability `1 - p` and
///   scaled by `1 / (1 - p)`, otherwise zeroed (all zeroed when `p = 1`). The gradient goes
///   through the same mask.
///
/// The random generator is seeded when the layer is built and lives inside it, so a model
/// built from a fixed seed drops the same elements on every run. A clone continues from the
/// same state, so it draws the same masks as the original.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Dropout, Module};
/// let mut drop = Dropout::with_seed(0.5, 42);
/// let x = Tensor::<Rank1<1000>>::ones();
/// assert_eq!(drop.forward(x.clone()).to_vec(), x.to_vec()); // evaluation: identity
/// let y = drop.forward_train(x).to_vec();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
/// let kept = y.iter().filter(|&&v| v == 2.0).count();
/// assert!((400..600).contains(&kept));
/// ```
#[derive(Clone, Debug)]
pub struct Dropout {
    p: f64,
    rng: Xoshiro256PlusPlus,
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
            rng: Xoshiro256PlusPlus::from_rng(rng),
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
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
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
}

impl<S: Shape, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for Dropout {
    type Output = Tensor<S, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        Ok(x)
    }
    fn try_forward_train(&mut self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        if self.p == 0.0 {
            return Ok(x);
        }
        let (keep, scale) = (
            1.0 - self.p,
            if self.p < 1.0 {
                E::from_f64(1.0 / (1.0 - self.p))
            } else {
                E::ZERO
            },
        );
        let mask = (0..x.numel())
            .map(|_| {
                let u: f64 = StandardUniform.sample(&mut self.rng);
                if u < keep { scale } else { E::ZERO }
            })
            .collect();
        let shape = x.shape;
        Ok(binary_op(
            x,
            Tensor::from_parts(shape, mask),
            shape,
            MulKernel,
        ))
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
}
