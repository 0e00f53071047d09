//! Wider vectors for the element loops, chosen at run time.
//!
//! The crate is compiled for baseline x86-64 (SSE2, 4 lanes of f32), so that one binary runs
//! on every x86-64 CPU. [`wide`] runs a loop body inside a function compiled for AVX-512
//! (16 lanes, fused multiply-add) when the CPU has it; the body is inlined there, so the
//! same source loop is vectorised for the wider registers. Kernels wrap their loops as
//! `wide(#[inline(always)] || loop_body(...))`; results are identical either way except for
//! multiply-adds that the compiler may fuse (within the golden tolerances).

/// Whether this CPU runs the AVX-512 versions (`SHAPED_PORTABLE_SIMD=1` turns them off).
pub(crate) fn has_avx512() -> bool {
    static FAST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FAST.get_or_init(|| {
        // The first element loop of the process: the backend's set-up runs here.
        super::init();
        let portable = std::env::var("SHAPED_PORTABLE_SIMD").is_ok_and(|v| v != "0");
        #[cfg(target_arch = "x86_64")]
        let fast = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let fast = false;
        fast && !portable
    })
}

/// Runs `body`, compiled for AVX-512 when the CPU has it (see the module docs).
#[inline(always)]
pub(crate) fn wide<R>(body: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if has_avx512() {
        // SAFETY: the features were detected on this CPU.
        return unsafe { avx512(body) };
    }
    body()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn avx512<R>(body: impl FnOnce() -> R) -> R {
    body()
}
