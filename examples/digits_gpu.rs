//! The digits CNN of `examples/digits.rs` trained on the GPU (cargo feature `wgpu`) by the
//! same `Trainer` as on the CPU: moved with `to_device`, stepped by a GPU Adam, every batch
//! uploaded explicitly by the step closure; the losses are read back once per
//! `shaped::gpu::LOG_EVERY` batches (for the progress line), and the logits of the test
//! images at the end.
//!
//! ```sh
//! cargo run --release --features wgpu --example digits_gpu            # GPU only
//! cargo run --release --features wgpu --example digits_gpu -- --cpu   # and the CPU, to compare
//! ```
//!
//! `SHAPED_WGPU_ADAPTER=<part of a name>` picks an adapter; `DIGITS_EPOCHS` sets the epochs
//! (default 8). Without a GPU, Mesa's lavapipe (`apt-get install mesa-vulkan-drivers
//! libvulkan1`) runs it on the CPU's software Vulkan.

use shaped::data::{self, DataLoader, Standardizer};
use shaped::error::Result;
use shaped::gpu::cross_entropy;
use shaped::gpu::prelude::*;
use shaped::nn::{Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU};
use shaped::optim::Adam;
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};
use shaped::train::{Step, Trainer};

type Cnn = (
    Conv2d<1, 32, 3, 1, 1>,
    ReLU,
    Conv2d<32, 32, 3, 1, 1>,
    ReLU,
    MaxPool2d<2>,
    Flatten,
    Dropout,
    Linear<512, 64>,
    ReLU,
    Linear<64, 10>,
);

fn new_model(seed: u64) -> Cnn {
    let mut rng = StdRng::seed_from_u64(seed);
    (
        Conv2d::new(&mut rng),
        ReLU,
        Conv2d::new(&mut rng),
        ReLU,
        MaxPool2d,
        Flatten,
        Dropout::with_seed(0.25, seed),
        Linear::new(&mut rng),
        ReLU,
        Linear::new(&mut rng),
    )
}

fn images(x: Tensor<(usize, Const<64>)>) -> Tensor<(usize, Const<1>, Const<8>, Const<8>)> {
    let batch = x.dims()[0];
    x.try_reshape_dyn((batch, Const, Const, Const))
        .expect("64 pixels are 1 x 8 x 8")
}

fn accuracy(predicted: &[usize], truth: &[usize]) -> f64 {
    let correct = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    correct as f64 / truth.len() as f64
}

fn main() -> Result<()> {
    let epochs: usize = std::env::var("DIGITS_EPOCHS")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(8);
    let also_cpu = std::env::args().any(|a| a == "--cpu");
    let (train, test) = data::digits()?.split(0.2, 42)?;
    let scaler = Standardizer::fit(&train)?;
    let (train, test) = (scaler.transform(&train), scaler.transform(&test));

    let gpu = Wgpu::new()?;
    println!("GPU: {:?}", gpu.adapter());
    let mut model = new_model(0).to_device(&gpu)?;
    let mut opt = GpuOptimizer::new(Adam::new(2e-3));
    let started = std::time::Instant::now();
    Trainer::new(&mut model, &mut opt).epochs(epochs).fit(
        &mut DataLoader::new(&train, 32)?.shuffle(0),
        |m, (x, y)| {
            let samples = y.numel();
            let x = images(x).to_device(&gpu)?;
            let loss = cross_entropy(m.forward_train(x.trace_constant()), &y);
            Ok(Step::new(loss, samples))
        },
    )?;
    gpu.synchronize();
    let gpu_seconds = started.elapsed().as_secs_f64();

    let (x_test, y_test) = (images(test.features().clone()), test.targets().clone());
    let logits = model.forward(x_test.to_device(&gpu)?).to_cpu()?;
    let gpu_accuracy = accuracy(logits.argmax::<1>().as_slice(), y_test.as_slice());
    println!(
        "GPU: trained {epochs} epochs in {gpu_seconds:.1} s; test accuracy {:.2}%",
        100.0 * gpu_accuracy
    );

    if also_cpu {
        let mut cpu_model = new_model(0);
        let mut cpu_opt = Adam::new(2e-3);
        let started = std::time::Instant::now();
        Trainer::new(&mut cpu_model, &mut cpu_opt)
            .epochs(epochs)
            .fit(&mut DataLoader::new(&train, 32)?.shuffle(0), |m, (x, y)| {
                let samples = y.numel();
                let logits = m.forward_train(images(x).trace_constant());
                Ok(Step::new(
                    shaped::nn::loss::cross_entropy(logits, &y),
                    samples,
                ))
            })?;
        let predicted = cpu_model.forward(x_test).argmax::<1>();
        println!(
            "CPU: trained {epochs} epochs in {:.1} s; test accuracy {:.2}%",
            started.elapsed().as_secs_f64(),
            100.0 * accuracy(predicted.as_slice(), y_test.as_slice())
        );
    }
    Ok(())
}
