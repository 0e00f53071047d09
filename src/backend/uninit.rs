//! Output buffers that a kernel writes in full, without zero-filling them first.
//!
//! `vec![0.0; n]` over memory the allocator reuses is a memset, and the kernel then writes
//! every element again: on W7 of issue 15 (two `LSTMCell`s stepped 999 times, f64) the
//! zeroed outputs and activations of each step were 12% of the calling thread's samples.
//! Kernels that write every element of an output take it as `&mut [MaybeUninit<E>]`
//! (written with `MaybeUninit::write`) and hand it back as initialised once done.

use core::mem::MaybeUninit;

/// Where a backward pass puts an input gradient: added into the buffer that holds earlier
/// contributions, or written whole into new memory (the first contribution, which then
/// needs no zero fill to read back).
pub(crate) enum GradTarget<'a, E> {
    Add(&'a mut [E]),
    Write(&'a mut [MaybeUninit<E>]),
}

/// An element of a [`GradTarget`]: `put` adds (into an existing gradient) or writes (a new
/// one), so that one kernel body serves both.
pub(crate) trait GradElement<E>: Send {
    fn put(&mut self, v: E);
}

impl<E: crate::dtype::Float> GradElement<E> for E {
    #[inline(always)]
    fn put(&mut self, v: E) {
        *self += v;
    }
}

impl<E: crate::dtype::Float> GradElement<E> for MaybeUninit<E> {
    #[inline(always)]
    fn put(&mut self, v: E) {
        self.write(v);
    }
}

/// Writes `v` over `buf` and returns it as initialised.
#[inline(always)]
pub(crate) fn filled<T: Copy>(buf: &mut [MaybeUninit<T>], v: T) -> &mut [T] {
    for slot in buf.iter_mut() {
        slot.write(v);
    }
    // SAFETY: every element was written just above.
    unsafe { assume_init_mut(buf) }
}

/// Copies `src` into `dst` (of the same length) in chunks of 16 elements (4 below 16), the
/// last chunk overlapping the one before it instead of a scalar tail: a run of 28 `f32` is
/// two 64-byte moves, not a vector loop, a half-width step and four single elements. Rows
/// cut from a tensor are often such odd lengths (the 28-wide rows of a permuted NCHW map:
/// (32, 64, 28, 28) to (0, 2, 1, 3), one thread, 0.365 -> 0.29 ms; PyTorch 0.28).
#[inline(always)]
pub(crate) fn copy_run<T: Copy>(dst: &mut [MaybeUninit<T>], src: &[T]) {
    #[inline(always)]
    fn chunks<T: Copy, const CHUNK: usize>(dst: &mut [MaybeUninit<T>], src: &[T]) {
        let n = src.len();
        let mut at = 0;
        while at + CHUNK <= n {
            dst[at..at + CHUNK].write_copy_of_slice(&src[at..at + CHUNK]);
            at += CHUNK;
        }
        if at < n {
            dst[n - CHUNK..n].write_copy_of_slice(&src[n - CHUNK..]);
        }
    }
    let n = src.len();
    if n >= 16 {
        chunks::<T, 16>(dst, src);
    } else if n >= 4 {
        chunks::<T, 4>(dst, src);
    } else {
        for (slot, &v) in dst[..n].iter_mut().zip(src) {
            slot.write(v);
        }
    }
}

/// `buf` as initialised.
///
/// # Safety
///
/// Every element of `buf` has been written.
#[inline(always)]
pub(crate) unsafe fn assume_init_mut<T>(buf: &mut [MaybeUninit<T>]) -> &mut [T] {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and the caller guarantees that every
    // element holds a `T`.
    unsafe { &mut *(buf as *mut [MaybeUninit<T>] as *mut [T]) }
}

/// `buf` as initialised, read-only.
///
/// # Safety
///
/// Every element of `buf` has been written.
#[inline(always)]
pub(crate) unsafe fn assume_init<T>(buf: &[MaybeUninit<T>]) -> &[T] {
    // SAFETY: as in `assume_init_mut`.
    unsafe { &*(buf as *const [MaybeUninit<T>] as *const [T]) }
}

/// An initialised `buf` passed to a kernel that writes its outputs as `MaybeUninit`.
///
/// # Safety
///
/// Only initialised values may be written through the result (`MaybeUninit::write`, never
/// `MaybeUninit::uninit()`): `buf` is read as initialised afterwards.
#[inline(always)]
pub(crate) unsafe fn as_uninit_mut<T>(buf: &mut [T]) -> &mut [MaybeUninit<T>] {
    // SAFETY: same layout; the caller writes only initialised values.
    unsafe { &mut *(buf as *mut [T] as *mut [MaybeUninit<T>]) }
}

/// A vector of `n` elements, all written by `write` (given the `n` uninitialised slots).
///
/// # Safety
///
/// `write` writes every element of the slice it is given, or panics.
#[inline(always)]
pub(crate) unsafe fn written<T>(n: usize, write: impl FnOnce(&mut [MaybeUninit<T>])) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    write(&mut v.spare_capacity_mut()[..n]);
    // SAFETY: the caller guarantees that `write` wrote all `n` elements (a panic unwinds
    // before this line and drops an empty vector).
    unsafe { v.set_len(n) };
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_vectors_hold_what_was_written() {
        // SAFETY: the closure writes all 5 slots.
        let v: Vec<f64> = unsafe {
            written(5, |slots| {
                for (i, s) in slots.iter_mut().enumerate() {
                    s.write(i as f64 * 0.5);
                }
            })
        };
        assert_eq!(v, [0.0, 0.5, 1.0, 1.5, 2.0]);
        let mut buf = [MaybeUninit::<u32>::uninit(); 3];
        assert_eq!(filled(&mut buf, 7), [7, 7, 7]);
        let mut init = vec![1.0f32, 2.0];
        // SAFETY: writes an initialised value only.
        unsafe { as_uninit_mut(&mut init)[1].write(3.0) };
        assert_eq!(init, [1.0, 3.0]);
    }
}
