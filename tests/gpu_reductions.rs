//! The GPU reductions beyond sum/mean and max/min along an axis (`GpuReductions`: var and
//! std with Bessel's correction, logsumexp, cumsum, whole tensor and per axis, with and
//! without `keepdim`; max/min of every element with ties sharing the gradient): the PyTorch
//! golden and NaN cases with the CPU tests' files and tolerances, and the CPU on other shapes,
//! axes and magnitudes, values and gradients.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{FWD, GRAD, close, down, gpu, randn, up};
use shaped::gpu::GpuTensor;
use shaped::gpu::prelude::*;
use shaped::prelude::*;
use shaped::shape::BroadcastShapes;

// ---- golden reductions -------------------------------------------------------------------

type X = Rank3<3, 4, 5>;

/// A golden reduction of `x` `(3, 4, 5)`: `y` and the gradient of `sum(y * gy)`.
fn reduce_golden<S: ConstShape + BroadcastShapes<S>>(
    case: &str,
    f: impl Fn(GpuTensor<X, OwnedTape<f32>>) -> GpuTensor<S, OwnedTape<f32>>,
) {
    let Some(dev) = gpu() else { return };
    let g = Golden::load(case);
    let x = up(&dev, &Tensor::<X>::from_vec(g.f("x")).unwrap());
    let y = f(x.clone().trace());
    g.check_forward("y", &down(&y));
    let gy = up(&dev, &Tensor::<S>::from_vec(g.f("gy")).unwrap());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
}

#[test]
fn golden_reduce_var_all() {
    reduce_golden::<Rank0>("reduce_var_all", |x| x.var());
}
#[test]
fn golden_reduce_var_dim() {
    reduce_golden::<Rank2<3, 5>>("reduce_var_dim", |x| x.var_dim::<1>());
}
#[test]
fn golden_reduce_std_dim() {
    reduce_golden::<Rank2<3, 4>>("reduce_std_dim", |x| x.std_dim::<2>());
}
#[test]
fn golden_reduce_logsumexp() {
    reduce_golden::<Rank2<3, 4>>("reduce_logsumexp", |x| x.logsumexp_dim::<2>());
}

#[test]
fn golden_reduce_cumsum() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("reduce_cumsum");
    assert_eq!(g.hp_str("dim"), "1");
    let x = up(&dev, &Tensor::<Rank2<3, 5>>::from_vec(g.f("x")).unwrap());
    let y = x.clone().trace().cumsum::<1>();
    g.check_forward("y", &down(&y));
    let gy = up(&dev, &Tensor::<Rank2<3, 5>>::from_vec(g.f("gy")).unwrap());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));
}

// ---- reductions against the CPU ----------------------------------------------------------

/// `f(x)` on both devices, then the gradient of `sum(f(x) * r)`.
macro_rules! reduce_vs_cpu {
    ($name:ident, $X:ty, $Y:ty, $scale:expr, |$x:ident| $body:expr) => {
        #[test]
        fn $name() {
            let Some(g) = gpu() else { return };
            let x = randn::<$X>(11) * $scale + 0.5;
            let r = randn::<$Y>(12);
            let cy: Tensor<$Y, f32, OwnedTape<f32>> = {
                let $x = x.clone().trace();
                $body
            };
            let gx = up(&g, &x);
            let gy: GpuTensor<$Y, OwnedTape<f32>> = {
                let $x = gx.clone().trace();
                $body
            };
            close("forward", &down(&gy), cy.as_slice(), FWD);
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * up(&g, &r)).sum().backward();
            close(
                "grad",
                &down(&gg.get_gpu(&gx).unwrap()),
                cg.get_slice(&x).unwrap(),
                GRAD,
            );
        }
    };
}

reduce_vs_cpu!(var_all, Rank3<6, 7, 5>, (), 2.0, |x| x.var());
reduce_vs_cpu!(std_all, Rank3<6, 7, 5>, (), 2.0, |x| x.std());
reduce_vs_cpu!(logsumexp_all, Rank3<6, 7, 5>, (), 30.0, |x| x.logsumexp());
reduce_vs_cpu!(var_dim0, Rank3<6, 7, 5>, Rank2<7, 5>, 2.0, |x| x.var_dim::<0>());
reduce_vs_cpu!(var_dim_keepdim2, Rank3<6, 7, 5>, Rank3<6, 7, 1>, 2.0, |x| x.var_dim_keepdim::<2>());
reduce_vs_cpu!(var_dim_biased, Rank3<6, 7, 5>, Rank2<6, 5>, 2.0, |x| x.var_dim_correction::<1>(0));
reduce_vs_cpu!(var_dim_correction2, Rank3<6, 7, 5>, Rank2<6, 5>, 2.0, |x| x.var_dim_correction::<1>(2));
reduce_vs_cpu!(std_dim1, Rank3<6, 7, 5>, Rank2<6, 5>, 2.0, |x| x.std_dim::<1>());
reduce_vs_cpu!(std_dim_keepdim0, Rank3<6, 7, 5>, Rank3<1, 7, 5>, 2.0, |x| x.std_dim_keepdim::<0>());
reduce_vs_cpu!(logsumexp_dim1, Rank3<6, 7, 5>, Rank2<6, 5>, 50.0, |x| x.logsumexp_dim::<1>());
reduce_vs_cpu!(logsumexp_dim_keepdim0, Rank3<6, 7, 5>, Rank3<1, 7, 5>, 50.0, |x| x.logsumexp_dim_keepdim::<0>());
reduce_vs_cpu!(logsumexp_long_rows, Rank2<3, 700>, Rank1<3>, 10.0, |x| x.logsumexp_dim::<1>());
reduce_vs_cpu!(cumsum0, Rank3<6, 7, 5>, Rank3<6, 7, 5>, 1.0, |x| x.cumsum::<0>());
reduce_vs_cpu!(cumsum1, Rank3<6, 7, 5>, Rank3<6, 7, 5>, 1.0, |x| x.cumsum::<1>());
reduce_vs_cpu!(cumsum_last, Rank3<6, 7, 5>, Rank3<6, 7, 5>, 1.0, |x| x.cumsum::<2>());
reduce_vs_cpu!(cumsum_long, Rank2<3, 700>, Rank2<3, 700>, 1.0, |x| x.cumsum::<1>() * 0.1);

