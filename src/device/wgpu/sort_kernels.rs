//! Sorting along an axis as plain functions on device buffers, beside [`super::kernels`].
//! Only `crate::gpu` calls these.

use super::GpuStorage;
use super::dtype::Params;
use super::pipelines::{Kernel, grid_1d, launch_as};
use super::seq_kernels::zeros;
use super::sort_shaders as src;
use crate::dtype::Float;

kernel!(K_SORT_LINES, src::SORT_LINES);
kernel!(K_SORT_BACKWARD, src::SORT_BACKWARD);

/// The first `k` values of every line of `x` `(outer, n, inner)` along the middle axis,
/// sorted (stable; NaN above every number), as `(outer, k, inner)`, and their positions
/// along the axis.
pub(crate) fn sort_lines<E: Float>(
    x: &GpuStorage<E>,
    (outer, n, inner): (usize, usize, usize),
    k: usize,
    descending: bool,
) -> (GpuStorage<E>, GpuStorage<u32>) {
    let dev = &x.device;
    let count = outer * k * inner;
    let (vals, idx) = (dev.alloc_as::<E>(count), dev.alloc_u32(count));
    let threads = outer * n * inner;
    if count > 0 {
        let p = Params::new()
            .u(threads)
            .u(n)
            .u(inner)
            .u(k)
            .u(usize::from(descending));
        launch_as::<E>(
            dev,
            K_SORT_LINES,
            &p,
            &[&x.buf, &vals.buf, &idx.buf],
            grid_1d(threads),
        );
    }
    (vals, idx)
}

/// The gradient of `x` `(outer, n, inner)` from the gradient `gy` of [`sort_lines`]' values
/// and its positions `idx`.
pub(crate) fn sort_backward<E: Float>(
    idx: &GpuStorage<u32>,
    gy: &GpuStorage<E>,
    (outer, n, inner): (usize, usize, usize),
    k: usize,
) -> GpuStorage<E> {
    let dev = &gy.device;
    let dx = zeros::<E>(dev, outer * n * inner);
    let count = outer * k * inner;
    if count > 0 {
        let p = Params::new().u(count).u(n).u(inner).u(k);
        launch_as::<E>(
            dev,
            K_SORT_BACKWARD,
            &p,
            &[&idx.buf, &gy.buf, &dx.buf],
            grid_1d(count),
        );
    }
    dx
}
