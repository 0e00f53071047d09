//! A global allocator that records the largest single allocation, for tests showing that
//! hostile sizes in a file or header allocate nothing big, and the peak of live heap bytes
//! (`LIVE`/`PEAK`, with [`measure_peak`]), for tests bounding a loader's total memory.
//! Included with `#[path]` by the test binaries that need it (each binary gets its own
//! allocator and counters).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Tracking;
/// The largest allocation (or reallocation) seen so far, in bytes.
pub static LARGEST: AtomicUsize = AtomicUsize::new(0);
/// Heap bytes currently allocated.
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most heap bytes live at once since the last [`measure_peak`] started.
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

/// Runs `f` and returns its result with the peak of live heap bytes during the call, above
/// what was live when it started. Other threads allocating meanwhile count too, so callers
/// that need an exact figure run one at a time.
#[allow(dead_code)]
pub fn measure_peak<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    (r, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters are only bookkeeping.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded; the caller upholds `GlobalAlloc::alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: forwarded; the caller upholds `GlobalAlloc::realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Count the new block before releasing the old one: a moving realloc holds both.
            grew(new_size);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}
#[global_allocator]
static GLOBAL: Tracking = Tracking;
