//! Recurrent cell primitives (LSTM, GRU, tanh/relu RNN) with fused backward steps, as used
//! by the sequence layers (the input projection of every step computed at once).

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::reduce::add_column_sums;
use crate::backend::rnn::{self as kernels, CellDims};
use crate::dtype::Float;
use crate::ops::linear::add_product;
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

/// One Elman RNN step: `h' = tanh(gx_t + gh)` (or relu when `relu`), shaped `out`.
pub(crate) fn rnn_cell_op<SX: Shape, SG: Shape, SH: Shape, E: Float, T: Tape<E>>(
    gx: Tensor<SX, E, T>,
    t: usize,
    gh: Tensor<SG, E, T>,
    out: SH,
    relu: bool,
) -> Tensor<SH, E, T> {
    let d = cell_dims(&gx.shape.dims(), out.dims()[1], t);
    let (gx, tx) = gx.split_tape();
    let (gh, th) = gh.split_tape();
    let mut tape = tx.merge(th);
    let hn = Arc::new(kernels::rnn_forward(d, &gx.data, &gh.data, relu));
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
                kernels::rnn_backward(d, &y, &dy, relu, dgx.as_deref_mut(), dgh.as_deref_mut());
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

/// A whole LSTM layer over a sequence, as one primitive: `gx` is the input projection of
/// every step (`[B, S, 4H]`, without the input bias), `w_hh` the `(4H, H)` hidden weight,
/// `biases` `b_ih` and `b_hh` (either may be absent), `h0`/`c0` the `[B, H]` initial state.
/// Returns the outputs `y` (`[B, S, H]`) and the final `(h, c)`, shaped like `h0`.
///
/// The biases are added to every step as one sum `b_ih + b_hh`, and their gradients (both
/// the column sums of the gate gradients) are summed once and shared: with `b_ih` in the
/// input projection, its broadcast into the `[B, S, 4H]` projection and a second column sum
/// over it cost 3% of an LSTM(64, 128) training step (W4, one thread, 3.35 -> 3.24 ms).
///
/// Gradients flow to all six inputs; the per-step cell is the fused LSTM kernel that
/// `LSTMCell` also runs, so both agree with PyTorch to rounding.
pub(crate) fn lstm_sequence_op<SX, SW, SB, SC, E, T>(
    gx: Tensor<SX, E, T>,
    w_hh: Tensor<SW, E, T>,
    biases: [Option<Tensor<SB, E, T>>; 2],
    h0: Tensor<SC, E, T>,
    c0: Tensor<SC, E, T>,
) -> (
    Tensor<(usize, usize, usize), E, T>,
    Tensor<SC, E, T>,
    Tensor<SC, E, T>,
)
where
    SX: Shape,
    SW: Shape,
    SB: Shape,
    SC: Shape,
    E: Float,
    T: Tape<E>,
{
    let state_shape = h0.shape;
    let (xd, hd) = (gx.shape.dims(), h0.shape.dims());
    let (bsz, s, h) = (xd[0], xd[1], hd[1]);
    let (gx, tx) = gx.split_tape();
    let (w, tw) = w_hh.split_tape();
    let (h0, th) = h0.split_tape();
    let (c0, tc) = c0.split_tape();
    let mut tape = tx.merge(tw).merge(th).merge(tc);
    let biases = biases.map(|b| {
        b.map(|b| {
            let (b, tb) = b.split_tape();
            tape = core::mem::replace(&mut tape, T::leaf(b.id)).merge(tb);
            b
        })
    });
    // The biases' ids where the tape tracks them.
    let bias_ids = biases
        .each_ref()
        .map(|b| b.as_ref().map(|b| b.id).filter(|&id| tape.tracks(id)));
    let tracks = [
        tape.tracks(gx.id),
        tape.tracks(w.id),
        bias_ids.iter().any(Option::is_some),
        tape.tracks(h0.id),
        tape.tracks(c0.id),
    ];
    // Every step's states are kept only for a backward pass.
    let traced = T::TRACING && tracks.iter().any(|&t| t);
    let fwd = kernels::lstm_sequence_forward(
        bsz,
        s,
        h,
        &gx.data,
        &w.data,
        biases
            .each_ref()
            .map(|b| b.as_ref().map(|b| b.data.as_slice())),
        &h0.data,
        &c0.data,
        if traced {
            kernels::Keep::Steps
        } else {
            kernels::Keep::Last
        },
    );
    let h_last: Vec<E> = if s == 0 {
        h0.data.to_vec()
    } else {
        (0..bsz)
            .flat_map(|b| fwd.y[(b * s + s - 1) * h..][..h].iter().copied())
            .collect()
    };
    let c_last = fwd.c_last(&c0.data, s, h);
    let y_data = fwd.y.clone();
    let (y_id, h_id, c_id) = (UniqueId::new(), UniqueId::new(), UniqueId::new());
    if traced {
        let [tr_x, tr_w, tr_b, tr_h, tr_c] = tracks;
        let (gx_id, w_id, h0_id, c0_id) = (gx.id, w.id, h0.id, c0.id);
        let (w_data, h0_data, c0_data) = (w.data, h0.data, c0.data);
        tape.record(
            c_id,
            Box::new(move |g: &mut Gradients<E>| {
                let (dy, dh, dc) = (g.take(y_id), g.take(h_id), g.take(c_id));
                if dy.is_none() && dh.is_none() && dc.is_none() {
                    return;
                }
                let grads = kernels::lstm_sequence_backward(
                    bsz,
                    s,
                    h,
                    &w_data,
                    &c0_data,
                    &fwd,
                    dy.as_deref(),
                    dh.as_deref(),
                    dc.as_deref(),
                    tr_h,
                );
                if tr_w {
                    // dW_hh = sum_t dgates_t^T h_{t-1}, one product over all steps, written
                    // straight into a new gradient (no zero fill).
                    let hprev = kernels::lstm_previous_states(bsz, s, h, &h0_data, &fwd);
                    let g4 = 4 * h;
                    add_product(
                        g,
                        w_id,
                        (g4, bsz * s, h),
                        (&grads.dgates, (1, g4 as isize)),
                        (&hprev, (h as isize, 1)),
                    );
                }
                if tr_b {
                    let mut sums = vec![E::ZERO; 4 * h];
                    add_column_sums(&mut sums, &grads.dgates);
                    let sums = Arc::new(sums);
                    for id in bias_ids.into_iter().flatten() {
                        g.add_shared(id, sums.clone());
                    }
                }
                if tr_h {
                    g.add(h0_id, grads.dh0);
                }
                if tr_c {
                    g.add(c0_id, grads.dc0);
                }
                if tr_x {
                    g.add(gx_id, grads.dgates);
                }
            }),
        );
    }
    let y = Tensor {
        shape: (bsz, s, h),
        data: y_data,
        id: y_id,
        tape: tape.for_clone(y_id),
    };
    let h_out = Tensor {
        shape: state_shape,
        data: Arc::new(h_last),
        id: h_id,
        tape: tape.for_clone(h_id),
    };
    let c_out = Tensor {
        shape: state_shape,
        data: Arc::new(c_last),
        id: c_id,
        tape,
    };
    (y, h_out, c_out)
}
