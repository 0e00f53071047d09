//! One step of a recurrent cell from its raw inputs (PyTorch's `LSTMCell`, `GRUCell`,
//! `RNNCell`): the two projections `x W_ih^T + b_ih` and `h W_hh^T + b_hh` as products, then
//! the fused cell kernels of [`super::rnn`], read as a one-step sequence.
//!
//! An untraced step runs in per-thread scratch buffers ([`with_scratch`]), so that a
//! generation loop allocates nothing per step beyond its outputs.

use super::gemm::{gemm, gemm_uninit};
use super::rnn::{
    CellDims, GateTerm, gru_backward, gru_forward_into, lstm_backward, lstm_forward_into, planes,
    planes_mut, rnn_backward, rnn_forward_into,
};
use super::simd::wide;
use super::threads;
use super::uninit::filled;
use crate::dtype::Float;
use core::any::Any;
use core::cell::RefCell;
use core::mem::MaybeUninit;
use core::ops::Range;

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
        let acts = units * mode.acts();
        if mode == CellMode::Lstm {
            // Written in full by the step ([`lstm_step_forward`]): room only.
            self.acts.clear();
            self.acts.reserve(acts);
        } else if self.acts.is_empty() {
            // Taken by the previous traced step: a zeroed allocation (fresh pages need no
            // memset) instead of growing the empty vector by filling it.
            self.acts = vec![E::ZERO; acts];
        } else {
            self.acts.resize(acts, E::ZERO);
        }
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

/// One step forward: returns `h'` (and `c'` for an LSTM) and leaves in `bufs` what the
/// backward pass reads.
pub(crate) fn cell_step_forward<E: Float>(
    mode: CellMode,
    d: StepDims,
    inp: StepInputs<'_, E>,
    bufs: &mut StepBuffers<E>,
) -> (Vec<E>, Option<Vec<E>>) {
    bufs.fit(mode, d);
    let units = d.batch * d.hidden;
    if mode == CellMode::Lstm {
        let acts_len = units * mode.acts();
        let (mut h_out, mut c_out) = (Vec::with_capacity(units), Vec::with_capacity(units));
        let StepBuffers { gx, acts, bias, .. } = &mut *bufs;
        lstm_step_forward(
            d,
            inp,
            gx,
            bias,
            &mut h_out.spare_capacity_mut()[..units],
            &mut c_out.spare_capacity_mut()[..units],
            &mut acts.spare_capacity_mut()[..acts_len],
        );
        // SAFETY: `lstm_step_forward` wrote all of h', c' and the activations (a panic in it
        // unwinds before this line).
        unsafe {
            h_out.set_len(units);
            c_out.set_len(units);
            bufs.acts.set_len(acts_len);
        }
        return (h_out, Some(c_out));
    }
    let gh_len = mode.gates() * d.hidden;
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
    let mut h_out = vec![E::ZERO; units];
    match mode {
        CellMode::Lstm => unreachable!("an LSTM step returned above"),
        CellMode::Gru => {
            gru_forward_into(cd, &bufs.gx, &bufs.gh, inp.h, &mut h_out, &mut bufs.acts)
        }
        CellMode::RnnTanh | CellMode::RnnRelu => rnn_forward_into(
            cd,
            &bufs.gx,
            &bufs.gh,
            mode == CellMode::RnnRelu,
            &mut h_out,
        ),
    }
    (h_out, None)
}

/// A step with at least this many flops in its two products is split by batch rows over
/// the pool's threads (about 10 us of work on one core; a hand-off costs about 1 us).
const STEP_PARALLEL_FLOPS: usize = 1 << 19;
/// The fewest batch rows (or weight-gradient rows) a thread gets.
const MIN_BLOCK_ROWS: usize = 16;

