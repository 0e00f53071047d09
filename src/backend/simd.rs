//! Wider vectors for the element loops, chosen at run time.
//!
//! The crate is compiled for baseline x86-64 (SSE2, 4 lanes of f32), so that one binary runs
//! on every x86-64 CPU. [`wide`] runs a loop body inside a function compiled for AVX-512
//! (16 lanes, fused multiply-add) when the CPU has it, else for AVX2 + FMA (8 lanes; Zen 1-3
//! and Intel client chips), else as compiled; the body is inlined there, so the same source
//! loop is vectorised for the wider registers. Kernels wrap their loops as
//! `wide(#[inline(always)] || loop_body(...))`; results are identical either way except for
//! multiply-adds that the compiler may fuse (within the golden tolerances).
//!
//! Only code *inlined* into the wrapper gets the wide registers: a closure or function that
//! the compiler leaves as a call runs as compiled, 4 lanes wide. LLVM declines to inline
//! large closures on its own (the Adam update ran on SSE this way: 22% of an MLP training
//! step on one thread), so every closure handed to a `wide`-dispatching helper
//! (`for_blocks`, `for_zipped_blocks`, `collect_blocks`, the softmax row blocks) and every
//! function called from such a body is marked `#[inline(always)]`. Check with
//! `objdump -d` that the packed arithmetic of a new kernel uses `zmm` registers.
//!
//! `SHAPED_SIMD=avx512|avx2|portable` picks a level (one the CPU lacks falls back to the
//! next one down), to test or compare them on one machine; `SHAPED_PORTABLE_SIMD=1` is
//! `SHAPED_SIMD=portable`. Other architectures (ARM) run the loops as compiled: NEON is part
//! of the aarch64 baseline, so they are vectorised there too, 4 lanes wide.

/// The vector widths [`wide`] compiles loop bodies for, widest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Avx512,
    Avx2,
    Baseline,
}

/// The level this process uses (checked once).
pub(crate) fn level() -> Level {
    static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        // The first element loop of the process: the backend's set-up runs here.
        super::init();
        let asked = match std::env::var("SHAPED_SIMD").as_deref().map(str::trim) {
            Ok("avx2") => Level::Avx2,
            Ok("portable") => Level::Baseline,
            _ if std::env::var("SHAPED_PORTABLE_SIMD").is_ok_and(|v| v != "0") => Level::Baseline,
            _ => Level::Avx512,
        };
        #[cfg(target_arch = "x86_64")]
        let best = if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("fma")
        {
            Level::Avx512
        } else if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            Level::Avx2
        } else {
            Level::Baseline
        };
        #[cfg(not(target_arch = "x86_64"))]
        let best = Level::Baseline;
        // `Level` is ordered widest first: take the narrower of the two.
        if (asked as u8) > (best as u8) {
            asked
        } else {
            best
        }
    })
}

/// Runs `body`, compiled for the widest vectors the CPU has (see the module docs).
#[inline(always)]
pub(crate) fn wide<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    match level() {
        // SAFETY: the features were detected on this CPU.
        Level::Avx512 => return unsafe { body.on_avx512() },
        // SAFETY: as above.
        Level::Avx2 => return unsafe { body.on_avx2() },
        Level::Baseline => {}
    }
    body()
}

// The wrappers are trait methods implemented for the closure types, not generic functions,
// for build time (issue 15): rustc puts an instance of a generic *function* into the codegen
// unit of the module that defines it, so every kernel of the crate, inlined into
// `avx512::<closure>` and `avx2::<closure>`, landed in this module's unit, which took 14 of
// the ~40 s of LLVM time in one thread, the serial tail of every cold build. An instance of
// a *method* goes into the unit of its self type's module: the closure's, that is the
// kernel's own module, so the kernels spread over the units that LLVM compiles in parallel.

/// A loop body compiled for AVX-512 or AVX2 (see [`wide`]).
pub(crate) trait WideBody<R>: FnOnce() -> R + Sized {
    /// # Safety
    /// The CPU must have every feature of [`Level::Avx512`] ([`level`] checks them).
    #[cfg(target_arch = "x86_64")]
    unsafe fn on_avx512(self) -> R;
    /// # Safety
    /// The CPU must have AVX2 and FMA ([`level`] checks them).
    #[cfg(target_arch = "x86_64")]
    unsafe fn on_avx2(self) -> R;
}

