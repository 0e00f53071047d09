//! The wgpu device: adapter selection, buffers and transfers. Kernels are in [`kernels`].

/// A `Kernel` constant `$name` running `main` of the WGSL source `$src`, keyed by its name
/// (`Kernel` as imported where it is used).
macro_rules! kernel {
    ($name:ident, $src:expr) => {
        pub(crate) const $name: Kernel = Kernel {
            key: stringify!($name),
            source: $src,
            entry: "main",
        };
    };
}

pub(crate) mod compare_kernels;
mod compare_shaders;
pub(crate) mod dtype;
pub(crate) mod kernels;
pub(crate) mod layer_kernels;
mod layer_shaders;
pub(crate) mod loss_kernels;
mod loss_shaders;
pub(crate) mod optim_kernels;
mod optim_shaders;
pub(crate) mod pipelines;
mod registry;
pub(crate) mod rnn_kernels;
mod rnn_shaders;
pub(crate) mod seq_kernels;
mod seq_shaders;
mod shaders;
pub(crate) mod sort_kernels;
mod sort_shaders;
pub(crate) mod vol_kernels;
mod vol_shaders;

use super::Device;
use crate::dtype::Float;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

/// A GPU reached through wgpu (Vulkan, Metal or DX12): the device of GPU tensors,
/// `Tensor<S, E, T, Wgpu>`. Cloning shares the device.
///
/// ```no_run
/// use shaped::prelude::*;
/// use shaped::device::Wgpu;
/// use shaped::gpu::prelude::*;
/// let gpu = Wgpu::new()?; // SHAPED_WGPU_ADAPTER=<name part> picks another adapter
/// let x = Tensor::<Rank1<3>>::from_array([-1.0, 0.5, 2.0]).to_device(&gpu)?;
/// assert_eq!(x.relu().to_cpu()?.to_vec(), vec![0.0, 0.5, 2.0]);
/// # Ok::<(), shaped::error::Error>(())
/// ```
#[derive(Clone)]
pub struct Wgpu {
    pub(crate) inner: Arc<WgpuInner>,
}

pub(crate) struct WgpuInner {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) info: wgpu::AdapterInfo,
    pub(crate) shader_f64: bool,
    pub(crate) pipelines: Mutex<HashMap<(&'static str, &'static str), wgpu::ComputePipeline>>,
    /// Kernels recorded but not yet submitted: one submission per batch of kernels instead of
    /// one per kernel (a submission costs far more than a recorded dispatch).
    pub(crate) pending: Mutex<pipelines::Pending>,
}

impl core::fmt::Debug for Wgpu {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Wgpu({} on {:?})",
            self.inner.info.name, self.inner.info.backend
        )
    }
}

impl PartialEq for Wgpu {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Device for Wgpu {
    type Storage<E: Float> = GpuStorage<E>;
}

/// One adapter as [`Wgpu::adapters`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)` or `NVIDIA H100`.
    pub name: String,
    /// The graphics API, e.g. `Vulkan`.
    pub backend: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `Cpu` (a software rasterizer such as lavapipe), ...
    pub device_type: String,
}

/// Runs a future to completion on this thread. wgpu's native futures are ready once the
/// device has been polled, which the callers do, so this only ever spins briefly.
pub(crate) fn block_on<F: core::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark()
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = core::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park_timeout(std::time::Duration::from_millis(1)),
        }
    }
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env())
}

fn summary(info: &wgpu::AdapterInfo) -> AdapterSummary {
    AdapterSummary {
        name: info.name.clone(),
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
    }
}