/// Consecutive blocks of `0..len` (at least [`MIN_BLOCK_ROWS`] each, sizes multiples of
/// `unit` but the last), one per thread when `flops` pays for the hand-off (and no worker
/// was recently descheduled mid-task, [`threads::stalled`]); `None` for a single block
/// (which then allocates nothing: an untraced step allocates only its outputs).
fn blocks(len: usize, flops: usize, unit: usize) -> Option<Vec<Range<usize>>> {
    let parts = if flops >= STEP_PARALLEL_FLOPS && !threads::stalled() {
        threads::threads().min(len / MIN_BLOCK_ROWS).max(1)
    } else {
        1
    };
    let size = len.div_ceil(parts).next_multiple_of(unit).max(1);
    (size < len).then(|| {
        (0..len)
            .step_by(size)
            .map(|r| r..(r + size).min(len))
            .collect()
    })
}

/// `v` (`per_row` values per row) cut at the boundaries of `blocks`.
fn split_rows<'a, E>(
    mut v: &'a mut [E],
    blocks: &[Range<usize>],
    per_row: usize,
) -> Vec<&'a mut [E]> {
    blocks
        .iter()
        .map(|r| {
            let (mine, rest) = core::mem::take(&mut v).split_at_mut(r.len() * per_row);
            v = rest;
            mine
        })
        .collect()
}

/// [`split_rows`] of an optional buffer: `None` for every block when absent.
fn split_opt<'a, E>(
    v: Option<&'a mut [E]>,
    blocks: &[Range<usize>],
    per_row: usize,
) -> Vec<Option<&'a mut [E]>> {
    match v {
        Some(v) => split_rows(v, blocks, per_row)
            .into_iter()
            .map(Some)
            .collect(),
        None => blocks.iter().map(|_| None).collect(),
    }
}

/// An LSTM step forward. Both projections go into one buffer (the second product adds to
/// the first), the biases summed once and added in the cell's loop: no bias rows copied
/// into the outputs before each product, and one buffer of pre-activations to read. Large
/// steps are split by batch rows over the threads, each running both products and the cell
/// for its rows (one hand-off per step; rows are independent, so the numbers do not depend
/// on the split for `f64`).
fn lstm_step_forward<E: Float>(
    d: StepDims,
    inp: StepInputs<'_, E>,
    gx: &mut [E],
    bias: &mut Vec<E>,
    h_out: &mut [MaybeUninit<E>],
    c_out: &mut [MaybeUninit<E>],
    acts: &mut [MaybeUninit<E>],
) {
    let (i, h) = (d.input, d.hidden);
    let g4 = 4 * h;
    bias.clear();
    bias.resize(g4, E::ZERO);
    for b in [inp.b_ih, inp.b_hh].into_iter().flatten() {
        bias.iter_mut().zip(b).for_each(|(a, &v)| *a += v);
    }
    let c = inp.c.expect("an LSTM step has a cell state");
    let bias = &bias[..];
    type Piece<'a, E> = (
        Range<usize>,
        &'a mut [E],
        &'a mut [MaybeUninit<E>],
        &'a mut [MaybeUninit<E>],
        [&'a mut [MaybeUninit<E>]; 5],
    );
    let body = |(r, gx, hn, cn, acts): Piece<'_, E>| {
        let n = r.len();
        let out = (g4 as isize, 1);
        let x = &inp.x[r.start * i..][..n * i];
        gemm(
            n,
            i,
            g4,
            E::ONE,
            x,
            (i as isize, 1),
            inp.w_ih,
            (1, i as isize),
            E::ZERO,
            gx,
            out,
        );
        let hp = &inp.h[r.start * h..][..n * h];
        gemm(
            n,
            h,
            g4,
            E::ONE,
            hp,
            (h as isize, 1),
            inp.w_hh,
            (1, h as isize),
            E::ONE,
            gx,
            out,
        );
        let cd = CellDims {
            batch: n,
            steps: 1,
            hidden: h,
            t: 0,
        };
        let c = &c[r.start * h..][..n * h];
        lstm_forward_into(cd, gx, GateTerm::Broadcast(bias), c, hn, cn, acts);
    };
    let units = d.batch * h;
    let Some(rows) = blocks(d.batch, 2 * d.batch * (i + h) * g4, 1) else {
        body((0..d.batch, gx, h_out, c_out, planes_mut(acts, units)));
        return;
    };
    let mut gxs = split_rows(gx, &rows, g4).into_iter();
    let mut hs = split_rows(h_out, &rows, h).into_iter();
    let mut cs = split_rows(c_out, &rows, h).into_iter();
    let mut planes = planes_mut(acts, units).map(|p| split_rows(p, &rows, h).into_iter());
    let pieces: Vec<_> = rows
        .iter()
        .map(|r| {
            let acts: [&mut [MaybeUninit<E>]; 5] =
                core::array::from_fn(|k| planes[k].next().expect("a block per plane"));
            let next = "a block per buffer";
            (
                r.clone(),
                gxs.next().expect(next),
                hs.next().expect(next),
                cs.next().expect(next),
                acts,
            )
        })
        .collect();
    threads::run_pieces(pieces, &body);
}

