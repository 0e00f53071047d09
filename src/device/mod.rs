//! Devices: where a tensor's elements live.
//!
//! The device is the fourth type parameter of [`Tensor`](crate::tensor::Tensor), defaulting to
//! [`Cpu`]; it decides the storage type ([`Device::Storage`]). Every op is implemented for a
//! device, so combining tensors of two devices in one op does not compile: moving data is
//! always an explicit `to_device` / `to_cpu` call.
//!
//! ```
//! use shaped::prelude::*;
//! use shaped::device::Cpu;
//! // `Tensor<S>` is `Tensor<S, f32, NoTape, Cpu>`: CPU code never names the device.
//! let t: Tensor<Rank1<2>, f32, NoTape, Cpu> = Tensor::<Rank1<2>>::ones();
//! assert_eq!(t.to_vec(), vec![1.0, 1.0]);
//! ```
//!
//! With the cargo feature `wgpu`, `Wgpu` is a GPU (Vulkan, Metal or DX12 through wgpu):
//! see the README section "GPU (wgpu)".

#[cfg(feature = "wgpu")]
mod wgpu;

#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::compare_kernels;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::kernels;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::layer_kernels;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::loss_kernels;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::optim_kernels;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::pipelines;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::rnn_kernels;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::seq_kernels;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::sort_kernels;
#[cfg(feature = "wgpu")]
pub(crate) use self::wgpu::vol_kernels;
#[cfg(feature = "wgpu")]
pub use self::wgpu::{AdapterSummary, GpuStorage, Wgpu};

use crate::dtype::Float;
use std::sync::Arc;

/// A place where tensors live and ops run: [`Cpu`] (the default) or, with the `wgpu`
/// feature, `Wgpu`.
pub trait Device: Clone + Send + Sync + core::fmt::Debug + 'static {
    /// A tensor's elements on this device; `clone()` shares them.
    type Storage<E: Float>: Clone + Send + Sync;
}

/// Main memory: the default device of every tensor. Its storage is a shared, copy-on-write
/// `Arc<Vec<E>>`, exactly what `Tensor` held before devices existed, so CPU code is unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu;

impl Device for Cpu {
    type Storage<E: Float> = Arc<Vec<E>>;
}