impl Wgpu {
    /// The default adapter (high-performance preference), or the first whose name contains
    /// the environment variable `SHAPED_WGPU_ADAPTER` (case-insensitive) when it is set.
    /// An `Err` names what is missing when no adapter is found (no GPU driver, or on Linux no
    /// Vulkan driver: `apt-get install mesa-vulkan-drivers libvulkan1` gives a software one).
    pub fn new() -> Result<Self> {
        match std::env::var("SHAPED_WGPU_ADAPTER") {
            Ok(name) if !name.is_empty() => Self::with_adapter(&name),
            _ => {
                let instance = instance();
                let adapter = block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    ..Default::default()
                }))
                .map_err(|e| {
                    Error::value(
                        "Wgpu::new",
                        format!(
                            "no GPU adapter: {e} (is a Vulkan, Metal or DX12 driver installed? \
                             on Debian/Ubuntu `apt-get install mesa-vulkan-drivers libvulkan1` \
                             gives the software adapter lavapipe)"
                        ),
                    )
                })?;
                Self::from_adapter(adapter)
            }
        }
    }

    /// Every adapter wgpu can see, in its order.
    pub fn adapters() -> Vec<AdapterSummary> {
        block_on(instance().enumerate_adapters(wgpu::Backends::all()))
            .iter()
            .map(|a| summary(&a.get_info()))
            .collect()
    }

    /// The first adapter whose name contains `name` (case-insensitive); an `Err` lists the
    /// adapters there are.
    pub fn with_adapter(name: &str) -> Result<Self> {
        let wanted = name.to_lowercase();
        let adapters = block_on(instance().enumerate_adapters(wgpu::Backends::all()));
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        let adapter = adapters
            .into_iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
            .ok_or_else(|| {
                Error::value(
                    "Wgpu::with_adapter",
                    format!("no adapter name contains {name:?}; the adapters are {names:?}"),
                )
            })?;
        Self::from_adapter(adapter)
    }

    /// The device of `adapter`: the one already open when there is one, so that every
    /// `Wgpu::new()` of a program names the same device (as every `torch.device("cuda:0")`
    /// does) and its tensors can meet in one op. Buffers of two wgpu devices cannot be bound
    /// together, and nothing in a kernel launch could tell them apart.
    fn from_adapter(adapter: wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let key = format!(
            "{:?}/{}/{}/{}/{}",
            info.backend, info.vendor, info.device, info.name, info.driver_info
        );
        static OPEN: Mutex<Vec<(String, std::sync::Weak<WgpuInner>)>> = Mutex::new(Vec::new());
        let mut open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(inner) = open
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, weak)| weak.upgrade())
        {
            return Ok(Wgpu { inner });
        }
        let gpu = Self::open_device(adapter, info)?;
        open.push((key, Arc::downgrade(&gpu.inner)));
        Ok(gpu)
    }

    fn open_device(adapter: wgpu::Adapter, info: wgpu::AdapterInfo) -> Result<Self> {
        let shader_f64 = adapter.features().contains(wgpu::Features::SHADER_F64);
        let limits = adapter.limits();
        let (device, queue) = block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("shaped"),
            required_limits: wgpu::Limits {
                max_storage_buffers_per_shader_stage:
                    limits.max_storage_buffers_per_shader_stage.min(8),
                max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                max_buffer_size: limits.max_buffer_size,
                ..wgpu::Limits::default()
            },
            // f64 kernels compile only on a device opened with the feature.
            required_features: if shader_f64 {
                wgpu::Features::SHADER_F64
            } else {
                wgpu::Features::empty()
            },
            ..Default::default()
        }))
        .map_err(|e| {
            Error::value(
                "Wgpu::new",
                format!("adapter {:?} refused a device: {e}", info.name),
            )
        })?;
        Ok(Wgpu {
            inner: Arc::new(WgpuInner {
                device,
                queue,
                info,
                shader_f64,
                pipelines: Mutex::new(HashMap::new()),
                pending: Mutex::new(pipelines::Pending::default()),
            }),
        })
    }

    /// The adapter in use.
    pub fn adapter(&self) -> AdapterSummary {
        summary(&self.inner.info)
    }

    /// Whether the adapter runs f64 shaders (`SHADER_F64`): where it does, f64 tensors and
    /// models move to this GPU with `to_device`; elsewhere that is an `Err`.
    pub fn supports_f64(&self) -> bool {
        self.inner.shader_f64
    }

    /// Waits until every submitted kernel has finished (for timing; reads wait anyway).
    pub fn synchronize(&self) {
        pipelines::flush(self);
        let _ = self.inner.device.poll(wgpu::PollType::wait_indefinitely());
    }

    /// A new device buffer holding `data`.
    pub(crate) fn upload<E: Float>(&self, data: &[E]) -> GpuStorage<E> {
        let s = self.alloc_as::<E>(data.len());
        if !data.is_empty() {
            self.inner.queue.write_buffer(&s.buf, 0, &to_le_bytes(data));
        }
        s
    }

    /// A new device buffer holding `u32` values (indices for the kernels that read `array<u32>`).
    pub(crate) fn upload_u32(&self, data: &[u32]) -> GpuStorage<u32> {
        let s = self.alloc_u32(data.len());
        if !data.is_empty() {
            let raw: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
            self.inner.queue.write_buffer(&s.buf, 0, &raw);
        }
        s
    }

    /// A new uninitialised device buffer of `len` `u32`s (indices a kernel writes).
    pub(crate) fn alloc_u32(&self, len: usize) -> GpuStorage<u32> {
        let s = self.alloc_as::<f32>(len);
        GpuStorage::new(s.device, s.buf, s.len)
    }

    /// A new uninitialised device buffer of `len` elements of `E` (every kernel writes all of
    /// its output).
    pub(crate) fn alloc_as<E: Float>(&self, len: usize) -> GpuStorage<E> {
        let buf = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: (len.max(1) * core::mem::size_of::<E>()) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        GpuStorage::new(self.clone(), Arc::new(buf), len)
    }

    /// The buffer's elements, copied to main memory (waits for the kernels writing it).
    pub(crate) fn download<E: Float>(&self, s: &GpuStorage<E>) -> Result<Vec<E>> {
        if s.len == 0 {
            return Ok(Vec::new());
        }
        let bytes = (s.len * core::mem::size_of::<E>()) as u64;
        let staging = self.inner.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        pipelines::record(self, |enc| {
            enc.copy_buffer_to_buffer(&s.buf, 0, &staging, 0, bytes)
        });
        pipelines::flush(self);
        let slice = staging.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.inner
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::value("to_cpu", format!("GPU wait failed: {e}")))?;
        rx.recv()
            .map_err(|_| Error::value("to_cpu", "the GPU read-back was dropped".to_string()))?
            .map_err(|e| Error::value("to_cpu", format!("mapping the GPU buffer failed: {e}")))?;
        let out = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| Error::value("to_cpu", format!("reading the GPU buffer: {e}")))?;
            view.chunks_exact(core::mem::size_of::<E>())
                .map(from_le_bytes::<E>)
                .collect()
        };
        staging.unmap();
        Ok(out)
    }
}

