//! The GRU and Elman RNN cells' arithmetic for one step, forward and backward. As the
//! LSTM's (`lstm_cell.rs`): the gate functions run over all `B * H` units as one loop
//! compiled for the widest instruction set ([`wide`]), and the row layout of `gx` and `gh`
//! (`[B, S, G*H]`, `[B, G*H]`) is handled by copies and additions row by row, before and
//! after. Loops per unit that indexed the row layout (bounds checks, a branch per sigmoid)
//! stayed scalar and, outside [`wide`], ran the f64 polynomials' fused multiply-adds as
//! library calls: one GRU step (`B = 97, H = 51`, one thread) took 540-610 us in f64 and
//! 58 us in f32.
//!
//! The saved GRU activations are three planes `r, z, n` (`[3, B*H]`).

use super::super::simd::wide;
use super::CellDims;
use super::math::{self, add_assign, add_into, sigmoid_free};
use crate::dtype::Float;

/// GRU step: returns `(h', acts)` (see [`gru_forward_into`]).
pub(crate) fn gru_forward<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: &[E],
    hprev: &[E],
) -> (Vec<E>, Vec<E>) {
    let units = d.batch * d.hidden;
    let (mut hn, mut acts) = (vec![E::ZERO; units], vec![E::ZERO; units * 3]);
    gru_forward_into(d, gx, gh, hprev, &mut hn, &mut acts);
    (hn, acts)
}

/// GRU step into given buffers: `hn` (`[B, H]`) and `acts`, the planes `r, z, n`
/// (`[3, B*H]`): `r = s(x_r + h_r)`, `z = s(x_z + h_z)`, `n = tanh(x_n + r h_n)`,
/// `h' = (1 - z) n + z h`, with `x = gx` at step `t` and `h_* = gh` (which holds `b_hh`).
pub(crate) fn gru_forward_into<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: &[E],
    hprev: &[E],
    hn: &mut [E],
    acts: &mut [E],
) {
    wide(
        #[inline(always)]
        || gru_forward_loop(d, gx, gh, hprev, hn, acts),
    )
}

#[inline(always)]
fn gru_forward_loop<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: &[E],
    hprev: &[E],
    hn: &mut [E],
    acts: &mut [E],
) {
    let (bsz, h) = (d.batch, d.hidden);
    let units = bsz * h;
    let (r, rest) = acts[..3 * units].split_at_mut(units);
    let (z, n) = rest.split_at_mut(units);
    let hn = &mut hn[..units];
    // The pre-activations row by row: `r` and `z` summed, `x_n` into `n`, and `h_n` parked
    // in `hn` (each unit reads its own `h_n` before writing `h'` there).
    for b in 0..bsz {
        let (x, g) = (
            &gx[d.gx(3, b, 0, 0)..][..3 * h],
            &gh[d.gh(3, b, 0, 0)..][..3 * h],
        );
        let row = b * h..(b + 1) * h;
        add_into(&mut r[row.clone()], &x[..h], &g[..h]);
        add_into(&mut z[row.clone()], &x[h..2 * h], &g[h..2 * h]);
        n[row.clone()].copy_from_slice(&x[2 * h..]);
        hn[row].copy_from_slice(&g[2 * h..]);
    }
    let (n, hprev) = (&mut n[..units], &hprev[..units]);
    // Two loops, as the LSTM's: `n` waits on `r`, and the chains of one loop per unit
    // would leave the vector units idle.
    for u in 0..units {
        r[u] = sigmoid_free(r[u]);
        z[u] = sigmoid_free(z[u]);
    }
    for u in 0..units {
        let nv = math::tanh(n[u] + r[u] * hn[u]);
        n[u] = nv;
        hn[u] = (E::ONE - z[u]) * nv + z[u] * hprev[u];
    }
}

