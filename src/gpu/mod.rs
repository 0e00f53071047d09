//! The GPU side of shaped (cargo feature `wgpu`): tensors on a [`Wgpu`] device, their ops and
//! backward steps, layers moved with [`ToDevice`] and optimizers that step GPU parameters.
//!
//! A GPU tensor is `Tensor<S, E, T, Wgpu>` ([`GpuTensor`]; `E` is `f32`, or `f64` where the
//! adapter has `SHADER_F64`); it is made only by an explicit
//! [`to_device`](ToDevice::to_device) and read back only by [`to_cpu`](ToCpu::to_cpu). Ops
//! take tensors of one device: `cpu + gpu` does not compile. An op without a GPU kernel yet is
//! not a method of GPU tensors, so using one is a compile error too, never a silent trip
//! through main memory. Gradients stay on the GPU ([`Gradients::get_gpu`](crate::autograd::Gradients::get_gpu)).
//!
//! ```no_run
//! use shaped::prelude::*;
//! use shaped::gpu::prelude::*;
//! let gpu = Wgpu::new()?;
//! let w = Tensor::<Rank2<2, 3>>::ones().to_device(&gpu)?;
//! let x = Tensor::<Rank2<4, 2>>::ones().to_device(&gpu)?;
//! let loss = x.matmul(w.clone().trace()).relu().mean();
//! let grads = loss.backward();
//! let gw = grads.get_gpu(&w).unwrap().to_cpu()?;
//! assert_eq!(gw.to_vec(), vec![1.0 / 3.0; 6]);
//! # Ok::<(), shaped::error::Error>(())
//! ```

#[macro_use]
mod layer_macros;
mod activations;
mod attention;
mod attention_dyn;
mod bilinear;
mod cat_ops;
mod clip;
mod compare;
mod conv;
mod conv3d;
mod conv_grouped;
mod conv_transpose;
mod distance;
mod embedding;
mod gather;
mod glu_prelu;
mod gru;
mod index_ops;
mod instance_norm;
mod interpolate;
mod lbfgs;
mod loss;
mod loss_class;
mod loss_embedding;
mod loss_margin;
mod loss_modules;
mod loss_nll;
mod loss_reduce;
mod nn;
mod norm;
mod ops;
mod optim;
mod optim_adaptive;
mod optim_more;
mod optim_state;
mod pad_ops;
mod pixel_shuffle;
mod pool;
mod pool3d;
mod recurrent;
mod reduce;
mod reduce_more;
mod rms_norm;
mod rrelu;
mod shape_ops;
mod sort;
mod split_ops;
mod static_split;
mod tensor;
mod trainer;
mod transformer;
mod transformer_decoder;
mod transformer_decoder_dyn;
mod transformer_dyn;
mod transformer_stack;

pub use crate::device::{AdapterSummary, GpuStorage, Wgpu};

pub use activations::GpuActivations;
pub use attention::{GpuAttentionOutput, GpuMultiheadAttention};
pub use attention_dyn::{GpuAttentionOutputDyn, GpuMultiheadAttentionDyn};
pub use bilinear::GpuBilinear;
pub use cat_ops::{CatShape, GpuTensorList, StackShape, cat, stack, try_cat, try_stack};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use compare::{GpuCompare, try_where_, where_};
pub use conv::GpuConv2d;
pub use conv_grouped::GpuGroupedConv2d;
pub use conv_transpose::{GpuConvTranspose1d, GpuConvTranspose2d};
pub use conv3d::GpuConv3d;
pub use distance::{
    cosine_similarity, normalize, pairwise_distance, pairwise_distance_keepdim,
    try_cosine_similarity, try_normalize, try_pairwise_distance, try_pairwise_distance_keepdim,
};
pub use embedding::GpuEmbedding;
pub use glu_prelu::{GpuChannelPReLU, GpuPReLU};
pub use gru::{
    GpuGRU, GpuGRUCell, GpuRNN, GpuRNNCell, GpuRNNRelu, GpuRNNReluCell, GpuRecurrent,
    GpuRecurrentCell,
};
pub use instance_norm::GpuInstanceNorm;
pub use lbfgs::GpuLbfgsLoss;
pub use loss::{
    GpuLossTape, binary_cross_entropy, binary_cross_entropy_with_logits, huber_loss, kl_div,
    l1_loss, mse_loss, nll_loss, smooth_l1_loss, try_binary_cross_entropy,
    try_binary_cross_entropy_with_logits, try_huber_loss, try_kl_div, try_l1_loss, try_mse_loss,
    try_nll_loss, try_smooth_l1_loss,
};
pub use loss_class::{cross_entropy_probs, try_cross_entropy_probs};
pub use loss_embedding::{cosine_embedding_loss, try_cosine_embedding_loss};
pub use loss_margin::{
    hinge_embedding_loss, margin_ranking_loss, multilabel_soft_margin_loss, soft_margin_loss,
    try_hinge_embedding_loss, try_margin_ranking_loss, try_multilabel_soft_margin_loss,
    try_soft_margin_loss,
};
pub use loss_modules::{GpuLoss, GpuLossWeight};
pub use loss_nll::{
    gaussian_nll_loss, poisson_nll_loss, try_gaussian_nll_loss, try_poisson_nll_loss,
};
pub use loss_reduce::{GpuKlDivReduce, GpuReduce};
pub use nn::{GpuLinear, GpuParamMut, GpuParams};
pub use norm::{GpuBatchNorm, GpuGroupNorm, GpuLayerNorm};
pub use ops::{GpuOps, cross_entropy, try_cross_entropy};
pub use optim::{GpuOptimizer, GpuStep};
pub use recurrent::{GpuLSTM, GpuLSTMCell};
pub use reduce::GpuAxisOps;
pub use reduce_more::GpuReductions;
pub use rms_norm::GpuRMSNorm;
pub use shape_ops::GpuShapeOps;
pub use sort::GpuSort;
pub use static_split::{GpuChunk, GpuSplitParts};

pub use trainer::LOG_EVERY;
pub use transformer::GpuTransformerEncoderLayer;
pub use transformer_decoder::GpuTransformerDecoderLayer;
pub use transformer_decoder_dyn::{GpuTransformerDecoderDyn, GpuTransformerDecoderLayerDyn};
pub use transformer_dyn::{GpuTransformerEncoderDyn, GpuTransformerEncoderLayerDyn};
pub use transformer_stack::{GpuTransformerDecoder, GpuTransformerEncoder};

pub use tensor::{GpuAutograd, GpuBackward, GpuTensor, ToCpu, ToDevice};

/// Everything a GPU program uses: the device, the transfer traits and the op traits.
pub mod prelude {
    pub use super::{
        GpuActivations, GpuAutograd, GpuBackward, GpuOps, GpuOptimizer, GpuParams, GpuTensor,
        ToCpu, ToDevice, Wgpu,
    };
    pub use super::{GpuAxisOps, GpuReductions, GpuShapeOps};
    pub use super::{GpuCompare, GpuSort};
}
