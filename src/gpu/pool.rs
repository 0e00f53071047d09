//! Average and adaptive average pooling on the GPU: [`AvgPool2d`] (PyTorch's
//! `nn.AvgPool2d(K, S, P)` in floor mode, `count_include_pad=True`, as the CPU layer) and
//! [`AdaptiveAvgPool2d`], on `(B, C, H, W)` and `(C, H, W)` GPU tensors. Both are one kernel
//! with PyTorch's windows; the backward pass gathers each input's share of the windows that
//! hold it. [`MaxPool1d`] and [`AvgPool1d`] on `(B, C, L)` and `(C, L)` run the 2-D kernels
//! on planes of one row, as the CPU layers do. [`AdaptiveMaxPool2d`] and [`AdaptiveMaxPool1d`]
//! are the max-pool kernel over PyTorch's adaptive windows (the gradient to each window's
//! first maximum, a NaN counting as the maximum, as on the CPU).

use super::tensor::{GpuTensor, add_grad, gpu_tensor, split, take_grad, wants, with_tape};
use crate::autograd::{Gradients, NoTape, Tape};
use crate::device::kernels::{self, Window};
use crate::device::layer_kernels::{self, AvgMode};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::{
    AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d,
    Module,
};
use crate::ops::pool::check_adaptive_max;
use crate::shape::{Const, Dim, PoolOut, Shape, ShapeMismatch};

/// Pools the `planes` planes of `x` (`h x w`) to `oh x ow` and records the backward step.
fn avg_pool_op<SI: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<SI, T, E>,
    out_shape: SO,
    g: Window,
    mode: AvgMode,
) -> GpuTensor<SO, T, E> {
    let (x, mut tape) = split(x);
    let y = layer_kernels::avg_pool(&x.data, &g, mode);
    let out = gpu_tensor(out_shape, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, out.id);
        tape.record(
            out_id,
            Box::new(move |grads: &mut Gradients<E>| {
                let Some(gy) = take_grad(grads, out_id) else {
                    return;
                };
                add_grad(grads, x_id, layer_kernels::avg_pool_backward(&gy, &g, mode));
            }),
        );
    }
    with_tape(out, tape)
}

fn window(
    planes: usize,
    h: usize,
    w: usize,
    (k, s, p): (usize, usize, usize),
    oh: usize,
    ow: usize,
) -> Window {
    Window {
        line: false,
        n: planes,
        c: 1,
        h,
        w,
        k,
        stride: s,
        pad: p,
        dilation: 1,
        oh,
        ow,
    }
}

macro_rules! gpu_pools {
    ($([$B:ident $b:ident])? ) => {
        impl<$($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<GpuTensor<($($B,)? C, H, W), T, E>> for AvgPool2d<K, S, P>
        {
            type Output = GpuTensor<($($B,)? C, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), T, E>;
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<H, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<W, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: GpuTensor<($($B,)? C, H, W), T, E>) -> Result<Self::Output> {
                let ($($b,)? c, h, w) = x.shape;
                let (oh, ow) = (PoolOut::<H, K, S, P>::new(h)?, PoolOut::<W, K, S, P>::new(w)?);
                let planes = 1 $(* $b.size())? * c.size();
                let g = window(planes, h.size(), w.size(), (K, S, P), oh.size(), ow.size());
                Ok(avg_pool_op(x, ($($b,)? c, oh, ow), g, AvgMode::Window))
            }
        }

        impl<$($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const OH: usize, const OW: usize>
            Module<GpuTensor<($($B,)? C, H, W), T, E>> for AdaptiveAvgPool2d<OH, OW>
        {
            type Output = GpuTensor<($($B,)? C, Const<OH>, Const<OW>), T, E>;
            fn try_forward(&self, x: GpuTensor<($($B,)? C, H, W), T, E>) -> Result<Self::Output> {
                const { assert!(OH >= 1 && OW >= 1, "adaptive pooling: the output size must be at least 1x1") };
                let ($($b,)? c, h, w) = x.shape;
                if h.size() == 0 || w.size() == 0 {
                    return Err(Error::shape(
                        "adaptive_avg_pool2d",
                        format!("cannot pool an empty {}x{} input", h.size(), w.size()),
                    ));
                }
                let planes = 1 $(* $b.size())? * c.size();
                let g = window(planes, h.size(), w.size(), (0, 1, 0), OH, OW);
                Ok(avg_pool_op(x, ($($b,)? c, Const::<OH>, Const::<OW>), g, AvgMode::Adaptive))
            }
        }
    };
}

gpu_pools!([B b]);
gpu_pools!();

no_params_on_gpu!([const K: usize, const S: usize, const P: usize,] AvgPool2d<K, S, P>);
no_params_on_gpu!([const OH: usize, const OW: usize,] AdaptiveAvgPool2d<OH, OW>);

/// Max pooling of the planes of `x` (`g`; PyTorch's adaptive windows where `adaptive`) and
/// its backward step: the gradient goes to each window's first maximum, as on the CPU.
fn max_pool_op<SI: Shape, SO: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<SI, T, E>,
    out_shape: SO,
    g: Window,
    adaptive: bool,
) -> GpuTensor<SO, T, E> {
    let (x, mut tape) = split(x);
    let (y, idx) = if adaptive {
        kernels::adaptive_max_pool(&x.data, &g)
    } else {
        kernels::max_pool(&x.data, &g)
    };
    let out = gpu_tensor(out_shape, y, NoTape);
    if wants(&tape, x.id) {
        let (x_id, out_id) = (x.id, out.id);
        tape.record(
            out_id,
            Box::new(move |grads: &mut Gradients<E>| {
                let Some(gy) = take_grad(grads, out_id) else {
                    return;
                };
                add_grad(
                    grads,
                    x_id,
                    kernels::max_pool_backward(&idx, &gy, &g, adaptive),
                );
            }),
        );
    }
    with_tape(out, tape)
}

