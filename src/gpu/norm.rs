//! Normalisation layers on the GPU: [`GpuLayerNorm`], [`GpuBatchNorm`], [`GpuGroupNorm`] and
//! [`GpuInstanceNorm`](super::GpuInstanceNorm) (in `instance_norm.rs`), made by `to_device` of the CPU layers and read back by `to_cpu`, with
//! PyTorch's maths as on the CPU. All four are the same three kernels: statistics of groups of elements
//! (rows, channels, channel groups), the affine normalisation, and its closed-form backward
//! (per-group sums, then the input gradient).

use super::nn::{GpuParamMut, GpuParams};
use super::tensor::{
    GpuTensor, ToCpu, ToDevice, add_grad, gpu_tensor, split, take_grad, wants, with_tape,
};
use crate::autograd::{Gradients, NoTape, Tape, UniqueId};
use crate::device::layer_kernels::{self, Groups, NormIndex, WeightAt};
use crate::device::{GpuStorage, Wgpu};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::nn::mode::ModeFlag;
use crate::nn::{BatchNormLayer, GroupNorm, LayerNormLayer, Module, Params};
use crate::shape::check::{BatchNormChannels, DimCheck, LayerNormInput};
use crate::shape::{Dim, DimEq, LastDim, Rank1, Shape, ShapeMismatch};
use std::sync::{Mutex, PoisonError};

/// One normalisation's geometry: how its statistics are grouped and indexed, and where its
/// weight acts.
#[derive(Clone, Copy)]
pub(super) struct NormPlan {
    /// The groups the statistics are taken over.
    pub(super) stats: Groups,
    /// The groups the parameter gradients sum over (one per parameter element).
    pub(super) params: Groups,
    pub(super) ix: NormIndex,
    pub(super) at: WeightAt,
    pub(super) eps: f64,
}

/// A weight and a bias, both of shape `SW`.
pub(super) type Affine<'a, SW, E> = (&'a GpuTensor<SW, NoTape, E>, &'a GpuTensor<SW, NoTape, E>);

/// Normalises `x` by `stats` (the batch's when `batch`), applies `w`, `b` (when `affine`
/// holds them) and records the backward step for `x`, `w` and `b`.
pub(super) fn normalize<S: Shape, SW: Shape, E: Float, T: Tape<E>>(
    x: GpuTensor<S, T, E>,
    affine: Option<Affine<'_, SW, E>>,
    stats: (GpuStorage<E>, GpuStorage<E>),
    batch: bool,
    plan: NormPlan,
) -> GpuTensor<S, T, E> {
    let (x, tx) = split(x);
    let mut tape = tx;
    if let Some((w, b)) = affine {
        tape = tape.merge(T::leaf(w.id)).merge(T::leaf(b.id));
    }
    let (wd, bd) = match affine {
        Some((w, b)) => (Some(w.data.clone()), Some(b.data.clone())),
        None => (None, None),
    };
    let y = layer_kernels::norm_apply(
        &x.data,
        (&stats.0, &stats.1),
        wd.as_ref(),
        bd.as_ref(),
        plan.ix,
        plan.eps,
    );
    let out = gpu_tensor(x.shape, y, NoTape);
    let ids: Option<(UniqueId, UniqueId)> = affine.map(|(w, b)| (w.id, b.id));
    let track_x = wants(&tape, x.id);
    let (track_w, track_b) = ids.map_or((false, false), |(w_id, b_id)| {
        (wants(&tape, w_id), wants(&tape, b_id))
    });
    if track_x || track_w || track_b {
        let (x_id, out_id, xd) = (x.id, out.id, x.data);
        tape.record(
            out_id,
            Box::new(move |g: &mut Gradients<E>| {
                let Some(gy) = take_grad(g, out_id) else {
                    return;
                };
                let st = (&stats.0, &stats.1);
                let NormPlan {
                    stats: sg,
                    params: pg,
                    ix,
                    at,
                    eps,
                } = plan;
                let param_sums =
                    (track_w || track_b || (at == WeightAt::Outside && batch && track_x))
                        .then(|| layer_kernels::group_sums(&gy, &xd, st, None, pg, ix, eps));
                if track_x {
                    let c1 = E::ONE / E::from_usize(sg.m.max(1));
                    let gx = match at {
                        WeightAt::Inside => {
                            let sums =
                                layer_kernels::group_sums(&gy, &xd, st, wd.as_ref(), sg, ix, eps);
                            layer_kernels::norm_backward_x(
                                &gy,
                                &xd,
                                st,
                                wd.as_ref().map(|w| (w, at)),
                                Some((&sums, c1)),
                                ix,
                                eps,
                            )
                        }
                        // BatchNorm: statistics groups are the parameter groups.
                        WeightAt::Outside => layer_kernels::norm_backward_x(
                            &gy,
                            &xd,
                            st,
                            wd.as_ref().map(|w| (w, at)),
                            batch.then(|| (param_sums.as_ref().expect("computed above"), c1)),
                            ix,
                            eps,
                        ),
                    };
                    add_grad(g, x_id, gx);
                }
                if let (Some(sums), Some((w_id, b_id))) =
                    (param_sums.filter(|_| track_w || track_b), ids)
                {
                    let (gb, gw) = layer_kernels::halves(&sums, pg.groups);
                    if track_w {
                        add_grad(g, w_id, gw);
                    }
                    if track_b {
                        add_grad(g, b_id, gb);
                    }
                }
            }),
        );
    }
    with_tape(out, tape)
}

