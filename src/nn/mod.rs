//! Layers and models: the [`Module`] trait, the [`Params`] visitor, and layers whose
//! parameter shapes are part of their types. [`double`] holds the same layers in `f64`.

mod activation;
mod attention;
mod attention_dyn;
mod batchnorm;
mod bilinear;
mod conv;
mod conv3d;
mod conv_dyn;
mod conv_grouped;
mod distance;
pub mod double;
mod dropout;
mod embedding;
mod groupnorm;
mod hooks;
pub mod init;
mod instancenorm;
mod layer_name;
mod layernorm;
mod linear;
pub mod loss;
pub(crate) mod mode;
mod module;
mod params;
mod pool;
mod prelu;
mod residual;
mod rmsnorm;
mod rnn;
mod rnn_cell;
mod rnn_forward;
mod rnn_layout;
mod rrelu;
mod running_stats;
mod sequential;
mod standardize;
mod summary;
mod sync_batchnorm;
mod tied;
mod transformer;
mod upsample;

pub use activation::{
    CELU, ELU, GELU, GELUTanh, GLU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU,
    LogSigmoid, LogSoftmax, Mish, ReLU, ReLU6, SELU, SiLU, Sigmoid, Softmax, Softplus, Softshrink,
    Softsign, Tanh, Tanhshrink, Threshold,
};
pub use attention::{AttentionInput, AttentionOptions, AttentionOutput, MultiheadAttention};
pub use attention_dyn::{AttentionOutputDyn, MultiheadAttentionDyn};
pub use batchnorm::{
    BatchNorm1d, BatchNorm1dDyn, BatchNorm2d, BatchNorm2dDyn, BatchNorm3d, BatchNorm3dDyn,
    BatchNormLayer,
};
pub use bilinear::{Bilinear, BilinearDyn, BilinearLayer};
pub use conv::{Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d};
pub use conv_dyn::{
    Conv1dConfig, Conv1dDyn, Conv2dConfig, Conv2dDyn, ConvConfig, ConvTranspose2dDyn,
};
pub use conv_grouped::{DepthwiseConv2d, GroupedConv2d, GroupedConvWeight};
pub use conv3d::Conv3d;
pub use distance::{CosineSimilarity, PairwiseDistance};
pub use dropout::Dropout;
pub use embedding::{AppendDim, Embedding, EmbeddingDyn, EmbeddingLayer, TracedIndices};
pub use groupnorm::{GroupNorm, GroupNormDyn};
pub use hooks::{ForwardHook, ForwardPreHook, HookExt};
pub use instancenorm::{
    InstanceNorm1d, InstanceNorm1dDyn, InstanceNorm2d, InstanceNorm2dDyn, InstanceNorm3d,
    InstanceNorm3dDyn, InstanceNormLayer,
};
pub use layernorm::{LayerNorm, LayerNormDyn, LayerNormLayer};
pub use linear::{Linear, LinearDyn, LinearLayer};
pub use module::Module;
pub use params::{
    ParamMut, ParamView, Params, TensorKind, module_name, visit_tensor, visit_tensor_mut,
};
pub use pool::{
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d,
    AvgPool2d, AvgPool3d, Flatten, MaxPool1d, MaxPool2d, MaxPool3d, Unflatten, UnflattenDyn,
};
pub use prelu::{ChannelPReLU, ChannelPReLUDyn, ChannelPReLULayer, PReLU};
pub use residual::{Frozen, Identity, Residual, SameAsInput};
pub use rmsnorm::{RMSNorm, RMSNormDyn, RMSNormLayer};
pub use rnn::{
    BiGRU, BiLSTM, BiRNN, BiRNNRelu, CellKind, GRU, GRUDyn, GruKind, LSTM, LSTMDyn, LstmKind, RNN,
    RNNDyn, RNNRelu, Recurrent, RecurrentDyn, RecurrentState, RnnReluKind, RnnTanhKind,
};
pub use rnn_cell::{GRUCell, LSTMCell, RNNCell, RNNReluCell, RecurrentCell, RecurrentCellDyn};
pub use rnn_layout::{BatchFirst, Bidirectional, Direction, Layout, SeqFirst, Unidirectional};
pub use rrelu::RReLU;
/// `#[derive(Module)]`: a struct whose layer fields run in order, as `nn.Sequential` with
/// named children (see the derive's documentation).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Linear, Module, Params, ReLU};
/// use rand::SeedableRng;
///
/// #[derive(Params, Module)]
/// struct Mlp(Linear<4, 8>, ReLU, Linear<8, 2>);
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mlp = Mlp(Linear::new(&mut rng), ReLU, Linear::new(&mut rng));
/// assert_eq!(mlp.forward(Tensor::<Rank2<1, 4>>::ones()).dims().as_slice(), &[1, 2]);
/// assert_eq!(mlp.param_names()[0], "0.weight");
/// ```
pub use shaped_derive::Module;
/// `#[derive(Params)]`: implements the [`Params`](trait@Params) trait for a struct or enum
/// of layers (see the derive's documentation for the naming rules).
///
/// ```
/// use shaped::nn::{Linear, Params};
/// use rand::SeedableRng;
///
/// #[derive(Params)]
/// struct Stack {
///     layers: [Linear<3, 3>; 2],
/// }
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let stack = Stack { layers: [Linear::new(&mut rng), Linear::new(&mut rng)] };
/// assert_eq!(
///     stack.param_names(),
///     ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
/// );
/// ```
pub use shaped_derive::Params;
pub use standardize::Standardizer;
pub use summary::{ModelSummary, SummaryLayer, SummaryTensor};
pub use sync_batchnorm::SyncBatchNorm;
pub use tied::{TiedLinear, TiedLinearDyn, TiedLinearLayer};
pub use transformer::{
    DecoderInput, EncoderInput, TransformerActivation, TransformerConfig, TransformerDecoder,
    TransformerDecoderDyn, TransformerDecoderLayer, TransformerDecoderLayerDyn, TransformerEncoder,
    TransformerEncoderDyn, TransformerEncoderLayer, TransformerEncoderLayerDyn, causal_mask,
    key_padding_mask,
};
pub use upsample::{PixelShuffle, PixelUnshuffle, Upsample};

// For the GPU's `pad`, `split`, `chunk` and `interpolate` (the `gpu` layer reaches `ops` only through `nn`).
#[cfg(feature = "wgpu")]
pub(crate) use crate::ops::{
    interpolate::{InterpolateSize, Interpolation, resample_taps},
    pad::PadMode,
    split::{SplitSizes, chunk_sizes},
};

/// Items the derive macros' generated code names; not part of the public API.
#[doc(hidden)]
pub mod __derive {
    pub use crate::nn::layer_name::at_field;
}