impl<R, F: FnOnce() -> R> WideBody<R> for F {
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    #[inline]
    unsafe fn on_avx512(self) -> R {
        self()
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn on_avx2(self) -> R {
        self()
    }
}

/// A kernel over a block of `N` zipped slices, `f(offset, blocks)`, run inside [`wide`]
/// (`parallel::for_zipped_blocks`); a method of the kernel's own closure so that its three
/// compiled copies stay in the kernel's module (see [`WideBody`]).
pub(crate) trait WideBlocks<T, const N: usize>: Fn(usize, [&mut [T]; N]) {
    /// `self(offset, blocks)` at the process's [`level`].
    fn run_wide(&self, offset: usize, blocks: [&mut [T]; N]);
    /// # Safety
    /// As [`WideBody::on_avx512`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn on_avx512(&self, offset: usize, blocks: [&mut [T]; N]);
    /// # Safety
    /// As [`WideBody::on_avx2`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn on_avx2(&self, offset: usize, blocks: [&mut [T]; N]);
}

impl<T, const N: usize, F: Fn(usize, [&mut [T]; N])> WideBlocks<T, N> for F {
    #[inline(never)]
    fn run_wide(&self, offset: usize, blocks: [&mut [T]; N]) {
        #[cfg(target_arch = "x86_64")]
        match level() {
            // SAFETY: the features were detected on this CPU.
            Level::Avx512 => return unsafe { self.on_avx512(offset, blocks) },
            // SAFETY: as above.
            Level::Avx2 => return unsafe { self.on_avx2(offset, blocks) },
            Level::Baseline => {}
        }
        self(offset, blocks)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    #[inline]
    unsafe fn on_avx512(&self, offset: usize, blocks: [&mut [T]; N]) {
        self(offset, blocks)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn on_avx2(&self, offset: usize, blocks: [&mut [T]; N]) {
        self(offset, blocks)
    }
}

/// A kernel over a block of one slice, `f(offset, block)` (`parallel::for_blocks`,
/// `collect_blocks`) or `f(first_row, block)` (`parallel::for_row_blocks`), run inside [`wide`]:
/// as [`WideBlocks`].
pub(crate) trait WideSlice<T>: Fn(usize, &mut [T]) {
    /// `self(first_row, block)` at the process's [`level`].
    fn run_wide(&self, first_row: usize, block: &mut [T]);
    /// # Safety
    /// As [`WideBody::on_avx512`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn on_avx512(&self, first_row: usize, block: &mut [T]);
    /// # Safety
    /// As [`WideBody::on_avx2`].
    #[cfg(target_arch = "x86_64")]
    unsafe fn on_avx2(&self, first_row: usize, block: &mut [T]);
}

impl<T, F: Fn(usize, &mut [T])> WideSlice<T> for F {
    #[inline(never)]
    fn run_wide(&self, first_row: usize, block: &mut [T]) {
        #[cfg(target_arch = "x86_64")]
        match level() {
            // SAFETY: the features were detected on this CPU.
            Level::Avx512 => return unsafe { self.on_avx512(first_row, block) },
            // SAFETY: as above.
            Level::Avx2 => return unsafe { self.on_avx2(first_row, block) },
            Level::Baseline => {}
        }
        self(first_row, block)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
    #[inline]
    unsafe fn on_avx512(&self, first_row: usize, block: &mut [T]) {
        self(first_row, block)
    }
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn on_avx2(&self, first_row: usize, block: &mut [T]) {
        self(first_row, block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every level this CPU has gives the same loop results (exact here: no multiply-add).
    #[test]
    fn every_level_computes_the_same_loop() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin()).collect();
        let reference: Vec<f32> = x.iter().map(|v| (v * 2.0).max(0.0) + 1.0).collect();
        let body = || {
            x.iter()
                .map(|v| (v * 2.0).max(0.0) + 1.0)
                .collect::<Vec<f32>>()
        };
        assert_eq!(body(), reference);
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                // SAFETY: AVX2 and FMA were detected.
                assert_eq!(unsafe { body.on_avx2() }, reference);
            }
            if level() == Level::Avx512 {
                // SAFETY: `level` detected every AVX-512 feature.
                assert_eq!(unsafe { body.on_avx512() }, reference);
            }
        }
        assert_eq!(wide(body), reference);
    }
}
