//! The CPU backend: every loop over numbers lives here, behind plain functions on slices
//! and run-time dimensions. Shapes, autograd and layers call these and never index buffers
//! themselves, so another backend can replace this module without touching them.

pub(crate) mod alloc;
pub(crate) mod compare;
pub(crate) mod conv;
pub(crate) mod elementwise;
pub(crate) mod gemm;
pub(crate) mod interpolate;
pub(crate) mod layout;
pub(crate) mod lookup;
pub(crate) mod matmul;
pub(crate) mod norm;
pub(crate) mod parallel;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod rnn;
pub(crate) mod simd;
