//! Conv2d, MaxPool2d and Flatten on the GPU: the PyTorch golden cases, the CPU path on other
//! shapes, and the digits CNN trained a few steps on both devices.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{assert_close, down, gpu};
use shaped::gpu::cross_entropy;
use shaped::gpu::prelude::*;
use shaped::nn::{Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU};
use shaped::optim::{Adam, Optimizer};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

/// A layer on both devices, golden values when `golden` is given: `y`, and the gradients of
/// `sum(y * gy)` for x, weight and bias.
macro_rules! conv_case {
    ($name:ident, $golden:expr, $layer:ty, $X:ty, $Y:ty) => {
        #[test]
        fn $name() {
            let Some(dev) = gpu() else { return };
            let mut rng = StdRng::seed_from_u64(3);
            let mut layer = <$layer>::new(&mut rng);
            let golden: Option<&str> = $golden;
            let (x, gy) = match golden {
                Some(case) => {
                    let g = Golden::load(case);
                    layer.weight = Tensor::from_vec(g.f("weight")).unwrap();
                    layer.bias = Some(Tensor::from_vec(g.f("bias")).unwrap());
                    (
                        Tensor::<$X>::from_vec(g.f("x")).unwrap(),
                        Tensor::<$Y>::from_vec(g.f("gy")).unwrap(),
                    )
                }
                None => (Tensor::<$X>::randn(&mut rng), Tensor::<$Y>::randn(&mut rng)),
            };
            let gl = layer.to_device(&dev).unwrap();
            let gx = x.to_device(&dev).unwrap();
            let gyv = gl.forward(gx.clone().trace());
            let cy = layer.forward(x.clone().trace());
            let grads = (gyv.clone() * gy.to_device(&dev).unwrap()).sum().backward();
            let cgrads = (cy.clone() * gy).sum().backward();
            let (fwd, grad) = ((1e-5, 1e-4), (1e-4, 1e-3));
            if let Some(case) = golden {
                let g = Golden::load(case);
                g.check_forward("y", &down(&gyv));
                g.check_grad("x", &down(&grads.get_gpu(&gx).unwrap()));
                g.check_grad("weight", &down(&grads.get_gpu(&gl.weight).unwrap()));
                g.check_grad(
                    "bias",
                    &down(&grads.get_gpu(gl.bias.as_ref().unwrap()).unwrap()),
                );
            }
            assert_close("y", &down(&gyv), cy.as_slice(), fwd.0, fwd.1);
            assert_close(
                "grad x",
                &down(&grads.get_gpu(&gx).unwrap()),
                cgrads.get_slice(&x).unwrap(),
                grad.0,
                grad.1,
            );
            assert_close(
                "grad weight",
                &down(&grads.get_gpu(&gl.weight).unwrap()),
                cgrads.get_slice(&layer.weight).unwrap(),
                grad.0,
                grad.1,
            );
            assert_close(
                "grad bias",
                &down(&grads.get_gpu(gl.bias.as_ref().unwrap()).unwrap()),
                cgrads.get_slice(layer.bias.as_ref().unwrap()).unwrap(),
                grad.0,
                grad.1,
            );
        }
    };
}

conv_case!(layer_conv2d_basic, Some("layer_conv2d_basic"), Conv2d<3, 4, 3>, Rank4<2, 3, 8, 8>, Rank4<2, 4, 6, 6>);
conv_case!(layer_conv2d_dilated, Some("layer_conv2d_dilated"), Conv2d<2, 3, 3, 1, 2, 2>, Rank4<2, 2, 9, 9>, Rank4<2, 3, 9, 9>);
conv_case!(layer_conv2d_k5, Some("layer_conv2d_k5"), Conv2d<2, 3, 5, 1, 2>, Rank4<2, 2, 8, 8>, Rank4<2, 3, 8, 8>);
conv_case!(layer_conv2d_strided, Some("layer_conv2d_strided"), Conv2d<3, 4, 3, 2, 1>, Rank4<2, 3, 8, 8>, Rank4<2, 4, 4, 4>);
conv_case!(conv2d_odd_sizes_vs_cpu, None, Conv2d<5, 7, 3, 2, 2, 1>, Rank4<3, 5, 11, 9>, Rank4<3, 7, 7, 6>);
conv_case!(conv2d_wide_vs_cpu, None, Conv2d<1, 32, 3, 1, 1>, Rank4<4, 1, 8, 8>, Rank4<4, 32, 8, 8>);

