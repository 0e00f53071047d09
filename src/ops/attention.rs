//! Scaled dot-product attention over heads read in place from the projections, as one
//! primitive (see `backend::attention` for why).

use crate::autograd::{Gradients, Tape, UniqueId};
use crate::backend::attention::{Attention, Part};
use crate::dtype::Float;
use crate::tensor::Tensor;
use std::sync::Arc;

type Seq<E, T> = Tensor<(usize, usize, usize), E, T>;

/// Where the queries, keys and values are: one self-attention buffer `(B, L, 3E)` holding
/// `[Q | K | V]` on every row, or three `(B, L, E)`, `(B, S, E)`, `(B, S, E)` buffers.
pub(crate) enum Projected<E: Float, T> {
    /// `[Q | K | V]` per row.
    Packed(Seq<E, T>),
    /// `Q`, `K`, `V` apart.
    Apart(Seq<E, T>, Seq<E, T>, Seq<E, T>),
}

/// `softmax(scale Q K^T + mask + key_padding) V` for each of `heads` heads, with the heads
/// merged back: `(B, L, E)`. `mask` is `(L, S)` and `key_padding` `(B, S)`, both additive
/// and untraced (as PyTorch treats float masks); the caller has checked every shape.
pub(crate) fn attention_op<E: Float, T: Tape<E>>(
    projected: Projected<E, T>,
    heads: usize,
    scale: E,
    mask: Option<&[E]>,
    key_padding: Option<&[E]>,
) -> Seq<E, T> {
    let (tensors, l, s, embed) = match projected {
        Projected::Packed(qkv) => {
            let (l, w) = (qkv.shape.1, qkv.shape.2);
            debug_assert_eq!(w % 3, 0);
            (vec![qkv], l, l, w / 3)
        }
        Projected::Apart(q, k, v) => {
            let (l, s, e) = (q.shape.1, k.shape.1, q.shape.2);
            (vec![q, k, v], l, s, e)
        }
    };
    let batch = tensors[0].shape.0;
    let part = |buf: usize, col: usize, rows: usize| {
        let stride = tensors[buf].shape.2;
        Part {
            buf,
            col,
            stride,
            batch_stride: rows * stride,
        }
    };
    let (q, k, v) = if tensors.len() == 1 {
        (part(0, 0, l), part(0, embed, l), part(0, 2 * embed, l))
    } else {
        (part(0, 0, l), part(1, 0, s), part(2, 0, s))
    };
    let plan = Attention {
        batch,
        heads,
        head_dim: embed / heads,
        l,
        s,
        q,
        k,
        v,
    };
    let mut tape: Option<T> = None;
    let mut inputs = Vec::with_capacity(tensors.len());
    for t in tensors {
        let (t, tt) = t.split_tape();
        tape = Some(match tape {
            None => tt,
            Some(acc) => acc.merge(tt),
        });
        inputs.push((t.data, t.id));
    }
    let mut tape = tape.expect("at least one input");
    let bufs: Vec<&[E]> = inputs.iter().map(|(d, _)| d.as_slice()).collect();
    let (out, probs, extents) = plan.forward(&bufs, scale, mask, key_padding);
    let out_id = UniqueId::new();
    let tracked: Vec<bool> = inputs
        .iter()
        .map(|(_, id)| T::TRACING && tape.tracks(*id))
        .collect();
    if tracked.iter().any(|&t| t) {
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = g.take(out_id) else { return };
                let bufs: Vec<&[E]> = inputs.iter().map(|(d, _)| d.as_slice()).collect();
                let grads = plan.backward(&bufs, (&probs, &extents), &gy, scale);
                for ((grad, (_, id)), track) in grads.into_iter().zip(&inputs).zip(&tracked) {
                    if *track {
                        g.add(*id, grad);
                    }
                }
            }),
        );
    }
    Tensor {
        shape: (batch, l, embed),
        data: Arc::new(out),
        id: out_id,
        tape,
    }
}
