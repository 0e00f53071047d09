//! The LSTM cell's gate arithmetic for one step, forward and backward, over a block of batch
//! rows. The saved activations are five planes (`i, f, g, o, tanh(c')`, each `[B, H]`), so
//! that a block of rows is a contiguous part of every plane and threads can run disjoint
//! blocks of one step.

use super::super::simd::wide;
use super::{CellDims, math};
use crate::dtype::Float;

/// The five activation planes of `acts` (`[5, units]`), read-only.
pub(crate) fn planes<E>(acts: &[E], units: usize) -> [&[E]; 5] {
    let p = |k: usize| &acts[k * units..][..units];
    [p(0), p(1), p(2), p(3), p(4)]
}

/// The five activation planes of `acts` (`[5, units]`).
pub(crate) fn planes_mut<E>(acts: &mut [E], units: usize) -> [&mut [E]; 5] {
    let (i, rest) = acts.split_at_mut(units);
    let (f, rest) = rest.split_at_mut(units);
    let (g, rest) = rest.split_at_mut(units);
    let (o, rest) = rest.split_at_mut(units);
    [i, f, g, o, &mut rest[..units]]
}

/// The second term of the gate pre-activations, added to `gx`.
#[derive(Clone, Copy)]
pub(crate) enum GateTerm<'a, E> {
    /// The hidden projection of this step, `[B, 4H]`.
    Rows(&'a [E]),
    /// One `4H` row added to every batch row (the summed biases, when `gx` already holds
    /// both projections).
    Broadcast(&'a [E]),
}

/// LSTM step into given buffers: `hn`, `cn` (`[B, H]`) and the five activation planes
/// `i, f, g, o, tanh(c')` for the backward pass (`[B, H]` each; `B` is `d.batch`, which
/// may be a block of a larger batch).
pub(crate) fn lstm_forward_into<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: GateTerm<'_, E>,
    c: &[E],
    hn: &mut [E],
    cn: &mut [E],
    acts: [&mut [E]; 5],
) {
    wide(
        #[inline(always)]
        || lstm_forward_loop(d, gx, gh, c, hn, cn, acts),
    )
}

/// Two passes: the pre-activations (`gx + gh`, row by row) into the gate planes, then the
/// gate functions over all `B * H` units as one loop. A loop per row of `H` units left a
/// scalar tail per row (`H = 51` is six vectors of 8 `f64` and three scalar units, each as
/// costly as a vector), about a third of the step's time.
#[inline(always)]
fn lstm_forward_loop<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: GateTerm<'_, E>,
    c: &[E],
    hn: &mut [E],
    cn: &mut [E],
    acts: [&mut [E]; 5],
) {
    let (bsz, h) = (d.batch, d.hidden);
    let units = bsz * h;
    let [ai, af, ag, ao, at] = acts;
    for b in 0..bsz {
        let gxr = &gx[d.gx(4, b, 0, 0)..][..4 * h];
        let ghr = match gh {
            GateTerm::Rows(gh) => &gh[d.gh(4, b, 0, 0)..][..4 * h],
            GateTerm::Broadcast(row) => &row[..4 * h],
        };
        for (k, plane) in [&mut *ai, &mut *af, &mut *ag, &mut *ao]
            .into_iter()
            .enumerate()
        {
            let (dst, x, y) = (
                &mut plane[b * h..][..h],
                &gxr[k * h..][..h],
                &ghr[k * h..][..h],
            );
            for j in 0..h {
                dst[j] = x[j] + y[j];
            }
        }
    }
    // Exact-length slices: no bounds checks, so the loop vectorises.
    let (ai, af, ag, ao, at) = (
        &mut ai[..units],
        &mut af[..units],
        &mut ag[..units],
        &mut ao[..units],
        &mut at[..units],
    );
    let (c, hn, cn) = (&c[..units], &mut hn[..units], &mut cn[..units]);
    // The gates first, then the cell: in one loop, tanh(c') waited on three of the gate
    // functions, a dependency chain of ~200 instructions per vector of units that left the
    // vector units idle (16 x 128 units, one thread: 7.1 -> 4.9 us); each loop's chains are
    // short and independent across units, so consecutive units overlap.
    for u in 0..units {
        ai[u] = sigmoid_free(ai[u]);
        af[u] = sigmoid_free(af[u]);
        ag[u] = math::tanh(ag[u]);
        ao[u] = sigmoid_free(ao[u]);
    }
    for u in 0..units {
        let cv = af[u] * c[u] + ai[u] * ag[u];
        let tc = math::tanh(cv);
        cn[u] = cv;
        hn[u] = ao[u] * tc;
        at[u] = tc;
    }
}

/// `1 / (1 + e^-x)` without a branch: e^-x overflowing to infinity gives exactly 0, so the
/// single formula is safe over the whole range and vectorises.
#[inline(always)]
fn sigmoid_free<E: Float>(x: E) -> E {
    E::ONE / (E::ONE + math::exp(-x))
}

/// LSTM step backward from `dh'` and `dc'` (either may be absent): writes the gate
/// gradients into `dgx` (at step `t`; every callers' rows are written once, so no zeroed
/// buffer is needed) and adds into `dc`. `acts` are the step's activation planes (`[B, H]`
/// each, for the `d.batch` rows of this call).
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_backward<E: Float>(
    d: CellDims,
    acts: [&[E]; 5],
    c: &[E],
    dh: Option<&[E]>,
    dcn: Option<&[E]>,
    dgx: &mut [E],
    dc: Option<&mut [E]>,
) {
    wide(
        #[inline(always)]
        || lstm_backward_loop(d, acts, c, dh, dcn, dgx, dc),
    )
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_backward_loop<E: Float>(
    d: CellDims,
    acts: [&[E]; 5],
    c: &[E],
    dh: Option<&[E]>,
    dcn: Option<&[E]>,
    dgx: &mut [E],
    mut dc: Option<&mut [E]>,
) {
    let (bsz, h) = (d.batch, d.hidden);
    let mut grads = vec![E::ZERO; 4 * h];
    let zeros = vec![E::ZERO; h];
    for b in 0..bsz {
        let row = |plane: usize| &acts[plane][b * h..][..h];
        let (ai, af, ag, ao, at) = (row(0), row(1), row(2), row(3), row(4));
        let cr = &c[b * h..][..h];
        let dhr = dh.map_or(&zeros[..], |v| &v[b * h..][..h]);
        let dcr = dcn.map_or(&zeros[..], |v| &v[b * h..][..h]);
        let (gi, rest) = grads.split_at_mut(h);
        let (gf, rest) = rest.split_at_mut(h);
        let (gg, go) = rest.split_at_mut(h);
        let go = &mut go[..h];
        // Exact-length slices, as in the forward step, so that the loop vectorises.
        let mut dcp = dc.as_deref_mut().map(|x| &mut x[b * h..][..h]);
        for j in 0..h {
            let (i, f, g, o, tc) = (ai[j], af[j], ag[j], ao[j], at[j]);
            let gh_ = dhr[j];
            let dct = dcr[j] + gh_ * o * (E::ONE - tc * tc);
            gi[j] = dct * g * i * (E::ONE - i);
            gf[j] = dct * cr[j] * f * (E::ONE - f);
            gg[j] = dct * i * (E::ONE - g * g);
            go[j] = gh_ * tc * o * (E::ONE - o);
            if let Some(x) = dcp.as_deref_mut() {
                x[j] += dct * f;
            }
        }
        dgx[d.gx(4, b, 0, 0)..][..4 * h].copy_from_slice(&grads);
    }
}
