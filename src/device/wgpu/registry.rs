//! Every kernel, for the check that each compiles for each element type
//! ([`Wgpu::kernel_compile_errors`]): kernels run only when an op needs them, so a WGSL
//! error in an f64 build would otherwise surface in a user's program, not in the tests.

use super::pipelines::{Kernel, compile_error};
use super::{Wgpu, compare_kernels, kernels, layer_kernels, loss_kernels, optim_kernels};
use super::{rnn_kernels, seq_kernels, sort_kernels, vol_kernels};

/// Every `kernel!` of the crate (a test checks the count against the sources).
const ALL: &[Kernel] = &[
    compare_kernels::K_COMPARE,
    compare_kernels::K_WHERE,
    layer_kernels::K_UNARY_EXT,
    layer_kernels::K_UNARY_EXT_BACKWARD,
    layer_kernels::K_PAIR,
    layer_kernels::K_PAIR_BACKWARD,
    layer_kernels::K_AVG_POOL,
    layer_kernels::K_AVG_POOL_BACKWARD,
    layer_kernels::K_GROUP_STATS,
    layer_kernels::K_NORM_APPLY,
    layer_kernels::K_GROUP_SUMS,
    layer_kernels::K_NORM_BACKWARD_X,
    layer_kernels::K_BN_RUNNING,
    layer_kernels::K_RMSPROP,
    layer_kernels::K_ADAGRAD,
    layer_kernels::K_ADAM_EXT,
    loss_kernels::K_LOSS_TERM,
    loss_kernels::K_LOSS_TERM_BACKWARD,
    loss_kernels::K_PICK,
    loss_kernels::K_PICK_BACKWARD,
    loss_kernels::K_SCAN,
    optim_kernels::K_ADAMAX,
    optim_kernels::K_NADAM,
    optim_kernels::K_RADAM,
    optim_kernels::K_ADADELTA,
    rnn_kernels::K_RNN_STEP,
    rnn_kernels::K_RNN_STEP_BACKWARD,
    seq_kernels::K_LSTM_GATES,
    seq_kernels::K_LSTM_GATES_BACKWARD,
    seq_kernels::K_ARG_EXTREME,
    seq_kernels::K_ARG_EXTREME_BACKWARD,
    seq_kernels::K_CONCAT,
    seq_kernels::K_NARROW,
    sort_kernels::K_SORT_LINES,
    sort_kernels::K_SORT_BACKWARD,
    kernels::K_BINARY,
    kernels::K_UNARY,
    kernels::K_UNARY_BACKWARD,
    kernels::K_STRIDED_COPY,
    kernels::K_SUM_TO,
    kernels::K_REDUCE_AXIS,
    kernels::K_MATMUL,
    kernels::K_LOG_SOFTMAX,
    kernels::K_LOG_SOFTMAX_BACKWARD,
    kernels::K_SOFTMAX,
    kernels::K_SOFTMAX_BACKWARD,
    kernels::K_SGD,
    kernels::K_ADAM,
    kernels::K_IM2COL,
    kernels::K_GATHER_ROWS,
    kernels::K_GATHER_ROWS_BACKWARD,
    kernels::K_COL2IM,
    kernels::K_MAX_POOL,
    kernels::K_MAX_POOL_BACKWARD,
    vol_kernels::K_VOL2COL,
    vol_kernels::K_COL2VOL,
    vol_kernels::K_MAX_POOL3D,
    vol_kernels::K_MAX_POOL3D_BACKWARD,
    vol_kernels::K_AVG_POOL3D,
    vol_kernels::K_AVG_POOL3D_BACKWARD,
];

impl Wgpu {
    /// The kernels that fail to compile on this adapter, as `"KEY (dtype): error"`: every
    /// kernel in f32 and, where the adapter has `SHADER_F64`, in f64. Empty when all
    /// compile. Compiling them all takes a while; the GPU tests call it once.
    #[doc(hidden)]
    pub fn kernel_compile_errors(&self) -> Vec<String> {
        let mut dtypes = vec!["f32"];
        if self.supports_f64() {
            dtypes.push("f64");
        }
        let mut errors = Vec::new();
        for k in ALL {
            for dtype in &dtypes {
                errors.extend(compile_error(self, *k, dtype));
            }
        }
        errors
    }

    /// How many kernels [`kernel_compile_errors`](Self::kernel_compile_errors) checks.
    #[doc(hidden)]
    pub fn kernel_count() -> usize {
        ALL.len()
    }
}
