//! Layers on the GPU.
