//! The LSTM cell's gate arithmetic for one step, forward and backward, over a block of batch
//! rows. The saved activations are five planes (`i, f, g, o, tanh(c')`, each `[B, H]`), so
//! that a block of rows is a contiguous part of every plane and threads can run disjoint
//! blocks of one step.

use super::super::simd::wide;
use super::super::uninit::assume_init_mut;
use super::super::vector_math::{
    self,
    VectorFn::{Sigmoid, Tanh},
};
use super::CellDims;
use super::math::{self, sigmoid_free, sum_into};
use crate::dtype::Float;
use core::mem::MaybeUninit;

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
/// may be a block of a larger batch). Every element of the first `B * H` of each output is
/// written (none is read first), so they may be uninitialised.
pub(crate) fn lstm_forward_into<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: GateTerm<'_, E>,
    c: &[E],
    hn: &mut [MaybeUninit<E>],
    cn: &mut [MaybeUninit<E>],
    acts: [&mut [MaybeUninit<E>]; 5],
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
    hn: &mut [MaybeUninit<E>],
    cn: &mut [MaybeUninit<E>],
    acts: [&mut [MaybeUninit<E>]; 5],
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
            sum_into(
                &mut plane[b * h..][..h],
                &gxr[k * h..][..h],
                &ghr[k * h..][..h],
            );
        }
    }
    // Exact-length slices: no bounds checks, so the loop vectorises.
    // SAFETY: the rows `0..bsz` of `h` units written above are the first `units` of each
    // gate plane.
    let (ai, af, ag, ao) = unsafe {
        (
            assume_init_mut(&mut ai[..units]),
            assume_init_mut(&mut af[..units]),
            assume_init_mut(&mut ag[..units]),
            assume_init_mut(&mut ao[..units]),
        )
    };
    let at = &mut at[..units];
    let (c, hn, cn) = (&c[..units], &mut hn[..units], &mut cn[..units]);
    // The gates first, then the cell: in one loop, tanh(c') waited on three of the gate
    // functions, a dependency chain of ~200 instructions per vector of units that left the
    // vector units idle (16 x 128 units, one thread: 7.1 -> 4.9 us); each loop's chains are
    // short and independent across units, so consecutive units overlap. A loop per gate
    // keeps the body short enough for several vectors to be in flight (one AVX2 thread,
    // alternating: 16 x 128 f32 14.7 -> 13.7 us, 97 x 51 f64 73.7 -> 71.3 us).
    if vector_math::applies::<E>() {
        // Hand-vectorised `f32` functions (multiply-adds and `vscalefps`): the cell state
        // first, then its tanh as one more pass over the planes, which stay in the cache.
        // (Each call falls back to the plain loop should it not run, which `applies` rules
        // out: the unsafe reads below never depend on it.)
        for (plane, f) in [
            (&mut *ai, Sigmoid),
            (&mut *af, Sigmoid),
            (&mut *ag, Tanh),
            (&mut *ao, Sigmoid),
        ] {
            if !vector_math::apply_in_place(f, plane) {
                let plain = if f == Tanh { math::tanh } else { sigmoid_free };
                plane.iter_mut().for_each(|v| *v = plain(*v));
            }
        }
        for u in 0..units {
            cn[u].write(af[u] * c[u] + ai[u] * ag[u]);
        }
        // SAFETY: the loop above wrote all `units` elements of `cn`.
        let cn = unsafe { assume_init_mut(cn) };
        if !vector_math::apply_into(Tanh, cn, at) {
            for (t, &cv) in at.iter_mut().zip(&*cn) {
                t.write(math::tanh(cv));
            }
        }
        // SAFETY: `apply_into` or the loop after it wrote all `units` elements of `at`.
        let at = unsafe { assume_init_mut(at) };
        for u in 0..units {
            hn[u].write(ao[u] * at[u]);
        }
        return;
    }
    ai.iter_mut().for_each(|v| *v = sigmoid_free(*v));
    af.iter_mut().for_each(|v| *v = sigmoid_free(*v));
    ag.iter_mut().for_each(|v| *v = math::tanh(*v));
    ao.iter_mut().for_each(|v| *v = sigmoid_free(*v));
    for u in 0..units {
        let cv = af[u] * c[u] + ai[u] * ag[u];
        let tc = math::tanh(cv);
        cn[u].write(cv);
        hn[u].write(ao[u] * tc);
        at[u].write(tc);
    }
}