/// [`LayerNormLayer`] (`LayerNorm<D>`, `LayerNormDyn`) on the GPU, made by
/// `layer_norm.to_device(&gpu)`: the same `(D,)` weight and bias and `eps`, normalising the
/// last dimension with its biased variance; of the CPU layer's element type `E` (f32 or
/// f64).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{LayerNorm, Module};
/// let gpu = Wgpu::new()?;
/// let ln = LayerNorm::<4>::new().to_device(&gpu)?;
/// let x = Tensor::<Rank2<2, 4>>::ones().to_device(&gpu)?;
/// assert_eq!(ln.forward(x).to_cpu()?.to_vec(), vec![0.0; 8]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuLayerNorm<D: Dim, E: Float = f32> {
    /// Scale, `(D,)`.
    pub weight: GpuTensor<(D,), NoTape, E>,
    /// Shift, `(D,)`.
    pub bias: GpuTensor<(D,), NoTape, E>,
    /// Added to the variance inside the square root.
    pub eps: f64,
}

impl<D: Dim, E: Float> ToDevice for LayerNormLayer<D, E> {
    type Output = GpuLayerNorm<D, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuLayerNorm<D, E>> {
        Ok(GpuLayerNorm {
            weight: self.weight.to_device(gpu)?,
            bias: self.bias.to_device(gpu)?,
            eps: self.eps,
        })
    }
}

impl<D: Dim, E: Float> ToCpu for GpuLayerNorm<D, E> {
    type Output = LayerNormLayer<D, E>;
    fn to_cpu(&self) -> Result<LayerNormLayer<D, E>> {
        let mut ln = LayerNormLayer::with_dims(self.weight.shape.0);
        ln.weight = self.weight.to_cpu()?;
        ln.bias = self.bias.to_cpu()?;
        ln.eps = self.eps;
        Ok(ln)
    }
}

pub(super) fn visit_two<E: Float>(
    (w, b): (
        &mut GpuTensor<impl Shape, NoTape, E>,
        &mut GpuTensor<impl Shape, NoTape, E>,
    ),
    prefix: &str,
    f: &mut dyn FnMut(GpuParamMut<'_, E>),
) {
    f(GpuParamMut {
        name: &format!("{prefix}weight"),
        id: w.id,
        data: &mut w.data,
    });
    f(GpuParamMut {
        name: &format!("{prefix}bias"),
        id: b.id,
        data: &mut b.data,
    });
}

impl<D: Dim, E: Float> GpuParams<E> for GpuLayerNorm<D, E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        visit_two((&mut self.weight, &mut self.bias), prefix, f);
    }
}

impl<D: Dim, E: Float, S: Shape + LastDim, T: Tape<E>> Module<GpuTensor<S, T, E>>
    for GpuLayerNorm<D, E>
where
    S::Last: DimEq<D>,
{
    type Output = GpuTensor<S, T, E>;
    const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<S::Last, D, LayerNormInput>::MISMATCH;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        let () = <Self as Module<GpuTensor<S, T, E>>>::SHAPE_CHECK;
        let d = self.weight.shape.0.size();
        if x.shape.last().size() != d {
            return Err(Error::shape(
                "LayerNorm",
                format!(
                    "input of shape {:?} has last dimension {}, the layer normalises {d}",
                    x.shape.dims().as_slice(),
                    x.shape.last().size(),
                ),
            ));
        }
        let rows = x.shape.numel().checked_div(d).unwrap_or(0);
        let rows_grouped = Groups {
            groups: rows,
            m: d,
            inner: d,
        };
        let plan = NormPlan {
            stats: rows_grouped,
            params: Groups {
                groups: d,
                m: rows,
                inner: 1,
            },
            ix: NormIndex {
                sdiv: d.max(1),
                smod: rows.max(1),
                pdiv: 1,
                pmod: d.max(1),
            },
            at: WeightAt::Inside,
            eps: self.eps,
        };
        let stats = layer_kernels::group_stats(&x.data, rows_grouped);
        Ok(normalize(
            x,
            Some((&self.weight, &self.bias)),
            stats,
            true,
            plan,
        ))
    }
}