/// The window of a 1-D pooling of `planes` rows of `l` to `ol` outputs. The max-pool kernel
/// reads it as a square `K x K` window over planes of one row with one output row: of the
/// window's rows `-P .. K - P` only row 0 exists (`P <= K/2 < K`), and the others count as
/// `-inf`, so each output is the maximum of its 1-D window. Average pooling reads it in
/// [`AvgMode::Line`], which keeps padded rows out of the divisor.
fn line_window(planes: usize, l: usize, ol: usize, (k, s, p): (usize, usize, usize)) -> Window {
    window(planes, 1, l, (k, s, p), 1, ol)
}

macro_rules! gpu_pools_1d {
    ($([$B:ident $b:ident])? ) => {
        impl<$($B: Dim,)? C: Dim, L: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<GpuTensor<($($B,)? C, L), T, E>> for MaxPool1d<K, S, P>
        {
            type Output = GpuTensor<($($B,)? C, PoolOut<L, K, S, P>), T, E>;
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<L, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: GpuTensor<($($B,)? C, L), T, E>) -> Result<Self::Output> {
                let ($($b,)? c, l) = x.shape;
                let ol = PoolOut::<L, K, S, P>::new(l)?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = line_window(planes, l.size(), ol.size(), (K, S, P));
                Ok(max_pool_op(x, ($($b,)? c, ol), g, false))
            }
        }

        impl<$($B: Dim,)? C: Dim, L: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<GpuTensor<($($B,)? C, L), T, E>> for AvgPool1d<K, S, P>
        {
            type Output = GpuTensor<($($B,)? C, PoolOut<L, K, S, P>), T, E>;
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<L, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: GpuTensor<($($B,)? C, L), T, E>) -> Result<Self::Output> {
                let ($($b,)? c, l) = x.shape;
                let ol = PoolOut::<L, K, S, P>::new(l)?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = line_window(planes, l.size(), ol.size(), (K, S, P));
                Ok(avg_pool_op(x, ($($b,)? c, ol), g, AvgMode::Line))
            }
        }
    };
}

macro_rules! gpu_adaptive_max {
    ($([$B:ident $b:ident])? ) => {
        impl<$($B: Dim,)? C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const OH: usize, const OW: usize>
            Module<GpuTensor<($($B,)? C, H, W), T, E>> for AdaptiveMaxPool2d<OH, OW>
        {
            type Output = GpuTensor<($($B,)? C, Const<OH>, Const<OW>), T, E>;
            fn try_forward(&self, x: GpuTensor<($($B,)? C, H, W), T, E>) -> Result<Self::Output> {
                const { assert!(OH >= 1 && OW >= 1, "adaptive pooling: the output size must be at least 1x1") };
                let ($($b,)? c, h, w) = x.shape;
                check_adaptive_max("adaptive_max_pool2d", h.size(), w.size())?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = window(planes, h.size(), w.size(), (0, 1, 0), OH, OW);
                Ok(max_pool_op(x, ($($b,)? c, Const::<OH>, Const::<OW>), g, true))
            }
        }

        impl<$($B: Dim,)? C: Dim, L: Dim, E: Float, T: Tape<E>, const O: usize>
            Module<GpuTensor<($($B,)? C, L), T, E>> for AdaptiveMaxPool1d<O>
        {
            type Output = GpuTensor<($($B,)? C, Const<O>), T, E>;
            fn try_forward(&self, x: GpuTensor<($($B,)? C, L), T, E>) -> Result<Self::Output> {
                const { assert!(O >= 1, "adaptive pooling: the output size must be at least 1") };
                let ($($b,)? c, l) = x.shape;
                check_adaptive_max("adaptive_max_pool1d", 1, l.size())?;
                let planes = 1 $(* $b.size())? * c.size();
                let g = window(planes, 1, l.size(), (0, 1, 0), 1, O);
                Ok(max_pool_op(x, ($($b,)? c, Const::<O>), g, true))
            }
        }
    };
}

gpu_adaptive_max!([B b]);
gpu_adaptive_max!();

no_params_on_gpu!([const OH: usize, const OW: usize,] AdaptiveMaxPool2d<OH, OW>);
no_params_on_gpu!([const O: usize,] AdaptiveMaxPool1d<O>);

gpu_pools_1d!([B b]);
gpu_pools_1d!();

no_params_on_gpu!([const K: usize, const S: usize, const P: usize,] MaxPool1d<K, S, P>);
no_params_on_gpu!([const K: usize, const S: usize, const P: usize,] AvgPool1d<K, S, P>);
