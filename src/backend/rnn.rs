//! Fused recurrent cells. Gate pre-activations come in two parts: `gx`, the input projection
//! for every step at once (`[B, S, G*H]`, read at step `t`), and `gh`, the hidden projection
//! of this step (`[B, G*H]`). Gate order is PyTorch's: LSTM `i, f, g, o`; GRU `r, z, n`.

use super::simd::wide;
use crate::dtype::Float;

#[inline(always)]
fn sigmoid<E: Float>(x: E) -> E {
    if x >= E::ZERO {
        E::ONE / (E::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (E::ONE + e)
    }
}

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
    fn gx(&self, gates: usize, b: usize, k: usize, j: usize) -> usize {
        ((b * self.steps + self.t) * gates + k) * self.hidden + j
    }
    /// Offset in `gh` (`[B, G*H]`).
    #[inline(always)]
    fn gh(&self, gates: usize, b: usize, k: usize, j: usize) -> usize {
        (b * gates + k) * self.hidden + j
    }
}

/// LSTM step: returns `(h', c', acts)` where `acts` holds, plane by plane, `i, f, g, o` and
/// `tanh(c')` for every unit (`[5, B, H]`) for the backward pass. Planes and contiguous rows
/// keep the loops free of strided stores so that they vectorise.
pub(crate) fn lstm_forward<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: &[E],
    c: &[E],
) -> (Vec<E>, Vec<E>, Vec<E>) {
    wide(
        #[inline(always)]
        || lstm_forward_loop(d, gx, gh, c),
    )
}

#[inline(always)]
fn lstm_forward_loop<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: &[E],
    c: &[E],
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let (bsz, h) = (d.batch, d.hidden);
    let units = bsz * h;
    let mut hn = vec![E::ZERO; units];
    let mut cn = vec![E::ZERO; units];
    let mut acts = vec![E::ZERO; units * 5];
    for b in 0..bsz {
        let gxr = &gx[d.gx(4, b, 0, 0)..][..4 * h];
        let ghr = &gh[d.gh(4, b, 0, 0)..][..4 * h];
        let (cr, hr, cnr) = (
            &c[b * h..][..h],
            &mut hn[b * h..][..h],
            &mut cn[b * h..][..h],
        );
        let (ai, rest) = acts.split_at_mut(units);
        let (af, rest) = rest.split_at_mut(units);
        let (ag, rest) = rest.split_at_mut(units);
        let (ao, at) = rest.split_at_mut(units);
        let (ai, af, ag, ao, at) = (
            &mut ai[b * h..][..h],
            &mut af[b * h..][..h],
            &mut ag[b * h..][..h],
            &mut ao[b * h..][..h],
            &mut at[b * h..][..h],
        );
        for j in 0..h {
            let i = sigmoid_free(gxr[j] + ghr[j]);
            let f = sigmoid_free(gxr[h + j] + ghr[h + j]);
            let g = (gxr[2 * h + j] + ghr[2 * h + j]).tanh();
            let o = sigmoid_free(gxr[3 * h + j] + ghr[3 * h + j]);
            let cv = f * cr[j] + i * g;
            let tc = cv.tanh();
            cnr[j] = cv;
            hr[j] = o * tc;
            (ai[j], af[j], ag[j], ao[j], at[j]) = (i, f, g, o, tc);
        }
    }
    (hn, cn, acts)
}

/// `1 / (1 + e^-x)` without a branch: e^-x overflowing to infinity gives exactly 0, so the
/// single formula is safe over the whole range and vectorises.
#[inline(always)]
fn sigmoid_free<E: Float>(x: E) -> E {
    E::ONE / (E::ONE + (-x).exp())
}

