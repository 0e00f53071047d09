//! One step of a recurrent cell from its raw inputs (PyTorch's `LSTMCell`, `GRUCell`,
//! `RNNCell`): the two projections `x W_ih^T + b_ih` and `h W_hh^T + b_hh` as products, then
//! the fused cell kernels of [`super::rnn`], read as a one-step sequence.
//!
//! An untraced step runs in per-thread scratch buffers ([`with_scratch`]), so that a
//! generation loop allocates nothing per step beyond its outputs.

use super::gemm::gemm;
use super::rnn::{
    CellDims, GateTerm, gru_backward, gru_forward_into, lstm_backward, lstm_forward_into,
    rnn_backward, rnn_forward_into,
};
use crate::dtype::Float;
use core::any::Any;
use core::cell::RefCell;

/// Which cell a step runs (PyTorch's `mode` names: `LSTM`, `GRU`, `RNN_TANH`, `RNN_RELU`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CellMode {
    Lstm,
    Gru,
    RnnTanh,
    RnnRelu,
}

impl CellMode {
    /// From PyTorch's mode name; anything else is a tanh RNN.
    pub(crate) fn from_name(mode: &str) -> CellMode {
        match mode {
            "LSTM" => CellMode::Lstm,
            "GRU" => CellMode::Gru,
            "RNN_RELU" => CellMode::RnnRelu,
            _ => CellMode::RnnTanh,
        }
    }
    /// Gates per hidden unit.
    pub(crate) fn gates(self) -> usize {
        match self {
            CellMode::Lstm => 4,
            CellMode::Gru => 3,
            CellMode::RnnTanh | CellMode::RnnRelu => 1,
        }
    }
    /// Saved activations per hidden unit.
    fn acts(self) -> usize {
        match self {
            CellMode::Lstm => 5,
            CellMode::Gru => 3,
            CellMode::RnnTanh | CellMode::RnnRelu => 0,
        }
    }
}

/// Sizes of one step: `batch` rows of `input` features into `hidden` units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StepDims {
    pub batch: usize,
    pub input: usize,
    pub hidden: usize,
}

impl StepDims {
    fn cell(self) -> CellDims {
        CellDims {
            batch: self.batch,
            steps: 1,
            hidden: self.hidden,
            t: 0,
        }
    }
}

/// The intermediate values of a step: the two projections (`[B, G*H]` each; an LSTM sums
/// both into `gx`) and the cell's activations (the backward pass reads `gh` and `acts`).
#[derive(Default)]
pub(crate) struct StepBuffers<E> {
    pub gx: Vec<E>,
    pub gh: Vec<E>,
    pub acts: Vec<E>,
    /// An LSTM's summed biases `b_ih + b_hh` (`[G*H]`; zeros when it has none).
    pub bias: Vec<E>,
}

impl<E: Float> StepBuffers<E> {
    fn fit(&mut self, mode: CellMode, d: StepDims) {
        let units = d.batch * d.hidden;
        self.gx.resize(units * mode.gates(), E::ZERO);
        // An LSTM step sums both projections into `gx`.
        let gh = if mode == CellMode::Lstm { 0 } else { units };
        self.gh.resize(gh * mode.gates(), E::ZERO);
        self.acts.resize(units * mode.acts(), E::ZERO);
    }
}

thread_local! {
    static SCRATCH: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's step buffers for element type `E` (created on first use and
/// kept, so that repeated untraced steps reuse them).
pub(crate) fn with_scratch<E: Float, R>(f: impl FnOnce(&mut StepBuffers<E>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut all) => {
            let i = match all.iter().position(|b| b.is::<StepBuffers<E>>()) {
                Some(i) => i,
                None => {
                    all.push(Box::new(StepBuffers::<E>::default()));
                    all.len() - 1
                }
            };
            match all[i].downcast_mut::<StepBuffers<E>>() {
                Some(bufs) => f(bufs),
                None => f(&mut StepBuffers::default()),
            }
        }
        // Already in use further up this thread's stack: fresh buffers.
        Err(_) => f(&mut StepBuffers::default()),
    })
}

/// `out = x W^T + b` for `x` `[B, K]`, `W` `[N, K]`, `b` `[N]` or absent; `out` `[B, N]`.
fn project<E: Float>(
    b: usize,
    k: usize,
    n: usize,
    x: &[E],
    w: &[E],
    bias: Option<&[E]>,
    out: &mut [E],
) {
    match bias {
        Some(bias) => out
            .chunks_exact_mut(n)
            .for_each(|row| row.copy_from_slice(bias)),
        None => out.fill(E::ZERO),
    }
    gemm(
        b,
        k,
        n,
        E::ONE,
        x,
        (k as isize, 1),
        w,
        (1, k as isize),
        E::ONE,
        out,
        (n as isize, 1),
    );
}

