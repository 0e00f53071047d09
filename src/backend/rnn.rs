//! Fused recurrent cells. Gate pre-activations come in two parts: `gx`, the input projection
//! for every step at once (`[B, S, G*H]`, read at step `t`), and `gh`, the hidden projection
//! of this step (`[B, G*H]`). Gate order is PyTorch's: LSTM `i, f, g, o`; GRU `r, z, n`.

use super::gemm::{PackedB, gemm_packed};
use super::uninit::{as_uninit_mut, assume_init, filled};
use crate::dtype::Float;
use core::mem::MaybeUninit;

mod gru_cell;
mod lstm_cell;
mod math;

pub(crate) use gru_cell::{
    gru_backward, gru_forward, gru_forward_into, rnn_backward, rnn_forward, rnn_forward_into,
};
pub(crate) use lstm_cell::{GateTerm, lstm_backward, lstm_forward_into, planes, planes_mut};

/// Sizes of one cell step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CellDims {
    pub batch: usize,
    pub steps: usize,
    pub hidden: usize,
    pub t: usize,
}

impl CellDims {
    /// Offset of gate `k`, unit `j`, batch row `b` in `gx` (`[B, S, G*H]`).
    #[inline(always)]
    pub(super) fn gx(&self, gates: usize, b: usize, k: usize, j: usize) -> usize {
        ((b * self.steps + self.t) * gates + k) * self.hidden + j
    }
    /// Offset in `gh` (`[B, G*H]`).
    #[inline(always)]
    pub(super) fn gh(&self, gates: usize, b: usize, k: usize, j: usize) -> usize {
        (b * gates + k) * self.hidden + j
    }
}

/// What a whole-sequence LSTM forward keeps for its backward pass.
pub(crate) struct LstmSequence<E> {
    /// Outputs `h_t` for every step, `[B, S, H]` (shared with the output tensor).
    pub y: std::sync::Arc<Vec<E>>,
    /// The batch rows each thread ran, with their saved states.
    parts: Vec<LstmRows<E>>,
    /// Whether every step's states were kept ([`Keep::Steps`]), or only the last.
    kept: Keep,
}

/// What [`lstm_sequence_forward`] keeps of each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Every step's cell state and activations, for the backward pass.
    Steps,
    /// Only what the next step reads (an untraced forward, as inference): two cell states
    /// and one step's activations, written over and over while they stay in cache.
    /// Writing all of them was 10.5 MB of fresh memory for `LSTM(128, 256)` over 32 x 64
    /// steps: forward 9.13-9.52 -> 8.82-9.05 ms on one thread (alternating runs).
    Last,
}

impl Keep {
    /// The slots of cell states and of activations for a sequence of `steps`.
    fn slots(self, steps: usize) -> (usize, usize) {
        match self {
            Keep::Steps => (steps, steps),
            Keep::Last => (steps.min(2), steps.min(1)),
        }
    }
    /// The slots step `t` writes its cell state and its activations to.
    fn slot(self, t: usize) -> (usize, usize) {
        match self {
            Keep::Steps => (t, t),
            Keep::Last => (t % 2, 0),
        }
    }
}

/// One thread's share of a sequence: batch rows `rows`, with their cell states `c_t`
/// (`[S, rows, H]`) and gate activations and `tanh(c_t)` (`[S, 5, rows, H]`), or the slots
/// of [`Keep::Last`].
struct LstmRows<E> {
    rows: core::ops::Range<usize>,
    cs: Vec<E>,
    acts: Vec<E>,
}

impl<E: Float> LstmSequence<E> {
    /// The final cell state `[B, H]` (`c0` for an empty sequence).
    pub(crate) fn c_last(&self, c0: &[E], steps: usize, hidden: usize) -> Vec<E> {
        if steps == 0 {
            return c0.to_vec();
        }
        let mut out = Vec::with_capacity(c0.len());
        let (slot, _) = self.kept.slot(steps - 1);
        for part in &self.parts {
            let units = part.rows.len() * hidden;
            out.extend_from_slice(&part.cs[slot * units..][..units]);
        }
        out
    }
}

