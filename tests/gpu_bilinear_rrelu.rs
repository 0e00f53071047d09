//! `GpuBilinear` (Bilinear by `to_device`) and RReLU on GPU tensors: the PyTorch golden
//! cases of the CPU tests, the CPU layer on random data (values and the gradients of the
//! inputs and parameters, f32 and f64), training-mode slopes, and the `Err`s.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{F64_TOL, FWD, GRAD, gpu, gpu64};
use shaped::device::Wgpu;
use shaped::dtype::Float;
use shaped::gpu::GpuTensor;
use shaped::gpu::prelude::*;
use shaped::nn::{Bilinear, BilinearDyn, BilinearLayer, Module, RReLU};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};
use shaped::shape::{Dim, LastDim};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

#[track_caller]
fn close<E: Float>(what: &str, gpu: &[E], cpu: &[E], tol: (f64, f64)) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: lengths differ");
    for (i, (x, y)) in gpu.iter().zip(cpu).enumerate() {
        let (x, y) = (x.to_f64(), y.to_f64());
        assert!(
            x == y || (x - y).abs() <= tol.0 + tol.1 * y.abs(),
            "{what}: index {i}: GPU {x:e} vs CPU {y:e}"
        );
    }
}

fn tols<E: Float>() -> ((f64, f64), (f64, f64)) {
    if E::DTYPE == "f64" {
        (F64_TOL, F64_TOL)
    } else {
        let f = |t: (f32, f32)| (t.0 as f64, t.1 as f64);
        (f(FWD), f(GRAD))
    }
}

fn down<S: Shape, T, E: Float>(t: &GpuTensor<S, T, E>) -> Vec<E> {
    t.to_cpu().unwrap().to_vec()
}

fn randn<S: Shape, E: Float>(shape: S, seed: u64) -> Tensor<S, E> {
    let x = Tensor::<(usize,)>::randn_with_shape((shape.numel(),), &mut rng(seed));
    let v = x.to_vec().into_iter().map(|v| E::from_f64(v as f64));
    Tensor::from_vec_with_shape(v.collect(), shape).unwrap()
}

// ---- Bilinear ----------------------------------------------------------------------------

/// A Bilinear layer on both devices: `y`, and the gradients of `sum(y * r)` for both inputs,
/// the weight and the bias.
fn check_bilinear<I1, I2, O, S1, S2, E>(
    g: &Wgpu,
    what: &str,
    cpu: &BilinearLayer<I1, I2, O, E>,
    s1: S1,
    s2: S2,
) where
    I1: Dim,
    I2: Dim,
    O: Dim,
    E: Float,
    S1: LastDim,
    S2: LastDim,
    S1::Last: shaped::shape::DimEq<I1>,
    S2::Last: shaped::shape::DimEq<I2>,
{
    let (fwd, gtol) = tols::<E>();
    let gl = cpu.to_device(g).unwrap();
    let (x1, x2): (Tensor<S1, E>, Tensor<S2, E>) = (randn(s1, 1), randn(s2, 2));
    let cy = cpu.forward((x1.clone().trace(), x2.clone().trace()));
    let (g1, g2) = (x1.to_device(g).unwrap(), x2.to_device(g).unwrap());
    let gy = gl.forward((g1.clone().trace(), g2.clone().trace()));
    let gdims = gy.to_cpu().unwrap().dims();
    assert_eq!(gdims.as_slice(), cy.dims().as_slice(), "{what}: shape");
    close(&format!("{what}: y"), &down(&gy), cy.as_slice(), fwd);
    let n = cy.shape().numel();
    let r: Tensor<(usize,), E> = randn((n,), 3);
    let cg = (cy.reshape_dyn((n,)) * r.clone()).sum().backward();
    let gg = (gy.reshape_dyn((n,)) * r.to_device(g).unwrap())
        .sum()
        .backward();
    let grad = |t: &GpuTensor<_, NoTape, E>| down(&gg.get_gpu(t).unwrap());
    close(
        &format!("{what}: grad x1"),
        &down(&gg.get_gpu(&g1).unwrap()),
        cg.get_slice(&x1).unwrap(),
        gtol,
    );
    close(
        &format!("{what}: grad x2"),
        &down(&gg.get_gpu(&g2).unwrap()),
        cg.get_slice(&x2).unwrap(),
        gtol,
    );
    close(
        &format!("{what}: grad weight"),
        &grad(&gl.weight),
        cg.get_slice(&cpu.weight).unwrap(),
        gtol,
    );
    match (&gl.bias, &cpu.bias) {
        (Some(gb), Some(cb)) => close(
            &format!("{what}: grad bias"),
            &down(&gg.get_gpu(gb).unwrap()),
            cg.get_slice(cb).unwrap(),
            gtol,
        ),
        (None, None) => {}
        _ => panic!("{what}: bias on one device only"),
    }
    // Untraced, and back to the CPU unchanged.
    close(
        &format!("{what}: untraced"),
        &down(&gl.forward((g1, g2))),
        cy_untraced(cpu, x1, x2).as_slice(),
        fwd,
    );
    let back = gl.to_cpu().unwrap();
    assert_eq!(back.weight.to_vec(), cpu.weight.to_vec());
}