macro_rules! pool_case {
    ($name:ident, $golden:expr, $pool:ty, $X:ty, $Y:ty) => {
        #[test]
        fn $name() {
            let Some(dev) = gpu() else { return };
            let mut rng = StdRng::seed_from_u64(4);
            let golden: Option<&str> = $golden;
            let (x, gy) = match golden {
                Some(case) => {
                    let g = Golden::load(case);
                    (
                        Tensor::<$X>::from_vec(g.f("x")).unwrap(),
                        Tensor::<$Y>::from_vec(g.f("gy")).unwrap(),
                    )
                }
                None => (Tensor::<$X>::randn(&mut rng), Tensor::<$Y>::randn(&mut rng)),
            };
            let pool = <$pool>::default();
            let gx = x.to_device(&dev).unwrap();
            let gyv = pool.forward(gx.clone().trace());
            let cy = pool.forward(x.clone().trace());
            let grads = (gyv.clone() * gy.to_device(&dev).unwrap()).sum().backward();
            let cgrads = (cy.clone() * gy).sum().backward();
            if let Some(case) = golden {
                let g = Golden::load(case);
                g.check_forward("y", &down(&gyv));
                g.check_grad("x", &down(&grads.get_gpu(&gx).unwrap()));
            }
            assert_eq!(down(&gyv), cy.to_vec());
            assert_close(
                "grad x",
                &down(&grads.get_gpu(&gx).unwrap()),
                cgrads.get_slice(&x).unwrap(),
                1e-6,
                1e-6,
            );
        }
    };
}

pool_case!(layer_maxpool2d, Some("layer_maxpool2d"), MaxPool2d<2>, Rank4<2, 3, 8, 8>, Rank4<2, 3, 4, 4>);
pool_case!(layer_maxpool2d_padded, Some("layer_maxpool2d_padded"), MaxPool2d<3, 2, 1>, Rank4<2, 2, 7, 7>, Rank4<2, 2, 4, 4>);
pool_case!(maxpool_overlapping_vs_cpu, None, MaxPool2d<3, 1, 1>, Rank4<2, 3, 6, 5>, Rank4<2, 3, 6, 5>);

type Cnn = (
    Conv2d<1, 8, 3, 1, 1>,
    ReLU,
    Conv2d<8, 8, 3, 1, 1>,
    ReLU,
    MaxPool2d<2>,
    Flatten,
    Dropout,
    Linear<128, 32>,
    ReLU,
    Linear<32, 10>,
);

#[test]
fn cnn_trains_like_on_the_cpu() {
    let Some(dev) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(0);
    let mut cpu: Cnn = (
        Conv2d::new(&mut rng),
        ReLU,
        Conv2d::new(&mut rng),
        ReLU,
        MaxPool2d,
        Flatten,
        Dropout::with_seed(0.25, 5),
        Linear::new(&mut rng),
        ReLU,
        Linear::new(&mut rng),
    );
    let mut model = cpu.to_device(&dev).unwrap();
    let x = Tensor::<Rank4<12, 1, 8, 8>>::randn(&mut rng);
    let labels = Indices::<Rank1<12>>::from_vec((0..12).map(|i| i % 10).collect()).unwrap();
    let gx = x.to_device(&dev).unwrap();
    let mut copt = Adam::new(3e-3);
    let mut gopt = GpuOptimizer::new(Adam::new(3e-3));
    // Training mode: both Dropout layers draw the same masks (the GPU's come from the same
    // generator state, uploaded), so the runs stay in step.
    for step in 0..5 {
        let cl =
            shaped::nn::loss::cross_entropy(cpu.forward_train(x.clone().trace_constant()), &labels);
        let gl = cross_entropy(model.forward_train(gx.clone().trace_constant()), &labels);
        let (c, g) = (cl.as_slice()[0], down(&gl)[0]);
        assert!(
            (c - g).abs() <= 1e-5 + 1e-4 * c.abs(),
            "step {step}: CPU {c} GPU {g}"
        );
        copt.step(&mut cpu, &cl.backward());
        gopt.step(&mut model, &gl.backward()).unwrap();
    }
    let back = model.to_cpu().unwrap();
    assert_close(
        "0.weight",
        back.0.weight.as_slice(),
        cpu.0.weight.as_slice(),
        1e-5,
        1e-3,
    );
}