/// Splits `batch` rows into one contiguous block per thread, when the sequence is long
/// enough to pay for it: every row's recurrence is independent of the others', so each
/// thread runs all steps of its rows without meeting the others until the end.
fn row_blocks(batch: usize, steps: usize, hidden: usize) -> Vec<core::ops::Range<usize>> {
    // Work per row: one (4H x H) product per step, forward.
    let per_row = steps * 4 * hidden * hidden;
    let threads = super::threads::threads()
        .min(batch)
        .min((batch * per_row / (1 << 20)).max(1));
    let size = batch.div_ceil(threads.max(1)).max(1);
    (0..batch)
        .step_by(size)
        .map(|b| b..(b + size).min(batch))
        .collect()
}

/// Runs `f(rows, out_rows)` on every block of batch rows over the pool, handing each the
/// rows' part of a new zeroed `[batch, per_row]` buffer, and returns the buffer with the
/// results in order. Each thread zeroes its own part (a 1 MiB `vec![0.0; n]` of gate
/// gradients was a serial memset while the other thread waited: W4's LSTM backward on two
/// threads, 3% of the step), which then sits in its cache.
fn map_row_blocks<E: Float, R: Send>(
    blocks: &[core::ops::Range<usize>],
    per_row: usize,
    f: impl Fn(&core::ops::Range<usize>, &mut [E]) -> R + Sync,
) -> (Vec<E>, Vec<R>) {
    // The parts cover `0..len` only if the blocks run on from row 0 without gaps (the
    // `set_len` below relies on it).
    assert!(
        blocks.first().is_none_or(|b| b.start == 0)
            && blocks.windows(2).all(|w| w[0].end == w[1].start),
        "row blocks must be consecutive from row 0"
    );
    let len = blocks.last().map_or(0, |b| b.end) * per_row;
    let mut out: Vec<E> = Vec::with_capacity(len);
    type Slot<'a, E, R> = std::sync::Mutex<(Option<&'a mut [MaybeUninit<E>]>, Option<R>)>;
    let mut rest = &mut out.spare_capacity_mut()[..len];
    let slots: Vec<Slot<'_, E, R>> = blocks
        .iter()
        .map(|rows| {
            let (mine, tail) = core::mem::take(&mut rest).split_at_mut(rows.len() * per_row);
            rest = tail;
            std::sync::Mutex::new((Some(mine), None))
        })
        .collect();
    super::threads::run(blocks.len(), &|t| {
        let mine = slots[t].lock().unwrap_or_else(|e| e.into_inner()).0.take();
        if let Some(mine) = mine {
            let r = f(&blocks[t], filled(mine, E::ZERO));
            slots[t].lock().unwrap_or_else(|e| e.into_inner()).1 = Some(r);
        }
    });
    let results = slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .1
                .expect("every block ran")
        })
        .collect();
    // SAFETY: the blocks are consecutive from row 0 (asserted above), so their parts cover
    // `0..len`, and every block ran (checked just above), each having zeroed its part
    // before `f`.
    unsafe { out.set_len(len) };
    (out, results)
}

