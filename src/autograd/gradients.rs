//! The gradients a backward pass produces, keyed by tensor id.

use super::tape::UniqueId;
use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Ids are sequential integers; a multiplicative hash spreads them over the table's bits
/// far more cheaply than SipHash.
#[derive(Default)]
pub(crate) struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
pub(crate) type IdBuild = BuildHasherDefault<IdHasher>;
pub(crate) type IdSet = HashSet<UniqueId, IdBuild>;

/// Gradients from [`Tensor::backward`], read back through the tensors themselves.
///
/// ```
/// use shaped::prelude::*;
/// let x = Tensor::<Rank1<3>, f64>::from_array([1.0, 2.0, 3.0]);
/// let y = (x.clone().trace() * x.clone()).sum(); // sum(x^2)
/// let grads = y.backward();
/// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
pub struct Gradients<E: Float> {
    map: HashMap<UniqueId, Vec<E>, IdBuild>,
}

impl<E: Float> Default for Gradients<E> {
    fn default() -> Self {
        Gradients {
            map: HashMap::default(),
        }
    }
}

impl<E: Float> core::fmt::Debug for Gradients<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Gradients({} tensors)", self.map.len())
    }
}

impl<E: Float> Gradients<E> {
    /// The gradient of `t` as a tensor of the same shape, or `None` if no gradient reached it.
    pub fn get<S: Shape, T>(&self, t: &Tensor<S, E, T>) -> Option<Tensor<S, E>> {
        self.map
            .get(&t.id)
            .map(|g| Tensor::from_parts(t.shape, g.clone()))
    }
    /// The gradient of `t` as a slice, without copying.
    pub fn get_slice<S: Shape, T>(&self, t: &Tensor<S, E, T>) -> Option<&[E]> {
        self.map.get(&t.id).map(|g| g.as_slice())
    }
    /// Removes and returns the gradient of `t`.
    pub fn remove<S: Shape, T>(&mut self, t: &Tensor<S, E, T>) -> Option<Tensor<S, E>> {
        self.map
            .remove(&t.id)
            .map(|g| Tensor::from_parts(t.shape, g))
    }
    /// Sets the gradient of `t` (replacing any), e.g. to feed an optimizer gradients computed
    /// elsewhere.
    ///
    /// Panics when `grad`'s run-time sizes differ from `t`'s; see [`try_set`](Self::try_set).
    pub fn set<S: Shape, T>(&mut self, t: &Tensor<S, E, T>, grad: Tensor<S, E>) {
        self.try_set(t, grad).unwrap_or_else(|e| panic!("{e}"))
    }
    /// [`set`](Self::set), with an error naming both shapes when `grad`'s run-time sizes
    /// differ from `t`'s (every gradient stored has its tensor's shape, which backward
    /// steps rely on).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize,)>::zeros_with_shape((3,));
    /// let mut grads = Gradients::default();
    /// assert!(grads.try_set(&x, Tensor::zeros_with_shape((4,))).is_err());
    /// assert!(grads.try_set(&x, Tensor::ones_with_shape((3,))).is_ok());
    /// ```
    pub fn try_set<S: Shape, T>(
        &mut self,
        t: &Tensor<S, E, T>,
        grad: Tensor<S, E>,
    ) -> crate::error::Result<()> {
        let (want, got) = (t.dims(), grad.dims());
        if want != got || grad.numel() != t.numel() {
            return Err(crate::error::Error::shape(
                "Gradients::set",
                format!(
                    "the gradient has shape {:?} but the tensor has shape {:?}",
                    got.as_slice(),
                    want.as_slice()
                ),
            ));
        }
        self.map.insert(t.id, grad.into_vec());
        Ok(())
    }
    /// The gradient stored for an id.
    pub fn get_id(&self, id: UniqueId) -> Option<&[E]> {
        self.map.get(&id).map(|g| g.as_slice())
    }
    /// The gradient stored for an id, mutably (for clipping and scaling).
    pub fn get_id_mut(&mut self, id: UniqueId) -> Option<&mut [E]> {
        self.map.get_mut(&id).map(|g| g.as_mut_slice())
    }
    /// How many tensors have a gradient.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True when no gradient is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// Drops every gradient.
    pub fn clear(&mut self) {
        self.map.clear()
    }
    /// The ids that have a gradient.
    pub fn ids(&self) -> impl Iterator<Item = UniqueId> + '_ {
        self.map.keys().copied()
    }
    /// Adds every gradient of `other` into `self` (gradient accumulation over several
    /// backward passes).
    pub fn accumulate(&mut self, other: Gradients<E>) {
        for (id, g) in other.map {
            self.add(id, g);
        }
    }

    /// Takes the gradient of an op's output: the backward step is its last reader.
    pub(crate) fn take(&mut self, id: UniqueId) -> Option<Vec<E>> {
        self.map.remove(&id)
    }
    /// Adds `g` to the gradient of `id`, moving it in when there is none yet.
    pub(crate) fn add(&mut self, id: UniqueId, g: Vec<E>) {
        match self.map.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let acc = e.get_mut();
                debug_assert_eq!(acc.len(), g.len());
                for (a, b) in acc.iter_mut().zip(g) {
                    *a += b;
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(g);
            }
        }
    }
    /// The gradient buffer of `id` for in-place accumulation, zero-filled when new.
    pub(crate) fn entry(&mut self, id: UniqueId, len: usize) -> &mut [E] {
        let v = self.map.entry(id).or_insert_with(|| vec![E::ZERO; len]);
        debug_assert_eq!(v.len(), len);
        v
    }
    pub(crate) fn insert(&mut self, id: UniqueId, g: Vec<E>) {
        self.map.insert(id, g);
    }
}