/// Where the gradients of a step's data inputs go (absent when not wanted): new buffers,
/// possibly uninitialised, each written in full by [`cell_step_backward`]. An LSTM step
/// writes them in its blocks of batch rows, on the thread that computes them: zeroed on
/// the calling thread first, as they were, they were written through the cache once more
/// (in W7's backward, buffers just freed by the forward's saved activations, long out of
/// the cache: 26 us of zeroing per step of the second cell on the calling thread). The
/// weights' gradients are separate ([`weight_grads`]), so that a caller can add them
/// straight into the accumulated gradient of each weight, one after the other.
pub(crate) struct StepGrads<'a, E> {
    pub x: Option<&'a mut [MaybeUninit<E>]>,
    pub h: Option<&'a mut [MaybeUninit<E>]>,
    pub c: Option<&'a mut [MaybeUninit<E>]>,
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

/// `dx = dg W` for one projection into a new (possibly uninitialised) `dx`: `dg` `[B, N]`,
/// `W` `[N, K]`, `dx` `[B, K]`.
fn project_input_grad_into<E: Float>(
    b: usize,
    k: usize,
    n: usize,
    w: &[E],
    dg: &[E],
    dx: &mut [MaybeUninit<E>],
) {
    let (k_, n_) = (k as isize, n as isize);
    gemm_uninit(b, n, k, E::ONE, dg, (n_, 1), w, (k_, 1), dx);
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
/// gate gradients in `gates` and writes the gradients of `x`, `h` and `c` into `grads`. `h_out`
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
    grads: StepGrads<'_, E>,
    gates: &mut GateGrads<E>,
) {
    let cd = d.cell();
    let gh_len = mode.gates() * d.hidden;
    if mode != CellMode::Lstm {
        // The LSTM kernel writes every gate gradient; the others add into them.
        gates.x.clear();
    }
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
    if mode == CellMode::Lstm {
        lstm_step_backward(d, inp, bufs, dh_out, dc_out, grads, &mut gates.x);
        return;
    }
    // The other cells add into their gradients from zero.
    fn zeroed<E: Float>(g: Option<&mut [MaybeUninit<E>]>) -> Option<&mut [E]> {
        g.map(|g| filled(g, E::ZERO))
    }
    let (gx, mut gh) = (zeroed(grads.x), zeroed(grads.h));
    zeroed(grads.c);
    match mode {
        CellMode::Lstm => unreachable!("an LSTM step returned above"),
        CellMode::Gru => gru_backward(
            cd,
            &bufs.acts,
            &bufs.gh,
            inp.h,
            dh_out,
            Some(&mut gates.x),
            Some(&mut gates.h),
            gh.as_deref_mut(),
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
    if let Some(dx) = gx {
        project_input_grad(b, i, gh_len, inp.w_ih, &gates.x, dx);
    }
    if let Some(dh) = gh {
        project_input_grad(b, h, gh_len, inp.w_hh, gates.hidden(), dh);
    }
}

/// An LSTM step backward: the gate gradients into `dg` (zeroed, `[B, 4H]`), then the
/// gradients of `x` and `h` from them, split by batch rows like [`lstm_step_forward`].
fn lstm_step_backward<E: Float>(
    d: StepDims,
    inp: StepInputs<'_, E>,
    bufs: &StepBuffers<E>,
    dh_out: &[E],
    dc_out: Option<&[E]>,
    grads: StepGrads<'_, E>,
    dg: &mut [E],
) {
    let (i, h) = (d.input, d.hidden);
    let g4 = 4 * h;
    let c = inp.c.expect("an LSTM step has a cell state");
    let acts = planes(&bufs.acts, d.batch * h);
    type Piece<'a, E> = (
        Range<usize>,
        &'a mut [E],
        Option<&'a mut [MaybeUninit<E>]>,
        Option<&'a mut [MaybeUninit<E>]>,
        Option<&'a mut [MaybeUninit<E>]>,
    );
    let body = |(r, dg, dx, dh, dc): Piece<'_, E>| {
        let n = r.len();
        fn part<'a, E>(v: &'a [E], r: &Range<usize>, h: usize) -> &'a [E] {
            &v[r.start * h..][..r.len() * h]
        }
        let part = |v| part(v, &r, h);
        let cd = CellDims {
            batch: n,
            steps: 1,
            hidden: h,
            t: 0,
        };
        let acts = acts.map(part);
        let dcn = dc_out.map(part);
        lstm_backward(
            cd,
            acts,
            part(c),
            Some(part(dh_out)),
            dcn,
            &mut *dg,
            dc.map(|dc| filled(dc, E::ZERO)),
            &mut Vec::new(),
        );
        if let Some(dx) = dx {
            project_input_grad_into(n, i, g4, inp.w_ih, dg, dx);
        }
        if let Some(dh) = dh {
            project_input_grad_into(n, h, g4, inp.w_hh, dg, dh);
        }
    };
    let Some(rows) = blocks(d.batch, 2 * d.batch * (i + h) * g4, 1) else {
        body((0..d.batch, dg, grads.x, grads.h, grads.c));
        return;
    };
    let mut dgs = split_rows(dg, &rows, g4).into_iter();
    let mut dxs = split_opt(grads.x, &rows, i).into_iter();
    let mut dhs = split_opt(grads.h, &rows, h).into_iter();
    let mut dcs = split_opt(grads.c, &rows, h).into_iter();
    let next = "a block per buffer";
    let pieces: Vec<_> = rows
        .iter()
        .map(|r| {
            let dg = dgs.next().expect(next);
            let (dx, dh, dc) = (
                dxs.next().expect(next),
                dhs.next().expect(next),
                dcs.next().expect(next),
            );
            (r.clone(), dg, dx, dh, dc)
        })
        .collect();
    threads::run_pieces(pieces, &body);
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
///
/// `bias_sums` is empty before a step's first bias: an LSTM or RNN cell's two biases have
/// the same gradient (the column sums of the same gate gradients), summed once into it and
/// added to both (W7: 2.4 us a step on the calling thread; a GRU's differ, summed each).
pub(crate) fn weight_grads<E: Float>(
    d: StepDims,
    inp: StepInputs<'_, E>,
    gates: &GateGrads<E>,
    which: StepWeight,
    out: &mut [E],
    bias_sums: &mut Vec<E>,
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
            if gates.gru || bias_sums.len() != n {
                bias_sums.clear();
                bias_sums.resize(n, E::ZERO);
                wide(
                    #[inline(always)]
                    || {
                        for row in dg.chunks_exact(n.max(1)) {
                            bias_sums.iter_mut().zip(row).for_each(|(a, &v)| *a += v);
                        }
                    },
                );
            }
            out[..n]
                .iter_mut()
                .zip(&bias_sums[..])
                .for_each(|(a, &v)| *a += v);
            return;
        }
    };
    let (k_, n_) = (k as isize, n as isize);
    if k == 1 {
        // One input feature (a scalar series): dW^T (1 x n) += input^T (1 x B) dg (B x n),
        // the gates along the kernel's vector lanes. As `dg^T input` the product is one
        // column wide, one lane of sixteen used (204 x 97 x 1 f64: 6.9 -> 2.9 us).
        let b_ = d.batch as isize;
        gemm(
            1,
            d.batch,
            n,
            E::ONE,
            input,
            (b_, 1),
            dg,
            (n_, 1),
            E::ONE,
            out,
            (n_, 1),
        );
        return;
    }
    // dW = dg^T input, split by rows of dW (gates) over the threads: each row's sum over
    // the batch is the same sequence of operations whatever the split.
    let body = |(r, out): (Range<usize>, &mut [E])| {
        gemm(
            r.len(),
            d.batch,
            k,
            E::ONE,
            &dg[r.start..],
            (1, n_),
            input,
            (k_, 1),
            E::ONE,
            out,
            (k_, 1),
        );
    };
    let Some(rows) = blocks(n, 2 * n * d.batch * k, 4) else {
        body((0..n, out));
        return;
    };
    let pieces: Vec<_> = rows
        .iter()
        .cloned()
        .zip(split_rows(out, &rows, k))
        .collect();
    threads::run_pieces(pieces, &body);
}