/// [`GroupNorm`] on the GPU, made by `group_norm.to_device(&gpu)`: `G` groups of the `C`
/// channels of `(N, C, *)` inputs, per-channel weight and bias, of the CPU layer's element
/// type `E` (f32 or f64).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{GroupNorm, Module};
/// let gpu = Wgpu::new()?;
/// let gn = GroupNorm::<2, 4>::new().to_device(&gpu)?;
/// let y = gn.forward(Tensor::<Rank4<1, 4, 2, 2>>::ones().to_device(&gpu)?);
/// assert_eq!(y.to_cpu()?.to_vec(), vec![0.0; 16]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct GpuGroupNorm<const G: usize, const C: usize, E: Float = f32> {
    /// Per-channel scale, `(C,)`.
    pub weight: GpuTensor<Rank1<C>, NoTape, E>,
    /// Per-channel shift, `(C,)`.
    pub bias: GpuTensor<Rank1<C>, NoTape, E>,
    /// Added to the variance inside the square root.
    pub eps: f64,
}

impl<const G: usize, const C: usize, E: Float> ToDevice for GroupNorm<G, C, E> {
    type Output = GpuGroupNorm<G, C, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuGroupNorm<G, C, E>> {
        Ok(GpuGroupNorm {
            weight: self.weight.to_device(gpu)?,
            bias: self.bias.to_device(gpu)?,
            eps: self.eps,
        })
    }
}

impl<const G: usize, const C: usize, E: Float> ToCpu for GpuGroupNorm<G, C, E> {
    type Output = GroupNorm<G, C, E>;
    fn to_cpu(&self) -> Result<GroupNorm<G, C, E>> {
        let mut gn = GroupNorm::new();
        gn.weight = self.weight.to_cpu()?;
        gn.bias = self.bias.to_cpu()?;
        gn.eps = self.eps;
        Ok(gn)
    }
}

impl<const G: usize, const C: usize, E: Float> GpuParams<E> for GpuGroupNorm<G, C, E> {
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        visit_two((&mut self.weight, &mut self.bias), prefix, f);
    }
}

/// `(N, C, inner)` of an `(N, C, *)` input with `c` channels, or an `Err` naming `layer`.
pub(super) fn channels_first(
    layer: &'static str,
    dims: &[usize],
    c: usize,
) -> Result<(usize, usize)> {
    if dims.len() < 2 || dims[1] != c {
        return Err(Error::shape(
            layer,
            format!(
                "input of shape {dims:?} has {} channels (axis 1), the layer has {c}",
                dims.get(1).copied().unwrap_or(0)
            ),
        ));
    }
    Ok((dims[0], dims[2..].iter().product()))
}

/// The statistics and plan of a group normalisation of an `(n, c, inner)` input `x` in
/// `groups` groups of channels (`groups = c`: instance normalisation).
pub(super) fn group_plan<E: Float>(
    x: &GpuStorage<E>,
    (n, groups, c, inner): (usize, usize, usize, usize),
    eps: f64,
) -> ((GpuStorage<E>, GpuStorage<E>), NormPlan) {
    let m = c / groups * inner;
    let stats_groups = Groups {
        groups: n * groups,
        m,
        inner: m,
    };
    let plan = NormPlan {
        stats: stats_groups,
        params: Groups {
            groups: c,
            m: n * inner,
            inner,
        },
        ix: NormIndex {
            sdiv: m.max(1),
            smod: (n * groups).max(1),
            pdiv: inner.max(1),
            pmod: c.max(1),
        },
        at: WeightAt::Inside,
        eps,
    };
    (layer_kernels::group_stats(x, stats_groups), plan)
}

impl<const G: usize, const C: usize, E: Float, S: Shape, T: Tape<E>> Module<GpuTensor<S, T, E>>
    for GpuGroupNorm<G, C, E>
{
    type Output = GpuTensor<S, T, E>;
    fn try_forward(&self, x: GpuTensor<S, T, E>) -> Result<Self::Output> {
        let (n, inner) = channels_first("GroupNorm", &x.shape.dims(), C)?;
        if G == 0 || !C.is_multiple_of(G) {
            return Err(Error::value(
                "GroupNorm",
                format!("num_groups {G} must divide num_channels {C}"),
            ));
        }
        let (stats, plan) = group_plan(&x.data, (n, G, C, inner), self.eps);
        Ok(normalize(
            x,
            Some((&self.weight, &self.bias)),
            stats,
            true,
            plan,
        ))
    }
}

