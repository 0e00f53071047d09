//! [`GpuInstanceNorm`]: `InstanceNorm1d/2d/3d` on the GPU, with or without the affine map and
//! running statistics. The kernels are [`GpuGroupNorm`](super::GpuGroupNorm)'s with one
//! channel per group; a tracking layer's running-statistics update and its evaluation by the
//! running statistics are [`GpuBatchNorm`](super::GpuBatchNorm)'s.

use super::nn::{GpuParamMut, GpuParams};
use super::norm::{NormPlan, channels_first, group_plan, normalize, visit_two};
use super::tensor::{GpuTensor, ToCpu, ToDevice, gpu_tensor};
use crate::autograd::{NoTape, Tape};
use crate::device::layer_kernels::{self, Groups, NormIndex, WeightAt};
use crate::device::{GpuStorage, Wgpu};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::mode::ModeFlag;
use crate::nn::{InstanceNormLayer, Module, Params};
use crate::shape::check::{DimCheck, InstanceNormChannels};
use crate::shape::{Dim, DimEq, Shape, ShapeMismatch};
use std::sync::{Mutex, PoisonError};

/// [`InstanceNormLayer`] (`InstanceNorm1d/2d/3d` and their `Dyn` forms) on the GPU, made by
/// `instance_norm.to_device(&gpu)`: each channel of each sample normalised over its
/// positions with the biased variance, then the per-channel affine map when the layer has
/// one; of the CPU layer's element type `E` (f32 or f64).
///
/// A layer with running statistics (`track_running_stats(true)`) brings them along. In
/// training mode ([`Module::forward_train`], or `forward` after [`train`](Self::train)) it
/// normalises each slice by its own statistics and updates the running ones on the GPU,
/// `running = (1 - momentum) running + momentum stat` with `stat` the batch average of the
/// slices' means and unbiased variances (PyTorch's rule, as on the CPU); in evaluation mode
/// it normalises channel `c` by `running_mean[c]` and `running_var[c]`. `to_cpu()` brings
/// them back. Without tracking, training and evaluation are the same.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{InstanceNorm1d, Module};
/// let gpu = Wgpu::new()?;
/// let norm = InstanceNorm1d::<2>::new().to_device(&gpu)?;
/// let x = Tensor::<Rank3<1, 2, 2>>::from_array([[[1.0, 3.0], [5.0, 5.0]]]);
/// let y = norm.forward(x.to_device(&gpu)?).to_cpu()?.to_vec();
/// assert!((y[0] + 1.0).abs() < 1e-4 && (y[1] - 1.0).abs() < 1e-4 && y[2] == 0.0);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Debug)]
pub struct GpuInstanceNorm<C: Dim, const K: usize, E: Float = f32> {
    /// Per-channel scale, `(C,)`, with the affine map.
    pub weight: Option<GpuTensor<(C,), NoTape, E>>,
    /// Per-channel shift, `(C,)`, with the affine map.
    pub bias: Option<GpuTensor<(C,), NoTape, E>>,
    /// Added to the variance inside the square root.
    pub eps: f64,
    /// Weight of the newest batch in the running statistics (when the layer tracks them).
    pub momentum: f64,
    /// `(running_mean, running_var)` when tracking, replaced by each training-mode forward
    /// pass (through `&self`, as BatchNorm's).
    running: Option<Mutex<(GpuStorage<E>, GpuStorage<E>)>>,
    mode: ModeFlag,
    channels: C,
}

impl<C: Dim, const K: usize, E: Float> Clone for GpuInstanceNorm<C, K, E> {
    fn clone(&self) -> Self {
        GpuInstanceNorm {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            eps: self.eps,
            momentum: self.momentum,
            running: self.running_buffers().map(Mutex::new),
            mode: self.mode,
            channels: self.channels,
        }
    }
}

