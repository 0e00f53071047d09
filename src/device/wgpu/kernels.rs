//! The GPU kernels as plain functions on device buffers and run-time dimensions: the GPU's
//! counterpart of `crate::backend`. Only `crate::gpu` calls these.

use super::dtype::Params;
use super::pipelines::{Kernel, WG, grid_1d, launch_as};
use super::shaders;
use super::{GpuStorage, Wgpu};
use crate::dtype::Float;
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

/// An `Err` when two operands live on different GPUs (two adapters): a kernel cannot bind
/// buffers of two devices. Every `Wgpu::new()` of one adapter is the same device, so this
/// only happens with two adapters, e.g. a model moved to one GPU and its input to another.
pub(crate) fn same_device<A, B>(op: &str, a: &GpuStorage<A>, b: &GpuStorage<B>) -> Result<()> {
    if a.device == b.device {
        Ok(())
    } else {
        Err(Error::value(
            op,
            format!(
                "the operands are on two GPUs ({} and {}); move one with `to_device`",
                a.device.inner.info.name, b.device.inner.info.name
            ),
        ))
    }
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
pub(crate) fn binary<E: Float>(
    op: BinaryOp,
    a: &GpuStorage<E>,
    a_dims: &[usize],
    b: &GpuStorage<E>,
    b_dims: &[usize],
    out_dims: &[usize],
) -> Result<GpuStorage<E>> {
    check_rank("GPU binary op", out_dims.len())?;
    same_device("GPU binary op", a, b)?;
    let n: usize = out_dims.iter().product();
    let dev = &a.device;
    let out = dev.alloc_as::<E>(n);
    let mut p = vec![n as u32, op as u32, out_dims.len() as u32];
    p.extend(padded(out_dims));
    p.extend(padded(&broadcast_strides(a_dims, out_dims)));
    p.extend(padded(&broadcast_strides(b_dims, out_dims)));
    launch_as::<E>(
        dev,
        K_BINARY,
        &Params::from(&p[..]),
        &[&a.buf, &b.buf, &out.buf],
        grid_1d(n),
    );
    Ok(out)
}

/// `f(x)` elementwise; `alpha` is the scalar of `Scale` and `AddScalar`.
pub(crate) fn unary<E: Float>(op: UnaryOp, x: &GpuStorage<E>, alpha: E) -> GpuStorage<E> {
    let dev = &x.device;
    let out = dev.alloc_as::<E>(x.len);
    let p = Params::new().u(x.len).u(op as usize).f(alpha);
    launch_as::<E>(dev, K_UNARY, &p, &[&x.buf, &out.buf], grid_1d(x.len));
    out
}

/// The input gradient of `unary(op, x, alpha) = y` for the output gradient `g`.
pub(crate) fn unary_backward<E: Float>(
    op: UnaryOp,
    x: &GpuStorage<E>,
    y: &GpuStorage<E>,
    g: &GpuStorage<E>,
    alpha: E,
) -> GpuStorage<E> {
    let dev = &x.device;
    let out = dev.alloc_as::<E>(x.len);
    let p = Params::new().u(x.len).u(op as usize).f(alpha);
    launch_as::<E>(
        dev,
        K_UNARY_BACKWARD,
        &p,
        &[&x.buf, &y.buf, &g.buf, &out.buf],
        grid_1d(x.len),
    );
    out
}

/// A contiguous copy of the view of `x` with dims `out_dims` and strides `x_strides`.
pub(crate) fn strided_copy<E: Float>(
    x: &GpuStorage<E>,
    x_strides: &[usize],
    out_dims: &[usize],
) -> Result<GpuStorage<E>> {
    check_rank("GPU copy", out_dims.len())?;
    let n: usize = out_dims.iter().product();
    let dev = &x.device;
    let out = dev.alloc_as::<E>(n);
    let mut p = vec![n as u32, out_dims.len() as u32];
    p.extend(padded(out_dims));
    p.extend(padded(x_strides));
    launch_as::<E>(
        dev,
        K_STRIDED_COPY,
        &Params::from(&p[..]),
        &[&x.buf, &out.buf],
        grid_1d(n),
    );
    Ok(out)
}

/// `g` (dims `full`) summed down to `target` (right-aligned, broadcastable to `full`).
pub(crate) fn sum_to<E: Float>(
    g: &GpuStorage<E>,
    full: &[usize],
    target: &[usize],
) -> Result<GpuStorage<E>> {
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
    let out = dev.alloc_as::<E>(n);
    let mut p = vec![n as u32, full.len() as u32];
    p.extend(padded(full));
    p.extend(padded(&red));
    launch_as::<E>(
        dev,
        K_SUM_TO,
        &Params::from(&p[..]),
        &[&g.buf, &out.buf],
        grid_1d(n),
    );
    Ok(out)
}

/// Sum (or max when `max`) along the middle axis of `(outer, n, inner)`, times `scale`.
pub(crate) fn reduce_axis<E: Float>(
    x: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
    max: bool,
    scale: E,
) -> GpuStorage<E> {
    let dev = &x.device;
    let nout = outer * inner;
    let out = dev.alloc_as::<E>(nout);
    let p = Params::new()
        .u(outer)
        .u(n)
        .u(inner)
        .u(usize::from(max))
        .u(nout)
        .f(scale);
    launch_as::<E>(
        dev,
        K_REDUCE_AXIS,
        &p,
        &[&x.buf, &out.buf],
        grid_groups(nout),
    );
    out
}

/// A matrix operand: the buffer and its batch, row and column strides.
pub(crate) struct MatView<'a, E = f32> {
    pub(crate) data: &'a GpuStorage<E>,
    pub(crate) batch_stride: usize,
    pub(crate) row_stride: usize,
    pub(crate) col_stride: usize,
}