/// Runs one LSTM layer over a whole sequence: `gx` is the input projection of every step
/// (`[B, S, 4H]`), `w_hh` is `(4H, H)`, `biases` `b_ih` and `b_hh` (`(4H)` each, either
/// may be absent: added at every step with `h W_hh^T`, as one sum), `h0`/`c0` are `[B, H]`.
///
/// One primitive for the whole sequence (as PyTorch's fused LSTM) instead of a linear op and
/// a cell op per step: `W_hh` is transposed once instead of being repacked at every step,
/// the batch rows are split over threads for the whole sequence (rows do not interact), and
/// the backward pass forms `dW_hh` with one product over all steps.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_sequence_forward<E: Float>(
    batch: usize,
    steps: usize,
    hidden: usize,
    gx: &[E],
    w_hh: &[E],
    biases: [Option<&[E]>; 2],
    h0: &[E],
    c0: &[E],
    keep: Keep,
) -> LstmSequence<E> {
    let (s, h) = (steps, hidden);
    let g4 = 4 * h;
    let bias: Option<Vec<E>> = match biases {
        [Some(bi), Some(bh)] => Some(bi.iter().zip(bh).map(|(&x, &y)| x + y).collect()),
        [Some(b), None] | [None, Some(b)] => Some(b.to_vec()),
        [None, None] => None,
    };
    let bias = bias.as_deref();
    // W_hh^T (H x 4H), packed once for the products of every step.
    let wt = PackedB::new(h, g4, w_hh, (1, h as isize));
    let blocks = row_blocks(batch, s, h);
    let (y, results) = map_row_blocks(&blocks, s * h, |rows, y_rows| {
        let n = rows.len();
        lstm_rows_forward(
            n,
            s,
            h,
            &gx[rows.start * s * g4..][..n * s * g4],
            &wt,
            bias,
            &h0[rows.start * h..][..n * h],
            &c0[rows.start * h..][..n * h],
            y_rows,
            keep,
        )
    });
    let parts = blocks
        .into_iter()
        .zip(results)
        .map(|(rows, (cs, acts))| LstmRows { rows, cs, acts })
        .collect();
    LstmSequence {
        y: std::sync::Arc::new(y),
        parts,
        kept: keep,
    }
}

/// [`lstm_sequence_forward`] for `bsz` batch rows with `W_hh^T` given (packed): writes their
/// outputs into `y` and returns `(cs, acts)`.
#[allow(clippy::too_many_arguments)]
fn lstm_rows_forward<E: Float>(
    bsz: usize,
    s: usize,
    h: usize,
    gx: &[E],
    wt: &PackedB<E>,
    bias: Option<&[E]>,
    h0: &[E],
    c0: &[E],
    y: &mut [E],
    keep: Keep,
) -> (Vec<E>, Vec<E>) {
    let (g4, units) = (4 * h, bsz * h);
    let (c_slots, act_slots) = keep.slots(s);
    // Every step writes straight into its slice of `cs` and `acts` (no per-step vectors, and
    // no zero-filling first: each step writes all of its slices), and keeps its `h`
    // contiguous in `h_prev` for the next product: read from `y`, the rows are `S * H`
    // apart (a multiple of 1 KiB for H = 128), which the product must pack.
    let (mut cs, mut acts) = (
        Vec::with_capacity(c_slots * units),
        Vec::with_capacity(act_slots * 5 * units),
    );
    let (cs_buf, acts_buf) = (
        &mut cs.spare_capacity_mut()[..c_slots * units],
        &mut acts.spare_capacity_mut()[..act_slots * 5 * units],
    );
    let mut gh = vec![E::ZERO; bsz * g4];
    let mut h_prev = h0.to_vec();
    let mut h_next = vec![E::ZERO; units];
    for t in 0..s {
        match bias {
            Some(bias) => gh
                .chunks_exact_mut(g4)
                .for_each(|r| r.copy_from_slice(bias)),
            None => gh.fill(E::ZERO),
        }
        // gh += h_{t-1} W_hh^T.
        gemm_packed(
            bsz,
            E::ONE,
            &h_prev,
            (h as isize, 1),
            wt,
            E::ONE,
            &mut gh,
            (g4 as isize, 1),
        );
        let (c_at, act_at) = keep.slot(t);
        // The slot step `t - 1` wrote lies before this step's (`Keep::Steps`, and step 1
        // of `Keep::Last`) or after it (the other steps of `Keep::Last`).
        let prev_at = t.checked_sub(1).map(|p| keep.slot(p).0);
        let (before, rest) = cs_buf.split_at_mut(c_at * units);
        let (cn, after) = rest.split_at_mut(units);
        let c_prev = match prev_at {
            None => c0,
            // SAFETY: step `t - 1` wrote its `units` cell states into its slot.
            Some(p) if p < c_at => unsafe { assume_init(&before[p * units..][..units]) },
            // SAFETY: as above (the slot after this step's).
            Some(p) => unsafe { assume_init(&after[(p - c_at - 1) * units..][..units]) },
        };
        let d = CellDims {
            batch: bsz,
            steps: s,
            hidden: h,
            t,
        };
        lstm_forward_into(
            d,
            gx,
            GateTerm::Rows(&gh),
            c_prev,
            // SAFETY: the kernel writes only computed values into `h_next`.
            unsafe { as_uninit_mut(&mut h_next) },
            cn,
            planes_mut(&mut acts_buf[act_at * 5 * units..][..5 * units], units),
        );
        for (b, row) in h_next.chunks_exact(h).enumerate() {
            y[(b * s + t) * h..][..h].copy_from_slice(row);
        }
        core::mem::swap(&mut h_prev, &mut h_next);
    }
    // SAFETY: step `t` wrote the `units` cell states of its slot and all five planes of
    // its slot of `acts`, and every slot is some step's (`Keep::slots` counts those the
    // steps `0..s` write).
    unsafe {
        cs.set_len(c_slots * units);
        acts.set_len(act_slots * 5 * units);
    }
    (cs, acts)
}