fn cy_untraced<I1: Dim, I2: Dim, O: Dim, S1: LastDim, S2: LastDim, E: Float>(
    cpu: &BilinearLayer<I1, I2, O, E>,
    x1: Tensor<S1, E>,
    x2: Tensor<S2, E>,
) -> Tensor<S1::WithLast<O>, E>
where
    S1::Last: shaped::shape::DimEq<I1>,
    S2::Last: shaped::shape::DimEq<I2>,
{
    cpu.forward((x1, x2))
}

fn bilinear_on<E: Float>(g: &Wgpu) {
    let l = Bilinear::<3, 4, 5, E>::new(&mut rng(7));
    check_bilinear(
        g,
        "rank 2",
        &l,
        <Rank2<6, 3>>::default(),
        <Rank2<6, 4>>::default(),
    );
    check_bilinear(
        g,
        "rank 3",
        &l,
        <Rank3<2, 3, 3>>::default(),
        <Rank3<2, 3, 4>>::default(),
    );
    check_bilinear(
        g,
        "rank 1",
        &l,
        <Rank1<3>>::default(),
        <Rank1<4>>::default(),
    );
    let l = Bilinear::<4, 2, 3, E>::new_no_bias(&mut rng(8));
    check_bilinear(
        g,
        "no bias",
        &l,
        <Rank2<5, 4>>::default(),
        <Rank2<5, 2>>::default(),
    );
    let l = BilinearDyn::<E>::new_dyn(5, 3, 7, true, &mut rng(9));
    check_bilinear(g, "dyn", &l, (4usize, 5usize), (4usize, 3usize));
}

#[test]
fn bilinear_matches_the_cpu_f32() {
    let Some(g) = gpu() else { return };
    bilinear_on::<f32>(&g);
}

#[test]
fn bilinear_matches_the_cpu_f64() {
    let Some(g) = gpu64() else { return };
    bilinear_on::<f64>(&g);
}

/// A golden Bilinear case on the GPU: the stored parameters, `y` and every gradient.
fn golden_bilinear<
    const I1: usize,
    const I2: usize,
    const O: usize,
    S1: ConstShape + LastDim,
    S2: ConstShape + LastDim,
>(
    g: &Wgpu,
    case: &str,
    bias: bool,
) where
    S1::Last: shaped::shape::DimEq<Const<I1>>,
    S2::Last: shaped::shape::DimEq<Const<I2>>,
{
    let gd = Golden::load(case);
    let mut cpu = if bias {
        Bilinear::<I1, I2, O>::new(&mut rng(0))
    } else {
        Bilinear::<I1, I2, O>::new_no_bias(&mut rng(0))
    };
    cpu.weight = Tensor::from_vec(gd.f("weight")).unwrap();
    if let Some(b) = &mut cpu.bias {
        *b = Tensor::from_vec(gd.f("bias")).unwrap();
    }
    assert_eq!(cpu.bias.is_some(), gd.has("bias"));
    let gl = cpu.to_device(g).unwrap();
    let x1 = Tensor::<S1>::from_vec(gd.f("x"))
        .unwrap()
        .to_device(g)
        .unwrap();
    let x2 = Tensor::<S2>::from_vec(gd.f("x2"))
        .unwrap()
        .to_device(g)
        .unwrap();
    let y = gl.forward((x1.clone().trace(), x2.clone().trace()));
    gd.check_forward("y", &down(&y));
    let n = gd.f("gy").len();
    let gy = Tensor::from_vec_with_shape(gd.f("gy"), (n,))
        .unwrap()
        .to_device(g)
        .unwrap();
    let grads = (y.reshape_dyn((n,)) * gy).sum().backward();
    gd.check_grad("x", &down(&grads.get_gpu(&x1).unwrap()));
    gd.check_grad("x2", &down(&grads.get_gpu(&x2).unwrap()));
    gd.check_grad("weight", &down(&grads.get_gpu(&gl.weight).unwrap()));
    if let Some(b) = &gl.bias {
        gd.check_grad("bias", &down(&grads.get_gpu(b).unwrap()));
    }
}

#[test]
fn golden_bilinear_layers() {
    let Some(g) = gpu() else { return };
    golden_bilinear::<3, 4, 5, Rank2<6, 3>, Rank2<6, 4>>(&g, "layer_bilinear", true);
    golden_bilinear::<4, 2, 3, Rank2<5, 4>, Rank2<5, 2>>(&g, "layer_bilinear_no_bias", false);
    golden_bilinear::<3, 2, 4, Rank3<2, 3, 3>, Rank3<2, 3, 2>>(&g, "layer_bilinear_leading", true);
}

