//! L-BFGS ([`Lbfgs`]) on a GPU model: the closure (forward and backward, the costly part)
//! runs on the GPU; the quasi-Newton algebra is the CPU optimizer's own code, on a copy of the
//! parameters in main memory. Every closure call uploads the parameters the step changed and
//! reads the loss and the gradients back, which L-BFGS needs anyway (its every iteration
//! decides on the loss and on dot products of the gradients), so the steps are the CPU's.

use super::nn::{GpuParamMut, GpuParams};
use super::tensor::{GpuBackward, GpuTensor};
use crate::autograd::{BackwardTape, Gradients, UniqueId};
use crate::device::GpuStorage;
use crate::dtype::Float;
use crate::error::Result;
use crate::nn::{ParamMut, ParamView, Params, TensorKind};
use crate::optim::{Lbfgs, LbfgsLoss};
use crate::shape::{Dims, ScalarShape};

/// What the closure of [`Lbfgs::try_step_gpu`] returns: a traced GPU scalar loss (the
/// optimizer reads it back and runs `backward()`), or a `(loss, gradients)` pair with GPU
/// gradients computed some other way; of the model's element type `E` (f32 or f64).
pub trait GpuLbfgsLoss<E: Float = f32> {
    /// The loss as f64 (read back) and the GPU gradients.
    fn into_gpu_loss(self) -> Result<(f64, Gradients<E>)>;
}

impl<S: ScalarShape, E: Float, T: BackwardTape<E>> GpuLbfgsLoss<E> for GpuTensor<S, T, E> {
    fn into_gpu_loss(self) -> Result<(f64, Gradients<E>)> {
        let value = self.data.device().download(&self.data)?;
        let value = value.first().map_or(f64::NAN, |v| v.to_f64());
        Ok((value, GpuBackward::backward(self)))
    }
}

impl<E: Float> GpuLbfgsLoss<E> for (E, Gradients<E>) {
    fn into_gpu_loss(self) -> Result<(f64, Gradients<E>)> {
        Ok((self.0.to_f64(), self.1))
    }
}

/// The GPU model seen by the CPU optimizer: its parameters copied to main memory, uploaded
/// again before the next closure call when the optimizer changed them.
struct Mirror<'m, M: ?Sized, E> {
    model: &'m mut M,
    params: Vec<(String, UniqueId, Vec<E>)>,
    dirty: bool,
}

impl<E: Float, M: GpuParams<E> + ?Sized> Mirror<'_, M, E> {
    /// Uploads the parameters if the optimizer changed them.
    fn sync(&mut self) {
        if !self.dirty {
            return;
        }
        let mut i = 0;
        let params = &self.params;
        self.model.visit_gpu("", &mut |p: GpuParamMut<'_, E>| {
            let values = &params[i].2;
            *p.data = p.data.device().upload(values);
            i += 1;
        });
        self.dirty = false;
    }
}

impl<E: Float, M: GpuParams<E> + ?Sized> Params<E> for Mirror<'_, M, E> {
    fn visit(&self, _: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
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
    fn visit_mut(&mut self, _: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
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

impl<E: Float> Lbfgs<E> {
    /// [`try_step`](Lbfgs::try_step) for a GPU model: up to `max_iter` iterations, each
    /// calling `closure` (which runs the model on the GPU and returns its traced loss) once
    /// without line search. Same settings, state ([`state`](Lbfgs::state) /
    /// [`load_state`](Lbfgs::load_state), interchangeable with a CPU run) and results as on
    /// the CPU; the parameters cross to main memory once per step and back once per closure
    /// call (see the module's note). Returns the loss of the first call. `Lbfgs<f64>` steps
    /// an f64 GPU model.
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
        M: GpuParams<E> + ?Sized,
        L: GpuLbfgsLoss<E>,
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
        let out = self.try_step(&mut mirror, |m: &mut Mirror<'_, M, E>| {
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

fn download<E: Float>(g: &GpuStorage<E>) -> Result<Vec<E>> {
    g.device().download(g)
}

/// A loss value read back, with its gradients in main memory (the CPU optimizer's
/// [`LbfgsLoss`]).
struct Evaluated<E: Float>(f64, Gradients<E>);

impl<E: Float> LbfgsLoss<E> for Evaluated<E> {
    fn into_loss(self) -> (f64, Gradients<E>) {
        (self.0, self.1)
    }
}
