//! The CPU backend: every loop over numbers lives here, behind plain functions on slices
//! and run-time dimensions. Shapes, autograd and layers call these and never index buffers
//! themselves, so another backend can replace this module without touching them.
//!
//! Only `ops` calls into this module (the layering test, `tests/layering.rs`, enforces it);
//! optimizers reach their update kernels ([`optim`]) through `crate::ops::optim`.
//!
//! **Initialisation.** [`init`] is the backend's one-time set-up for the process: it tunes
//! malloc to keep freed tensor memory ([`alloc`]; `SHAPED_MALLOC_TUNING=0` opts out). No
//! caller has to remember it: the backend's entry points run it themselves, the first time
//! any of them is used: the CPU-feature check behind every element loop
//! ([`simd::level`]), the matrix product ([`gemm::gemm`]) and the thread pool start
//! ([`threads`]). Creating tensors (plain allocations outside the backend) does not, so a
//! program that never runs a kernel leaves malloc as it found it.
pub(crate) mod adaptive_pool;
pub(crate) mod alloc;
pub(crate) mod attention;
pub(crate) mod bilinear;
pub(crate) mod broadcast;
pub(crate) mod compare;
pub(crate) mod conv;
pub(crate) mod conv3d;
mod conv_wide;
pub(crate) mod ctc;
mod depthwise;
pub(crate) mod elementwise;
pub(crate) mod gemm;
pub(crate) mod glu;
pub(crate) mod group_norm;
pub(crate) mod im2col;
pub(crate) mod interpolate;
pub(crate) mod layout;
pub(crate) mod lookup;
pub(crate) mod loss;
pub(crate) mod matmul;
pub(crate) mod norm;
mod norm_short_runs;
pub(crate) mod optim;
pub(crate) mod pad;
pub(crate) mod parallel;
#[cfg(target_arch = "x86_64")]
mod pool1d;
mod pool2x2;
pub(crate) mod pool3d;
pub(crate) mod pooling;
pub(crate) mod precompiled;
pub(crate) mod reduce;
pub(crate) mod rnn;
pub(crate) mod rnn_cell;
pub(crate) mod scan;
pub(crate) mod shuffle;
pub(crate) mod simd;
pub(crate) mod softmax;
pub(crate) mod sort;
mod stream;
pub(crate) mod threads;
pub(crate) mod uninit;
pub(crate) mod vector_math;
mod winograd;

/// The backend's one-time set-up (see the module docs); later calls return at once.
pub(crate) fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(alloc::keep_freed_memory);
}
