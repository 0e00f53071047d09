//! Saving and loading a [`GpuOptimizer`]'s state in the CPU optimizers' layout: the same
//! names (`"step"`, `"<param>.<buffer>"`, the `param_groups` entries), so a state saved on
//! the GPU loads into the CPU optimizer and back, and the next steps are the same.

use super::optim::{Buffer, GpuOptimizer, GpuStep, ParamState};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::optim::{check_step_count, is_group_entry};
use std::collections::BTreeMap;

impl<E: Float, O: GpuStep<E>> GpuOptimizer<O, E> {
    /// The optimizer's state, copied to the CPU, as the CPU optimizer's
    /// [`Optimizer::state`](crate::optim::Optimizer::state) has it: `"step"`, every buffer
    /// the CPU optimizer would keep as `"<param>.<buffer>"` (by parameter, then buffer name),
    /// and with parameter groups the group entries. To save it, put it in a
    /// [`Checkpoint`](crate::serialize::Checkpoint)'s `optimizer` field.
    ///
    /// ```no_run
    /// use shaped::prelude::*;
    /// use shaped::gpu::prelude::*;
    /// use shaped::optim::{Adam, Optimizer};
    /// let gpu = Wgpu::new()?;
    /// let mut w = Tensor::<Rank1<2>>::ones().to_device(&gpu)?;
    /// let mut opt = GpuOptimizer::new(Adam::new(0.1));
    /// let grads = w.clone().trace().square().sum().backward();
    /// opt.step(&mut w, &grads)?;
    /// // The same state on the CPU: the next step there is the GPU's next step.
    /// let mut cpu = Adam::<f32>::new(0.1);
    /// cpu.load_state(opt.state()?)?;
    /// # Ok::<(), shaped::error::Error>(())
    /// ```
    pub fn state(&self) -> Result<Vec<(String, Vec<E>)>> {
        let names = self.opt.buffer_names();
        let mut out = vec![("step".to_string(), vec![E::from_f64(self.steps as f64)])];
        for (param, st) in &self.state {
            let mut bufs: Vec<(&str, &Buffer<E>)> = st
                .bufs
                .iter()
                .zip(&st.live)
                .enumerate()
                .filter(|(_, (_, live))| **live)
                .filter_map(|(slot, (b, _))| names.get(slot).map(|n| (*n, b)))
                .collect();
            bufs.sort_by_key(|(n, _)| *n);
            for (buf, b) in bufs {
                out.push((format!("{param}.{buf}"), b.to_vec()?));
            }
        }
        out.extend(
            self.opt
                .state()
                .into_iter()
                .filter(|(n, _)| is_group_entry(n)),
        );
        Ok(out)
    }

    /// Restores a state saved by [`state`](GpuOptimizer::state) or by the CPU optimizer of
    /// the same kind; the buffers go to the GPU at the next step. Unknown names, a step count
    /// that is not one, buffers of one parameter with different lengths and a state saved
    /// with another grouping are errors, and leave the optimizer unchanged.
    pub fn load_state(&mut self, state: Vec<(String, Vec<E>)>) -> Result<()> {
        let err = |m: String| Error::value("optimizer state", m);
        let names = self.opt.buffer_names();
        let mut steps = 0;
        let mut groups = Vec::new();
        let mut loaded: BTreeMap<String, Vec<(usize, Vec<E>)>> = BTreeMap::new();
        for (name, v) in state {
            if name == "step" {
                steps = check_step_count(&v).map_err(|m| err(format!("entry `step`: {m}")))?;
                continue;
            }
            if is_group_entry(&name) {
                groups.push((name, v));
                continue;
            }
            let Some(slot) = names.iter().position(|b| name.ends_with(&format!(".{b}"))) else {
                return Err(err(format!("unknown entry `{name}`")));
            };
            let param = &name[..name.len() - names[slot].len() - 1];
            let bufs = loaded.entry(param.to_string()).or_default();
            if let Some((other, first)) = bufs.first()
                && first.len() != v.len()
            {
                return Err(err(format!(
                    "entry `{name}` has {} values, but the parameter's `{}` has {}",
                    v.len(),
                    names[*other],
                    first.len()
                )));
            }
            bufs.retain(|(s, _)| *s != slot);
            bufs.push((slot, v));
        }
        // The CPU optimizer checks and applies the groups (all or nothing).
        self.opt.load_state(groups)?;
        let buffers = self.opt.state_buffers().max(names.len());
        self.state = loaded
            .into_iter()
            .map(|(param, bufs)| {
                let n = bufs[0].1.len();
                let mut st = ParamState {
                    bufs: (0..buffers)
                        .map(|_| Buffer::Host(vec![self.opt.initial_state(); n]))
                        .collect(),
                    live: vec![false; buffers],
                };
                for (slot, v) in bufs {
                    st.bufs[slot] = Buffer::Host(v);
                    st.live[slot] = true;
                }
                (param, st)
            })
            .collect();
        self.steps = steps;
        Ok(())
    }
}
