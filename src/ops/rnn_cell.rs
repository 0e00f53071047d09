//! One recurrent cell step as a single primitive (PyTorch's `LSTMCell`, `GRUCell`, `RNNCell`):
//! both projections and the cell in one forward step and one backward step, so that a
//! single step records one tape node and, untraced, allocates only its outputs.

use crate::autograd::{Gradients, Tape, UniqueId};
/// The cell's gate arithmetic, as layers name it (they reach the backend through ops only).
pub(crate) use crate::backend::rnn_cell::CellMode;
use crate::backend::rnn_cell::{
    GateGrads, StepBuffers, StepDims, StepGrads, StepInputs, StepWeight, cell_step_backward,
    cell_step_forward, weight_grads, with_scratch,
};
use crate::dtype::Float;
use crate::shape::Shape;
use crate::tensor::Tensor;
use core::cell::RefCell;
use std::sync::Arc;

/// The tensors of one step: `x` `[B, I]`, `h` (and `c` for an LSTM) `[B, H]`, weights
/// `(G*H, I)` and `(G*H, H)`, optional biases `(G*H)`.
pub(crate) struct CellStepArgs<SX: Shape, SH: Shape, SWI: Shape, SWH: Shape, SB: Shape, E: Float, T>
{
    pub x: Tensor<SX, E, T>,
    pub h: Tensor<SH, E, T>,
    pub c: Option<Tensor<SH, E, T>>,
    pub w_ih: Tensor<SWI, E, T>,
    pub w_hh: Tensor<SWH, E, T>,
    pub b_ih: Option<Tensor<SB, E, T>>,
    pub b_hh: Option<Tensor<SB, E, T>>,
}

/// A tensor's data and id, its tape merged into `tape`.
struct Part<E> {
    data: Arc<Vec<E>>,
    id: UniqueId,
}

fn part<S: Shape, E: Float, T: Tape<E>>(t: Tensor<S, E, T>, tape: &mut Option<T>) -> Part<E> {
    let (t, tt) = t.split_tape();
    *tape = Some(match tape.take() {
        Some(acc) => acc.merge(tt),
        None => tt,
    });
    Part {
        data: t.data,
        id: t.id,
    }
}

thread_local! {
    static GATE_GRADS: RefCell<Vec<Box<dyn core::any::Any>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's gate-gradient buffers for `E` (kept from step to step, so
/// that a backward pass over many steps does not allocate them each time).
fn with_gate_grads<E: Float, R>(f: impl FnOnce(&mut GateGrads<E>) -> R) -> R {
    GATE_GRADS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut all) => {
            let i = match all.iter().position(|b| b.is::<GateGrads<E>>()) {
                Some(i) => i,
                None => {
                    all.push(Box::new(GateGrads::<E>::default()));
                    all.len() - 1
                }
            };
            match all[i].downcast_mut::<GateGrads<E>>() {
                Some(gates) => f(gates),
                None => f(&mut GateGrads::default()),
            }
        }
        Err(_) => f(&mut GateGrads::default()),
    })
}

fn slice<E>(p: &Option<Part<E>>) -> Option<&[E]> {
    p.as_ref().map(|p| p.data.as_slice())
}

