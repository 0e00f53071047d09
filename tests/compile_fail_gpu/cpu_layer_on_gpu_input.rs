use shaped::gpu::GpuTensor;
use shaped::nn::{Linear, Module};
use shaped::prelude::*;

fn mix(layer: Linear<3, 2>, gpu: GpuTensor<Rank2<4, 3>>) {
    let _ = layer.forward(gpu);
}

fn main() {}