#[cfg(test)]
mod tests {
    use super::super::uninit::as_uninit_mut;
    use super::*;

    fn values(n: usize, seed: u64, scale: f64) -> Vec<f64> {
        (0..n as u64)
            .map(|i| ((((i + 1) * 2_654_435_761 + seed * 97) % 2001) as f64 / 1000.0 - 1.0) * scale)
            .collect()
    }

    /// `f64` LSTM steps split by batch rows over the threads (and weight gradients split by
    /// gate rows) give the numbers of the rows run one at a time (each as a small batch of
    /// copies of it), bit for bit, forward and backward; the weight gradients those of the
    /// plain sums in the kernels' order.
    #[test]
    fn split_lstm_step_matches_rows_one_by_one() {
        // 51 inputs, and one (a scalar series: its weight gradient is taken transposed).
        split_lstm_step_case(51);
        split_lstm_step_case(1);
    }

    fn split_lstm_step_case(i: usize) {
        let (b, h) = (97, 51);
        let d = StepDims {
            batch: b,
            input: i,
            hidden: h,
        };
        let g4 = 4 * h;
        if !threads::stalled() {
            let split = blocks(b, 2 * b * (i + h) * g4, 1).map_or(1, |r| r.len());
            assert_eq!(split, threads::threads().min(b / MIN_BLOCK_ROWS));
        }
        let (x, h0, c0) = (
            values(b * i, 1, 1.0),
            values(b * h, 2, 1.0),
            values(b * h, 3, 1.0),
        );
        let (w_ih, w_hh) = (values(g4 * i, 4, 0.2), values(g4 * h, 5, 0.2));
        let (b_ih, b_hh) = (values(g4, 6, 0.5), values(g4, 7, 0.5));
        let inp = StepInputs {
            x: &x,
            h: &h0,
            c: Some(&c0),
            w_ih: &w_ih,
            w_hh: &w_hh,
            b_ih: Some(&b_ih),
            b_hh: Some(&b_hh),
        };
        let (dh_out, dc_out) = (values(b * h, 8, 1.0), values(b * h, 9, 1.0));
        let mut bufs = StepBuffers::default();
        let (hn, cn) = cell_step_forward(CellMode::Lstm, d, inp, &mut bufs);
        let cn = cn.expect("an LSTM step returns c'");
        // NaN-filled: every element must be written (any left would fail the comparisons).
        let nan = |n| vec![f64::NAN; n];
        let (mut dx, mut dh, mut dc) = (nan(b * i), nan(b * h), nan(b * h));
        let mut gates = GateGrads::default();
        // SAFETY (here and below): the step writes only initialised values.
        let grads = StepGrads {
            x: Some(unsafe { as_uninit_mut(&mut dx) }),
            h: Some(unsafe { as_uninit_mut(&mut dh) }),
            c: Some(unsafe { as_uninit_mut(&mut dc) }),
        };
        cell_step_backward(
            CellMode::Lstm,
            d,
            inp,
            &bufs,
            &hn,
            Some(&dh_out),
            Some(&dc_out),
            grads,
            &mut gates,
        );
        // Each row alone, as a batch of `REPEAT` copies of it: a product of one row takes
        // other kernels than one of many (in-place dot products, sums in another order),
        // while every batch of more than four rows (the split's blocks of at least
        // `MIN_BLOCK_ROWS` included) takes the blocked micro-kernels, whose sums do not
        // depend on the number of rows.
        const REPEAT: usize = 5;
        for r in 0..b {
            let row = |v: &[f64], w: usize| v[r * w..][..w].to_vec();
            let rows = |v: &[f64], w: usize| row(v, w).repeat(REPEAT);
            let (xr, hr, cr) = (rows(&x, i), rows(&h0, h), rows(&c0, h));
            let one = StepInputs {
                x: &xr,
                h: &hr,
                c: Some(&cr),
                ..inp
            };
            let d1 = StepDims { batch: REPEAT, ..d };
            let mut bufs1 = StepBuffers::default();
            let (hn1, cn1) = cell_step_forward(CellMode::Lstm, d1, one, &mut bufs1);
            let cn1 = cn1.expect("an LSTM step returns c'");
            assert_eq!(hn1[..h], row(&hn, h), "h' of row {r}");
            assert_eq!(cn1[..h], row(&cn, h), "c' of row {r}");
            let (mut dx1, mut dh1, mut dc1) = (nan(REPEAT * i), nan(REPEAT * h), nan(REPEAT * h));
            let mut gates1 = GateGrads::default();
            let grads1 = StepGrads {
                x: Some(unsafe { as_uninit_mut(&mut dx1) }),
                h: Some(unsafe { as_uninit_mut(&mut dh1) }),
                c: Some(unsafe { as_uninit_mut(&mut dc1) }),
            };
            let (dhr, dcr) = (rows(&dh_out, h), rows(&dc_out, h));
            let (d1h, d1c) = (Some(&dhr[..]), Some(&dcr[..]));
            cell_step_backward(
                CellMode::Lstm,
                d1,
                one,
                &bufs1,
                &hn1,
                d1h,
                d1c,
                grads1,
                &mut gates1,
            );
            assert_eq!(
                gates1.x[..g4],
                row(&gates.x, g4),
                "gate gradients of row {r}"
            );
            assert_eq!(dx1[..i], row(&dx, i), "dx of row {r}");
            assert_eq!(dh1[..h], row(&dh, h), "dh of row {r}");
            assert_eq!(dc1[..h], row(&dc, h), "dc of row {r}");
        }
        for (which, input, k) in [
            (StepWeight::InputWeight, &x, i),
            (StepWeight::HiddenWeight, &h0, h),
        ] {
            let start = values(g4 * k, 10, 1.0);
            let mut out = start.clone();
            weight_grads(d, inp, &gates, which, &mut out, &mut Vec::new());
            for g in 0..g4 {
                for j in 0..k {
                    let acc = (0..b).fold(0.0, |acc, r| {
                        gates.x[r * g4 + g].mul_add(input[r * k + j], acc)
                    });
                    assert_eq!(
                        out[g * k + j],
                        start[g * k + j] + acc,
                        "{which:?} ({g}, {j})"
                    );
                }
            }
        }
    }
}
