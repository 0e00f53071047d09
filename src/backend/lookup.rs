//! Lookups by integer index: one element per row (a class's log-probability) and whole rows
//! of a table (embeddings), with the scatter-adds that are their backward passes. Indices
//! are checked by the callers.

use crate::dtype::Float;

/// `out[i] = x[i, idx[i]]` for `x` of shape `[rows, n]`.
pub(crate) fn pick_rows<E: Float>(x: &[E], n: usize, idx: &[usize]) -> Vec<E> {
    idx.iter().enumerate().map(|(i, &k)| x[i * n + k]).collect()
}

/// The backward of [`pick_rows`]: `acc[i, idx[i]] += g[i]`.
pub(crate) fn pick_rows_backward<E: Float>(acc: &mut [E], g: &[E], n: usize, idx: &[usize]) {
    for (i, (&k, &v)) in idx.iter().zip(g).enumerate() {
        acc[i * n + k] += v;
    }
}

/// `out[i, :] = table[idx[i], :]` for a table of rows of length `d`.
pub(crate) fn gather_rows<E: Float>(table: &[E], d: usize, idx: &[usize]) -> Vec<E> {
    let mut out = Vec::with_capacity(idx.len() * d);
    for &k in idx {
        out.extend_from_slice(&table[k * d..(k + 1) * d]);
    }
    out
}

/// The backward of [`gather_rows`]: `acc[idx[i], :] += g[i, :]`, skipping rows equal to
/// `skip` (Embedding's `padding_idx`, which never receives a gradient).
pub(crate) fn scatter_add_rows<E: Float>(acc: &mut [E], g: &[E], d: usize, idx: &[usize], skip: Option<usize>) {
    for (i, &k) in idx.iter().enumerate() {
        if Some(k) == skip {
            continue;
        }
        for (a, &v) in acc[k * d..(k + 1) * d].iter_mut().zip(&g[i * d..(i + 1) * d]) {
            *a += v;
        }
    }
}
