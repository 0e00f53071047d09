//! BatchNorm's (and a tracking InstanceNorm's) running statistics updated through `&self`: a training-mode `forward` (after
//! `model.train()`, or inside a user struct's `forward_train`) cannot write the layer's
//! `running_mean` / `running_var` tensors, so the updated values wait here until the next
//! `&mut` access moves them into the fields.

use crate::dtype::Float;
use crate::ops::norm::BatchStats;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// `(running_mean, running_var)` values newer than the layer's fields, if any.
///
/// `dirty` mirrors `values.is_some()` so that evaluation, the common multi-threaded case,
/// takes no lock when nothing is pending.
#[derive(Debug, Default)]
pub(crate) struct PendingStats<E> {
    dirty: AtomicBool,
    values: Mutex<Option<(Vec<E>, Vec<E>)>>,
}

impl<E: Float> PendingStats<E> {
    /// Applies `update` to the newest `(mean, var)`: the pending values, or a copy of the
    /// fields `mean` and `var` when nothing is pending.
    pub(crate) fn update(&self, mean: &[E], var: &[E], update: impl FnOnce(&mut [E], &mut [E])) {
        let mut values = self.values.lock().unwrap_or_else(PoisonError::into_inner);
        let (m, v) = values.get_or_insert_with(|| (mean.to_vec(), var.to_vec()));
        update(m, v);
        self.dirty.store(true, Ordering::Release);
    }

    /// A copy of the pending values, `None` (without locking) when the fields are current.
    pub(crate) fn snapshot(&self) -> Option<(Vec<E>, Vec<E>)> {
        if !self.dirty.load(Ordering::Acquire) {
            return None;
        }
        self.values
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the pending values (no lock: `&mut` proves no other thread holds the layer).
    pub(crate) fn take(&mut self) -> Option<(Vec<E>, Vec<E>)> {
        *self.dirty.get_mut() = false;
        self.values
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl<E: Float> Clone for PendingStats<E> {
    fn clone(&self) -> Self {
        let values = self.snapshot();
        PendingStats {
            dirty: AtomicBool::new(values.is_some()),
            values: Mutex::new(values),
        }
    }
}

/// `running = (1 - m) running + m batch_stat`, the variance made unbiased for `count` values.
pub(crate) fn blend<E: Float>(
    mean: &mut [E],
    var: &mut [E],
    stats: &BatchStats<E>,
    count: usize,
    m: f64,
) {
    let unbias = count as f64 / count.saturating_sub(1).max(1) as f64;
    for (r, &v) in mean.iter_mut().zip(&stats.mean) {
        *r = E::from_f64((1.0 - m) * r.to_f64() + m * v.to_f64());
    }
    for (r, &v) in var.iter_mut().zip(&stats.var) {
        *r = E::from_f64((1.0 - m) * r.to_f64() + m * v.to_f64() * unbias);
    }
}