/// Gradients of [`lstm_sequence_forward`] (backpropagation through time).
pub(crate) struct LstmSequenceGrads<E> {
    /// Gradient of the gate pre-activations of every step, `[B, S, 4H]`: the gradient of
    /// `gx`, and (summed over rows) of the bias.
    pub dgates: Vec<E>,
    /// Gradients of `h0` (empty unless asked for) and `c0`.
    pub dh0: Vec<E>,
    pub dc0: Vec<E>,
}

/// Backward of [`lstm_sequence_forward`] from the gradients of `y`, of the final `h` and of
/// the final `c` (each may be absent); `dW_hh` is `dgates^T` times
/// [`lstm_previous_states`], one product the caller adds to its gradient. Without
/// `need_dh0` (an initial state that takes no gradient, as the zeros a layer starts from)
/// the first step's `dgates W_hh` product, which only `dh0` needs, is skipped.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_sequence_backward<E: Float>(
    batch: usize,
    steps: usize,
    hidden: usize,
    w_hh: &[E],
    c0: &[E],
    fwd: &LstmSequence<E>,
    dy: Option<&[E]>,
    dh_last: Option<&[E]>,
    dc_last: Option<&[E]>,
    need_dh0: bool,
) -> LstmSequenceGrads<E> {
    let (bsz, s, h) = (batch, steps, hidden);
    let g4 = 4 * h;
    let blocks: Vec<_> = fwd.parts.iter().map(|p| p.rows.clone()).collect();
    // W_hh (4H x H), packed once for the products of every step.
    let w_packed = PackedB::new(g4, h, w_hh, (h as isize, 1));
    let (dgates, results) = map_row_blocks(&blocks, s * g4, |block, dgates_rows| {
        let part = fwd
            .parts
            .iter()
            .find(|p| p.rows == *block)
            .expect("a part per block");
        let (b0, n) = (part.rows.start, part.rows.len());
        fn rows<E>(v: &[E], b0: usize, n: usize, per: usize) -> &[E] {
            &v[b0 * per..][..n * per]
        }
        lstm_rows_backward(
            n,
            s,
            h,
            &w_packed,
            rows(c0, b0, n, h),
            part,
            dy.map(|v| rows(v, b0, n, s * h)),
            dh_last.map(|v| rows(v, b0, n, h)),
            dc_last.map(|v| rows(v, b0, n, h)),
            dgates_rows,
            need_dh0,
        )
    });
    let mut grads = LstmSequenceGrads {
        dgates,
        dh0: Vec::with_capacity(bsz * h),
        dc0: Vec::with_capacity(bsz * h),
    };
    for (dh0, dc0) in results {
        if need_dh0 {
            grads.dh0.extend_from_slice(&dh0);
        }
        grads.dc0.extend_from_slice(&dc0);
    }
    grads
}