/// The little-endian bytes of `data` as the GPU stores them (4 or 8 per element).
fn to_le_bytes<E: Float>(data: &[E]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(core::mem::size_of_val(data));
    if core::mem::size_of::<E>() == 8 {
        for x in data {
            raw.extend_from_slice(&x.to_f64().to_le_bytes());
        }
    } else {
        for x in data {
            raw.extend_from_slice(&(x.to_f64() as f32).to_le_bytes());
        }
    }
    raw
}

fn from_le_bytes<E: Float>(c: &[u8]) -> E {
    match *c {
        [a, b, c, d] => E::from_f64(f32::from_le_bytes([a, b, c, d]) as f64),
        [a, b, c, d, e, f, g, h] => E::from_f64(f64::from_le_bytes([a, b, c, d, e, f, g, h])),
        _ => unreachable!("chunks of the element size"),
    }
}

/// A tensor's elements in a GPU buffer, shared by clones (ops never write into their inputs;
/// optimizers copy a shared parameter buffer before updating it).
pub struct GpuStorage<E> {
    pub(crate) device: Wgpu,
    pub(crate) buf: Arc<wgpu::Buffer>,
    pub(crate) len: usize,
    _element: PhantomData<fn() -> E>,
}

impl<E> GpuStorage<E> {
    pub(crate) fn new(device: Wgpu, buf: Arc<wgpu::Buffer>, len: usize) -> Self {
        GpuStorage {
            device,
            buf,
            len,
            _element: PhantomData,
        }
    }
    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True for an empty buffer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The device the buffer lives on.
    pub fn device(&self) -> &Wgpu {
        &self.device
    }
}

impl<E> Clone for GpuStorage<E> {
    fn clone(&self) -> Self {
        GpuStorage::new(self.device.clone(), self.buf.clone(), self.len)
    }
}

impl<E> core::fmt::Debug for GpuStorage<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "GpuStorage({} elements on {:?})", self.len, self.device)
    }
}
