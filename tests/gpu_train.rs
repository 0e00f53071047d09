//! An MLP trained a few steps on the GPU gives the CPU's losses and parameters.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{assert_close, gpu};
use shaped::gpu::prelude::*;
use shaped::gpu::{GpuStep, cross_entropy};
use shaped::nn::{Linear, Module, ReLU, Tanh};
use shaped::optim::{Adam, AdamW, Optimizer, Sgd};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

type Mlp = (Linear<20, 48>, ReLU, Linear<48, 32>, Tanh, Linear<32, 10>);

fn run<O: GpuStep + Optimizer<f32> + Clone>(opt: O, steps: usize) {
    let Some(g) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(0);
    let mut cpu: Mlp = (
        Linear::new(&mut rng),
        ReLU,
        Linear::new(&mut rng),
        Tanh,
        Linear::new(&mut rng),
    );
    let mut gpu_model = cpu.to_device(&g).unwrap();
    let x = Tensor::<Rank2<37, 20>>::randn(&mut rng);
    let labels: Vec<usize> = (0..37).map(|i| (i * 7) % 10).collect();
    let labels = Indices::<Rank1<37>>::from_vec(labels).unwrap();
    let gx = x.to_device(&g).unwrap();
    let mut cpu_opt = opt.clone();
    let mut gpu_opt = GpuOptimizer::new(opt);
    for step in 0..steps {
        let cl = shaped::nn::loss::cross_entropy(cpu.forward(x.clone().trace_constant()), &labels);
        let gl = cross_entropy(gpu_model.forward(gx.clone().trace_constant()), &labels);
        let (c, gv) = (cl.as_slice()[0], gl.to_cpu().unwrap().as_slice()[0]);
        assert!(
            (c - gv).abs() <= 1e-5 + 1e-4 * c.abs(),
            "step {step}: CPU loss {c}, GPU loss {gv}"
        );
        cpu_opt.step(&mut cpu, &cl.backward());
        gpu_opt.step(&mut gpu_model, &gl.backward()).unwrap();
    }
    let back = gpu_model.to_cpu().unwrap();
    assert_close(
        "0.weight",
        back.0.weight.as_slice(),
        cpu.0.weight.as_slice(),
        1e-5,
        1e-3,
    );
    assert_close(
        "4.bias",
        back.4.bias.as_ref().unwrap().as_slice(),
        cpu.4.bias.as_ref().unwrap().as_slice(),
        1e-5,
        1e-3,
    );
}

#[test]
fn mlp_sgd_momentum_matches_cpu() {
    run(Sgd::new(0.05).momentum(0.9).weight_decay(1e-4), 6);
}

#[test]
fn mlp_adam_matches_cpu() {
    run(Adam::new(1e-2), 6);
}

#[test]
fn mlp_adamw_matches_cpu() {
    run(AdamW::new(1e-2), 6);
}

#[test]
fn step_copies_a_shared_buffer_first() {
    // A clone of the model keeps its values when the original is stepped.
    let Some(g) = gpu() else { return };
    let layer = Linear::<3, 2>::new(&mut StdRng::seed_from_u64(1));
    let mut model = layer.to_device(&g).unwrap();
    let snapshot = model.clone();
    let x = Tensor::<Rank2<4, 3>>::ones().to_device(&g).unwrap();
    let loss = model.forward(x.trace_constant()).square().mean();
    let mut opt = GpuOptimizer::new(Sgd::new(0.5));
    opt.step(&mut model, &loss.backward()).unwrap();
    assert_eq!(
        snapshot.to_cpu().unwrap().weight.to_vec(),
        layer.weight.to_vec()
    );
    assert_ne!(
        model.to_cpu().unwrap().weight.to_vec(),
        layer.weight.to_vec()
    );
}