/// `batch` products `(m, k) x (k, n)`, written contiguous `(batch, m, n)`.
pub(crate) fn matmul<E: Float>(
    a: MatView<'_, E>,
    b: MatView<'_, E>,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
) -> Result<GpuStorage<E>> {
    matmul_at(a, 0, b, 0, batch, m, k, n)
}

/// [`matmul`] with `a` and `b` read from element offsets `a_off`, `b_off`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matmul_at<E: Float>(
    a: MatView<'_, E>,
    a_off: usize,
    b: MatView<'_, E>,
    b_off: usize,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
) -> Result<GpuStorage<E>> {
    if batch > 65_535 || m.div_ceil(16) > 65_535 || n.div_ceil(16) > 65_535 {
        return Err(Error::value(
            "GPU matmul",
            format!("({batch}, {m}, {n}) outputs exceed one dispatch"),
        ));
    }
    same_device("GPU matmul", a.data, b.data)?;
    let dev = &a.data.device;
    let out = dev.alloc_as::<E>(batch * m * n);
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
    launch_as::<E>(
        dev,
        K_MATMUL,
        &Params::from(&p[..]),
        &[&a.data.buf, &b.data.buf, &out.buf],
        (n.div_ceil(16) as u32, m.div_ceil(16) as u32, batch as u32),
    );
    Ok(out)
}

