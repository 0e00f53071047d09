//! Conv3d, MaxPool3d and AvgPool3d on the GPU: the PyTorch golden cases (layer_conv3d*,
//! layer_*pool3d*), the CPU path on other shapes (stride, padding, dilation, batched and
//! unbatched, f32 and f64), the first-maximum / NaN rules, and run-time errors.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{F64_TOL, assert_close, close64, down, gpu, gpu64};
use shaped::gpu::prelude::*;
use shaped::nn::{AvgPool3d, Conv3d, MaxPool3d, Module};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

/// A Conv3d on both devices, golden values when `golden` is given: `y`, and the gradients of
/// `sum(y * gy)` for x, weight and bias.
macro_rules! conv3d_case {
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
            let gb = gl.bias.as_ref().unwrap();
            if let Some(case) = golden {
                let g = Golden::load(case);
                g.check_forward("y", &down(&gyv));
                g.check_grad("x", &down(&grads.get_gpu(&gx).unwrap()));
                g.check_grad("weight", &down(&grads.get_gpu(&gl.weight).unwrap()));
                g.check_grad("bias", &down(&grads.get_gpu(gb).unwrap()));
            }
            let (fwd, grad) = ((1e-5, 1e-4), (1e-4, 1e-3));
            assert_close("y", &down(&gyv), cy.as_slice(), fwd.0, fwd.1);
            assert_close(
                "x",
                &down(&grads.get_gpu(&gx).unwrap()),
                cgrads.get_slice(&x).unwrap(),
                grad.0,
                grad.1,
            );
            assert_close(
                "weight",
                &down(&grads.get_gpu(&gl.weight).unwrap()),
                cgrads.get_slice(&layer.weight).unwrap(),
                grad.0,
                grad.1,
            );
            assert_close(
                "bias",
                &down(&grads.get_gpu(gb).unwrap()),
                cgrads.get_slice(layer.bias.as_ref().unwrap()).unwrap(),
                grad.0,
                grad.1,
            );
        }
    };
}

conv3d_case!(layer_conv3d, Some("layer_conv3d"), Conv3d<3, 4, 3>, Rank5<2, 3, 5, 6, 7>, Rank5<2, 4, 3, 4, 5>);
conv3d_case!(layer_conv3d_strided, Some("layer_conv3d_strided"), Conv3d<2, 3, 3, 2, 1>, Rank5<2, 2, 5, 6, 7>, Rank5<2, 3, 3, 3, 4>);
conv3d_case!(layer_conv3d_dilated, Some("layer_conv3d_dilated"), Conv3d<2, 3, 3, 1, 1, 2>, Rank5<2, 2, 5, 6, 7>, Rank5<2, 3, 3, 4, 5>);
conv3d_case!(conv3d_strided_dilated_vs_cpu, None, Conv3d<3, 4, 3, 2, 1, 2>, Rank5<2, 3, 7, 6, 9>, Rank5<2, 4, 3, 2, 4>);
conv3d_case!(conv3d_k2_vs_cpu, None, Conv3d<2, 5, 2, 1, 0>, Rank5<3, 2, 3, 4, 5>, Rank5<3, 5, 2, 3, 4>);
conv3d_case!(conv3d_padded_k1_vs_cpu, None, Conv3d<4, 3, 1, 2, 1>, Rank5<1, 4, 3, 5, 4>, Rank5<1, 3, 3, 4, 3>);

