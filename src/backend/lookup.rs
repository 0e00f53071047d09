//! Row lookups by integer index (embeddings) and the scatter-add that is their backward
//! pass. Indices are checked by the callers.

use crate::dtype::Float;

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
pub(crate) fn scatter_add_rows<E: Float>(
    acc: &mut [E],
    g: &[E],
    d: usize,
    idx: &[usize],
    skip: Option<usize>,
) {
    for (i, &k) in idx.iter().enumerate() {
        if Some(k) == skip {
            continue;
        }
        for (a, &v) in acc[k * d..(k + 1) * d]
            .iter_mut()
            .zip(&g[i * d..(i + 1) * d])
        {
            *a += v;
        }
    }
}
