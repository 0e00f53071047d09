//! Keeping freed tensor memory in the process instead of returning it to the kernel.
//!
//! A training step frees and allocates the same buffers every time. glibc's malloc serves
//! blocks above its `mmap` threshold (dynamic, from 128 KiB) with fresh `mmap` calls and
//! unmaps them on free, so every step faults in and zeroes megabytes of new pages: on the
//! issue-7 CNN, page faults were over 15% of the step, and a 4M-element `relu(a + b)`
//! forward and backward ran 3x slower than with reused memory. PyTorch avoids the same cost
//! with its caching allocator; we get the same effect by raising the threshold to its
//! maximum (32 MiB), turning `mmap` off for larger blocks too (`M_MMAP_MAX = 0`), and
//! keeping freed heap memory (trim threshold 1 GiB). Above 32 MiB (an 8M-element `f32`
//! tensor: a batch of 64 feature maps of 64 x 64 x 32) every allocation was a fresh mapping:
//! a 2048 x 50 by 50 x 2056 `f64` product spent two thirds of its time faulting in its
//! output (14.8 GFLOP/s on one thread; from the heap 52.3, the `gemm` crate writing into a
//! buffer it reuses 50.3; PyTorch, which leaves glibc's defaults, 19.0). Peak memory is
//! unchanged; memory freed after a peak stays mapped, as with PyTorch's caching allocator.
//! (A thread other than the main one whose arena cannot hold a block, above 64 MiB, still
//! gets it mapped: glibc falls back to `mmap` there.)
//!
//! This runs once per process, as part of the backend's initialisation ([`super::init`],
//! run by the first kernel call). `SHAPED_MALLOC_TUNING=0` leaves malloc as it is (for
//! programs that tune it themselves). Other C libraries and systems are left alone.

/// Applies the malloc settings above; called once, by [`super::init`].
pub(crate) fn keep_freed_memory() {
    if std::env::var("SHAPED_MALLOC_TUNING").is_ok_and(|v| v.trim() == "0") {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
    {
        // SAFETY: the declaration matches glibc's `int mallopt(int param, int value)`.
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        const M_MMAP_MAX: i32 = -4;
        // SAFETY: mallopt only changes malloc's thresholds; it is safe to call at any time
        // (glibc takes its own lock) and a refused value leaves the old setting.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_MMAP_MAX, 0);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu", not(miri)))]
mod tests {
    /// Minor page faults of the calling thread so far (`/proc/thread-self/stat`, field 10).
    fn minor_faults() -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces.
        let after = &stat[stat.rfind(')')? + 2..];
        after.split(' ').nth(7)?.parse().ok()
    }

    /// A block above glibc's largest `mmap` threshold (32 MiB), freed and taken again, is
    /// served from the retained heap: writing it again faults in (almost) no pages, where
    /// a fresh mapping faults in all 12K of them. Other tests allocate on other threads
    /// meanwhile (and may take the freed block first), so one of a few tries must show it.
    #[test]
    fn large_blocks_are_reused_without_faulting_pages_in() {
        crate::backend::init();
        if std::env::var("SHAPED_MALLOC_TUNING").is_ok_and(|v| v.trim() == "0") {
            return;
        }
        let Some(_) = minor_faults() else { return };
        const LEN: usize = 48 << 20;
        let fill = |value: u8| std::hint::black_box(vec![value; LEN]);
        let pages = LEN / 4096;
        let mut seen = Vec::new();
        for attempt in 0..4u8 {
            drop(fill(attempt));
            let before = minor_faults().unwrap_or(0);
            drop(fill(attempt + 1));
            let faults = minor_faults().unwrap_or(0).saturating_sub(before);
            if faults < (pages / 8) as u64 {
                return;
            }
            seen.push(faults);
        }
        panic!("a reused {LEN}-byte block faulted in {seen:?} of its {pages} pages");
    }
}
