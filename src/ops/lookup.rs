//! Embedding lookup: rows of a table by integer index, as one primitive. `index_select` along
//! axis 0 followed by a reshape computes the same values, but this op also leaves one row
//! (`padding_idx`) without gradient, as PyTorch's Embedding does. Callers check the indices.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::lookup as kernels;
use crate::dtype::Float;
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// Rows `idx` of `table` (shape `(V, D)`) stacked into `out` (which holds `idx.len() * D`
/// elements); rows equal to `skip` get no gradient.
pub(crate) fn gather_rows_op<V: Dim, D: Dim, SO: Shape, E: Float, T: Tape<E>>(
    table: Tensor<(V, D), E, T>,
    idx: Arc<Vec<usize>>,
    out: SO,
    skip: Option<usize>,
) -> Tensor<SO, E, T> {
    let d = table.shape.1.size();
    let (table, mut tape) = table.split_tape();
    let y = kernels::gather_rows(&table.data, d, &idx);
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(table.id) {
        let (t_id, len) = (table.id, table.data.len());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                kernels::scatter_add_rows(g.entry(t_id, len), &gy, d, &idx, skip);
            }),
        );
    }
    Tensor {
        shape: out,
        data: Arc::new(y),
        id: out_id,
        tape,
    }
}
