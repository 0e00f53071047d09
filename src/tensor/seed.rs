//! The crate-level random number generator (PyTorch's default generator), for code that
//! does not pass its own: [`manual_seed`], [`GlobalRng`] (an RNG handle for every
//! constructor that takes one), [`Tensor::randn_like`] and [`Tensor::rand_like`].
//!
//! Like PyTorch's, the generator is global to the process, shared by all threads behind a
//! lock, and starts from a fixed seed ([`DEFAULT_SEED`]), so a program that never seeds
//! still draws the same numbers on every run. Draws from several threads at once interleave
//! in whatever order the threads take the lock: for reproducible multi-threaded code, give
//! each thread its own seeded RNG instead.

use super::Tensor;
use crate::dtype::Float;
use crate::shape::Shape;
use core::convert::Infallible;
use rand::rngs::ChaCha12Rng;
use rand::{SeedableRng, TryRng};
use std::sync::{Mutex, MutexGuard};

/// The seed the crate-level generator starts from until [`manual_seed`] is called
/// (PyTorch's default seed; the numbers drawn differ from PyTorch's, whose generator is
/// another algorithm).
///
/// ```
/// assert_eq!(shaped::DEFAULT_SEED, 67280421310721);
/// ```
pub const DEFAULT_SEED: u64 = 67280421310721;

/// The generator and the seed it was last seeded with.
struct Global {
    rng: ChaCha12Rng,
    seed: u64,
}

static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);

/// The generator, created from [`DEFAULT_SEED`] on first use. A panic while the lock was
/// held cannot leave the generator half-updated (every draw completes or not), so a
/// poisoned lock is simply taken over.
fn lock() -> MutexGuard<'static, Option<Global>> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn with_global<T>(f: impl FnOnce(&mut Global) -> T) -> T {
    let mut guard = lock();
    let g = guard.get_or_insert_with(|| Global {
        rng: ChaCha12Rng::seed_from_u64(DEFAULT_SEED),
        seed: DEFAULT_SEED,
    });
    f(g)
}

/// Seeds the crate-level generator (`torch.manual_seed`): everything drawn through
/// [`GlobalRng`], [`Tensor::randn_like`] and [`Tensor::rand_like`] afterwards repeats for
/// the same seed. The generator is process-wide (all threads share it).
///
/// ```rust,standalone_crate
/// use shaped::prelude::*;
/// use shaped::nn::Linear;
/// shaped::manual_seed(42);
/// let a = Linear::<3, 2>::new(&mut shaped::GlobalRng);
/// shaped::manual_seed(42);
/// let b = Linear::<3, 2>::new(&mut shaped::GlobalRng);
/// assert_eq!(a.weight.to_vec(), b.weight.to_vec());
/// ```
pub fn manual_seed(seed: u64) {
    *lock() = Some(Global {
        rng: ChaCha12Rng::seed_from_u64(seed),
        seed,
    });
}

/// The seed the crate-level generator was last seeded with (`torch.initial_seed`):
/// [`DEFAULT_SEED`] until [`manual_seed`] is called.
///
/// ```rust,standalone_crate
/// shaped::manual_seed(7);
/// assert_eq!(shaped::initial_seed(), 7);
/// ```
pub fn initial_seed() -> u64 {
    with_global(|g| g.seed)
}

/// A copy of the crate-level generator at its current position (`torch.get_rng_state`),
/// e.g. for [`Checkpoint::with_rng`](crate::serialize::Checkpoint::with_rng).
///
/// ```rust,standalone_crate
/// use shaped::rand::Rng;
/// shaped::manual_seed(3);
/// let mut copy = shaped::get_rng_state();
/// assert_eq!(copy.next_u64(), shaped::rand::Rng::next_u64(&mut shaped::GlobalRng));
/// ```
pub fn get_rng_state() -> ChaCha12Rng {
    // The generator is not `Clone`; its exact state round-trips through bytes.
    with_global(|g| ChaCha12Rng::deserialize_state(&g.rng.serialize_state()))
}

/// Puts the crate-level generator at the position of `rng` (`torch.set_rng_state`), e.g.
/// one restored from a checkpoint; [`initial_seed`] is unchanged.
///
/// ```rust,standalone_crate
/// use shaped::prelude::*;
/// shaped::manual_seed(5);
/// let saved = shaped::get_rng_state();
/// let a = Tensor::<Rank1<3>>::zeros().randn_like();
/// shaped::set_rng_state(saved);
/// let b = Tensor::<Rank1<3>>::zeros().randn_like();
/// assert_eq!(a.to_vec(), b.to_vec());
/// ```
pub fn set_rng_state(rng: ChaCha12Rng) {
    with_global(|g| g.rng = rng);
}

/// A handle on the crate-level generator, usable wherever an RNG is taken:
/// `Linear::new(&mut GlobalRng)`, `Tensor::randn(&mut GlobalRng)`. Each draw takes the
/// process-wide lock once; seed it with [`manual_seed`].
///
/// ```rust,standalone_crate
/// use shaped::prelude::*;
/// use shaped::GlobalRng;
/// shaped::manual_seed(0);
/// let a = Tensor::<Rank2<2, 3>>::randn(&mut GlobalRng);
/// shaped::manual_seed(0);
/// let b = Tensor::<Rank2<2, 3>>::randn(&mut GlobalRng);
/// assert_eq!(a.to_vec(), b.to_vec());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalRng;

impl TryRng for GlobalRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(with_global(|g| rand::Rng::next_u32(&mut g.rng)))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(with_global(|g| rand::Rng::next_u64(&mut g.rng)))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        with_global(|g| rand::Rng::fill_bytes(&mut g.rng, dst));
        Ok(())
    }
}

impl<S: Shape, E: Float, T> Tensor<S, E, T> {
    /// A tensor of this one's shape, of standard normal samples from the crate-level
    /// generator (`torch.randn_like`); untraced. The draws take the lock once.
    ///
    /// ```rust,standalone_crate
    /// use shaped::prelude::*;
    /// let x = Tensor::<Rank2<2, 3>>::zeros();
    /// shaped::manual_seed(1);
    /// let a = x.randn_like();
    /// shaped::manual_seed(1);
    /// assert_eq!(a.to_vec(), x.randn_like().to_vec());
    /// ```
    pub fn randn_like(&self) -> Tensor<S, E> {
        let shape = self.shape;
        with_global(|g| Tensor::randn_with_shape(shape, &mut g.rng))
    }
    /// A tensor of this one's shape, of uniform samples in `[0, 1)` from the crate-level
    /// generator (`torch.rand_like`); untraced. The draws take the lock once.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let u = Tensor::<(usize,)>::zeros_with_shape((100,)).rand_like();
    /// assert!(u.as_slice().iter().all(|&v| (0.0..1.0).contains(&v)));
    /// ```
    pub fn rand_like(&self) -> Tensor<S, E> {
        let shape = self.shape;
        with_global(|g| Tensor::rand_with_shape(shape, &mut g.rng))
    }
}