/// The state each step of a sequence started from, laid out like its gate gradients'
/// rows (`[B, S, H]`: `h0`, then the outputs shifted by one step): the right operand of
/// `dW_hh = sum_t dgates_t^T h_{t-1}`, one product over all steps.
pub(crate) fn lstm_previous_states<E: Float>(
    batch: usize,
    steps: usize,
    hidden: usize,
    h0: &[E],
    fwd: &LstmSequence<E>,
) -> Vec<E> {
    let (s, h) = (steps, hidden);
    let mut hprev = Vec::with_capacity(batch * s * h);
    if s > 0 {
        for b in 0..batch {
            hprev.extend_from_slice(&h0[b * h..][..h]);
            hprev.extend_from_slice(&fwd.y[b * s * h..][..(s - 1) * h]);
        }
    }
    hprev
}

/// The backward pass through time for one thread's batch rows: writes their gate
/// gradients into `dgates` (zeroed, `[rows, S, 4H]`) and returns `(dh0, dc0)` (`dh0`
/// meaningless without `need_dh0`: the first step's `dgates W_hh` product is skipped).
#[allow(clippy::too_many_arguments)]
fn lstm_rows_backward<E: Float>(
    bsz: usize,
    s: usize,
    h: usize,
    w_hh: &PackedB<E>,
    c0: &[E],
    part: &LstmRows<E>,
    dy: Option<&[E]>,
    dh_last: Option<&[E]>,
    dc_last: Option<&[E]>,
    dgates: &mut [E],
    need_dh0: bool,
) -> (Vec<E>, Vec<E>) {
    let (g4, units) = (4 * h, bsz * h);
    let mut dh_next = dh_last.map_or_else(|| vec![E::ZERO; units], <[E]>::to_vec);
    let mut dc_next = dc_last.map_or_else(|| vec![E::ZERO; units], <[E]>::to_vec);
    let mut dh = vec![E::ZERO; units];
    let mut dc_prev = vec![E::ZERO; units];
    let mut scratch = Vec::new();
    for t in (0..s).rev() {
        match dy {
            Some(dy) => {
                for (b, (acc, next)) in dh
                    .chunks_exact_mut(h)
                    .zip(dh_next.chunks_exact(h))
                    .enumerate()
                {
                    let row = &dy[(b * s + t) * h..][..h];
                    acc.iter_mut()
                        .zip(row.iter().zip(next))
                        .for_each(|(a, (&u, &v))| *a = u + v);
                }
            }
            None => dh.copy_from_slice(&dh_next),
        }
        let c_prev = if t == 0 {
            c0
        } else {
            &part.cs[(t - 1) * units..t * units]
        };
        let d = CellDims {
            batch: bsz,
            steps: s,
            hidden: h,
            t,
        };
        // `lstm_backward` adds into it.
        dc_prev.fill(E::ZERO);
        lstm_backward(
            d,
            planes(&part.acts[t * 5 * units..(t + 1) * 5 * units], units),
            c_prev,
            Some(&dh),
            Some(&dc_next),
            &mut *dgates,
            Some(&mut dc_prev),
            &mut scratch,
        );
        core::mem::swap(&mut dc_next, &mut dc_prev);
        if t == 0 && !need_dh0 {
            break;
        }
        // dh_{t-1} = dgates_t W_hh; dgates_t rows have stride S*4H.
        gemm_packed(
            bsz,
            E::ONE,
            &dgates[t * g4..],
            ((s * g4) as isize, 1),
            w_hh,
            E::ZERO,
            &mut dh_next,
            (h as isize, 1),
        );
    }
    (dh_next, dc_next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::gemm::gemm;

    fn values(n: usize, seed: u64) -> Vec<f64> {
        (0..n as u64)
            .map(|i| (((i + 1) * 2_654_435_761 + seed * 97) % 2001) as f64 / 1000.0 - 1.0)
            .collect()
    }

    /// Keeping only the last step's states (an untraced forward) gives the same outputs and
    /// final cell state as keeping every step, for sequences of every length the two-slot
    /// ring meets (none, one slot, both, wrapping), split over threads or not.
    #[test]
    fn last_step_forward_matches_kept_steps() {
        for (b, s) in [(3, 0), (3, 1), (3, 2), (3, 3), (5, 8), (1, 7)] {
            let h = 24;
            let gx = values(b * s * 4 * h, 11);
            let w: Vec<f64> = values(4 * h * h, 12).iter().map(|v| v * 0.1).collect();
            let bias = values(4 * h, 13);
            let (h0, c0) = (values(b * h, 14), values(b * h, 15));
            let run =
                |keep| lstm_sequence_forward(b, s, h, &gx, &w, [Some(&bias), None], &h0, &c0, keep);
            let (all, last) = (run(Keep::Steps), run(Keep::Last));
            assert_eq!(all.y, last.y, "y, {b} x {s}");
            assert_eq!(
                all.c_last(&c0, s, h),
                last.c_last(&c0, s, h),
                "c, {b} x {s}"
            );
        }
    }

    /// The sequence split by batch rows over threads gives the same numbers as one block
    /// of all rows (large enough here to be split when the pool has two threads).
    #[test]
    fn row_split_sequence_matches_one_block() {
        let (b, s, h) = (5, 8, 128);
        assert!(row_blocks(b, s, h).len() == super::super::threads::threads().min(2));
        let gx = values(b * s * 4 * h, 1);
        let w: Vec<f64> = values(4 * h * h, 2).iter().map(|v| v * 0.1).collect();
        let bias = values(4 * h, 3);
        let (h0, c0) = (values(b * h, 4), values(b * h, 5));
        let split =
            lstm_sequence_forward(b, s, h, &gx, &w, [Some(&bias), None], &h0, &c0, Keep::Steps);
        let wt = PackedB::new(h, 4 * h, &w, (1, h as isize));
        let mut y = vec![0.0; b * s * h];
        let (cs, acts) = lstm_rows_forward(
            b,
            s,
            h,
            &gx,
            &wt,
            Some(&bias),
            &h0,
            &c0,
            &mut y,
            Keep::Steps,
        );
        assert_eq!(*split.y, y);
        let whole = LstmSequence {
            y: std::sync::Arc::new(y),
            parts: vec![LstmRows {
                rows: 0..b,
                cs,
                acts,
            }],
            kept: Keep::Steps,
        };
        assert_eq!(split.c_last(&c0, s, h), whole.c_last(&c0, s, h));
        let (dy, dh, dc) = (values(b * s * h, 6), values(b * h, 7), values(b * h, 8));
        // The gradients from one run of the forward pass, with `dW_hh` and with or without
        // `dh0`.
        let backward = |fwd: &LstmSequence<f64>, need_dh0: bool| {
            let grads = lstm_sequence_backward(
                b,
                s,
                h,
                &w,
                &c0,
                fwd,
                Some(&dy),
                Some(&dh),
                Some(&dc),
                need_dh0,
            );
            let hprev = lstm_previous_states(b, s, h, &h0, fwd);
            let mut dw = vec![0.0; 4 * h * h];
            let (gt, st) = ((1, 4 * h as isize), (h as isize, 1));
            gemm(
                4 * h,
                b * s,
                h,
                1.0,
                &grads.dgates,
                gt,
                &hprev,
                st,
                0.0,
                &mut dw,
                st,
            );
            (grads, dw)
        };
        let (gs, dw_split) = backward(&split, true);
        let (gw, dw_whole) = backward(&whole, true);
        assert_eq!(gs.dgates, gw.dgates);
        assert_eq!(gs.dh0, gw.dh0);
        assert_eq!(gs.dc0, gw.dc0);
        assert_eq!(dw_split, dw_whole);
        // Without dh0, the same gate, c0 and W_hh gradients.
        let (gn, dw_no_h) = backward(&split, false);
        assert_eq!(gn.dgates, gs.dgates);
        assert_eq!(gn.dc0, gs.dc0);
        assert!(gn.dh0.is_empty());
        assert_eq!(dw_no_h, dw_split);
    }
}