/// One step of cell `mode`; returns `h'` and, for an LSTM, `c'`, both shaped like `h`.
pub(crate) fn cell_step_op<SX, SH, SWI, SWH, SB, E, T>(
    mode: CellMode,
    args: CellStepArgs<SX, SH, SWI, SWH, SB, E, T>,
) -> (Tensor<SH, E, T>, Option<Tensor<SH, E, T>>)
where
    SX: Shape,
    SH: Shape,
    SWI: Shape,
    SWH: Shape,
    SB: Shape,
    E: Float,
    T: Tape<E>,
{
    let shape = args.h.shape;
    let (xd, hd) = (args.x.shape.dims(), args.h.shape.dims());
    let d = StepDims {
        batch: xd[0],
        input: xd[1],
        hidden: hd[1],
    };
    let mut tape = None;
    let x = part(args.x, &mut tape);
    let h = part(args.h, &mut tape);
    let c = args.c.map(|c| part(c, &mut tape));
    let w_ih = part(args.w_ih, &mut tape);
    let w_hh = part(args.w_hh, &mut tape);
    let b_ih = args.b_ih.map(|b| part(b, &mut tape));
    let b_hh = args.b_hh.map(|b| part(b, &mut tape));
    let mut tape = tape.expect("a step has inputs");
    let tracks = |p: &Option<Part<E>>| p.as_ref().is_some_and(|p| tape.tracks(p.id));
    let tr = [
        tape.tracks(x.id),
        tape.tracks(h.id),
        tracks(&c),
        tape.tracks(w_ih.id),
        tape.tracks(w_hh.id),
        tracks(&b_ih),
        tracks(&b_hh),
    ];
    let traced = T::TRACING && tr.iter().any(|&t| t);
    let inputs = StepInputs {
        x: &x.data,
        h: &h.data,
        c: slice(&c),
        w_ih: &w_ih.data,
        w_hh: &w_hh.data,
        b_ih: slice(&b_ih),
        b_hh: slice(&b_hh),
    };
    let ((h_out, c_out), saved) = if traced {
        if mode == CellMode::Gru {
            let mut bufs = StepBuffers::default();
            (cell_step_forward(mode, d, inputs, &mut bufs), Some(bufs))
        } else {
            // The backward step reads only the activations (LSTM) or the output (RNN): the
            // two projections stay in this thread's scratch instead of on the tape.
            with_scratch(|bufs| {
                let out = cell_step_forward(mode, d, inputs, bufs);
                let acts = core::mem::take(&mut bufs.acts);
                (
                    out,
                    Some(StepBuffers {
                        acts,
                        ..StepBuffers::default()
                    }),
                )
            })
        }
    } else {
        (
            with_scratch(|bufs| cell_step_forward(mode, d, inputs, bufs)),
            None,
        )
    };
    let h_out = Arc::new(h_out);
    let (h_id, c_id) = (UniqueId::new(), UniqueId::new());
    let last_id = if c_out.is_some() { c_id } else { h_id };
    if let Some(bufs) = saved {
        let h_saved = h_out.clone();
        tape.record(
            last_id,
            Box::new(move |g: &mut Gradients<E>| {
                let dh = g.take(h_id);
                let dc = if mode == CellMode::Lstm {
                    g.take(c_id)
                } else {
                    None
                };
                if dh.is_none() && dc.is_none() {
                    return;
                }
                let inputs = StepInputs {
                    x: &x.data,
                    h: &h.data,
                    c: slice(&c),
                    w_ih: &w_ih.data,
                    w_hh: &w_hh.data,
                    b_ih: slice(&b_ih),
                    b_hh: slice(&b_hh),
                };
                // New buffers for the data inputs' gradients (written in full by the step,
                // not zeroed here first), added afterwards: the same tensor may be two of
                // the inputs.
                let buf = |on: bool, p: Option<&Part<E>>| {
                    p.filter(|_| on).map(|p| Vec::with_capacity(p.data.len()))
                };
                let [tx, th, tc, twi, twh, tbi, tbh] = tr;
                let mut out = [buf(tx, Some(&x)), buf(th, Some(&h)), buf(tc, c.as_ref())];
                let lens = [Some(&x), Some(&h), c.as_ref()].map(|p| p.map_or(0, |p| p.data.len()));
                with_gate_grads(|gates: &mut GateGrads<E>| {
                    {
                        let [gx, gh, gc] = &mut out;
                        fn slots<E>(
                            v: &mut Option<Vec<E>>,
                            n: usize,
                        ) -> Option<&mut [core::mem::MaybeUninit<E>]> {
                            v.as_mut().map(|v| &mut v.spare_capacity_mut()[..n])
                        }
                        let grads = StepGrads {
                            x: slots(gx, lens[0]),
                            h: slots(gh, lens[1]),
                            c: slots(gc, lens[2]),
                        };
                        cell_step_backward(
                            mode,
                            d,
                            inputs,
                            &bufs,
                            &h_saved,
                            dh.as_deref(),
                            dc.as_deref(),
                            grads,
                            gates,
                        );
                    }
                    for (v, n) in out.iter_mut().zip(lens) {
                        if let Some(v) = v {
                            // SAFETY: `cell_step_backward` wrote every element of the
                            // gradients it was given (a panic unwinds before this line,
                            // leaving empty vectors).
                            unsafe { v.set_len(n) };
                        }
                    }
                    // The weights' gradients go straight into their accumulated gradients
                    // (one per weight over all steps), one weight at a time.
                    let weights = [
                        (twi, Some(&w_ih), StepWeight::InputWeight),
                        (twh, Some(&w_hh), StepWeight::HiddenWeight),
                        (tbi, b_ih.as_ref(), StepWeight::InputBias),
                        (tbh, b_hh.as_ref(), StepWeight::HiddenBias),
                    ];
                    let mut bias_sums = Vec::new();
                    for (on, p, which) in weights {
                        if let (true, Some(p)) = (on, p) {
                            let out = g.entry(p.id, p.data.len());
                            weight_grads(d, inputs, gates, which, out, &mut bias_sums);
                        }
                    }
                });
                let ids = [Some(x.id), Some(h.id), c.as_ref().map(|p| p.id)];
                for (id, grad) in ids.into_iter().zip(out) {
                    if let (Some(id), Some(grad)) = (id, grad) {
                        g.add(id, grad);
                    }
                }
            }),
        );
    }
    match c_out {
        Some(c_out) => {
            let h = Tensor {
                shape,
                data: h_out,
                id: h_id,
                tape: tape.for_clone(h_id),
            };
            let c = Tensor {
                shape,
                data: Arc::new(c_out),
                id: c_id,
                tape,
            };
            (h, Some(c))
        }
        None => (
            Tensor {
                shape,
                data: h_out,
                id: h_id,
                tape,
            },
            None,
        ),
    }
}
