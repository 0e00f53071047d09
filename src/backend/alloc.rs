//! Keeping freed tensor memory in the process instead of returning it to the kernel.
//!
//! A training step frees and allocates the same buffers every time. glibc's malloc serves
//! blocks above its `mmap` threshold (dynamic, from 128 KiB) with fresh `mmap` calls and
//! unmaps them on free, so every step faults in and zeroes megabytes of new pages: on the
//! issue-7 CNN, page faults were over 15% of the step, and a 4M-element `relu(a + b)`
//! forward and backward ran 3x slower than with reused memory. PyTorch avoids the same cost
//! with its caching allocator; we get the same effect by raising the threshold to its
//! maximum (32 MiB, so tensors up to 8M f32 come from the heap and are reused) and keeping
//! freed heap memory (trim threshold 1 GiB). Peak memory is unchanged; memory freed after a
//! peak stays mapped, as with PyTorch.
//!
//! This runs once per process, as part of the backend's initialisation ([`super::init`],
//! run by the first kernel call). `SHAPED_MALLOC_TUNING=0` leaves malloc as it is (for
//! programs that tune it themselves). Other C libraries and systems are left alone.

/// Applies the malloc settings above; called once, by [`super::init`].
pub(crate) fn keep_freed_memory() {
    if std::env::var("SHAPED_MALLOC_TUNING").is_ok_and(|v| v.trim() == "0") {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes malloc's thresholds; it is safe to call at any time
        // (glibc takes its own lock) and a refused value leaves the old setting.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}
