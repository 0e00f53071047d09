use shaped::gpu::GpuTensor;
use shaped::prelude::*;

// f32 and f64 GPU tensors do not meet in one op either: convert explicitly.
fn mixed(a: GpuTensor<Rank1<3>>, b: GpuTensor<Rank1<3>, NoTape, f64>) {
    let _ = a + b;
}

fn main() {}