#[test]
fn logsumexp_of_infinite_rows_is_as_on_the_cpu() {
    let Some(g) = gpu() else { return };
    let x = Tensor::<Rank2<3, 2>>::from_array([
        [f32::NEG_INFINITY, f32::NEG_INFINITY],
        [f32::INFINITY, 1.0],
        [2.0, f32::NEG_INFINITY],
    ]);
    let cy = x.clone().logsumexp_dim::<1>();
    let gy = up(&g, &x).logsumexp_dim::<1>();
    assert_eq!(down(&gy), cy.to_vec());
}

#[test]
fn golden_reduce_max_all() {
    reduce_golden::<Rank0>("reduce_max_all", |x| x.max());
}

/// NaN where PyTorch gives NaN, the same infinity, else within the tolerance (the CPU NaN
/// test's rule).
fn nan_check(what: &str, actual: &[f32], expected: &[f32], (atol, rtol): (f32, f32)) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else if e.is_infinite() {
            a == e
        } else {
            (a - e).abs() <= atol + rtol * e.abs()
        };
        assert!(ok, "{what}[{i}]: got {a}, expected {e}");
    }
}

#[test]
fn golden_nan_max_min_of_everything() {
    let Some(dev) = gpu() else { return };
    for (case, max) in [("nan_reduce_max_all", true), ("nan_reduce_min_all", false)] {
        let g = Golden::load(case);
        let x = up(&dev, &Tensor::<Rank2<3, 4>>::from_vec(g.f("x")).unwrap());
        let y = if max {
            x.clone().trace().max()
        } else {
            x.clone().trace().min()
        };
        nan_check(case, &down(&y), &g.f("y"), (1e-5, 1e-4));
        let gy = up(&dev, &Tensor::<()>::from_vec(g.f("gy")).unwrap());
        let grads = (y * gy).sum().backward();
        let gx = down(&grads.get_gpu(&x).unwrap());
        nan_check(case, &gx, &g.f("grad.x"), (1e-4, 1e-3));
    }
}

#[test]
fn ties_share_the_gradient_of_a_full_max() {
    let Some(g) = gpu() else { return };
    let x = up(&g, &Tensor::<Rank1<4>>::from_array([1.0, 3.0, 3.0, -2.0]));
    let grads = x.clone().trace().max().backward();
    assert_eq!(down(&grads.get_gpu(&x).unwrap()), vec![0.0, 0.5, 0.5, 0.0]);
    let grads = x.clone().trace().min().backward();
    assert_eq!(down(&grads.get_gpu(&x).unwrap()), vec![0.0, 0.0, 0.0, 1.0]);
}

// Past one line of the two-pass kernel (lines of 1024 and a tail), with ties from rounding.
reduce_vs_cpu!(max_all, Rank3<6, 7, 5>, (), 3.0, |x| x.max());
reduce_vs_cpu!(min_all, Rank3<6, 7, 5>, (), 3.0, |x| x.min());
reduce_vs_cpu!(max_all_two_passes, Rank2<50, 1001>, (), 3.0, |x| x.max());
reduce_vs_cpu!(min_all_two_passes, Rank2<50, 1001>, (), 3.0, |x| x.min());

#[test]
fn max_of_rounded_values_shares_among_ties() {
    let Some(g) = gpu() else { return };
    let x = Tensor::<Rank2<40, 300>>::from_vec(
        randn::<Rank2<40, 300>>(5)
            .to_vec()
            .iter()
            .map(|v| (v * 2.0).round())
            .collect(),
    )
    .unwrap();
    let gx = up(&g, &x);
    let cg = x.clone().trace().max().backward();
    let gg = gx.clone().trace().max().backward();
    close(
        "ties",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
}

#[test]
fn golden_max_min_dim_with_indices() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("reduce_max_dim");
    let x = up(&dev, &Tensor::<X>::from_vec(g.f("x")).unwrap());
    let (y, idx) = x.clone().trace().max_dim_with_indices::<1>();
    assert_eq!(idx.to_vec(), g.idx("indices"));
    g.check_forward("y", &down(&y));
    let gy = up(&dev, &Tensor::<Rank2<3, 5>>::from_vec(g.f("gy")).unwrap());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &down(&grads.get_gpu(&x).unwrap()));

    let g = Golden::load("reduce_min_dim");
    let x = up(&dev, &Tensor::<X>::from_vec(g.f("x")).unwrap());
    let (y, idx) = x.min_dim_with_indices::<0>();
    assert_eq!(idx.to_vec(), g.idx("indices"));
    g.check_forward("y", &down(&y));
}

#[test]
fn max_dim_with_indices_of_an_empty_axis_is_an_err() {
    let Some(dev) = gpu() else { return };
    let x = up(&dev, &Tensor::<(usize, usize)>::zeros_with_shape((2, 0)));
    assert!(x.try_max_dim_with_indices::<1>().is_err());
}
