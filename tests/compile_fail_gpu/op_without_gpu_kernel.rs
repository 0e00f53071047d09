use shaped::gpu::GpuTensor;
use shaped::gpu::prelude::*;
use shaped::prelude::*;

// An op the GPU has no kernel for is not a method of GPU tensors: never a silent CPU trip.
fn missing(gpu: GpuTensor<Rank2<4, 3>>) {
    let _ = gpu.rdiv_scalar(1.0).relu();
}

fn main() {}
