//! The GPU kernels as plain functions on device buffers and run-time dimensions: the GPU's
//! counterpart of `crate::backend`. Only `crate::gpu` calls these.

use super::pipelines::{Kernel, WG, grid_1d, launch};
use super::shaders;
use super::{GpuStorage, Wgpu};
use crate::error::{Error, Result};

/// The highest rank the strided kernels take.
pub(crate) const MAX_RANK: usize = 6;

kernel!(K_BINARY, shaders::BINARY);
kernel!(K_UNARY, shaders::UNARY);
kernel!(K_UNARY_BACKWARD, shaders::UNARY_BACKWARD);
kernel!(K_STRIDED_COPY, shaders::STRIDED_COPY);
kernel!(K_SUM_TO, shaders::SUM_TO);
kernel!(K_REDUCE_AXIS, shaders::REDUCE_AXIS);
kernel!(K_MATMUL, shaders::MATMUL);
kernel!(K_LOG_SOFTMAX, shaders::LOG_SOFTMAX);
kernel!(K_LOG_SOFTMAX_BACKWARD, shaders::LOG_SOFTMAX_BACKWARD);
kernel!(K_SOFTMAX, shaders::SOFTMAX);
kernel!(K_SOFTMAX_BACKWARD, shaders::SOFTMAX_BACKWARD);
kernel!(K_SGD, shaders::SGD);
kernel!(K_ADAM, shaders::ADAM);
kernel!(K_IM2COL, shaders::IM2COL);
kernel!(K_GATHER_ROWS, shaders::GATHER_ROWS);
kernel!(K_GATHER_ROWS_BACKWARD, shaders::GATHER_ROWS_BACKWARD);
kernel!(K_COL2IM, shaders::COL2IM);
kernel!(K_MAX_POOL, shaders::MAX_POOL);
kernel!(K_MAX_POOL_BACKWARD, shaders::MAX_POOL_BACKWARD);

/// Binary op codes of the BINARY shader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
}

/// Unary op codes shared by UNARY and UNARY_BACKWARD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnaryOp {
    Relu = 0,
    Neg = 1,
    Exp = 2,
    Log = 3,
    Tanh = 4,
    Sigmoid = 5,
    Scale = 6,
    AddScalar = 7,
    Square = 8,
}

fn check_rank(op: &str, rank: usize) -> Result<()> {
    if rank > MAX_RANK {
        return Err(Error::value(
            op,
            format!("the GPU kernels take tensors of rank up to {MAX_RANK}, not {rank}"),
        ));
    }
    Ok(())
}

fn padded(v: &[usize]) -> [u32; MAX_RANK] {
    let mut out = [0u32; MAX_RANK];
    for (o, x) in out.iter_mut().zip(v) {
        *o = *x as u32;
    }
    out
}

/// Row-major strides of `dims`.
pub(crate) fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * dims[i + 1];
    }
    s
}

/// The strides that read a tensor of dims `src` (right-aligned) as the broadcast `out`:
/// zero where `src` has no dimension or size 1.
pub(crate) fn broadcast_strides(src: &[usize], out: &[usize]) -> Vec<usize> {
    let s = strides(src);
    let lead = out.len() - src.len();
    (0..out.len())
        .map(|k| {
            if k < lead || src[k - lead] == 1 {
                0
            } else {
                s[k - lead]
            }
        })
        .collect()
}

/// Grid of `n` workgroups (one per output row), folded into two axes.
fn grid_groups(n: usize) -> (u32, u32, u32) {
    let n = n.max(1) as u64;
    if n <= 65_535 {
        (n as u32, 1, 1)
    } else {
        (65_535, n.div_ceil(65_535) as u32, 1)
    }
}

/// `a op b` broadcast to `out_dims`.
pub(crate) fn binary(
    op: BinaryOp,
    a: &GpuStorage<f32>,
    a_dims: &[usize],
    b: &GpuStorage<f32>,
    b_dims: &[usize],
    out_dims: &[usize],
) -> Result<GpuStorage<f32>> {
    check_rank("GPU binary op", out_dims.len())?;
    let n: usize = out_dims.iter().product();
    let dev = &a.device;
    let out = dev.alloc(n);
    let mut p = vec![n as u32, op as u32, out_dims.len() as u32];
    p.extend(padded(out_dims));
    p.extend(padded(&broadcast_strides(a_dims, out_dims)));
    p.extend(padded(&broadcast_strides(b_dims, out_dims)));
    launch(dev, K_BINARY, &p, &[&a.buf, &b.buf, &out.buf], grid_1d(n));
    Ok(out)
}