/// LSTM step backward from `dh'` and `dc'` (either may be absent): writes the gate
/// gradients into `dgx` (at step `t`; every callers' rows are written once, so no zeroed
/// buffer is needed) and adds into `dc`. `acts` are the step's activation planes (`[B, H]`
/// each, for the `d.batch` rows of this call). `scratch` holds the gate gradients between
/// the two passes (see [`lstm_backward_loop`]); a caller that runs many steps passes the
/// same one, which is then neither reallocated nor zeroed again.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_backward<E: Float>(
    d: CellDims,
    acts: [&[E]; 5],
    c: &[E],
    dh: Option<&[E]>,
    dcn: Option<&[E]>,
    dgx: &mut [E],
    dc: Option<&mut [E]>,
    scratch: &mut Vec<E>,
) {
    let len = 4 * d.batch * d.hidden;
    if scratch.len() != len {
        scratch.clear();
        scratch.resize(len, E::ZERO);
    }
    wide(
        #[inline(always)]
        || lstm_backward_loop(d, acts, c, dh, dcn, dgx, dc, scratch),
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
    dc: Option<&mut [E]>,
    grads: &mut [E],
) {
    let (bsz, h) = (d.batch, d.hidden);
    let units = bsz * h;
    // Two passes, as the forward step: the four gate gradients over all `B * H` units as
    // one loop into planes, then copied row by row into `dgx`'s `[B, S, 4H]` layout. One
    // loop per row of `H` units ran, for every row, the vectoriser's overlap checks of its
    // twelve slices and a scalar tail (one step's gate gradients, `B = 97, H = 51`, one
    // thread: f64 25 -> 7.5 us, f32 7 -> 4 us; `B = 16, H = 128` f32 unchanged, 2 us).
    let zeros;
    let (dh, dcn) = match (dh, dcn) {
        (Some(dh), Some(dcn)) => (dh, dcn),
        _ => {
            zeros = vec![E::ZERO; units];
            (dh.unwrap_or(&zeros), dcn.unwrap_or(&zeros))
        }
    };
    {
        let (gi, rest) = grads[..4 * units].split_at_mut(units);
        let (gf, rest) = rest.split_at_mut(units);
        let (gg, go) = rest.split_at_mut(units);
        gate_grads(acts, c, dh, dcn, [gi, gf, gg, go], dc);
    }
    for b in 0..bsz {
        let row = &mut dgx[d.gx(4, b, 0, 0)..][..4 * h];
        for (k, out) in row.chunks_exact_mut(h).enumerate() {
            out.copy_from_slice(&grads[k * units + b * h..][..h]);
        }
    }
}

/// The gate gradients of every unit (`i, f, g, o` into `g`), and `dc += dc_t * f` when
/// `dc` is given; all slices as long as `c`.
#[inline(always)]
fn gate_grads<E: Float>(
    acts: [&[E]; 5],
    c: &[E],
    dh: &[E],
    dcn: &[E],
    g: [&mut [E]; 4],
    dc: Option<&mut [E]>,
) {
    let n = c.len();
    // Exact-length slices: no bounds checks, so the loop vectorises.
    let [ai, af, ag, ao, at] = acts.map(|p| &p[..n]);
    let (dh, dcn) = (&dh[..n], &dcn[..n]);
    let [gi, gf, gg, go] = g;
    let (gi, gf, gg, go) = (&mut gi[..n], &mut gf[..n], &mut gg[..n], &mut go[..n]);
    // A unit's `dc_t` (the cell state's whole gradient) and its four gate gradients. Called
    // with the loaded values: a closure `|j|` indexing the captured slices itself left both
    // loops scalar (4x slower).
    #[inline(always)]
    fn unit<E: Float>([i, f, g, o, tc]: [E; 5], c: E, dh: E, dcn: E) -> (E, [E; 4]) {
        let dct = dcn + dh * o * (E::ONE - tc * tc);
        let grads = [
            dct * g * i * (E::ONE - i),
            dct * c * f * (E::ONE - f),
            dct * i * (E::ONE - g * g),
            dh * tc * o * (E::ONE - o),
        ];
        (dct, grads)
    }
    match dc {
        Some(dc) => {
            let dc = &mut dc[..n];
            for j in 0..n {
                let acts = [ai[j], af[j], ag[j], ao[j], at[j]];
                let (dct, grads) = unit(acts, c[j], dh[j], dcn[j]);
                [gi[j], gf[j], gg[j], go[j]] = grads;
                dc[j] += dct * af[j];
            }
        }
        None => {
            for j in 0..n {
                let acts = [ai[j], af[j], ag[j], ao[j], at[j]];
                [gi[j], gf[j], gg[j], go[j]] = unit(acts, c[j], dh[j], dcn[j]).1;
            }
        }
    }
}