impl<C: Dim, const K: usize, E: Float> GpuInstanceNorm<C, K, E> {
    fn running_buffers(&self) -> Option<(GpuStorage<E>, GpuStorage<E>)> {
        self.running
            .as_ref()
            .map(|r| r.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }
    /// Whether the layer keeps running statistics.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::{InstanceNorm1d, Module};
    /// let gpu = Wgpu::new()?;
    /// let mut norm = InstanceNorm1d::<3>::new().track_running_stats(true).to_device(&gpu)?;
    /// assert!(norm.tracks_running_stats());
    /// norm.train(); // `forward` now updates the running statistics
    /// let _ = norm.forward(Tensor::<Rank3<2, 3, 4>>::ones().to_device(&gpu)?);
    /// assert_eq!(norm.running_mean().unwrap().to_cpu()?.to_vec(), vec![0.1; 3]);
    /// assert_eq!(norm.running_var().unwrap().to_cpu()?.to_vec(), vec![0.9; 3]);
    /// norm.eval();
    /// assert!(!norm.is_training());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn tracks_running_stats(&self) -> bool {
        self.running.is_some()
    }
    /// The running mean, `(C,)`, on the GPU; `None` without tracking (see
    /// [`tracks_running_stats`](Self::tracks_running_stats)).
    pub fn running_mean(&self) -> Option<GpuTensor<(C,), NoTape, E>> {
        let (mean, _) = self.running_buffers()?;
        Some(gpu_tensor((self.channels,), mean, NoTape))
    }
    /// The running (unbiased) variance, `(C,)`, on the GPU; `None` without tracking (see
    /// [`tracks_running_stats`](Self::tracks_running_stats)).
    pub fn running_var(&self) -> Option<GpuTensor<(C,), NoTape, E>> {
        let (_, var) = self.running_buffers()?;
        Some(gpu_tensor((self.channels,), var, NoTape))
    }
    /// Training mode for every later `forward` (PyTorch's `norm.train()`; see
    /// [`tracks_running_stats`](Self::tracks_running_stats)).
    pub fn train(&mut self) {
        self.mode.set(true);
    }
    /// Evaluation mode for every later `forward` (PyTorch's `norm.eval()`; see
    /// [`tracks_running_stats`](Self::tracks_running_stats)).
    pub fn eval(&mut self) {
        self.mode.set(false);
    }
    /// Whether the layer's own flag says training.
    pub fn is_training(&self) -> bool {
        self.mode.get()
    }

    fn normalize<S: Shape, T: Tape<E>>(&self, x: GpuTensor<S, T, E>) -> Result<GpuTensor<S, T, E>> {
        let c = self.channels.size();
        let dims = x.shape.dims();
        let (n, inner) = channels_first("InstanceNorm", &dims, c)?;
        let affine = self.weight.as_ref().zip(self.bias.as_ref());
        let Some(running) = &self.running else {
            let (stats, plan) = group_plan(&x.data, (n, c, c, inner), self.eps);
            return Ok(normalize(x, affine, stats, true, plan));
        };
        if self.mode.active() {
            if inner < 2 {
                return Err(Error::value(
                    "InstanceNorm input",
                    format!(
                        "training with running statistics needs more than 1 value per channel \
                         of each sample, got input of shape {:?}",
                        dims.as_slice()
                    ),
                ));
            }
            let (stats, plan) = group_plan(&x.data, (n, c, c, inner), self.eps);
            // The slices' statistics are `(n, c)`: each channel's batch average.
            let per_channel = Groups {
                groups: c,
                m: n,
                inner: 1,
            };
            let (mean, _) = layer_kernels::group_stats(&stats.0, per_channel);
            let (var, _) = layer_kernels::group_stats(&stats.1, per_channel);
            let unbias = inner as f64 / (inner - 1) as f64;
            let mut r = running.lock().unwrap_or_else(PoisonError::into_inner);
            *r = layer_kernels::bn_running((&r.0, &r.1), (&mean, &var), self.momentum, unbias);
            return Ok(normalize(x, affine, stats, true, plan));
        }
        // Evaluation: BatchNorm's plan, with the running statistics as constants.
        let channels = Groups {
            groups: c,
            m: n * inner,
            inner,
        };
        let plan = NormPlan {
            stats: channels,
            params: channels,
            ix: NormIndex {
                sdiv: inner.max(1),
                smod: c.max(1),
                pdiv: inner.max(1),
                pmod: c.max(1),
            },
            at: WeightAt::Outside,
            eps: self.eps,
        };
        let stats = running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Ok(normalize(x, affine, stats, false, plan))
    }
}

