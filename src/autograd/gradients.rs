//! The gradients a backward pass produces, keyed by tensor id.

use super::tape::UniqueId;
use crate::dtype::Float;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

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

/// Where [`Gradients::contribute`] writes: the gradient so far, to add to, or the first
/// contribution's uninitialised buffer, to write in full.
pub(crate) enum GradSlot<'a, E> {
    Existing(&'a mut [E]),
    New(&'a mut [core::mem::MaybeUninit<E>]),
}

/// Gradients from [`Tensor::backward`](crate::tensor::Tensor::backward), read back through the tensors themselves.
///
/// ```
/// use shaped::prelude::*;
/// let x = Tensor::<Rank1<3>, f64>::from_array([1.0, 2.0, 3.0]);
/// let y = (x.clone().trace() * x.clone()).sum(); // sum(x^2)
/// let grads = y.backward();
/// assert_eq!(grads.get(&x).unwrap().to_vec(), vec![2.0, 4.0, 6.0]);
/// ```
pub struct Gradients<E: Float> {
    /// Shared buffers, copied on write: a backward step may hand one gradient to several
    /// inputs (`a + b`) without copying it.
    map: HashMap<UniqueId, Arc<Vec<E>>, IdBuild>,
    /// Gradients of tensors on another device (a GPU): they stay there, opaque to autograd.
    device: HashMap<UniqueId, Arc<dyn DeviceGrad>, IdBuild>,
    /// Gradients with every element equal, as `(len, value)`, during a backward pass only:
    /// the backward of a whole-tensor `sum` (and so `mean`) is one number, and the next op
    /// can read that number instead of a tensor-sized buffer (`relu(a + b).sum()`: one fill
    /// and one read of a 4M buffer fewer). An id is in `uniform` or in `map`, never both;
    /// any other access expands it, and so does the end of the pass, so the gradients a
    /// user reads are always buffers.
    uniform: HashMap<UniqueId, Uniform<E>, IdBuild>,
}

/// A gradient whose `len` elements all equal `value`; `fill` builds its buffer (the op that
/// made it passes the backend's parallel fill: autograd does not reach the backend).
#[derive(Clone, Copy)]
struct Uniform<E> {
    len: usize,
    value: E,
    fill: fn(usize, E) -> Vec<E>,
}

/// A gradient held on a device other than the CPU, e.g. a GPU buffer: autograd only stores,
/// adds and hands it back; the device's tensors read it (`crate::gpu`).
pub trait DeviceGrad: Send + Sync + 'static {
    /// `self + other`, both on the same device with the same length (accumulation).
    fn add(&self, other: &dyn DeviceGrad) -> Arc<dyn DeviceGrad>;
    /// The concrete gradient type, for the device that made it.
    fn as_any(&self) -> &dyn Any;
}

impl<E: Float> Default for Gradients<E> {
    fn default() -> Self {
        Gradients {
            map: HashMap::default(),
            device: HashMap::default(),
            uniform: HashMap::default(),
        }
    }
}

/// A copy of every gradient (e.g. to reduce the same gradients in two ways): the buffers
/// are shared and copied on the first write to either side; device gradients are shared,
/// which is safe because nothing writes into them.
impl<E: Float> Clone for Gradients<E> {
    fn clone(&self) -> Self {
        Gradients {
            map: self.map.clone(),
            device: self.device.clone(),
            uniform: self.uniform.clone(),
        }
    }
}

impl<E: Float> core::fmt::Debug for Gradients<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Gradients({} tensors)", self.len())
    }
}