/// [`BatchNormLayer`] (`BatchNorm1d/2d/3d` and their `Dyn` forms) on the GPU, made by
/// `batch_norm.to_device(&gpu)` with its running statistics, momentum, `eps` and mode.
///
/// In training mode ([`Module::forward_train`], or `forward` after [`train`](Self::train))
/// it normalises with the batch's mean and biased variance and updates the running
/// statistics on the GPU, `running = (1 - momentum) running + momentum batch_stat` with the
/// unbiased variance, as PyTorch; in evaluation mode (the state of a fresh layer, as on the
/// CPU) it uses the running statistics. `to_cpu()` brings them back. Of the CPU layer's
/// element type `E` (f32 or f64).
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::gpu::prelude::*;
/// use shaped::nn::{BatchNorm1d, Module};
/// let gpu = Wgpu::new()?;
/// let mut bn = BatchNorm1d::<2>::new().to_device(&gpu)?;
/// let x = Tensor::<Rank2<4, 2>>::from_array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0], [4.0, 1.0]]);
/// let _ = bn.forward_train(x.to_device(&gpu)?);
/// let cpu = bn.to_cpu()?;
/// assert!((cpu.running_mean.as_slice()[0] - 0.25).abs() < 1e-6); // 0.9 * 0 + 0.1 * 2.5
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Debug)]
pub struct GpuBatchNorm<C: Dim, const K: usize, E: Float = f32> {
    /// Scale, `(C,)`.
    pub weight: GpuTensor<(C,), NoTape, E>,
    /// Shift, `(C,)`.
    pub bias: GpuTensor<(C,), NoTape, E>,
    /// Added to the variance inside the square root.
    pub eps: f64,
    /// Weight of the newest batch in the running statistics.
    pub momentum: f64,
    /// `(running_mean, running_var)`, replaced by each training-mode forward pass (through
    /// `&self`, as on the CPU).
    running: Mutex<(GpuStorage<E>, GpuStorage<E>)>,
    mode: ModeFlag,
}

impl<C: Dim, const K: usize, E: Float> Clone for GpuBatchNorm<C, K, E> {
    fn clone(&self) -> Self {
        let running = self.running_buffers();
        GpuBatchNorm {
            weight: self.weight.clone(),
            bias: self.bias.clone(),
            eps: self.eps,
            momentum: self.momentum,
            running: Mutex::new(running),
            mode: self.mode,
        }
    }
}

