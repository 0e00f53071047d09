use shaped::gpu::GpuTensor;
use shaped::prelude::*;

fn mix(cpu: Tensor<Rank1<3>>, gpu: GpuTensor<Rank2<2, 3>>) {
    let _ = gpu * cpu;
}

fn main() {}
