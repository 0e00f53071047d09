//! Compiled compute pipelines, cached per kernel and element type, and the one launch path
//! every kernel uses: binding 0 holds the kernel's parameters ([`Params`]), bindings 1.. the
//! buffers, in the order the WGSL declares them.

use super::Wgpu;
use super::dtype::{Params, prelude};
use crate::dtype::Float;
use wgpu::util::DeviceExt;

/// Threads per workgroup of the one-dimensional kernels.
pub(crate) const WG: u32 = 256;
/// The most workgroups a dispatch may have along one axis.
const MAX_GROUPS: u32 = 65_535;

/// Kernels submitted together at most: bounds the memory that recorded work keeps alive.
const MAX_PENDING: usize = 64;

/// The command encoder that kernels are recorded into until the next submission.
#[derive(Default)]
pub(crate) struct Pending {
    encoder: Option<wgpu::CommandEncoder>,
    commands: usize,
}

/// Records `f` into the pending encoder; submits when the batch is full. Uploads
/// (`queue.write_buffer`) always go into fresh buffers, so running them before the pending
/// commands at the next submission cannot reorder anything.
pub(crate) fn record(dev: &Wgpu, f: impl FnOnce(&mut wgpu::CommandEncoder)) {
    let mut pending = dev.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
    let enc = pending.encoder.get_or_insert_with(|| {
        dev.inner
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
    });
    f(enc);
    pending.commands += 1;
    if pending.commands >= MAX_PENDING {
        submit(dev, &mut pending);
    }
}

fn submit(dev: &Wgpu, pending: &mut Pending) {
    if let Some(enc) = pending.encoder.take() {
        dev.inner.queue.submit([enc.finish()]);
    }
    pending.commands = 0;
}

/// Submits every recorded command (before a read-back or a wait).
pub(crate) fn flush(dev: &Wgpu) {
    let mut pending = dev.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
    submit(dev, &mut pending);
}

/// One WGSL kernel: a cache key, its source and its entry point.
#[derive(Clone, Copy)]
pub(crate) struct Kernel {
    pub(crate) key: &'static str,
    pub(crate) source: &'static str,
    pub(crate) entry: &'static str,
}

/// The pipeline of `k` compiled for the element type `dtype` (its prelude in front).
fn pipeline(dev: &Wgpu, k: Kernel, dtype: &'static str) -> wgpu::ComputePipeline {
    let mut cache = dev
        .inner
        .pipelines
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    cache
        .entry((k.key, dtype))
        .or_insert_with(|| {
            let source = format!("{}{}", prelude(dtype), k.source);
            let module = dev
                .inner
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(k.key),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                });
            dev.inner
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(k.key),
                    layout: None,
                    module: &module,
                    entry_point: Some(k.entry),
                    compilation_options: Default::default(),
                    cache: None,
                })
        })
        .clone()
}

/// The validation error of compiling `k` for `dtype`, if any (the shader and its pipeline
/// are built as a launch would build them, but not cached).
pub(crate) fn compile_error(dev: &Wgpu, k: Kernel, dtype: &'static str) -> Option<String> {
    let device = &dev.inner.device;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let source = format!("{}{}", prelude(dtype), k.source);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(k.key),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let _pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(k.key),
        layout: None,
        module: &module,
        entry_point: Some(k.entry),
        compilation_options: Default::default(),
        cache: None,
    });
    super::block_on(scope.pop()).map(|e| format!("{} ({dtype}): {e}", k.key))
}

/// The workgroup grid for `n` one-dimensional work items, folded into two axes past the
/// per-axis limit (kernels rebuild the index from `num_workgroups`).
pub(crate) fn grid_1d(n: usize) -> (u32, u32, u32) {
    let groups = (n as u64).div_ceil(WG as u64).max(1);
    if groups <= MAX_GROUPS as u64 {
        (groups as u32, 1, 1)
    } else {
        let y = groups.div_ceil(MAX_GROUPS as u64);
        (MAX_GROUPS, y as u32, 1)
    }
}

/// Records one dispatch of `k` built for the element type `E`.
pub(crate) fn launch_as<E: Float>(
    dev: &Wgpu,
    k: Kernel,
    params: &Params,
    buffers: &[&wgpu::Buffer],
    groups: (u32, u32, u32),
) {
    let pipe = pipeline(dev, k, E::DTYPE);
    let device = &dev.inner.device;
    let params = params.bytes(E::DTYPE);
    let pbuf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: None,
        contents: &params,
        usage: wgpu::BufferUsages::STORAGE,
    });
    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: pbuf.as_entire_binding(),
    }];
    for (i, b) in buffers.iter().enumerate() {
        entries.push(wgpu::BindGroupEntry {
            binding: i as u32 + 1,
            resource: b.as_entire_binding(),
        });
    }
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipe.get_bind_group_layout(0),
        entries: &entries,
    });
    record(dev, |enc| {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: None,
            timestamp_writes: None,
        });
        pass.set_pipeline(&pipe);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
    });
}
