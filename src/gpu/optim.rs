//! Optimizers on the GPU.