impl<C: Dim, const K: usize, E: Float> GpuBatchNorm<C, K, E> {
    fn running_buffers(&self) -> (GpuStorage<E>, GpuStorage<E>) {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    /// The running mean, `(C,)`, on the GPU.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::nn::{BatchNorm1d, Module};
    /// let gpu = Wgpu::new()?;
    /// let mut bn = BatchNorm1d::<3>::new().to_device(&gpu)?;
    /// bn.train(); // `forward` now trains, as after PyTorch's `bn.train()`
    /// let _ = bn.forward(Tensor::<Rank2<4, 3>>::ones().to_device(&gpu)?);
    /// assert_eq!(bn.running_mean().to_cpu()?.to_vec(), vec![0.1; 3]);
    /// bn.eval();
    /// assert!(!bn.is_training());
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn running_mean(&self) -> GpuTensor<(C,), NoTape, E> {
        gpu_tensor(self.weight.shape, self.running_buffers().0, NoTape)
    }
    /// The running (unbiased) variance, `(C,)`, on the GPU (see
    /// [`running_mean`](Self::running_mean)).
    pub fn running_var(&self) -> GpuTensor<(C,), NoTape, E> {
        gpu_tensor(self.weight.shape, self.running_buffers().1, NoTape)
    }
    /// Training mode for every later `forward` (PyTorch's `bn.train()`; see
    /// [`running_mean`](Self::running_mean)).
    pub fn train(&mut self) {
        self.mode.set(true);
    }
    /// Evaluation mode for every later `forward` (PyTorch's `bn.eval()`; see
    /// [`running_mean`](Self::running_mean)).
    pub fn eval(&mut self) {
        self.mode.set(false);
    }
    /// Whether the layer's own flag says training.
    pub fn is_training(&self) -> bool {
        self.mode.get()
    }

    fn forward_any<S: Shape, T: Tape<E>>(
        &self,
        x: GpuTensor<S, T, E>,
    ) -> Result<GpuTensor<S, T, E>> {
        let c = self.weight.shape.0.size();
        let dims = x.shape.dims();
        let (n, inner) = channels_first("BatchNorm", &dims, c)?;
        let per_channel = n * inner;
        let training = self.mode.active();
        if training && per_channel < 2 {
            return Err(Error::value(
                "BatchNorm input",
                format!(
                    "training needs more than 1 value per channel, got input of shape {:?}",
                    dims.as_slice()
                ),
            ));
        }
        let channels = Groups {
            groups: c,
            m: per_channel,
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
        let stats = if training {
            let (mean, var) = layer_kernels::group_stats(&x.data, channels);
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            let unbias = per_channel as f64 / per_channel.saturating_sub(1).max(1) as f64;
            *running = layer_kernels::bn_running(
                (&running.0, &running.1),
                (&mean, &var),
                self.momentum,
                unbias,
            );
            (mean, var)
        } else {
            self.running_buffers()
        };
        Ok(normalize(
            x,
            Some((&self.weight, &self.bias)),
            stats,
            training,
            plan,
        ))
    }
}

impl<C: Dim, const K: usize, E: Float> ToDevice for BatchNormLayer<C, K, E> {
    type Output = GpuBatchNorm<C, K, E>;
    fn to_device(&self, gpu: &Wgpu) -> Result<GpuBatchNorm<C, K, E>> {
        // `visit` reports running statistics updated through `&self` and not yet synced.
        let (mut mean, mut var) = (Vec::new(), Vec::new());
        self.visit("", &mut |p| match p.name {
            "running_mean" => mean = p.data.to_vec(),
            "running_var" => var = p.data.to_vec(),
            _ => {}
        });
        let mut mode = ModeFlag::default();
        mode.set(self.is_training());
        Ok(GpuBatchNorm {
            weight: self.weight.to_device(gpu)?,
            bias: self.bias.to_device(gpu)?,
            eps: self.eps,
            momentum: self.momentum,
            running: Mutex::new((gpu.upload(&mean), gpu.upload(&var))),
            mode,
        })
    }
}

impl<C: Dim, const K: usize, E: Float> ToCpu for GpuBatchNorm<C, K, E> {
    type Output = BatchNormLayer<C, K, E>;
    fn to_cpu(&self) -> Result<BatchNormLayer<C, K, E>> {
        let mut bn = BatchNormLayer::with_dims(self.weight.shape.0);
        bn.weight = self.weight.to_cpu()?;
        bn.bias = self.bias.to_cpu()?;
        bn.running_mean = self.running_mean().to_cpu()?;
        bn.running_var = self.running_var().to_cpu()?;
        bn.eps = self.eps;
        bn.momentum = self.momentum;
        bn.set_training(self.is_training());
        Ok(bn)
    }
}

impl<C: Dim, const K: usize, E: Float> GpuParams<E> for GpuBatchNorm<C, K, E> {
    /// The trainable parameters (`weight`, `bias`); the running statistics are buffers that
    /// no optimizer steps.
    fn visit_gpu(&mut self, prefix: &str, f: &mut dyn FnMut(GpuParamMut<'_, E>)) {
        visit_two((&mut self.weight, &mut self.bias), prefix, f);
    }
    fn set_training(&mut self, training: bool) {
        self.mode.set(training);
    }
    fn is_training(&self) -> bool {
        self.mode.get()
    }
}

// One impl per accepted input rank, as on the CPU.
macro_rules! gpu_batchnorm_module {
    ($k:literal; $($A:ident),*) => {
        impl<C: Dim, E: Float, T: Tape<E>, N: Dim, C2: DimEq<C>, $($A: Dim),*>
            Module<GpuTensor<(N, C2, $($A,)*), T, E>> for GpuBatchNorm<C, $k, E>
        {
            type Output = GpuTensor<(N, C2, $($A,)*), T, E>;
            const SHAPE_MISMATCH: ShapeMismatch = DimCheck::<C2, C, BatchNormChannels>::MISMATCH;
            fn try_forward(&self, x: GpuTensor<(N, C2, $($A,)*), T, E>) -> Result<Self::Output> {
                let () = <Self as Module<GpuTensor<(N, C2, $($A,)*), T, E>>>::SHAPE_CHECK;
                self.forward_any(x)
            }
        }
    };
}
gpu_batchnorm_module!(1;);
gpu_batchnorm_module!(1; L);
gpu_batchnorm_module!(2; H, W);
gpu_batchnorm_module!(3; D, H, W);
