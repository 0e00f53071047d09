//! L-BFGS ([`Lbfgs`]) on a GPU model: the closure (forward and backward, the costly part)
//! runs on the GPU; the quasi-Newton algebra is the CPU optimizer's own code, on a copy of the
//! parameters in main memory. Every closure call uploads the parameters the step changed and
//! reads the loss and the gradients back, which L-BFGS needs anyway (its every iteration
//! decides on the loss and on dot products of the gradients), so the steps are the CPU's.

use super::nn::{GpuParamMut, GpuParams};
use super::tensor::{GpuBackward, GpuTensor};
use crate::autograd::{BackwardTape, Gradients, UniqueId};
use crate::device::GpuStorage;
use crate::error::Result;
use crate::nn::{ParamMut, ParamView, Params, TensorKind};
use crate::optim::{Lbfgs, LbfgsLoss};
use crate::shape::{Dims, ScalarShape};

/// What the closure of [`Lbfgs::try_step_gpu`] returns: a traced GPU scalar loss (the
/// optimizer reads it back and runs `backward()`), or a `(loss, gradients)` pair with GPU
/// gradients computed some other way.
pub trait GpuLbfgsLoss {
    /// The loss as f64 (read back) and the GPU gradients.
    fn into_gpu_loss(self) -> Result<(f64, Gradients<f32>)>;
}

impl<S: ScalarShape, T: BackwardTape<f32>> GpuLbfgsLoss for GpuTensor<S, T> {
    fn into_gpu_loss(self) -> Result<(f64, Gradients<f32>)> {
        let value = self.data.device().download(&self.data)?;
        let value = value.first().map_or(f64::NAN, |v| f64::from(*v));
        Ok((value, GpuBackward::backward(self)))
    }
}

impl GpuLbfgsLoss for (f32, Gradients<f32>) {
    fn into_gpu_loss(self) -> Result<(f64, Gradients<f32>)> {
        Ok((f64::from(self.0), self.1))
    }
}

/// The GPU model seen by the CPU optimizer: its parameters copied to main memory, uploaded
/// again before the next closure call when the optimizer changed them.
struct Mirror<'m, M: ?Sized> {
    model: &'m mut M,
    params: Vec<(String, UniqueId, Vec<f32>)>,
    dirty: bool,
}

impl<M: GpuParams + ?Sized> Mirror<'_, M> {
    /// Uploads the parameters if the optimizer changed them.
    fn sync(&mut self) {
        if !self.dirty {
            return;
        }
        let mut i = 0;
        let params = &self.params;
        self.model.visit_gpu("", &mut |p: GpuParamMut<'_>| {
            let values = &params[i].2;
            *p.data = p.data.device().upload(values);
            i += 1;
        });
        self.dirty = false;
    }
}

impl<M: GpuParams + ?Sized> Params<f32> for Mirror<'_, M> {
    fn visit(&self, _: &str, f: &mut dyn FnMut(ParamView<'_, f32>)) {
        for (name, id, data) in &self.params {
            f(ParamView {
                name: name.as_str(),
                dims: Dims::new(&[data.len()]).expect("rank 1"),
                data: data.as_slice(),
                id: *id,
                kind: TensorKind::Parameter,
            });
        }
    }
    fn visit_mut(&mut self, _: &str, f: &mut dyn FnMut(ParamMut<'_, f32>)) {
        self.dirty = true;
        for (name, id, data) in &mut self.params {
            f(ParamMut {
                name: name.as_str(),
                dims: Dims::new(&[data.len()]).expect("rank 1"),
                data: data.as_mut_slice(),
                id: *id,
                kind: TensorKind::Parameter,
            });
        }
    }
}

impl Lbfgs<f32> {
    /// [`try_step`](Lbfgs::try_step) for a GPU model: up to `max_iter` iterations, each
    /// calling `closure` (which runs the model on the GPU and returns its traced loss) once
    /// without line search. Same settings, state ([`state`](Lbfgs::state) /
    /// [`load_state`](Lbfgs::load_state), interchangeable with a CPU run) and results as on
    /// the CPU; the parameters cross to main memory once per step and back once per closure
    /// call (see the module's note). Returns the loss of the first call.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::optim::{Lbfgs, LineSearch};
    /// let gpu = Wgpu::new()?;
    /// let mut p = Tensor::<Rank1<2>>::zeros().to_device(&gpu)?;
    /// let mut opt = Lbfgs::new(1.0).line_search(LineSearch::StrongWolfe);
    /// let first = opt.try_step_gpu(&mut p, |p| Ok((p.clone().trace() + -3.0).square().sum()))?;
    /// assert_eq!(first, 18.0);
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn try_step_gpu<M, L>(
        &mut self,
        model: &mut M,
        mut closure: impl FnMut(&mut M) -> Result<L>,
    ) -> Result<f64>
    where
        M: GpuParams + ?Sized,
        L: GpuLbfgsLoss,
    {
        let mut params = Vec::new();
        let mut failed = None;
        model.visit_gpu("", &mut |p| {
            match p.data.device().download(p.data) {
                Ok(v) => params.push((p.name.to_string(), p.id, v)),
                Err(e) => failed = failed.take().or(Some(e)),
            };
        });
        if let Some(e) = failed {
            return Err(e);
        }
        let mut mirror = Mirror {
            model,
            params,
            dirty: false,
        };
        let out = self.try_step(&mut mirror, |m: &mut Mirror<'_, M>| {
            m.sync();
            let (loss, gpu_grads) = closure(m.model)?.into_gpu_loss()?;
            let mut grads = Gradients::default();
            for (_, id, _) in &m.params {
                if let Some(g) = gpu_grads.get_gpu_storage(*id) {
                    grads.insert(*id, download(&g)?);
                }
            }
            Ok(Evaluated(loss, grads))
        });
        mirror.sync();
        out
    }
}

fn download(g: &GpuStorage<f32>) -> Result<Vec<f32>> {
    g.device().download(g)
}

/// A loss value read back, with its gradients in main memory (the CPU optimizer's
/// [`LbfgsLoss`]).
struct Evaluated(f64, Gradients<f32>);

impl LbfgsLoss<f32> for Evaluated {
    fn into_loss(self) -> (f64, Gradients<f32>) {
        (self.0, self.1)
    }
}