impl<C: Dim, const K: usize, E: Float> ToDevice for InstanceNormLayer<C, K, E> {
    type Output = GpuInstanceNorm<C, K, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuInstanceNorm<C, K, E>> {
        let running = if self.tracks_running_stats() {
            // `visit` reports running statistics updated through `&self` and not yet synced.
            let (mut mean, mut var) = (Vec::new(), Vec::new());
            self.visit("", &mut |p| match p.name {
                "running_mean" => mean = p.data.to_vec(),
                "running_var" => var = p.data.to_vec(),
                _ => {}
            });
            Some(Mutex::new((gpu.upload(&mean), gpu.upload(&var))))
        } else {
            None
        };
        let mut mode = ModeFlag::default();
        mode.set(self.is_training());
        Ok(GpuInstanceNorm {
            weight: self.weight.as_ref().map(|w| w.to_device(gpu)).transpose()?,
            bias: self.bias.as_ref().map(|b| b.to_device(gpu)).transpose()?,
            eps: self.eps,
            momentum: self.momentum,
            running,
            mode,
            channels: self.channel_dim(),
        })
    }
}

impl<C: Dim, const K: usize, E: Float> ToCpu for GpuInstanceNorm<C, K, E> {
    type Output = InstanceNormLayer<C, K, E>;
    fn to_cpu(&self) -> Result<InstanceNormLayer<C, K, E>> {
        let mut layer = InstanceNormLayer::with_dims(self.channels, self.weight.is_some());
        layer.weight = self.weight.as_ref().map(|w| w.to_cpu()).transpose()?;
        layer.bias = self.bias.as_ref().map(|b| b.to_cpu()).transpose()?;
        layer.eps = self.eps;
        layer.momentum = self.momentum;
        layer.running_mean = self.running_mean().map(|t| t.to_cpu()).transpose()?;
        layer.running_var = self.running_var().map(|t| t.to_cpu()).transpose()?;
        layer.set_training(self.is_training());
        Ok(layer)
    }
}

impl<C: Dim, const K: usize, E: Float> GpuParams<E> for GpuInstanceNorm<C, K, E> {
    /// The trainable parameters (`weight`, `bias`, when affine); the running statistics are
    /// buffers that no optimizer steps.
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        if let (Some(w), Some(b)) = (&mut self.weight, &mut self.bias) {
            visit_two((w, b), prefix, f);
        }
    }
    fn set_training(&mut self, training: bool) {
        self.mode.set(training);
    }
    fn is_training(&self) -> bool {
        self.mode.get()
    }
}

macro_rules! gpu_instancenorm_module {
    ($k:literal; $($A:ident),*) => {
        impl<C: Dim, E: Float, T: Tape<E>, N: Dim, C2: DimEq<C>, $($A: Dim),*>
            Module<GpuTensor<(N, C2, $($A,)*), T, E>> for GpuInstanceNorm<C, $k, E>
        {
            type Output = GpuTensor<(N, C2, $($A,)*), T, E>;
            const SHAPE_MISMATCH: ShapeMismatch =
                DimCheck::<C2, C, InstanceNormChannels>::MISMATCH;
            fn try_forward(&self, x: GpuTensor<(N, C2, $($A,)*), T, E>) -> Result<Self::Output> {
                let () = <Self as Module<GpuTensor<(N, C2, $($A,)*), T, E>>>::SHAPE_CHECK;
                self.normalize(x)
            }
        }
    };
}
gpu_instancenorm_module!(1; L);
gpu_instancenorm_module!(2; H, W);
gpu_instancenorm_module!(3; D, H, W);
