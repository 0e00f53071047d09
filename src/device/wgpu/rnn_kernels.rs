//! The GRU and Elman RNN sequence kernels as plain functions on device buffers, beside
//! [`super::seq_kernels`] (the LSTM's). Only `crate::gpu` calls these.

use super::GpuStorage;
use super::dtype::Params;
use super::kernels::{self, BinaryOp};
use super::pipelines::{Kernel, grid_1d, launch_as};
use super::rnn_shaders as src;
use super::seq_kernels::{copy_into, matmul_at, rows, transposed, zeros};
use crate::dtype::Float;
use crate::error::Result;

kernel!(K_RNN_STEP, src::RNN_STEP);
kernel!(K_RNN_STEP_BACKWARD, src::RNN_STEP_BACKWARD);

/// Which cell a [`rnn_forward`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RnnMode {
    /// Elman RNN, tanh.
    Tanh,
    /// Elman RNN, relu.
    Relu,
    /// GRU (gates r, z, n).
    Gru,
}

impl RnnMode {
    fn id(self) -> u32 {
        match self {
            RnnMode::Tanh => 0,
            RnnMode::Relu => 1,
            RnnMode::Gru => 2,
        }
    }
    /// Gates per hidden unit.
    pub(crate) fn gates(self) -> usize {
        if self == RnnMode::Gru { 3 } else { 1 }
    }
}

/// The sizes of a run: `steps` time steps of `batch` rows, `input` features, `hidden` units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RnnDims {
    pub(crate) mode: RnnMode,
    pub(crate) steps: usize,
    pub(crate) batch: usize,
    pub(crate) input: usize,
    pub(crate) hidden: usize,
}

/// What a forward pass keeps: every hidden state `(steps + 1, B, H)` (slot 0 the initial
/// state) and, for the GRU, the gates `(steps, B, 4H)`.
pub(crate) struct RnnSaved<E = f32> {
    pub(crate) hs: GpuStorage<E>,
    acts: GpuStorage<E>,
}

/// The weights and biases of one layer.
pub(crate) struct RnnWeights<'a, E = f32> {
    pub(crate) w_ih: &'a GpuStorage<E>,
    pub(crate) w_hh: &'a GpuStorage<E>,
    pub(crate) b_ih: Option<&'a GpuStorage<E>>,
    pub(crate) b_hh: Option<&'a GpuStorage<E>>,
}

/// The cell over the time-major `x` `(steps, B, I)` from `h0` `(B, H)`: one product for every
/// step's input projection, then per step the recurrent product and the step kernel.
pub(crate) fn rnn_forward<E: Float>(
    x: &GpuStorage<E>,
    h0: &GpuStorage<E>,
    w: &RnnWeights<'_, E>,
    d: RnnDims,
) -> Result<RnnSaved<E>> {
    let dev = &x.device;
    let (units, gh) = (d.batch * d.hidden, d.mode.gates() * d.hidden);
    let gx = kernels::matmul(
        rows(x, d.input),
        transposed(w.w_ih, d.input),
        1,
        d.steps * d.batch,
        d.input,
        gh,
    )?;
    let hs = dev.alloc_as::<E>((d.steps + 1) * units);
    let acts_len = if d.mode == RnnMode::Gru {
        4 * units * d.steps
    } else {
        1
    };
    let acts = dev.alloc_as::<E>(acts_len);
    copy_into(h0, 0, &hs, 0, units);
    for t in 0..d.steps {
        let ght = matmul_at(
            rows(&hs, d.hidden),
            t * units,
            transposed(w.w_hh, d.hidden),
            0,
            1,
            d.batch,
            d.hidden,
            gh,
        )?;
        let p = [
            units as u32,
            d.hidden as u32,
            t as u32,
            d.mode.id(),
            u32::from(w.b_ih.is_some()),
            u32::from(w.b_hh.is_some()),
        ];
        let (bi, bh) = (w.b_ih.unwrap_or(&ght), w.b_hh.unwrap_or(&ght));
        launch_as::<E>(
            dev,
            K_RNN_STEP,
            &Params::from(&p[..]),
            &[&gx.buf, &ght.buf, &bi.buf, &bh.buf, &hs.buf, &acts.buf],
            grid_1d(units),
        );
    }
    Ok(RnnSaved { hs, acts })
}

/// The gradients of the pre-activations of the input projection `dgx` and of the recurrent
/// projection `dgh` (both `(steps, B, G*H)`; the weights' and biases' gradients are products
/// with them and their column sums) and of the initial state.
pub(crate) struct RnnGrads<E = f32> {
    pub(crate) dgx: GpuStorage<E>,
    pub(crate) dgh: GpuStorage<E>,
    pub(crate) dh0: GpuStorage<E>,
}

/// The backward pass of [`rnn_forward`] from the gradients of every step's output `dy`
/// (time-major, if any) and of the last hidden state `dh_n`.
pub(crate) fn rnn_backward<E: Float>(
    saved: &RnnSaved<E>,
    w_hh: &GpuStorage<E>,
    dy: Option<&GpuStorage<E>>,
    dh_n: Option<&GpuStorage<E>>,
    d: RnnDims,
) -> Result<RnnGrads<E>> {
    let dev = &saved.hs.device;
    let (units, gh) = (d.batch * d.hidden, d.mode.gates() * d.hidden);
    let mut dh = dh_n.cloned().unwrap_or_else(|| zeros(dev, units));
    let dgx = dev.alloc_as::<E>(d.steps * d.batch * gh);
    let dgh = dev.alloc_as::<E>(d.steps * d.batch * gh);
    for t in (0..d.steps).rev() {
        let direct = dev.alloc_as::<E>(units);
        let p = [
            units as u32,
            d.hidden as u32,
            t as u32,
            d.mode.id(),
            u32::from(dy.is_some()),
        ];
        let dyb = dy.unwrap_or(&dh);
        launch_as::<E>(
            dev,
            K_RNN_STEP_BACKWARD,
            &Params::from(&p[..]),
            &[
                &saved.acts.buf,
                &saved.hs.buf,
                &dyb.buf,
                &dh.buf,
                &dgx.buf,
                &dgh.buf,
                &direct.buf,
            ],
            grid_1d(units),
        );
        // dh_{t-1} = dgh_t W_hh (+ z * dh_t for the GRU).
        let through = matmul_at(
            rows(&dgh, gh),
            t * d.batch * gh,
            rows(w_hh, d.hidden),
            0,
            1,
            d.batch,
            gh,
            d.hidden,
        )?;
        dh = if d.mode == RnnMode::Gru {
            let n = [units];
            kernels::binary(BinaryOp::Add, &through, &n, &direct, &n, &n)?
        } else {
            through
        };
    }
    Ok(RnnGrads { dgx, dgh, dh0: dh })
}