/// log_softmax along the middle axis of `(outer, n, inner)`.
pub(crate) fn log_softmax<E: Float>(
    x: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<E> {
    along_rows(K_LOG_SOFTMAX, x, outer, n, inner)
}

/// The input gradient of log_softmax from its output `y` and output gradient `g`.
pub(crate) fn log_softmax_backward<E: Float>(
    y: &GpuStorage<E>,
    g: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<E> {
    along_rows_backward(K_LOG_SOFTMAX_BACKWARD, y, g, outer, n, inner)
}

/// softmax along the middle axis of `(outer, n, inner)`.
pub(crate) fn softmax<E: Float>(
    x: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<E> {
    along_rows(K_SOFTMAX, x, outer, n, inner)
}

/// The input gradient of softmax from its output `y` and output gradient `g`.
pub(crate) fn softmax_backward<E: Float>(
    y: &GpuStorage<E>,
    g: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<E> {
    along_rows_backward(K_SOFTMAX_BACKWARD, y, g, outer, n, inner)
}

/// A one-workgroup-per-row kernel of `x` along the middle axis of `(outer, n, inner)`.
fn along_rows<E: Float>(
    kernel: Kernel,
    x: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<E> {
    let dev = &x.device;
    let out = dev.alloc_as::<E>(x.len);
    let rows = outer * inner;
    let p = [rows as u32, n as u32, inner as u32];
    launch_as::<E>(
        dev,
        kernel,
        &Params::from(&p[..]),
        &[&x.buf, &out.buf],
        grid_groups(rows),
    );
    out
}

/// The backward of an [`along_rows`] kernel from its output `y` and output gradient `g`.
fn along_rows_backward<E: Float>(
    kernel: Kernel,
    y: &GpuStorage<E>,
    g: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<E> {
    let dev = &y.device;
    let out = dev.alloc_as::<E>(y.len);
    let rows = outer * inner;
    let p = [rows as u32, n as u32, inner as u32];
    launch_as::<E>(
        dev,
        kernel,
        &Params::from(&p[..]),
        &[&y.buf, &g.buf, &out.buf],
        grid_groups(rows),
    );
    out
}

/// Settings of one SGD step.
pub(crate) struct SgdStep {
    pub(crate) lr: f64,
    pub(crate) momentum: f64,
    pub(crate) dampening: f64,
    pub(crate) weight_decay: f64,
    pub(crate) nesterov: bool,
    pub(crate) first: bool,
    /// 1, or -1 to maximize (the gradient negated first, as PyTorch).
    pub(crate) sign: f64,
}

/// One SGD step on `w` in place (`buf` is the momentum buffer, unused without momentum).
pub(crate) fn sgd<E: Float>(
    w: &GpuStorage<E>,
    g: &GpuStorage<E>,
    buf: &GpuStorage<E>,
    s: &SgdStep,
) {
    let p = Params::new()
        .u(w.len)
        .f(s.lr)
        .f(s.momentum)
        .f(s.dampening)
        .f(s.weight_decay)
        .u(usize::from(s.nesterov))
        .u(usize::from(s.first))
        .f(s.sign);
    launch_as::<E>(
        &w.device,
        K_SGD,
        &p,
        &[&w.buf, &g.buf, &buf.buf],
        grid_1d(w.len),
    );
}

/// Settings of one Adam step (bias corrections already computed for this step).
pub(crate) struct AdamStep {
    pub(crate) lr: f64,
    pub(crate) beta1: f64,
    pub(crate) beta2: f64,
    pub(crate) eps: f64,
    pub(crate) weight_decay: f64,
    pub(crate) bias_correction1: f64,
    pub(crate) bias_correction2_sqrt: f64,
    pub(crate) decoupled: bool,
}

/// One Adam (or AdamW when decoupled) step on `w` in place.
pub(crate) fn adam<E: Float>(
    w: &GpuStorage<E>,
    g: &GpuStorage<E>,
    m: &GpuStorage<E>,
    v: &GpuStorage<E>,
    s: &AdamStep,
) {
    let p = Params::new()
        .u(w.len)
        .f(s.lr)
        .f(s.beta1)
        .f(s.beta2)
        .f(s.eps)
        .f(s.weight_decay)
        .f(s.bias_correction1)
        .f(s.bias_correction2_sqrt)
        .u(usize::from(s.decoupled));
    launch_as::<E>(
        &w.device,
        K_ADAM,
        &p,
        &[&w.buf, &g.buf, &m.buf, &v.buf],
        grid_1d(w.len),
    );
}

/// A copy of `x` in a new buffer (before an in-place update of a shared buffer).
pub(crate) fn copy<E: Float>(x: &GpuStorage<E>) -> GpuStorage<E> {
    let dev: &Wgpu = &x.device;
    let out = dev.alloc_as::<E>(x.len);
    super::pipelines::record(dev, |enc| {
        enc.copy_buffer_to_buffer(
            &x.buf,
            0,
            &out.buf,
            0,
            (x.len.max(1) * core::mem::size_of::<E>()) as u64,
        )
    });
    out
}

/// The geometry of a square-kernel 2-D convolution or pooling window over `(n, c, h, w)`;
/// with `line`, im2col and col2im take a `1 x k` kernel (1-D convolutions of one-row planes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) line: bool,
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
    fn params(&self, count: usize) -> [u32; 11] {
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
            u32::from(self.line),
        ]
    }
    /// The kernel's number of taps: `k` for a line, else `k * k`.
    pub(crate) fn taps(&self) -> usize {
        if self.line { self.k } else { self.k * self.k }
    }
    /// The max-pool kernels' parameters; `adaptive` picks PyTorch's adaptive windows over
    /// the `k`-windows.
    fn pool_params(&self, count: usize, adaptive: bool) -> [u32; 9] {
        [
            count as u32,
            self.h as u32,
            self.w as u32,
            self.k as u32,
            self.stride as u32,
            self.pad as u32,
            self.oh as u32,
            self.ow as u32,
            u32::from(adaptive),
        ]
    }
}

/// `(n * oh * ow, c * k * k)` columns of `x` (im2col).
pub(crate) fn im2col<E: Float>(x: &GpuStorage<E>, g: &Window) -> GpuStorage<E> {
    let count = g.n * g.oh * g.ow * g.c * g.taps();
    let out = x.device.alloc_as::<E>(count);
    launch_as::<E>(
        &x.device,
        K_IM2COL,
        &Params::from(&g.params(count)[..]),
        &[&x.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// The input gradient `(n, c, h, w)` from the gradient of the im2col columns.
pub(crate) fn col2im<E: Float>(dcols: &GpuStorage<E>, g: &Window) -> GpuStorage<E> {
    let count = g.n * g.c * g.h * g.w;
    let out = dcols.device.alloc_as::<E>(count);
    launch_as::<E>(
        &dcols.device,
        K_COL2IM,
        &Params::from(&g.params(count)[..]),
        &[&dcols.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// Max pooling over each of `n * c` planes: the values and the flat index each came from.
pub(crate) fn max_pool<E: Float>(
    x: &GpuStorage<E>,
    g: &Window,
) -> (GpuStorage<E>, GpuStorage<u32>) {
    max_pool_windows(x, g, false)
}

/// [`max_pool`] over PyTorch's adaptive windows (`g.k`, `g.stride`, `g.pad` unused).
pub(crate) fn adaptive_max_pool<E: Float>(
    x: &GpuStorage<E>,
    g: &Window,
) -> (GpuStorage<E>, GpuStorage<u32>) {
    max_pool_windows(x, g, true)
}

fn max_pool_windows<E: Float>(
    x: &GpuStorage<E>,
    g: &Window,
    adaptive: bool,
) -> (GpuStorage<E>, GpuStorage<u32>) {
    let count = g.n * g.c * g.oh * g.ow;
    let (y, idx) = (x.device.alloc_as::<E>(count), x.device.alloc_u32(count));
    launch_as::<E>(
        &x.device,
        K_MAX_POOL,
        &Params::from(&g.pool_params(count, adaptive)[..]),
        &[&x.buf, &y.buf, &idx.buf],
        grid_1d(count),
    );
    (y, idx)
}

/// The input gradient of [`max_pool`] (or, `adaptive`, of [`adaptive_max_pool`]) from its
/// indices and output gradient.
pub(crate) fn max_pool_backward<E: Float>(
    idx: &GpuStorage<u32>,
    gy: &GpuStorage<E>,
    g: &Window,
    adaptive: bool,
) -> GpuStorage<E> {
    let count = g.n * g.c * g.h * g.w;
    let out = gy.device.alloc_as::<E>(count);
    launch_as::<E>(
        &gy.device,
        K_MAX_POOL_BACKWARD,
        &Params::from(&g.pool_params(count, adaptive)[..]),
        &[&idx.buf, &gy.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// Rows `indices` of the `(v, d)` table, as `(indices.len(), d)`.
pub(crate) fn gather_rows<E: Float>(
    table: &GpuStorage<E>,
    d: usize,
    indices: &GpuStorage<u32>,
) -> GpuStorage<E> {
    let n = indices.len * d;
    let out = table.device.alloc_as::<E>(n);
    launch_as::<E>(
        &table.device,
        K_GATHER_ROWS,
        &Params::from(&[n as u32, d as u32][..]),
        &[&table.buf, &indices.buf, &out.buf],
        grid_1d(n),
    );
    out
}

/// The `(v, d)` table gradient of [`gather_rows`] from the output gradient `g`; `by_row`
/// is `(offsets, positions)`: the positions that looked up row `r` are
/// `positions[offsets[r]..offsets[r + 1]]`.
pub(crate) fn gather_rows_backward<E: Float>(
    g: &GpuStorage<E>,
    v: usize,
    d: usize,
    by_row: (&GpuStorage<u32>, &GpuStorage<u32>),
    padding: Option<usize>,
) -> GpuStorage<E> {
    let n = v * d;
    let out = g.device.alloc_as::<E>(n);
    let pad = padding.map_or(u32::MAX, |p| p as u32);
    launch_as::<E>(
        &g.device,
        K_GATHER_ROWS_BACKWARD,
        &Params::from(&[n as u32, d as u32, pad][..]),
        &[&by_row.0.buf, &by_row.1.buf, &g.buf, &out.buf],
        grid_1d(n),
    );
    out
}

const _: () = assert!(WG == 256);