#[test]
fn bilinear_errors() {
    let Some(g) = gpu() else { return };
    let l = BilinearDyn::<f32>::new_dyn(3, 2, 4, true, &mut rng(0))
        .to_device(&g)
        .unwrap();
    let t = |d: (usize, usize)| {
        Tensor::<(usize, usize)>::zeros_with_shape(d)
            .to_device(&g)
            .unwrap()
    };
    let err = l.try_forward((t((5, 3)), t((5, 3)))).unwrap_err();
    assert!(err.to_string().contains("last dimensions"), "{err}");
    let err = l.try_forward((t((5, 3)), t((4, 2)))).unwrap_err();
    assert!(
        err.to_string().contains("same dimensions but the last"),
        "{err}"
    );
    let mut bad = l.clone();
    bad.bias = Some(
        Tensor::<(usize,)>::zeros_with_shape((3,))
            .to_device(&g)
            .unwrap(),
    );
    let err = bad.try_forward((t((5, 3)), t((5, 2)))).unwrap_err();
    assert!(err.to_string().contains("the bias has 3 elements"), "{err}");
    // An empty batch gives an empty output.
    let y = l.forward((t((0, 3)), t((0, 2))));
    assert_eq!(y.to_cpu().unwrap().dims().as_slice(), &[0, 4]);
    let mut params = l;
    assert_eq!(params.gpu_param_names(), ["weight", "bias"]);
}

// ---- RReLU -------------------------------------------------------------------------------

#[test]
fn golden_rrelu_eval() {
    let Some(g) = gpu() else { return };
    for (case, layer) in [
        ("layer_rrelu_eval", RReLU::default()),
        ("layer_rrelu_eval_bounds", RReLU::with_seed(0.1, 0.3, 0)),
    ] {
        let gd = Golden::load(case);
        let n = gd.f("x").len();
        let layer = layer.to_device(&g).unwrap();
        let x = Tensor::from_vec_with_shape(gd.f("x"), (n,))
            .unwrap()
            .to_device(&g)
            .unwrap();
        let gy = Tensor::from_vec_with_shape(gd.f("gy"), (n,))
            .unwrap()
            .to_device(&g)
            .unwrap();
        let y = layer.forward(x.clone().trace());
        gd.check_forward("y", &down(&y));
        let grads = (y * gy).sum().backward();
        gd.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
    }
}

fn rrelu_on<E: Float>(g: &Wgpu) {
    let (fwd, gtol) = tols::<E>();
    let x: Tensor<(usize,), E> = randn((200usize,), 4);
    // Evaluation mode: the CPU's values and gradients.
    let cpu = RReLU::with_seed(0.1, 0.4, 3);
    let gl = cpu.to_device(g).unwrap();
    let cy = cpu.forward(x.clone().trace());
    let gx = x.to_device(g).unwrap();
    let gy = gl.forward(gx.clone().trace());
    close("rrelu eval", &down(&gy), cy.as_slice(), fwd);
    let r: Tensor<(usize,), E> = randn((200usize,), 5);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(g).unwrap()).sum().backward();
    close(
        "rrelu eval grad",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        gtol,
    );

    // Training mode: positive elements pass, negative ones take a slope in [lower, upper],
    // the gradient is the slope, and slopes differ between elements and calls.
    let mut gl = RReLU::with_seed(0.1, 0.4, 3).to_device(g).unwrap();
    GpuParams::<E>::train(&mut gl);
    assert!(GpuParams::<E>::is_training(&gl));
    let y = gl.forward(gx.clone().trace());
    let yv = down(&y);
    let grads = y.sum().backward();
    let gv = down(&grads.get_gpu(&gx).unwrap());
    let mut slopes = Vec::new();
    for ((&xi, &yi), &gi) in x.as_slice().iter().zip(&yv).zip(&gv) {
        let (xi, yi, gi) = (xi.to_f64(), yi.to_f64(), gi.to_f64());
        if xi > 0.0 {
            assert_eq!((yi, gi), (xi, 1.0));
        } else {
            let s = yi / xi;
            assert!((0.1 - 1e-6..=0.4 + 1e-6).contains(&s), "slope {s}");
            assert!((gi - s).abs() < 1e-5, "gradient {gi} vs slope {s}");
            slopes.push(s);
        }
    }
    assert!(slopes.len() > 50);
    let mean = slopes.iter().sum::<f64>() / slopes.len() as f64;
    assert!((mean - 0.25).abs() < 0.05, "mean slope {mean}");
    let again = down(&gl.forward(gx.clone()));
    assert_ne!(again, yv, "a new draw every call");
    // The same seed repeats; forward_train trains one call; eval goes back to the mean slope.
    let mut a = RReLU::with_seed(0.1, 0.4, 11).to_device(g).unwrap();
    let mut b = RReLU::with_seed(0.1, 0.4, 11).to_device(g).unwrap();
    let ya = down(&a.forward_train(gx.clone()));
    assert_eq!(ya, down(&b.forward_train(gx.clone())));
    assert!(!GpuParams::<E>::is_training(&a));
    GpuParams::<E>::eval(&mut gl);
    let expect = x.clone().rrelu(0.1, 0.4).to_vec();
    close("rrelu eval again", &down(&gl.forward(gx)), &expect, fwd);
}

#[test]
fn rrelu_matches_the_cpu_f32() {
    let Some(g) = gpu() else { return };
    rrelu_on::<f32>(&g);
}

#[test]
fn rrelu_matches_the_cpu_f64() {
    let Some(g) = gpu64() else { return };
    rrelu_on::<f64>(&g);
}
