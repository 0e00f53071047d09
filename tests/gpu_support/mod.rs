//! Shared by the GPU tests: the device, or a skip.

use shaped::device::Wgpu;
use shaped::gpu::prelude::*;
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

/// The GPU, or `None` with a printed line when there is no adapter; with `REQUIRE_GPU=1` a
/// missing adapter fails the test instead (CI installs lavapipe and sets it).
pub fn gpu() -> Option<Wgpu> {
    match Wgpu::new() {
        Ok(g) => Some(g),
        Err(e) => {
            if std::env::var("REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("REQUIRE_GPU=1 but there is no GPU adapter: {e}");
            }
            eprintln!("skipping GPU test: no GPU adapter ({e})");
            None
        }
    }
}

/// Asserts `|a - b| <= atol + rtol * |b|` elementwise, naming the first index that differs.
#[track_caller]
#[allow(dead_code)] // not every test file compares with the CPU
pub fn assert_close(what: &str, a: &[f32], b: &[f32], atol: f32, rtol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= atol + rtol * y.abs(),
            "{what}: index {i}: GPU {x} vs CPU {y}"
        );
    }
}

/// Tolerances `(atol, rtol)` of GPU outputs and of GPU gradients against the CPU's.
#[allow(dead_code)]
pub const FWD: (f32, f32) = (1e-5, 1e-4);
#[allow(dead_code)]
pub const GRAD: (f32, f32) = (1e-4, 1e-3);

/// [`assert_close`] with a `(atol, rtol)` pair.
#[track_caller]
#[allow(dead_code)]
pub fn close(what: &str, gpu: &[f32], cpu: &[f32], tol: (f32, f32)) {
    assert_close(what, gpu, cpu, tol.0, tol.1);
}

/// A GPU tensor's values, read back.
#[allow(dead_code)]
pub fn down<S: Shape, T>(t: &GpuTensor<S, T>) -> Vec<f32> {
    t.to_cpu().unwrap().to_vec()
}

/// A copy of `t` on the GPU `g`.
#[allow(dead_code)]
pub fn up<S: Shape>(g: &Wgpu, t: &Tensor<S>) -> GpuTensor<S> {
    t.to_device(g).unwrap()
}

/// A standard-normal tensor from a seeded generator.
#[allow(dead_code)]
pub fn randn<S: ConstShape>(seed: u64) -> Tensor<S> {
    Tensor::<S>::randn(&mut StdRng::seed_from_u64(seed))
}

/// The GPU when its adapter runs f64 kernels (`SHADER_F64`), else `None` with a printed line;
/// `REQUIRE_GPU_F64=1` (set in CI: lavapipe has f64) makes a missing one a failure.
#[allow(dead_code)]
pub fn gpu64() -> Option<Wgpu> {
    let g = gpu()?;
    if g.supports_f64() {
        return Some(g);
    }
    if std::env::var("REQUIRE_GPU_F64").as_deref() == Ok("1") {
        panic!(
            "REQUIRE_GPU_F64=1 but the adapter {:?} has no SHADER_F64",
            g.adapter().name
        );
    }
    eprintln!("skipping f64 GPU test: the adapter has no SHADER_F64");
    None
}

/// f64 GPU results against the CPU's f64: `(atol, rtol)`; the f64 kernels' software `exp`,
/// `log` and `tanh` are within a few ulp, sums differ by order only.
#[allow(dead_code)]
pub const F64_TOL: (f64, f64) = (1e-12, 1e-11);

/// `|a - b| <= atol + rtol * |b|` elementwise for f64, naming the first index that differs.
#[track_caller]
#[allow(dead_code)]
pub fn close64(what: &str, gpu: &[f64], cpu: &[f64], tol: (f64, f64)) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    for (i, (x, y)) in gpu.iter().zip(cpu).enumerate() {
        let same_special = (x.is_nan() && y.is_nan()) || x == y;
        assert!(
            same_special || (x - y).abs() <= tol.0 + tol.1 * y.abs(),
            "{what}: index {i}: GPU {x:e} vs CPU {y:e}"
        );
    }
}

/// An f64 standard-normal tensor from a seeded generator.
#[allow(dead_code)]
pub fn randn64<S: ConstShape>(seed: u64) -> Tensor<S, f64> {
    Tensor::<S, f64>::randn(&mut StdRng::seed_from_u64(seed))
}