/// `f(x)` elementwise; `alpha` is the scalar of `Scale` and `AddScalar`.
pub(crate) fn unary(op: UnaryOp, x: &GpuStorage<f32>, alpha: f32) -> GpuStorage<f32> {
    let dev = &x.device;
    let out = dev.alloc(x.len);
    let p = [x.len as u32, op as u32, alpha.to_bits()];
    launch(dev, K_UNARY, &p, &[&x.buf, &out.buf], grid_1d(x.len));
    out
}

/// The input gradient of `unary(op, x, alpha) = y` for the output gradient `g`.
pub(crate) fn unary_backward(
    op: UnaryOp,
    x: &GpuStorage<f32>,
    y: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    alpha: f32,
) -> GpuStorage<f32> {
    let dev = &x.device;
    let out = dev.alloc(x.len);
    let p = [x.len as u32, op as u32, alpha.to_bits()];
    launch(
        dev,
        K_UNARY_BACKWARD,
        &p,
        &[&x.buf, &y.buf, &g.buf, &out.buf],
        grid_1d(x.len),
    );
    out
}

/// A contiguous copy of the view of `x` with dims `out_dims` and strides `x_strides`.
pub(crate) fn strided_copy(
    x: &GpuStorage<f32>,
    x_strides: &[usize],
    out_dims: &[usize],
) -> Result<GpuStorage<f32>> {
    check_rank("GPU copy", out_dims.len())?;
    let n: usize = out_dims.iter().product();
    let dev = &x.device;
    let out = dev.alloc(n);
    let mut p = vec![n as u32, out_dims.len() as u32];
    p.extend(padded(out_dims));
    p.extend(padded(x_strides));
    launch(dev, K_STRIDED_COPY, &p, &[&x.buf, &out.buf], grid_1d(n));
    Ok(out)
}

/// `g` (dims `full`) summed down to `target` (right-aligned, broadcastable to `full`).
pub(crate) fn sum_to(
    g: &GpuStorage<f32>,
    full: &[usize],
    target: &[usize],
) -> Result<GpuStorage<f32>> {
    if full == target {
        return Ok(g.clone());
    }
    check_rank("GPU broadcast backward", full.len())?;
    let lead = full.len() - target.len();
    let red: Vec<usize> = (0..full.len())
        .map(|k| usize::from(k < lead || (target[k - lead] == 1 && full[k] != 1)))
        .collect();
    let n: usize = target.iter().product();
    let dev = &g.device;
    let out = dev.alloc(n);
    let mut p = vec![n as u32, full.len() as u32];
    p.extend(padded(full));
    p.extend(padded(&red));
    launch(dev, K_SUM_TO, &p, &[&g.buf, &out.buf], grid_1d(n));
    Ok(out)
}

/// Sum (or max when `max`) along the middle axis of `(outer, n, inner)`, times `scale`.
pub(crate) fn reduce_axis(
    x: &GpuStorage<f32>,
    outer: usize,
    n: usize,
    inner: usize,
    max: bool,
    scale: f32,
) -> GpuStorage<f32> {
    let dev = &x.device;
    let nout = outer * inner;
    let out = dev.alloc(nout);
    let p = [
        outer as u32,
        n as u32,
        inner as u32,
        u32::from(max),
        nout as u32,
        scale.to_bits(),
    ];
    launch(
        dev,
        K_REDUCE_AXIS,
        &p,
        &[&x.buf, &out.buf],
        grid_groups(nout),
    );
    out
}

/// A matrix operand: the buffer and its batch, row and column strides.
pub(crate) struct MatView<'a> {
    pub(crate) data: &'a GpuStorage<f32>,
    pub(crate) batch_stride: usize,
    pub(crate) row_stride: usize,
    pub(crate) col_stride: usize,
}

/// `batch` products `(m, k) x (k, n)`, written contiguous `(batch, m, n)`.
pub(crate) fn matmul(
    a: MatView<'_>,
    b: MatView<'_>,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
) -> Result<GpuStorage<f32>> {
    matmul_at(a, 0, b, 0, batch, m, k, n)
}

/// [`matmul`] with `a` and `b` read from element offsets `a_off`, `b_off`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_at(
    a: MatView<'_>,
    a_off: usize,
    b: MatView<'_>,
    b_off: usize,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
) -> Result<GpuStorage<f32>> {
    if batch > 65_535 || m.div_ceil(16) > 65_535 || n.div_ceil(16) > 65_535 {
        return Err(Error::value(
            "GPU matmul",
            format!("({batch}, {m}, {n}) outputs exceed one dispatch"),
        ));
    }
    let dev = &a.data.device;
    let out = dev.alloc(batch * m * n);
    if batch * m * n == 0 {
        return Ok(out);
    }
    let p = [
        m as u32,
        n as u32,
        k as u32,
        a.batch_stride as u32,
        a.row_stride as u32,
        a.col_stride as u32,
        b.batch_stride as u32,
        b.row_stride as u32,
        b.col_stride as u32,
        a_off as u32,
        b_off as u32,
    ];
    launch(
        dev,
        K_MATMUL,
        &p,
        &[&a.data.buf, &b.data.buf, &out.buf],
        (n.div_ceil(16) as u32, m.div_ceil(16) as u32, batch as u32),
    );
    Ok(out)
}

