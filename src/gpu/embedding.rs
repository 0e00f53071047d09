//! Embedding on the GPU: a row gather, and its table gradient summed per row (positions are
//! grouped by row on the CPU, where the indices are, so no float atomics are needed).

use super::nn::{GpuParamMut, GpuParams};
use super::tensor::{GpuTensor, ToCpu, ToDevice, add_grad, gpu_tensor, take_grad, wants};
use crate::autograd::{Gradients, NoTape, OwnedTape, Tape};
use crate::device::Wgpu;
use crate::device::kernels;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{AppendDim, EmbeddingLayer, Module, TracedIndices};
use crate::shape::Dim;
use crate::tensor::{Indices, Tensor};

/// [`Embedding`](crate::nn::Embedding) on the GPU, made by `embedding.to_device(&gpu)`, of the
/// CPU layer's element type `E` (f32 or f64).
#[derive(Clone, Debug)]
pub struct GpuEmbedding<V: Dim, D: Dim, E: Float = f32> {
    /// `(num_embeddings, embedding_dim)`.
    pub weight: GpuTensor<(V, D), NoTape, E>,
    /// A row that receives no gradient (PyTorch's `padding_idx`).
    pub padding_idx: Option<usize>,
}

impl<V: Dim, D: Dim, E: Float> ToDevice for EmbeddingLayer<V, D, E> {
    type Output = GpuEmbedding<V, D, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<Self::Output> {
        Ok(GpuEmbedding {
            weight: self.weight.to_device(gpu)?,
            padding_idx: self.padding_idx,
        })
    }
}

impl<V: Dim, D: Dim, E: Float> ToCpu for GpuEmbedding<V, D, E> {
    type Output = EmbeddingLayer<V, D, E>;
    fn to_cpu(&self) -> Result<Self::Output> {
        Ok(EmbeddingLayer {
            weight: self.weight.to_cpu()?,
            padding_idx: self.padding_idx,
        })
    }
}

impl<V: Dim, D: Dim, E: Float> GpuParams<E> for GpuEmbedding<V, D, E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        f(GpuParamMut {
            name: &format!("{prefix}weight"),
            id: self.weight.id,
            data: &mut self.weight.data,
        });
    }
}

impl<V: Dim, D: Dim, E: Float> GpuEmbedding<V, D, E> {
    /// Rows `indices` of the table (uploaded here), traced when `T` is [`OwnedTape`]; an
    /// `Err` names an index out of range.
    pub fn try_lookup<S: AppendDim, T: Tape<E>>(
        &self,
        indices: &Indices<S>,
    ) -> Result<GpuTensor<S::Output<D>, T, E>> {
        let (v, d) = (self.weight.shape.0.size(), self.weight.shape.1.size());
        let idx = indices.as_slice();
        if let Some(p) = idx.iter().position(|&i| i >= v) {
            return Err(Error::value(
                "Embedding indices",
                format!(
                    "index {} at position {p} is out of range for {v} embeddings",
                    idx[p]
                ),
            ));
        }
        let dev = self.weight.data.device().clone();
        let idx_u32: Vec<u32> = idx.iter().map(|&i| i as u32).collect();
        let y = kernels::gather_rows(&self.weight.data, d, &dev.upload_u32(&idx_u32));
        let out = gpu_tensor(indices.shape().append(self.weight.shape.1), y, NoTape);
        let w_id = self.weight.id;
        let mut tape = T::leaf(w_id);
        if wants(&tape, w_id) {
            // Positions grouped by row (a counting sort), for a per-row sum on the GPU.
            let mut offsets = vec![0u32; v + 1];
            for &i in idx {
                offsets[i + 1] += 1;
            }
            for r in 0..v {
                offsets[r + 1] += offsets[r];
            }
            let mut next = offsets.clone();
            let mut positions = vec![0u32; idx.len()];
            for (p, &i) in idx.iter().enumerate() {
                positions[next[i] as usize] = p as u32;
                next[i] += 1;
            }
            let by_row = (dev.upload_u32(&offsets), dev.upload_u32(&positions));
            let (out_id, padding) = (out.id, self.padding_idx);
            tape.record(
                out_id,
                Box::new(move |g: &mut Gradients<E>| {
                    let Some(gy) = take_grad(g, out_id) else {
                        return;
                    };
                    let gw =
                        kernels::gather_rows_backward(&gy, v, d, (&by_row.0, &by_row.1), padding);
                    add_grad(g, w_id, gw);
                }),
            );
        }
        Ok(Tensor {
            shape: out.shape,
            data: out.data,
            id: out.id,
            tape,
        })
    }
}

impl<V: Dim, D: Dim, E: Float, S: AppendDim> Module<Indices<S>> for GpuEmbedding<V, D, E> {
    type Output = GpuTensor<S::Output<D>, NoTape, E>;
    fn try_forward(&self, x: Indices<S>) -> Result<Self::Output> {
        self.try_lookup(&x)
    }
}

impl<V: Dim, D: Dim, E: Float, S: AppendDim> Module<TracedIndices<S>> for GpuEmbedding<V, D, E> {
    type Output = GpuTensor<S::Output<D>, OwnedTape<E>, E>;
    fn try_forward(&self, x: TracedIndices<S>) -> Result<Self::Output> {
        self.try_lookup(&x.0)
    }
}