/// GRU step backward from `dh'`, adding into whichever of `dgx` (at step `t`), `dgh` and
/// `dh` are given. `acts` are [`gru_forward_into`]'s planes, `gh` and `hprev` its inputs.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gru_backward<E: Float>(
    d: CellDims,
    acts: &[E],
    gh: &[E],
    hprev: &[E],
    dhn: &[E],
    dgx: Option<&mut [E]>,
    dgh: Option<&mut [E]>,
    dh: Option<&mut [E]>,
) {
    wide(
        #[inline(always)]
        || gru_backward_loop(d, acts, gh, hprev, dhn, dgx, dgh, dh),
    )
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_backward_loop<E: Float>(
    d: CellDims,
    acts: &[E],
    gh: &[E],
    hprev: &[E],
    dhn: &[E],
    dgx: Option<&mut [E]>,
    dgh: Option<&mut [E]>,
    dh: Option<&mut [E]>,
) {
    let (bsz, h) = (d.batch, d.hidden);
    let units = bsz * h;
    let (r, z, n) = (
        &acts[..units],
        &acts[units..2 * units],
        &acts[2 * units..3 * units],
    );
    // Planes of the pre-activations' gradients `r, z, n`, and of `h_n`'s (`dn * r`), which
    // first holds `h_n` itself.
    let mut grads = vec![E::ZERO; 4 * units];
    let (gr, rest) = grads.split_at_mut(units);
    let (gz, rest) = rest.split_at_mut(units);
    let (gn, ghn) = rest.split_at_mut(units);
    for b in 0..bsz {
        ghn[b * h..][..h].copy_from_slice(&gh[d.gh(3, b, 2, 0)..][..h]);
    }
    let (hprev, dhn) = (&hprev[..units], &dhn[..units]);
    let (gr, gz, gn, ghn) = (
        &mut gr[..units],
        &mut gz[..units],
        &mut gn[..units],
        &mut ghn[..units],
    );
    for u in 0..units {
        let (rv, zv, nv, g) = (r[u], z[u], n[u], dhn[u]);
        let dan = g * (E::ONE - zv) * (E::ONE - nv * nv);
        gz[u] = g * (hprev[u] - nv) * zv * (E::ONE - zv);
        gr[u] = dan * ghn[u] * rv * (E::ONE - rv);
        gn[u] = dan;
        ghn[u] = dan * rv;
    }
    if let Some(dh) = dh {
        let (dh, z) = (&mut dh[..units], &z[..units]);
        for u in 0..units {
            dh[u] += dhn[u] * z[u];
        }
    }
    // Row `b` of the planes `r, z, n` added into one row's three gate blocks.
    #[inline(always)]
    fn add_row<E: Float>(out: &mut [E], planes: [&[E]; 3], b: usize, h: usize) {
        for (out, plane) in out.chunks_exact_mut(h).zip(planes) {
            add_assign(out, &plane[b * h..][..h]);
        }
    }
    if let Some(dgx) = dgx {
        for b in 0..bsz {
            add_row(&mut dgx[d.gx(3, b, 0, 0)..][..3 * h], [gr, gz, gn], b, h);
        }
    }
    if let Some(dgh) = dgh {
        for b in 0..bsz {
            add_row(&mut dgh[d.gh(3, b, 0, 0)..][..3 * h], [gr, gz, ghn], b, h);
        }
    }
}

/// Elman RNN step: `h' = act(gx_t + gh)` with `act` tanh, or relu when `relu`.
pub(crate) fn rnn_forward<E: Float>(d: CellDims, gx: &[E], gh: &[E], relu: bool) -> Vec<E> {
    let mut hn = vec![E::ZERO; d.batch * d.hidden];
    rnn_forward_into(d, gx, gh, relu, &mut hn);
    hn
}

/// [`rnn_forward`] into `hn` (`[B, H]`).
pub(crate) fn rnn_forward_into<E: Float>(
    d: CellDims,
    gx: &[E],
    gh: &[E],
    relu: bool,
    hn: &mut [E],
) {
    wide(
        #[inline(always)]
        || {
            let (bsz, h) = (d.batch, d.hidden);
            let units = bsz * h;
            let hn = &mut hn[..units];
            for b in 0..bsz {
                add_into(
                    &mut hn[b * h..][..h],
                    &gx[d.gx(1, b, 0, 0)..][..h],
                    &gh[d.gh(1, b, 0, 0)..][..h],
                );
            }
            if relu {
                hn.iter_mut().for_each(|v| *v = v.max(E::ZERO));
            } else {
                hn.iter_mut().for_each(|v| *v = math::tanh(*v));
            }
        },
    )
}

/// Elman RNN step backward, from the step's output `hn`: tanh' is `1 - h'^2`, relu' is
/// `h' > 0` (0 at 0, as PyTorch). Adds into `dgx` (at step `t`) and `dgh` when given.
pub(crate) fn rnn_backward<E: Float>(
    d: CellDims,
    hn: &[E],
    dhn: &[E],
    relu: bool,
    dgx: Option<&mut [E]>,
    dgh: Option<&mut [E]>,
) {
    wide(
        #[inline(always)]
        || {
            let (bsz, h) = (d.batch, d.hidden);
            let units = bsz * h;
            let (hn, dhn) = (&hn[..units], &dhn[..units]);
            let mut da = vec![E::ZERO; units];
            if relu {
                for u in 0..units {
                    da[u] = if hn[u] > E::ZERO { dhn[u] } else { E::ZERO };
                }
            } else {
                for u in 0..units {
                    da[u] = dhn[u] * (E::ONE - hn[u] * hn[u]);
                }
            }
            if let Some(dgx) = dgx {
                for b in 0..bsz {
                    add_assign(&mut dgx[d.gx(1, b, 0, 0)..][..h], &da[b * h..][..h]);
                }
            }
            if let Some(dgh) = dgh {
                for b in 0..bsz {
                    add_assign(&mut dgh[d.gh(1, b, 0, 0)..][..h], &da[b * h..][..h]);
                }
            }
        },
    )
}