/// log_softmax along the middle axis of `(outer, n, inner)`.
pub(crate) fn log_softmax(
    x: &GpuStorage<f32>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<f32> {
    along_rows(K_LOG_SOFTMAX, x, outer, n, inner)
}

/// The input gradient of log_softmax from its output `y` and output gradient `g`.
pub(crate) fn log_softmax_backward(
    y: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<f32> {
    along_rows_backward(K_LOG_SOFTMAX_BACKWARD, y, g, outer, n, inner)
}

/// softmax along the middle axis of `(outer, n, inner)`.
pub(crate) fn softmax(
    x: &GpuStorage<f32>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<f32> {
    along_rows(K_SOFTMAX, x, outer, n, inner)
}

/// The input gradient of softmax from its output `y` and output gradient `g`.
pub(crate) fn softmax_backward(
    y: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<f32> {
    along_rows_backward(K_SOFTMAX_BACKWARD, y, g, outer, n, inner)
}

/// A one-workgroup-per-row kernel of `x` along the middle axis of `(outer, n, inner)`.
fn along_rows(
    kernel: Kernel,
    x: &GpuStorage<f32>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<f32> {
    let dev = &x.device;
    let out = dev.alloc(x.len);
    let rows = outer * inner;
    let p = [rows as u32, n as u32, inner as u32];
    launch(dev, kernel, &p, &[&x.buf, &out.buf], grid_groups(rows));
    out
}

/// The backward of an [`along_rows`] kernel from its output `y` and output gradient `g`.
fn along_rows_backward(
    kernel: Kernel,
    y: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<f32> {
    let dev = &y.device;
    let out = dev.alloc(y.len);
    let rows = outer * inner;
    let p = [rows as u32, n as u32, inner as u32];
    launch(
        dev,
        kernel,
        &p,
        &[&y.buf, &g.buf, &out.buf],
        grid_groups(rows),
    );
    out
}

/// Settings of one SGD step.
pub(crate) struct SgdStep {
    pub(crate) lr: f32,
    pub(crate) momentum: f32,
    pub(crate) dampening: f32,
    pub(crate) weight_decay: f32,
    pub(crate) nesterov: bool,
    pub(crate) first: bool,
}

/// One SGD step on `w` in place (`buf` is the momentum buffer, unused without momentum).
pub(crate) fn sgd(w: &GpuStorage<f32>, g: &GpuStorage<f32>, buf: &GpuStorage<f32>, s: &SgdStep) {
    let p = [
        w.len as u32,
        s.lr.to_bits(),
        s.momentum.to_bits(),
        s.dampening.to_bits(),
        s.weight_decay.to_bits(),
        u32::from(s.nesterov),
        u32::from(s.first),
    ];
    launch(
        &w.device,
        K_SGD,
        &p,
        &[&w.buf, &g.buf, &buf.buf],
        grid_1d(w.len),
    );
}

/// Settings of one Adam step (bias corrections already computed for this step).
pub(crate) struct AdamStep {
    pub(crate) lr: f32,
    pub(crate) beta1: f32,
    pub(crate) beta2: f32,
    pub(crate) eps: f32,
    pub(crate) weight_decay: f32,
    pub(crate) bias_correction1: f32,
    pub(crate) bias_correction2_sqrt: f32,
    pub(crate) decoupled: bool,
}

/// One Adam (or AdamW when decoupled) step on `w` in place.
pub(crate) fn adam(
    w: &GpuStorage<f32>,
    g: &GpuStorage<f32>,
    m: &GpuStorage<f32>,
    v: &GpuStorage<f32>,
    s: &AdamStep,
) {
    let p = [
        w.len as u32,
        s.lr.to_bits(),
        s.beta1.to_bits(),
        s.beta2.to_bits(),
        s.eps.to_bits(),
        s.weight_decay.to_bits(),
        s.bias_correction1.to_bits(),
        s.bias_correction2_sqrt.to_bits(),
        u32::from(s.decoupled),
    ];
    launch(
        &w.device,
        K_ADAM,
        &p,
        &[&w.buf, &g.buf, &m.buf, &v.buf],
        grid_1d(w.len),
    );
}

/// A copy of `x` in a new buffer (before an in-place update of a shared buffer).
pub(crate) fn copy(x: &GpuStorage<f32>) -> GpuStorage<f32> {
    let dev: &Wgpu = &x.device;
    let out = dev.alloc(x.len);
    super::pipelines::record(dev, |enc| {
        enc.copy_buffer_to_buffer(&x.buf, 0, &out.buf, 0, (x.len.max(1) * 4) as u64)
    });
    out
}

/// The geometry of a square-kernel 2-D convolution or pooling window over `(n, c, h, w)`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) n: usize,
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) k: usize,
    pub(crate) stride: usize,
    pub(crate) pad: usize,
    pub(crate) dilation: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
}

impl Window {
    fn params(&self, count: usize) -> [u32; 10] {
        [
            count as u32,
            self.c as u32,
            self.h as u32,
            self.w as u32,
            self.k as u32,
            self.stride as u32,
            self.pad as u32,
            self.dilation as u32,
            self.oh as u32,
            self.ow as u32,
        ]
    }
    fn pool_params(&self, count: usize) -> [u32; 8] {
        [
            count as u32,
            self.h as u32,
            self.w as u32,
            self.k as u32,
            self.stride as u32,
            self.pad as u32,
            self.oh as u32,
            self.ow as u32,
        ]
    }
}

/// `(n * oh * ow, c * k * k)` columns of `x` (im2col).
pub(crate) fn im2col(x: &GpuStorage<f32>, g: &Window) -> GpuStorage<f32> {
    let count = g.n * g.oh * g.ow * g.c * g.k * g.k;
    let out = x.device.alloc(count);
    launch(
        &x.device,
        K_IM2COL,
        &g.params(count),
        &[&x.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// The input gradient `(n, c, h, w)` from the gradient of the im2col columns.
pub(crate) fn col2im(dcols: &GpuStorage<f32>, g: &Window) -> GpuStorage<f32> {
    let count = g.n * g.c * g.h * g.w;
    let out = dcols.device.alloc(count);
    launch(
        &dcols.device,
        K_COL2IM,
        &g.params(count),
        &[&dcols.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// Max pooling over each of `n * c` planes: the values and the flat index each came from.
pub(crate) fn max_pool(x: &GpuStorage<f32>, g: &Window) -> (GpuStorage<f32>, GpuStorage<f32>) {
    let count = g.n * g.c * g.oh * g.ow;
    let (y, idx) = (x.device.alloc(count), x.device.alloc(count));
    launch(
        &x.device,
        K_MAX_POOL,
        &g.pool_params(count),
        &[&x.buf, &y.buf, &idx.buf],
        grid_1d(count),
    );
    (y, idx)
}

/// The input gradient of [`max_pool`] from its indices and output gradient.
pub(crate) fn max_pool_backward(
    idx: &GpuStorage<f32>,
    gy: &GpuStorage<f32>,
    g: &Window,
) -> GpuStorage<f32> {
    let count = g.n * g.c * g.h * g.w;
    let out = gy.device.alloc(count);
    launch(
        &gy.device,
        K_MAX_POOL_BACKWARD,
        &g.pool_params(count),
        &[&idx.buf, &gy.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// Rows `indices` of the `(v, d)` table, as `(indices.len(), d)`.
pub(crate) fn gather_rows(
    table: &GpuStorage<f32>,
    d: usize,
    indices: &GpuStorage<f32>,
) -> GpuStorage<f32> {
    let n = indices.len * d;
    let out = table.device.alloc(n);
    launch(
        &table.device,
        K_GATHER_ROWS,
        &[n as u32, d as u32],
        &[&table.buf, &indices.buf, &out.buf],
        grid_1d(n),
    );
    out
}

/// The `(v, d)` table gradient of [`gather_rows`] from the output gradient `g`; `by_row`
/// is `(offsets, positions)`: the positions that looked up row `r` are
/// `positions[offsets[r]..offsets[r + 1]]`.
pub(crate) fn gather_rows_backward(
    g: &GpuStorage<f32>,
    v: usize,
    d: usize,
    by_row: (&GpuStorage<f32>, &GpuStorage<f32>),
    padding: Option<usize>,
) -> GpuStorage<f32> {
    let n = v * d;
    let out = g.device.alloc(n);
    let pad = padding.map_or(u32::MAX, |p| p as u32);
    launch(
        &g.device,
        K_GATHER_ROWS_BACKWARD,
        &[n as u32, d as u32, pad],
        &[&by_row.0.buf, &by_row.1.buf, &g.buf, &out.buf],
        grid_1d(n),
    );
    out
}

const _: () = assert!(WG == 256);
