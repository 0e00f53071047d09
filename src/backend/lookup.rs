//! Row lookups by integer index (embeddings) and the scatter-add that is their backward
//! pass. Indices are checked by the callers.

use super::parallel::for_row_blocks;
use super::uninit::{copy_run, written};
use crate::dtype::Float;

/// `out[i, :] = table[idx[i], :]` for a table of rows of length `d`.
pub(crate) fn gather_rows<E: Float>(table: &[E], d: usize, idx: &[usize]) -> Vec<E> {
    if d == 0 {
        return Vec::new();
    }
    // In blocks of rows over the threads for long outputs (W8's 2048 token rows of 256
    // values were copied on the calling thread while the other waited).
    // SAFETY: the row blocks cover all `idx.len()` rows, and every row of a block is written
    // whole from its table row (a row index past the table panics first).
    unsafe {
        written(idx.len() * d, |out| {
            for_row_blocks(
                out,
                d,
                #[inline(always)]
                |first, block| {
                    let ks = &idx[first..][..block.len() / d];
                    for (row, &k) in block.chunks_exact_mut(d).zip(ks) {
                        copy_run(row, &table[k * d..(k + 1) * d]);
                    }
                },
            )
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every looked-up row is its table row, below and above the length at which the rows
    /// are split over the threads, with repeated and empty lookups.
    #[test]
    fn gathered_rows_are_the_table_rows() {
        let (rows, d) = (37, 50);
        let table: Vec<f32> = (0..rows * d).map(|i| i as f32 * 0.5).collect();
        for n in [0, 1, 5, 3000] {
            let idx: Vec<usize> = (0..n).map(|i| (i * 7 + i / 3) % rows).collect();
            let out = gather_rows(&table, d, &idx);
            assert_eq!(out.len(), n * d);
            for (row, &k) in out.chunks_exact(d).zip(&idx) {
                assert_eq!(row, &table[k * d..(k + 1) * d], "{n} lookups, row {k}");
            }
        }
        assert!(gather_rows(&table, 0, &[1, 2]).is_empty());
    }
}
