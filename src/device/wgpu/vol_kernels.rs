//! The 3-D (volume) kernels (`vol_shaders`) as plain functions on device buffers: vol2col and
//! col2vol for `Conv3d`, max and average pooling over cubic windows. Only `crate::gpu` calls
//! these.

use super::GpuStorage;
use super::dtype::Params;
use super::pipelines::{Kernel, grid_1d, launch_as};
use super::vol_shaders as src;
use crate::dtype::Float;

kernel!(K_VOL2COL, src::VOL2COL);
kernel!(K_COL2VOL, src::COL2VOL);
kernel!(K_MAX_POOL3D, src::MAX_POOL3D);
kernel!(K_MAX_POOL3D_BACKWARD, src::MAX_POOL3D_BACKWARD);
kernel!(K_AVG_POOL3D, src::AVG_POOL3D);
kernel!(K_AVG_POOL3D_BACKWARD, src::AVG_POOL3D_BACKWARD);

/// The geometry of a cubic 3-D convolution or pooling window over `(n, c, d, h, w)`: kernel
/// `k`, stride, padding and dilation alike along every axis, output `(od, oh, ow)`. Pooling
/// takes `c = 1` and `n` the number of planes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Vol {
    pub(crate) n: usize,
    pub(crate) c: usize,
    pub(crate) input: [usize; 3],
    pub(crate) k: usize,
    pub(crate) stride: usize,
    pub(crate) pad: usize,
    pub(crate) dilation: usize,
    pub(crate) out: [usize; 3],
}

impl Vol {
    fn conv_params(&self, count: usize) -> Params {
        let [d, h, w] = self.input;
        let [od, oh, ow] = self.out;
        Params::new()
            .u(count)
            .u(self.c)
            .u(d)
            .u(h)
            .u(w)
            .u(self.k)
            .u(self.stride)
            .u(self.pad)
            .u(self.dilation)
            .u(od)
            .u(oh)
            .u(ow)
    }
    fn pool_params(&self, count: usize) -> Params {
        let [d, h, w] = self.input;
        let [od, oh, ow] = self.out;
        Params::new()
            .u(count)
            .u(d)
            .u(h)
            .u(w)
            .u(self.k)
            .u(self.stride)
            .u(self.pad)
            .u(od)
            .u(oh)
            .u(ow)
    }
    /// Elements of the input, `n * c * d * h * w`.
    pub(crate) fn in_len(&self) -> usize {
        self.n * self.c * self.input.iter().product::<usize>()
    }
    /// Output positions of one image or plane, `od * oh * ow`.
    pub(crate) fn out_volume(&self) -> usize {
        self.out.iter().product()
    }
    /// Elements of the output of a pooling, `n * c * od * oh * ow`.
    fn out_len(&self) -> usize {
        self.n * self.c * self.out_volume()
    }
}

/// `(n * od * oh * ow, c * k^3)` columns of `x` (vol2col).
pub(crate) fn vol2col<E: Float>(x: &GpuStorage<E>, g: &Vol) -> GpuStorage<E> {
    let count = g.n * g.out_volume() * g.c * g.k * g.k * g.k;
    let out = x.device.alloc_as::<E>(count);
    launch_as::<E>(
        &x.device,
        K_VOL2COL,
        &g.conv_params(count),
        &[&x.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// The input gradient `(n, c, d, h, w)` from the gradient of the vol2col columns.
pub(crate) fn col2vol<E: Float>(dcols: &GpuStorage<E>, g: &Vol) -> GpuStorage<E> {
    let count = g.in_len();
    let out = dcols.device.alloc_as::<E>(count);
    launch_as::<E>(
        &dcols.device,
        K_COL2VOL,
        &g.conv_params(count),
        &[&dcols.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// 3-D max pooling of the `n * c` planes of `x`: the maxima and the flat index (over all
/// planes) each came from.
pub(crate) fn max_pool3d<E: Float>(x: &GpuStorage<E>, g: &Vol) -> (GpuStorage<E>, GpuStorage<u32>) {
    let count = g.out_len();
    let (y, idx) = (x.device.alloc_as::<E>(count), x.device.alloc_u32(count));
    launch_as::<E>(
        &x.device,
        K_MAX_POOL3D,
        &g.pool_params(count),
        &[&x.buf, &y.buf, &idx.buf],
        grid_1d(count),
    );
    (y, idx)
}

/// The input gradient of [`max_pool3d`] from its indices and output gradient.
pub(crate) fn max_pool3d_backward<E: Float>(
    idx: &GpuStorage<u32>,
    gy: &GpuStorage<E>,
    g: &Vol,
) -> GpuStorage<E> {
    let count = g.in_len();
    let out = gy.device.alloc_as::<E>(count);
    launch_as::<E>(
        &gy.device,
        K_MAX_POOL3D_BACKWARD,
        &g.pool_params(count),
        &[&idx.buf, &gy.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// 3-D average pooling (`count_include_pad=True`) of the `n * c` planes of `x`.
pub(crate) fn avg_pool3d<E: Float>(x: &GpuStorage<E>, g: &Vol) -> GpuStorage<E> {
    let count = g.out_len();
    let y = x.device.alloc_as::<E>(count);
    launch_as::<E>(
        &x.device,
        K_AVG_POOL3D,
        &g.pool_params(count),
        &[&x.buf, &y.buf],
        grid_1d(count),
    );
    y
}

/// The input gradient of [`avg_pool3d`] from the output gradient.
pub(crate) fn avg_pool3d_backward<E: Float>(gy: &GpuStorage<E>, g: &Vol) -> GpuStorage<E> {
    let count = g.in_len();
    let dx = gy.device.alloc_as::<E>(count);
    launch_as::<E>(
        &gy.device,
        K_AVG_POOL3D_BACKWARD,
        &g.pool_params(count),
        &[&gy.buf, &dx.buf],
        grid_1d(count),
    );
    dx
}
