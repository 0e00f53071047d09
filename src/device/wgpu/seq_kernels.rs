//! The sequence kernels (LSTM, softmax, per-axis arg-max, concatenation) as plain functions
//! on device buffers, beside [`super::kernels`]. Only `crate::gpu` calls these.

use super::dtype::Params;
use super::kernels::MatView;
pub(crate) use super::kernels::{matmul_at, softmax, softmax_backward};
use super::pipelines::{Kernel, grid_1d, launch_as, record};
use super::seq_shaders as src;
use super::{GpuStorage, Wgpu};
use crate::dtype::Float;
use crate::error::Result;

kernel!(K_LSTM_GATES, src::LSTM_GATES);
kernel!(K_LSTM_GATES_BACKWARD, src::LSTM_GATES_BACKWARD);
kernel!(K_ARG_EXTREME, src::ARG_EXTREME);
kernel!(K_ARG_EXTREME_BACKWARD, src::ARG_EXTREME_BACKWARD);
kernel!(K_CONCAT, src::CONCAT);
kernel!(K_NARROW, src::NARROW);

/// A row-major `(rows, cols)` matrix view of `data`.
pub(crate) fn rows<E>(data: &GpuStorage<E>, cols: usize) -> MatView<'_, E> {
    MatView {
        data,
        batch_stride: 0,
        row_stride: cols,
        col_stride: 1,
    }
}

/// The transpose of the row-major `(rows, cols)` matrix `data`, as a view.
pub(crate) fn transposed<E>(data: &GpuStorage<E>, cols: usize) -> MatView<'_, E> {
    MatView {
        data,
        batch_stride: 0,
        row_stride: 1,
        col_stride: cols,
    }
}

/// A new buffer of `len` zeros.
pub(crate) fn zeros<E: Float>(dev: &Wgpu, len: usize) -> GpuStorage<E> {
    dev.upload(&vec![E::ZERO; len])
}

/// Copies `len` elements of `src` from element `src_off` into `dst` at element `dst_off`
/// (`dst` is a buffer this op owns and is still filling).
pub(crate) fn copy_into<E>(
    src: &GpuStorage<E>,
    src_off: usize,
    dst: &GpuStorage<E>,
    dst_off: usize,
    len: usize,
) {
    if len == 0 {
        return;
    }
    let size = core::mem::size_of::<E>();
    record(&src.device, |enc| {
        enc.copy_buffer_to_buffer(
            &src.buf,
            (src_off * size) as u64,
            &dst.buf,
            (dst_off * size) as u64,
            (len * size) as u64,
        )
    });
}

/// `len` elements of `src` from element `off`, in a new buffer.
pub(crate) fn copy_range<E: Float>(src: &GpuStorage<E>, off: usize, len: usize) -> GpuStorage<E> {
    let out = src.device.alloc_as::<E>(len);
    copy_into(src, off, &out, 0, len);
    out
}

/// The sizes of an LSTM run: `steps` time steps of `batch` rows, `input` features in,
/// `hidden` units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LstmDims {
    pub(crate) steps: usize,
    pub(crate) batch: usize,
    pub(crate) input: usize,
    pub(crate) hidden: usize,
}

/// What an LSTM forward pass keeps: every hidden and cell state `(steps + 1, B, H)` (slot 0
/// the initial state) and the activated gates `(steps, B, 4H)`.
pub(crate) struct LstmSaved<E = f32> {
    pub(crate) hs: GpuStorage<E>,
    pub(crate) cs: GpuStorage<E>,
    pub(crate) acts: GpuStorage<E>,
}

/// An LSTM over the time-major `x` `(steps, B, I)` from `h0`, `c0` `(B, H)`: one product
/// for every step's input projection, then per step the recurrent product and the fused
/// gate kernel. `bias` is `b_ih + b_hh` `(4H)`, if the layer has biases.
pub(crate) fn lstm_forward<E: Float>(
    x: &GpuStorage<E>,
    h0: &GpuStorage<E>,
    c0: &GpuStorage<E>,
    w_ih: &GpuStorage<E>,
    w_hh: &GpuStorage<E>,
    bias: Option<&GpuStorage<E>>,
    d: LstmDims,
) -> Result<LstmSaved<E>> {
    let dev = &x.device;
    let (units, g4) = (d.batch * d.hidden, 4 * d.hidden);
    // x W_ih^T for every step at once: (S * B, 4H).
    let gx = super::kernels::matmul(
        rows(x, d.input),
        transposed(w_ih, d.input),
        1,
        d.steps * d.batch,
        d.input,
        g4,
    )?;
    let hs = dev.alloc_as::<E>((d.steps + 1) * units);
    let cs = dev.alloc_as::<E>((d.steps + 1) * units);
    let acts = dev.alloc_as::<E>(d.steps * d.batch * g4);
    copy_into(h0, 0, &hs, 0, units);
    copy_into(c0, 0, &cs, 0, units);
    for t in 0..d.steps {
        let gh = matmul_at(
            rows(&hs, d.hidden),
            t * units,
            transposed(w_hh, d.hidden),
            0,
            1,
            d.batch,
            d.hidden,
            g4,
        )?;
        let p = [
            units as u32,
            d.hidden as u32,
            t as u32,
            u32::from(bias.is_some()),
        ];
        let b = bias.unwrap_or(&gh);
        launch_as::<E>(
            dev,
            K_LSTM_GATES,
            &Params::from(&p[..]),
            &[&gx.buf, &gh.buf, &b.buf, &hs.buf, &cs.buf, &acts.buf],
            grid_1d(units),
        );
    }
    Ok(LstmSaved { hs, cs, acts })
}

