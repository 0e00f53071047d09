use shaped::gpu::GpuTensor;
use shaped::gpu::prelude::*;
use shaped::prelude::*;

fn mix(cpu: Tensor<Rank2<3, 4>>, gpu: GpuTensor<Rank2<2, 3>>) {
    let _ = gpu.matmul(cpu);
}

fn main() {}