/// The inputs of one step: `x` `[B, I]`, `h` and `c` `[B, H]` (`c` for an LSTM only), the
/// weights `(G*H, I)` and `(G*H, H)` and the biases `(G*H)`.
#[derive(Clone, Copy)]
pub(crate) struct StepInputs<'a, E> {
    pub x: &'a [E],
    pub h: &'a [E],
    pub c: Option<&'a [E]>,
    pub w_ih: &'a [E],
    pub w_hh: &'a [E],
    pub b_ih: Option<&'a [E]>,
    pub b_hh: Option<&'a [E]>,
}

/// One step forward: writes `h'` (and `c'` for an LSTM) and leaves in `bufs` what the
/// backward pass reads.
pub(crate) fn cell_step_forward<E: Float>(
    mode: CellMode,
    d: StepDims,
    inp: StepInputs<'_, E>,
    bufs: &mut StepBuffers<E>,
    h_out: &mut [E],
    c_out: Option<&mut [E]>,
) {
    bufs.fit(mode, d);
    let gh_len = mode.gates() * d.hidden;
    if mode == CellMode::Lstm {
        // Both projections into one buffer (the second product adds to the first), the
        // biases summed once and added in the cell's loop: no bias rows copied into the
        // outputs before each product, and one buffer of pre-activations to read.
        let (b, i, h) = (d.batch, d.input, d.hidden);
        let out_strides = (gh_len as isize, 1);
        gemm(
            b,
            i,
            gh_len,
            E::ONE,
            inp.x,
            (i as isize, 1),
            inp.w_ih,
            (1, i as isize),
            E::ZERO,
            &mut bufs.gx,
            out_strides,
        );
        gemm(
            b,
            h,
            gh_len,
            E::ONE,
            inp.h,
            (h as isize, 1),
            inp.w_hh,
            (1, h as isize),
            E::ONE,
            &mut bufs.gx,
            out_strides,
        );
        bufs.bias.clear();
        bufs.bias.resize(gh_len, E::ZERO);
        for bias in [inp.b_ih, inp.b_hh].into_iter().flatten() {
            bufs.bias.iter_mut().zip(bias).for_each(|(a, &v)| *a += v);
        }
        let (c, c_out) = (
            inp.c.expect("an LSTM step has a cell state"),
            c_out.expect("an LSTM step writes a cell state"),
        );
        let term = GateTerm::Broadcast(&bufs.bias);
        lstm_forward_into(d.cell(), &bufs.gx, term, c, h_out, c_out, &mut bufs.acts);
        return;
    }
    project(
        d.batch,
        d.input,
        gh_len,
        inp.x,
        inp.w_ih,
        inp.b_ih,
        &mut bufs.gx,
    );
    project(
        d.batch,
        d.hidden,
        gh_len,
        inp.h,
        inp.w_hh,
        inp.b_hh,
        &mut bufs.gh,
    );
    let cd = d.cell();
    match mode {
        CellMode::Lstm => unreachable!("an LSTM step returned above"),
        CellMode::Gru => gru_forward_into(cd, &bufs.gx, &bufs.gh, inp.h, h_out, &mut bufs.acts),
        CellMode::RnnTanh | CellMode::RnnRelu => {
            rnn_forward_into(cd, &bufs.gx, &bufs.gh, mode == CellMode::RnnRelu, h_out)
        }
    }
}

/// Where the gradients of a step's data inputs go (added to; absent when not wanted). The
/// weights' gradients are separate ([`weight_grads`]), so that a caller can add them straight
/// into the accumulated gradient of each weight, one after the other.
pub(crate) struct StepGrads<'a, E> {
    pub x: Option<&'a mut [E]>,
    pub h: Option<&'a mut [E]>,
    pub c: Option<&'a mut [E]>,
}

/// The gate gradients of a step, `[B, G*H]` each: `x` for the input projection, `h` for the
/// hidden one (the same for LSTM and RNN cells, whose gates are sums of the two projections;
/// a GRU's `n` gate scales the hidden projection by `r`). Reused from step to step.
#[derive(Default)]
pub(crate) struct GateGrads<E> {
    x: Vec<E>,
    h: Vec<E>,
    gru: bool,
    /// Gates times hidden units: the length of a row.
    width: usize,
}

