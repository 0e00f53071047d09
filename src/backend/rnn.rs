//! Fused recurrent cells. Gate pre-activations come in two parts: `gx`, the input projection
//! for every step at once (`[B, S, G*H]`, read at step `t`), and `gh`, the hidden projection
//! of this step (`[B, G*H]`). Gate order is PyTorch's: LSTM `i, f, g, o`; GRU `r, z, n`.

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

/// LSTM step: returns `(h', c', acts)` where `acts` holds `i, f, g, o, tanh(c')` per unit for
/// the backward pass.
pub(crate) fn lstm_forward<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: &[E],
    c: &[E],
) -> (Vec<E>, Vec<E>, Vec<E>) {
    let (bsz, h) = (d.batch, d.hidden);
    let mut hn = vec![E::ZERO; bsz * h];
    let mut cn = vec![E::ZERO; bsz * h];
    let mut acts = vec![E::ZERO; bsz * h * 5];
    for b in 0..bsz {
        for j in 0..h {
            let pre = |k| gx[d.gx(4, b, k, j)] + gh[d.gh(4, b, k, j)];
            let (i, f, g, o) = (
                sigmoid(pre(0)),
                sigmoid(pre(1)),
                pre(2).tanh(),
                sigmoid(pre(3)),
            );
            let cv = f * c[b * h + j] + i * g;
            let tc = cv.tanh();
            cn[b * h + j] = cv;
            hn[b * h + j] = o * tc;
            let a = &mut acts[(b * h + j) * 5..(b * h + j + 1) * 5];
            a.copy_from_slice(&[i, f, g, o, tc]);
        }
    }
    (hn, cn, acts)
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
    mut dgx: Option<&mut [E]>,
    mut dgh: Option<&mut [E]>,
    mut dc: Option<&mut [E]>,
) {
    let (bsz, h) = (d.batch, d.hidden);
    for b in 0..bsz {
        for j in 0..h {
            let u = b * h + j;
            let a = &acts[u * 5..u * 5 + 5];
            let (i, f, g, o, tc) = (a[0], a[1], a[2], a[3], a[4]);
            let gh_ = dh.map_or(E::ZERO, |v| v[u]);
            let dct = dcn.map_or(E::ZERO, |v| v[u]) + gh_ * o * (E::ONE - tc * tc);
            let grads = [
                dct * g * i * (E::ONE - i),
                dct * c[u] * f * (E::ONE - f),
                dct * i * (E::ONE - g * g),
                gh_ * tc * o * (E::ONE - o),
            ];
            for (k, &v) in grads.iter().enumerate() {
                if let Some(x) = dgx.as_deref_mut() {
                    x[d.gx(4, b, k, j)] += v;
                }
                if let Some(x) = dgh.as_deref_mut() {
                    x[d.gh(4, b, k, j)] += v;
                }
            }
            if let Some(x) = dc.as_deref_mut() {
                x[u] += dct * f;
            }
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
