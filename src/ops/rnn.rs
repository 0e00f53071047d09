//! Recurrent cell primitives (LSTM, GRU, tanh RNN) with fused backward steps.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::rnn::{self as kernels, CellDims};
use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// Takes the gradient buffer of `id` out of `g` (zeros if none) when `track`, so that
/// several inputs' buffers can be written at once; [`put_back`] returns them.
fn take_buf<E: Float>(
    g: &mut Gradients<E>,
    track: bool,
    id: UniqueId,
    len: usize,
) -> Option<Vec<E>> {
    track.then(|| g.take(id).unwrap_or_else(|| vec![E::ZERO; len]))
}
fn put_back<E: Float>(g: &mut Gradients<E>, id: UniqueId, buf: Option<Vec<E>>) {
    if let Some(b) = buf {
        g.insert(id, b);
    }
}

fn cell_dims(gx_dims: &[usize], hidden: usize, t: usize) -> CellDims {
    CellDims {
        batch: gx_dims[0],
        steps: gx_dims[1],
        hidden,
        t,
    }
}

/// One LSTM step from the input projection of every step `gx` (`[B, S, 4H]`, read at step
/// `t`), this step's hidden projection `gh` (`[B, 4H]`) and the cell state `c` (`[B, H]`).
/// Returns `(h', c')`, both shaped like `c`. One backward step serves both outputs.
pub(crate) fn lstm_cell_op<SX: Shape, SG: Shape, SC: Shape, E: Float, T: Tape<E>>(
    gx: Tensor<SX, E, T>,
    t: usize,
    gh: Tensor<SG, E, T>,
    c: Tensor<SC, E, T>,
) -> (Tensor<SC, E, T>, Tensor<SC, E, T>) {
    let shape = c.shape;
    let d = cell_dims(&gx.shape.dims(), c.shape.dims()[1], t);
    let (gx, tx) = gx.split_tape();
    let (gh, th) = gh.split_tape();
    let (c, tc) = c.split_tape();
    let mut tape = tx.merge(th).merge(tc);
    let (hn, cn, acts) = kernels::lstm_forward(d, &gx.data, &gh.data, &c.data);
    let (h_id, c_id) = (UniqueId::new(), UniqueId::new());
    let (tr_x, tr_h, tr_c) = (tape.tracks(gx.id), tape.tracks(gh.id), tape.tracks(c.id));
    if T::TRACING && (tr_x || tr_h || tr_c) {
        let (gx_id, gx_len, gh_id, gh_len, cin_id) =
            (gx.id, gx.data.len(), gh.id, gh.data.len(), c.id);
        let cin = c.data;
        tape.record(
            c_id,
            Box::new(move |g: &mut Gradients<E>| {
                let (dh, dc_out) = (g.take(h_id), g.take(c_id));
                if dh.is_none() && dc_out.is_none() {
                    return;
                }
                let mut dgx = take_buf(g, tr_x, gx_id, gx_len);
                let mut dgh = take_buf(g, tr_h, gh_id, gh_len);
                let mut dc = take_buf(g, tr_c, cin_id, cin.len());
                kernels::lstm_backward(
                    d,
                    &acts,
                    &cin,
                    dh.as_deref(),
                    dc_out.as_deref(),
                    dgx.as_deref_mut(),
                    dgh.as_deref_mut(),
                    dc.as_deref_mut(),
                );
                put_back(g, gx_id, dgx);
                put_back(g, gh_id, dgh);
                put_back(g, cin_id, dc);
            }),
        );
    }
    let h_tape = tape.for_clone(h_id);
    let h = Tensor {
        shape,
        data: Arc::new(hn),
        id: h_id,
        tape: h_tape,
    };
    let c = Tensor {
        shape,
        data: Arc::new(cn),
        id: c_id,
        tape,
    };
    (h, c)
}

/// One GRU step (`gx` `[B, S, 3H]` at step `t`, `gh` `[B, 3H]` including `b_hh`, previous `h`).
pub(crate) fn gru_cell_op<SX: Shape, SG: Shape, SH: Shape, E: Float, T: Tape<E>>(
    gx: Tensor<SX, E, T>,
    t: usize,
    gh: Tensor<SG, E, T>,
    h: Tensor<SH, E, T>,
) -> Tensor<SH, E, T> {
    let shape = h.shape;
    let d = cell_dims(&gx.shape.dims(), h.shape.dims()[1], t);
    let (gx, tx) = gx.split_tape();
    let (gh, th) = gh.split_tape();
    let (h, thh) = h.split_tape();
    let mut tape = tx.merge(th).merge(thh);
    let (hn, acts) = kernels::gru_forward(d, &gx.data, &gh.data, &h.data);
    let out_id = UniqueId::new();
    let (tr_x, tr_g, tr_h) = (tape.tracks(gx.id), tape.tracks(gh.id), tape.tracks(h.id));
    if T::TRACING && (tr_x || tr_g || tr_h) {
        let (gx_id, gx_len, gh_id, h_id) = (gx.id, gx.data.len(), gh.id, h.id);
        let (ghd, hd) = (gh.data, h.data);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(dy) = g.take(out_id) else { return };
                let mut dgx = take_buf(g, tr_x, gx_id, gx_len);
                let mut dgh = take_buf(g, tr_g, gh_id, ghd.len());
                let mut dh = take_buf(g, tr_h, h_id, hd.len());
                kernels::gru_backward(
                    d,
                    &acts,
                    &ghd,
                    &hd,
                    &dy,
                    dgx.as_deref_mut(),
                    dgh.as_deref_mut(),
                    dh.as_deref_mut(),
                );
                put_back(g, gx_id, dgx);
                put_back(g, gh_id, dgh);
                put_back(g, h_id, dh);
            }),
        );
    }
    Tensor {
        shape,
        data: Arc::new(hn),
        id: out_id,
        tape,
    }
}

/// One tanh RNN step: `h' = tanh(gx_t + gh)`, shaped `out`.
pub(crate) fn rnn_tanh_cell_op<SX: Shape, SG: Shape, SH: Shape, E: Float, T: Tape<E>>(
    gx: Tensor<SX, E, T>,
    t: usize,
    gh: Tensor<SG, E, T>,
    out: SH,
) -> Tensor<SH, E, T> {
    let d = cell_dims(&gx.shape.dims(), out.dims()[1], t);
    let (gx, tx) = gx.split_tape();
    let (gh, th) = gh.split_tape();
    let mut tape = tx.merge(th);
    let hn = Arc::new(kernels::rnn_tanh_forward(d, &gx.data, &gh.data));
    let out_id = UniqueId::new();
    let (tr_x, tr_g) = (tape.tracks(gx.id), tape.tracks(gh.id));
    if T::TRACING && (tr_x || tr_g) {
        let (gx_id, gx_len, gh_id, gh_len, y) =
            (gx.id, gx.data.len(), gh.id, gh.data.len(), hn.clone());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(dy) = g.take(out_id) else { return };
                let mut dgx = take_buf(g, tr_x, gx_id, gx_len);
                let mut dgh = take_buf(g, tr_g, gh_id, gh_len);
                kernels::rnn_tanh_backward(d, &y, &dy, dgx.as_deref_mut(), dgh.as_deref_mut());
                put_back(g, gx_id, dgx);
                put_back(g, gh_id, dgh);
            }),
        );
    }
    Tensor {
        shape: out,
        data: hn,
        id: out_id,
        tape,
    }
}