/// The gradients an LSTM backward pass returns: the pre-activation gradients `dg`
/// `(steps, B, 4H)` (the biases' gradients are its column sums) and the initial states'.
pub(crate) struct LstmGrads<E = f32> {
    pub(crate) dg: GpuStorage<E>,
    pub(crate) dh0: GpuStorage<E>,
    pub(crate) dc0: GpuStorage<E>,
}

/// The backward pass of [`lstm_forward`] from the gradients of every step's output `dy`
/// (time-major, if any), of the last hidden state `dh_n` and of the last cell state `dc_n`.
pub(crate) fn lstm_backward<E: Float>(
    saved: &LstmSaved<E>,
    w_hh: &GpuStorage<E>,
    dy: Option<&GpuStorage<E>>,
    dh_n: Option<&GpuStorage<E>>,
    dc_n: Option<&GpuStorage<E>>,
    d: LstmDims,
) -> Result<LstmGrads<E>> {
    let dev = &saved.hs.device;
    let (units, g4) = (d.batch * d.hidden, 4 * d.hidden);
    let mut dh = dh_n.cloned().unwrap_or_else(|| zeros(dev, units));
    let mut dc = dc_n.cloned().unwrap_or_else(|| zeros(dev, units));
    let dg = dev.alloc_as::<E>(d.steps * d.batch * g4);
    for t in (0..d.steps).rev() {
        let dc_prev = dev.alloc_as::<E>(units);
        let p = [
            units as u32,
            d.hidden as u32,
            t as u32,
            u32::from(dy.is_some()),
        ];
        let dyb = dy.unwrap_or(&dh);
        launch_as::<E>(
            dev,
            K_LSTM_GATES_BACKWARD,
            &Params::from(&p[..]),
            &[
                &saved.acts.buf,
                &saved.cs.buf,
                &dyb.buf,
                &dh.buf,
                &dc.buf,
                &dg.buf,
                &dc_prev.buf,
            ],
            grid_1d(units),
        );
        // dh_{t-1} = dg_t W_hh.
        dh = matmul_at(
            rows(&dg, g4),
            t * d.batch * g4,
            rows(w_hh, d.hidden),
            0,
            1,
            d.batch,
            g4,
            d.hidden,
        )?;
        dc = dc_prev;
    }
    Ok(LstmGrads {
        dg,
        dh0: dh,
        dc0: dc,
    })
}

/// The maximum (or minimum, `min`) along the middle axis of `(outer, n, inner)`, `n >= 1`,
/// and the index of the first one (`u32`s in the second buffer).
pub(crate) fn arg_extreme<E: Float>(
    x: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
    min: bool,
) -> (GpuStorage<E>, GpuStorage<u32>) {
    let dev = &x.device;
    let count = outer * inner;
    let (y, idx) = (dev.alloc_as::<E>(count), dev.alloc_u32(count));
    let p = [count as u32, n as u32, inner as u32, u32::from(min)];
    launch_as::<E>(
        dev,
        K_ARG_EXTREME,
        &Params::from(&p[..]),
        &[&x.buf, &y.buf, &idx.buf],
        grid_1d(count),
    );
    (y, idx)
}

/// The input gradient of [`arg_extreme`] from its indices and output gradient.
pub(crate) fn arg_extreme_backward<E: Float>(
    idx: &GpuStorage<u32>,
    g: &GpuStorage<E>,
    outer: usize,
    n: usize,
    inner: usize,
) -> GpuStorage<E> {
    let dev = &g.device;
    let count = outer * n * inner;
    let out = dev.alloc_as::<E>(count);
    let p = [count as u32, n as u32, inner as u32];
    launch_as::<E>(
        dev,
        K_ARG_EXTREME_BACKWARD,
        &Params::from(&p[..]),
        &[&idx.buf, &g.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// The `u32` values of a buffer written by a kernel (indices), read back.
pub(crate) fn download_u32(s: &GpuStorage<u32>) -> Result<Vec<u32>> {
    let words = GpuStorage::<f32>::new(s.device.clone(), s.buf.clone(), s.len);
    let raw = s.device.download(&words)?;
    Ok(raw.into_iter().map(f32::to_bits).collect())
}

/// `a` `(outer, na, inner)` and `b` `(outer, nb, inner)` joined along the middle axis.
pub(crate) fn concat<E: Float>(
    a: &GpuStorage<E>,
    b: &GpuStorage<E>,
    outer: usize,
    (na, nb): (usize, usize),
    inner: usize,
) -> GpuStorage<E> {
    let dev = &a.device;
    let count = outer * (na + nb) * inner;
    let out = dev.alloc_as::<E>(count);
    let p = [count as u32, (na * inner) as u32, (nb * inner) as u32];
    launch_as::<E>(
        dev,
        K_CONCAT,
        &Params::from(&p[..]),
        &[&a.buf, &b.buf, &out.buf],
        grid_1d(count),
    );
    out
}

/// Positions `[off, off + len)` of the middle axis of `x` `(outer, total, inner)`.
pub(crate) fn narrow<E: Float>(
    x: &GpuStorage<E>,
    outer: usize,
    total: usize,
    inner: usize,
    (off, len): (usize, usize),
) -> GpuStorage<E> {
    let dev = &x.device;
    let count = outer * len * inner;
    let out = dev.alloc_as::<E>(count);
    let p = [
        count as u32,
        (len * inner) as u32,
        (total * inner) as u32,
        (off * inner) as u32,
    ];
    launch_as::<E>(
        dev,
        K_NARROW,
        &Params::from(&p[..]),
        &[&x.buf, &out.buf],
        grid_1d(count),
    );
    out
}
