//! Differentiable lookups by integer index: one element per row (the log-probability of each
//! sample's class, for cross-entropy and NLL) and rows of a table (Embedding). Callers check
//! the indices; the backward passes scatter-add into the looked-up positions.

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::lookup as kernels;
use crate::dtype::Float;
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// `out[i] = x[i, idx[i]]` for `x` of shape `(N, C)`; `idx` holds `N` indices below `C`.
pub(crate) fn pick_op<N: Dim, C: Dim, E: Float, T: Tape<E>>(x: Tensor<(N, C), E, T>, idx: Arc<Vec<usize>>) -> Tensor<(N,), E, T> {
    let (n, c) = x.shape;
    let (x, mut tape) = x.split_tape();
    let y = kernels::pick_rows(&x.data, c.size(), &idx);
    let out_id = UniqueId::new();
    if T::TRACING && tape.tracks(x.id) {
        let (x_id, len, cs) = (x.id, x.data.len(), c.size());
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                kernels::pick_rows_backward(g.entry(x_id, len), &gy, cs, &idx);
            }),
        );
    }
    Tensor { shape: (n,), data: Arc::new(y), id: out_id, tape }
}

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
    Tensor { shape: out, data: Arc::new(y), id: out_id, tape }
}