impl<E: Float> Gradients<E> {
    /// The gradient stored for an id.
    pub fn get_id(&self, id: UniqueId) -> Option<&[E]> {
        self.map.get(&id).map(|g| g.as_slice())
    }
    /// The gradient stored for an id, mutably (for clipping and scaling).
    pub fn get_id_mut(&mut self, id: UniqueId) -> Option<&mut [E]> {
        self.expand(id);
        self.map
            .get_mut(&id)
            .map(|g| Arc::make_mut(g).as_mut_slice())
    }
    /// How many tensors have a gradient.
    pub fn len(&self) -> usize {
        self.map.len() + self.device.len() + self.uniform.len()
    }
    /// True when no gradient is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty() && self.device.is_empty() && self.uniform.is_empty()
    }
    /// Drops every gradient.
    pub fn clear(&mut self) {
        self.map.clear();
        self.device.clear();
        self.uniform.clear();
    }
    /// The ids that have a gradient.
    pub fn ids(&self) -> impl Iterator<Item = UniqueId> + '_ {
        self.map.keys().copied()
    }
    /// Adds every gradient of `other` into `self` (gradient accumulation over several
    /// backward passes).
    pub fn accumulate(&mut self, mut other: Gradients<E>) {
        other.expand_all();
        for (id, g) in other.map {
            self.add_shared(id, g);
        }
        for (id, g) in other.device {
            self.add_device(id, g);
        }
    }

    /// The device gradient of `id`.
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    pub(crate) fn get_device(&self, id: UniqueId) -> Option<&Arc<dyn DeviceGrad>> {
        self.device.get(&id)
    }
    /// Takes the device gradient of an op's output.
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    pub(crate) fn take_device(&mut self, id: UniqueId) -> Option<Arc<dyn DeviceGrad>> {
        self.device.remove(&id)
    }
    /// Adds `g` to the device gradient of `id`, moving it in when there is none yet.
    pub(crate) fn add_device(&mut self, id: UniqueId, g: Arc<dyn DeviceGrad>) {
        match self.device.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let sum = e.get().add(g.as_ref());
                e.insert(sum);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(g);
            }
        }
    }

    /// Takes the gradient of an op's output: the backward step is its last reader.
    pub(crate) fn take(&mut self, id: UniqueId) -> Option<Vec<E>> {
        self.expand(id);
        self.map
            .remove(&id)
            .map(|g| Arc::try_unwrap(g).unwrap_or_else(|g| g.as_ref().clone()))
    }
    /// Adds `g` to the gradient of `id`, moving it in when there is none yet.
    /// Stores a zero gradient of `len` elements for `id` (a parameter that this rank's batch
    /// did not reach, before gradients are averaged across ranks).
    pub(crate) fn insert_zeros(&mut self, id: UniqueId, len: usize) {
        self.uniform.remove(&id);
        self.map.insert(id, Arc::new(vec![E::ZERO; len]));
    }
    pub(crate) fn add(&mut self, id: UniqueId, g: Vec<E>) {
        self.add_shared(id, Arc::new(g));
    }
    /// [`add`](Self::add) of a buffer that other gradients may share (it is copied only if
    /// it has to be added to).
    pub(crate) fn add_shared(&mut self, id: UniqueId, g: Arc<Vec<E>>) {
        self.expand(id);
        match self.map.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let acc = Arc::make_mut(e.get_mut());
                debug_assert_eq!(acc.len(), g.len());
                for (a, b) in acc.iter_mut().zip(g.iter()) {
                    *a += *b;
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(g);
            }
        }
    }
    /// Whether `id` has a gradient yet (a buffer, or a uniform one).
    pub(crate) fn has(&self, id: UniqueId) -> bool {
        self.map.contains_key(&id) || self.uniform.contains_key(&id)
    }
    /// The gradient buffer of `id` for in-place accumulation, zero-filled when new.
    pub(crate) fn entry(&mut self, id: UniqueId, len: usize) -> &mut [E] {
        self.expand(id);
        let v = self
            .map
            .entry(id)
            .or_insert_with(|| Arc::new(vec![E::ZERO; len]));
        debug_assert_eq!(v.len(), len);
        Arc::make_mut(v).as_mut_slice()
    }
    /// Adds a contribution to the gradient of `id` (`len` values), written by `write`: added
    /// into the existing buffer ([`GradSlot::Existing`]), or, for the first contribution,
    /// written into new uninitialised memory ([`GradSlot::New`], a product with `beta = 0`)
    /// instead of a zero-filled buffer that the product then reads back.
    ///
    /// # Safety
    ///
    /// Given [`GradSlot::New`], `write` writes every element (or panics).
    pub(crate) unsafe fn contribute(
        &mut self,
        id: UniqueId,
        len: usize,
        write: impl FnOnce(GradSlot<'_, E>),
    ) {
        self.expand(id);
        if let Some(v) = self.map.get_mut(&id) {
            debug_assert_eq!(v.len(), len);
            write(GradSlot::Existing(Arc::make_mut(v).as_mut_slice()));
            return;
        }
        let mut v = Vec::with_capacity(len);
        write(GradSlot::New(&mut v.spare_capacity_mut()[..len]));
        // SAFETY: the caller's `write` wrote all `len` elements (a panic unwinds past this
        // line and drops the empty vector).
        unsafe { v.set_len(len) };
        self.map.insert(id, Arc::new(v));
    }
    pub(crate) fn insert(&mut self, id: UniqueId, g: Vec<E>) {
        self.uniform.remove(&id);
        self.map.insert(id, Arc::new(g));
    }

    /// Adds `value` to every one of the `len` elements of the gradient of `id`: kept as one
    /// number while `id` has no buffer (see the `uniform` field); `fill(len, v)` must return
    /// `len` copies of `v`, and is what expands it.
    pub(crate) fn add_uniform(
        &mut self,
        id: UniqueId,
        len: usize,
        value: E,
        fill: fn(usize, E) -> Vec<E>,
    ) {
        if let Some(acc) = self.map.get_mut(&id) {
            let acc = Arc::make_mut(acc);
            debug_assert_eq!(acc.len(), len);
            acc.iter_mut().for_each(|a| *a += value);
            return;
        }
        match self.uniform.entry(id) {
            std::collections::hash_map::Entry::Occupied(mut e) => {
                let u = e.get_mut();
                debug_assert_eq!(u.len, len);
                u.value += value;
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Uniform { len, value, fill });
            }
        }
    }
    /// Takes the gradient of an op's output when it is uniform: `(len, value)`.
    pub(crate) fn take_uniform(&mut self, id: UniqueId) -> Option<(usize, E)> {
        self.uniform.remove(&id).map(|u| (u.len, u.value))
    }
    /// Turns the uniform gradient of `id`, if any, into a buffer.
    fn expand(&mut self, id: UniqueId) {
        if let Some(u) = self.uniform.remove(&id) {
            let buffer = (u.fill)(u.len, u.value);
            debug_assert_eq!(buffer.len(), u.len);
            self.map.insert(id, Arc::new(buffer));
        }
    }
    /// Turns every uniform gradient into a buffer: the end of a backward pass.
    pub(crate) fn expand_all(&mut self) {
        let ids: Vec<UniqueId> = self.uniform.keys().copied().collect();
        for id in ids {
            self.expand(id);
        }
    }
}