impl<E> GateGrads<E> {
    fn hidden(&self) -> &[E] {
        if self.gru { &self.h } else { &self.x }
    }
}

/// `dx += dg W` for one projection: `dg` `[B, N]`, `W` `[N, K]`, `dx` `[B, K]`.
fn project_input_grad<E: Float>(b: usize, k: usize, n: usize, w: &[E], dg: &[E], dx: &mut [E]) {
    let (k_, n_) = (k as isize, n as isize);
    gemm(
        b,
        n,
        k,
        E::ONE,
        dg,
        (n_, 1),
        w,
        (k_, 1),
        E::ONE,
        dx,
        (k_, 1),
    );
}

/// One step backward from the gradients of `h'` and `c'` (either may be absent): leaves the
/// gate gradients in `gates` and adds the gradients of `x`, `h` and `c` into `grads`. `h_out`
/// is the step's output (an RNN's derivative reads it); `bufs` is what the forward step left.
#[allow(clippy::too_many_arguments)]
pub(crate) fn cell_step_backward<E: Float>(
    mode: CellMode,
    d: StepDims,
    inp: StepInputs<'_, E>,
    bufs: &StepBuffers<E>,
    h_out: &[E],
    dh_out: Option<&[E]>,
    dc_out: Option<&[E]>,
    mut grads: StepGrads<'_, E>,
    gates: &mut GateGrads<E>,
) {
    let cd = d.cell();
    let gh_len = mode.gates() * d.hidden;
    gates.x.clear();
    gates.x.resize(d.batch * gh_len, E::ZERO);
    gates.gru = mode == CellMode::Gru;
    gates.width = gh_len;
    if gates.gru {
        gates.h.clear();
        gates.h.resize(d.batch * gh_len, E::ZERO);
    }
    let zeros;
    let dh_out = match dh_out {
        Some(v) => v,
        None => {
            zeros = vec![E::ZERO; d.batch * d.hidden];
            &zeros
        }
    };
    match mode {
        CellMode::Lstm => lstm_backward(
            cd,
            &bufs.acts,
            inp.c.expect("an LSTM step has a cell state"),
            Some(dh_out),
            dc_out,
            Some(&mut gates.x),
            None,
            grads.c.as_deref_mut(),
        ),
        CellMode::Gru => gru_backward(
            cd,
            &bufs.acts,
            &bufs.gh,
            inp.h,
            dh_out,
            Some(&mut gates.x),
            Some(&mut gates.h),
            grads.h.as_deref_mut(),
        ),
        CellMode::RnnTanh | CellMode::RnnRelu => rnn_backward(
            cd,
            h_out,
            dh_out,
            mode == CellMode::RnnRelu,
            Some(&mut gates.x),
            None,
        ),
    }
    let (b, i, h) = (d.batch, d.input, d.hidden);
    if let Some(dx) = grads.x {
        project_input_grad(b, i, gh_len, inp.w_ih, &gates.x, dx);
    }
    if let Some(dh) = grads.h {
        project_input_grad(b, h, gh_len, inp.w_hh, gates.hidden(), dh);
    }
}

/// Which parameter of a step [`weight_grads`] differentiates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepWeight {
    InputWeight,
    HiddenWeight,
    InputBias,
    HiddenBias,
}

/// Adds the gradient of one weight or bias of a step into `out`, from the gate gradients
/// [`cell_step_backward`] left: `dW_ih += dg^T x`, `dW_hh += dg^T h`, `db += sum_rows(dg)`.
pub(crate) fn weight_grads<E: Float>(
    d: StepDims,
    inp: StepInputs<'_, E>,
    gates: &GateGrads<E>,
    which: StepWeight,
    out: &mut [E],
) {
    let dg = match which {
        StepWeight::InputWeight | StepWeight::InputBias => &gates.x[..],
        StepWeight::HiddenWeight | StepWeight::HiddenBias => gates.hidden(),
    };
    let n = gates.width;
    let (input, k) = match which {
        StepWeight::InputWeight => (inp.x, d.input),
        StepWeight::HiddenWeight => (inp.h, d.hidden),
        StepWeight::InputBias | StepWeight::HiddenBias => {
            for row in dg.chunks_exact(n.max(1)) {
                out.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
            }
            return;
        }
    };
    let (k_, n_) = (k as isize, n as isize);
    gemm(
        n,
        d.batch,
        k,
        E::ONE,
        dg,
        (1, n_),
        input,
        (k_, 1),
        E::ONE,
        out,
        (k_, 1),
    );
}