/// LSTM step backward from `dh'` and `dc'` (either may be absent): adds into the gate
/// gradients (`dgx` at step `t`, `dgh`) and `dc`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_backward<E: Float>(
    d: CellDims,
    acts: &[E],
    c: &[E],
    dh: Option<&[E]>,
    dcn: Option<&[E]>,
    dgx: Option<&mut [E]>,
    dgh: Option<&mut [E]>,
    dc: Option<&mut [E]>,
) {
    wide(
        #[inline(always)]
        || lstm_backward_loop(d, acts, c, dh, dcn, dgx, dgh, dc),
    )
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_backward_loop<E: Float>(
    d: CellDims,
    acts: &[E],
    c: &[E],
    dh: Option<&[E]>,
    dcn: Option<&[E]>,
    mut dgx: Option<&mut [E]>,
    mut dgh: Option<&mut [E]>,
    mut dc: Option<&mut [E]>,
) {
    let (bsz, h) = (d.batch, d.hidden);
    let units = bsz * h;
    let mut grads = vec![E::ZERO; 4 * h];
    for b in 0..bsz {
        for j in 0..h {
            let u = b * h + j;
            let (i, f, g, o, tc) = (
                acts[u],
                acts[units + u],
                acts[2 * units + u],
                acts[3 * units + u],
                acts[4 * units + u],
            );
            let gh_ = dh.map_or(E::ZERO, |v| v[u]);
            let dct = dcn.map_or(E::ZERO, |v| v[u]) + gh_ * o * (E::ONE - tc * tc);
            grads[j] = dct * g * i * (E::ONE - i);
            grads[h + j] = dct * c[u] * f * (E::ONE - f);
            grads[2 * h + j] = dct * i * (E::ONE - g * g);
            grads[3 * h + j] = gh_ * tc * o * (E::ONE - o);
            if let Some(x) = dc.as_deref_mut() {
                x[u] += dct * f;
            }
        }
        if let Some(x) = dgx.as_deref_mut() {
            let row = &mut x[d.gx(4, b, 0, 0)..][..4 * h];
            row.iter_mut().zip(&grads).for_each(|(a, &v)| *a += v);
        }
        if let Some(x) = dgh.as_deref_mut() {
            let row = &mut x[d.gh(4, b, 0, 0)..][..4 * h];
            row.iter_mut().zip(&grads).for_each(|(a, &v)| *a += v);
        }
    }
}

/// GRU step: returns `(h', acts)` with `r, z, n` per unit.
pub(crate) fn gru_forward<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: &[E],
    hprev: &[E],
) -> (Vec<E>, Vec<E>) {
    let (bsz, h) = (d.batch, d.hidden);
    let mut hn = vec![E::ZERO; bsz * h];
    let mut acts = vec![E::ZERO; bsz * h * 3];
    for b in 0..bsz {
        for j in 0..h {
            let u = b * h + j;
            let r = sigmoid(gx[d.gx(3, b, 0, j)] + gh[d.gh(3, b, 0, j)]);
            let z = sigmoid(gx[d.gx(3, b, 1, j)] + gh[d.gh(3, b, 1, j)]);
            let n = (gx[d.gx(3, b, 2, j)] + r * gh[d.gh(3, b, 2, j)]).tanh();
            hn[u] = (E::ONE - z) * n + z * hprev[u];
            acts[u * 3..u * 3 + 3].copy_from_slice(&[r, z, n]);
        }
    }
    (hn, acts)
}

/// GRU step backward from `dh'`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_backward<E: Float>(
    d: CellDims,
    acts: &[E],
    gh: &[E],
    hprev: &[E],
    dhn: &[E],
    mut dgx: Option<&mut [E]>,
    mut dgh: Option<&mut [E]>,
    mut dh: Option<&mut [E]>,
) {
    let (bsz, h) = (d.batch, d.hidden);
    for b in 0..bsz {
        for j in 0..h {
            let u = b * h + j;
            let (r, z, n) = (acts[u * 3], acts[u * 3 + 1], acts[u * 3 + 2]);
            let g = dhn[u];
            let dan = g * (E::ONE - z) * (E::ONE - n * n);
            let daz = g * (hprev[u] - n) * z * (E::ONE - z);
            let dar = dan * gh[d.gh(3, b, 2, j)] * r * (E::ONE - r);
            if let Some(x) = dgx.as_deref_mut() {
                x[d.gx(3, b, 0, j)] += dar;
                x[d.gx(3, b, 1, j)] += daz;
                x[d.gx(3, b, 2, j)] += dan;
            }
            if let Some(x) = dgh.as_deref_mut() {
                x[d.gh(3, b, 0, j)] += dar;
                x[d.gh(3, b, 1, j)] += daz;
                x[d.gh(3, b, 2, j)] += dan * r;
            }
            if let Some(x) = dh.as_deref_mut() {
                x[u] += g * z;
            }
        }
    }
}

/// Elman RNN step with tanh: `h' = tanh(gx_t + gh)`.
pub(crate) fn rnn_tanh_forward<E: Float>(d: CellDims, gx: &[E], gh: &[E]) -> Vec<E> {
    let (bsz, h) = (d.batch, d.hidden);
    let mut hn = vec![E::ZERO; bsz * h];
    for b in 0..bsz {
        for j in 0..h {
            hn[b * h + j] = (gx[d.gx(1, b, 0, j)] + gh[d.gh(1, b, 0, j)]).tanh();
        }
    }
    hn
}

/// Elman RNN step backward.
pub(crate) fn rnn_tanh_backward<E: Float>(
    d: CellDims,
    hn: &[E],
    dhn: &[E],
    mut dgx: Option<&mut [E]>,
    mut dgh: Option<&mut [E]>,
) {
    let (bsz, h) = (d.batch, d.hidden);
    for b in 0..bsz {
        for j in 0..h {
            let u = b * h + j;
            let da = dhn[u] * (E::ONE - hn[u] * hn[u]);
            if let Some(x) = dgx.as_deref_mut() {
                x[d.gx(1, b, 0, j)] += da;
            }
            if let Some(x) = dgh.as_deref_mut() {
                x[d.gh(1, b, 0, j)] += da;
            }
        }
    }
}