/// The unbatched golden case without bias: `(C, D, H, W)` in, `(OUT, D', H', W')` out.
#[test]
fn layer_conv3d_no_bias_unbatched() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_conv3d_no_bias_unbatched");
    let mut layer = Conv3d::<2, 3, 2>::new_no_bias(&mut StdRng::seed_from_u64(0));
    layer.weight = Tensor::from_vec(g.f("weight")).unwrap();
    let gl = layer.to_device(&dev).unwrap();
    assert!(gl.bias.is_none());
    let x = Tensor::<Rank4<2, 4, 5, 6>>::from_vec(g.f("x"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let y = gl.forward(x.clone().trace());
    assert_eq!(g.shape("y"), y.to_cpu().unwrap().dims().as_slice());
    g.check_forward("y", &down(&y));
    let gy = Tensor::<Rank4<3, 3, 4, 5>>::from_vec(g.f("gy"))
        .unwrap()
        .to_device(&dev)
        .unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    g.check_grad("weight", &down(&grads.get_gpu(&gl.weight).unwrap()));
    // Back on the CPU, the layer is the same.
    assert_eq!(gl.to_cpu().unwrap().weight.to_vec(), layer.weight.to_vec());
}

/// f64, batched and unbatched, against the CPU's f64.
#[test]
fn conv3d_f64_vs_cpu() {
    let Some(dev) = gpu64() else { return };
    let mut rng = StdRng::seed_from_u64(9);
    let layer = Conv3d::<2, 3, 3, 2, 1, 1, f64>::new(&mut rng);
    let gl = layer.to_device(&dev).unwrap();
    let x = Tensor::<Rank5<2, 2, 5, 4, 6>, f64>::randn(&mut rng);
    let gx = x.to_device(&dev).unwrap();
    let (gy, cy) = (
        gl.forward(gx.clone().trace()),
        layer.forward(x.clone().trace()),
    );
    close64("y", &gy.to_cpu().unwrap().to_vec(), cy.as_slice(), F64_TOL);
    let (ggrads, cgrads) = ((gy * 0.5).sum().backward(), (cy * 0.5).sum().backward());
    for (what, g, c) in [
        (
            "x",
            ggrads.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec(),
            cgrads.get_slice(&x).unwrap(),
        ),
        (
            "weight",
            ggrads
                .get_gpu(&gl.weight)
                .unwrap()
                .to_cpu()
                .unwrap()
                .to_vec(),
            cgrads.get_slice(&layer.weight).unwrap(),
        ),
        (
            "bias",
            ggrads
                .get_gpu(gl.bias.as_ref().unwrap())
                .unwrap()
                .to_cpu()
                .unwrap()
                .to_vec(),
            cgrads.get_slice(layer.bias.as_ref().unwrap()).unwrap(),
        ),
    ] {
        close64(what, &g, c, F64_TOL);
    }
    let xu = Tensor::<Rank4<2, 3, 3, 4>, f64>::randn(&mut rng);
    let gxu = xu.to_device(&dev).unwrap();
    let (gy, cy) = (
        gl.forward(gxu.clone().trace()),
        layer.forward(xu.clone().trace()),
    );
    assert_eq!(gy.to_cpu().unwrap().dims().as_slice(), &[3, 2, 2, 2]);
    close64(
        "unbatched y",
        &gy.to_cpu().unwrap().to_vec(),
        cy.as_slice(),
        F64_TOL,
    );
    let (ggrads, cgrads) = (gy.sum().backward(), cy.sum().backward());
    close64(
        "unbatched x",
        &ggrads.get_gpu(&gxu).unwrap().to_cpu().unwrap().to_vec(),
        cgrads.get_slice(&xu).unwrap(),
        F64_TOL,
    );
}

/// Channels that do not match the layer, at run time, and sizes a window does not fit.
#[test]
fn conv3d_errors() {
    let Some(dev) = gpu() else { return };
    let gl = Conv3d::<2, 3, 3>::new(&mut StdRng::seed_from_u64(0))
        .to_device(&dev)
        .unwrap();
    type X = (usize, usize, usize, usize, usize);
    let x = Tensor::<X>::ones_with_shape((1, 3, 4, 4, 4))
        .to_device(&dev)
        .unwrap();
    let err = gl.try_forward(x).unwrap_err().to_string();
    assert!(
        err.contains("Conv3d") && err.contains("3 channels"),
        "{err}"
    );
    let small = Tensor::<X>::ones_with_shape((1, 2, 2, 4, 4))
        .to_device(&dev)
        .unwrap();
    assert!(gl.try_forward(small).is_err());
    // 110^3 outputs of 16^3 taps: more vol2col entries than the kernels' u32 indices reach.
    let wide = Conv3d::<1, 1, 16>::new(&mut StdRng::seed_from_u64(0))
        .to_device(&dev)
        .unwrap();
    let big = Tensor::<X>::zeros_with_shape((1, 1, 125, 125, 125))
        .to_device(&dev)
        .unwrap();
    let err = wide.try_forward(big).unwrap_err().to_string();
    assert!(err.contains("u32 indices"), "{err}");
}

/// A pooling layer on both devices, golden values when `golden` is given.
macro_rules! pool3d_case {
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
            assert_close("y", &down(&gyv), cy.as_slice(), 1e-6, 1e-6);
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

pool3d_case!(layer_maxpool3d, Some("layer_maxpool3d"), MaxPool3d<2>, Rank5<2, 2, 4, 6, 7>, Rank5<2, 2, 2, 3, 3>);
pool3d_case!(layer_maxpool3d_padded, Some("layer_maxpool3d_padded"), MaxPool3d<3, 2, 1>, Rank5<2, 2, 5, 6, 7>, Rank5<2, 2, 3, 3, 4>);
pool3d_case!(layer_avgpool3d, Some("layer_avgpool3d"), AvgPool3d<2>, Rank5<2, 2, 4, 6, 7>, Rank5<2, 2, 2, 3, 3>);
pool3d_case!(layer_avgpool3d_padded_unbatched, Some("layer_avgpool3d_padded_unbatched"), AvgPool3d<3, 2, 1>, Rank4<2, 5, 6, 7>, Rank4<2, 3, 3, 4>);
pool3d_case!(maxpool3d_overlapping_vs_cpu, None, MaxPool3d<3, 1, 1>, Rank5<2, 3, 4, 5, 3>, Rank5<2, 3, 4, 5, 3>);
pool3d_case!(maxpool3d_unbatched_vs_cpu, None, MaxPool3d<2, 1, 1>, Rank4<3, 3, 4, 5>, Rank4<3, 4, 5, 6>);
pool3d_case!(avgpool3d_overlapping_vs_cpu, None, AvgPool3d<3, 1, 1>, Rank5<2, 3, 4, 5, 3>, Rank5<2, 3, 4, 5, 3>);
pool3d_case!(avgpool3d_strided_padded_vs_cpu, None, AvgPool3d<2, 2, 1>, Rank5<1, 2, 5, 4, 7>, Rank5<1, 2, 3, 3, 4>);

/// Ties go to the first maximum and NaNs to the last one (values and gradients as on the
/// CPU), padding is `-inf` for max and counts as zero for the average; f64 against the CPU.
#[test]
fn pool3d_rules_and_f64() {
    let Some(dev) = gpu() else { return };
    let rule = |v: Vec<f32>| {
        let x = Tensor::<Rank4<1, 2, 2, 2>>::from_vec(v).unwrap();
        let gx = x.to_device(&dev).unwrap();
        let (gy, cy) = (
            MaxPool3d::<2>.forward(gx.clone().trace()),
            MaxPool3d::<2>.forward(x.clone().trace()),
        );
        let (g, c) = (down(&gy)[0], cy.to_vec()[0]);
        assert!(g == c || (g.is_nan() && c.is_nan()), "GPU {g} vs CPU {c}");
        let (gg, cg) = (gy.sum().backward(), cy.sum().backward());
        assert_eq!(
            down(&gg.get_gpu(&gx).unwrap()),
            cg.get_slice(&x).unwrap(),
            "gradient position"
        );
    };
    rule(vec![1.0, 3.0, 3.0, 0.0, 2.0, 3.0, 1.0, 0.0]);
    rule(vec![1.0, 3.0, f32::NAN, 0.0, 2.0, 3.0, 1.0, 0.0]);
    rule(vec![f32::NAN, 3.0, 1.0, f32::NAN, 2.0, f32::NAN, 1.0, 0.0]);
    rule(vec![-1.0, -3.0, -1.0, -5.0, -2.0, -1.0, -7.0, -1.0]);
    let neg = Tensor::<Rank4<1, 1, 1, 2>>::from_vec(vec![-3.0, -4.0])
        .unwrap()
        .to_device(&dev)
        .unwrap();
    assert_eq!(
        down(&MaxPool3d::<2, 1, 1>.forward(neg.clone()))[..3],
        [-3.0, -3.0, -4.0]
    );
    assert_eq!(
        down(&AvgPool3d::<2, 1, 1>.forward(neg))[..3],
        [-3.0 / 8.0, -7.0 / 8.0, -4.0 / 8.0]
    );
    let Some(dev) = gpu64() else { return };
    let x = Tensor::<Rank5<2, 2, 5, 4, 6>, f64>::randn(&mut StdRng::seed_from_u64(2));
    let gx = x.to_device(&dev).unwrap();
    let (gm, cm) = (
        MaxPool3d::<3, 2, 1>.forward(gx.clone().trace()),
        MaxPool3d::<3, 2, 1>.forward(x.clone().trace()),
    );
    let (ga, ca) = (
        AvgPool3d::<3, 1, 1>.forward(gx.clone().trace()),
        AvgPool3d::<3, 1, 1>.forward(x.clone().trace()),
    );
    close64(
        "max y",
        &gm.to_cpu().unwrap().to_vec(),
        cm.as_slice(),
        F64_TOL,
    );
    close64(
        "avg y",
        &ga.to_cpu().unwrap().to_vec(),
        ca.as_slice(),
        F64_TOL,
    );
    let gg = (gm.sum() + ga.sum()).backward();
    let cg = (cm.sum() + ca.sum()).backward();
    close64(
        "grad x",
        &gg.get_gpu(&gx).unwrap().to_cpu().unwrap().to_vec(),
        cg.get_slice(&x).unwrap(),
        F64_TOL,
    );
}

/// Sizes a window does not fit are an `Err`, as on the CPU.
#[test]
fn pool3d_errors() {
    let Some(dev) = gpu() else { return };
    type X = (usize, Const<2>, usize, usize, usize);
    let flat = Tensor::<X>::ones_with_shape((1, Const, 1, 10, 12))
        .to_device(&dev)
        .unwrap();
    let err = AvgPool3d::<2>
        .try_forward(flat.clone())
        .unwrap_err()
        .to_string();
    assert!(err.contains("window 2") && err.contains("input 1"), "{err}");
    assert!(MaxPool3d::<2>.try_forward(flat).is_err());
    let ok = Tensor::<X>::ones_with_shape((3, Const, 9, 10, 12))
        .to_device(&dev)
        .unwrap();
    let y = (MaxPool3d::<3, 2, 1>, AvgPool3d::<2>).forward(ok);
    assert_eq!(y.to_cpu().unwrap().dims().as_slice(), &[3, 2, 2, 2, 3]);
}
