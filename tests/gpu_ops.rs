//! Each GPU kernel against the CPU path on the same data, forward and backward.
#![cfg(feature = "wgpu")]

mod gpu_support;

use gpu_support::{FWD, GRAD, close, down, gpu, randn};
use shaped::gpu::prelude::*;
use shaped::prelude::*;

#[test]
fn adapter_is_reported() {
    let Some(g) = gpu() else { return };
    let a = g.adapter();
    eprintln!("GPU adapter: {a:?}");
    assert!(!a.name.is_empty());
}

#[test]
fn transfers_round_trip() {
    let Some(g) = gpu() else { return };
    let x = randn::<Rank2<3, 5>>(1);
    let back = x.to_device(&g).unwrap().to_cpu().unwrap();
    assert_eq!(back.to_vec(), x.to_vec());
    let f64s = Tensor::<Rank1<2>, f64>::ones();
    match f64s.to_device(&g) {
        Ok(t) => assert!(g.supports_f64() && t.to_cpu().unwrap().to_vec() == vec![1.0, 1.0]),
        Err(e) => assert!(
            !g.supports_f64() && e.to_string().contains("SHADER_F64"),
            "{e}"
        ),
    }
}

/// `f(a, b)` on both devices, then the gradients of `sum(f(a, b) * r)` for a fixed random `r`.
macro_rules! binary_vs_cpu {
    ($name:ident, $A:ty, $B:ty, $Y:ty, |$a:ident, $b:ident| $body:expr, $pos:expr) => {
        #[test]
        fn $name() {
            let Some(g) = gpu() else { return };
            let mut a = randn::<$A>(1);
            let mut b = randn::<$B>(2);
            if $pos {
                b = b.abs() + 0.5;
                a = a.abs() + 0.5;
            }
            let r = randn::<$Y>(3);
            let cy = {
                let ($a, $b) = (a.clone().trace(), b.clone().trace());
                $body
            };
            let (ga, gb) = (a.to_device(&g).unwrap(), b.to_device(&g).unwrap());
            let gy = {
                let ($a, $b) = (ga.clone().trace(), gb.clone().trace());
                $body
            };
            close("forward", &down(&gy), cy.as_slice(), FWD);
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
            close(
                "grad a",
                &down(&gg.get_gpu(&ga).unwrap()),
                cg.get_slice(&a).unwrap(),
                GRAD,
            );
            close(
                "grad b",
                &down(&gg.get_gpu(&gb).unwrap()),
                cg.get_slice(&b).unwrap(),
                GRAD,
            );
        }
    };
}

binary_vs_cpu!(add_broadcast_rank4, Rank4<2, 3, 1, 4>, Rank3<3, 5, 1>, Rank4<2, 3, 5, 4>, |a, b| a + b, false);
binary_vs_cpu!(sub_bias_row, Rank2<33, 17>, Rank1<17>, Rank2<33, 17>, |a, b| a - b, false);
binary_vs_cpu!(mul_column, Rank2<9, 300>, Rank2<9, 1>, Rank2<9, 300>, |a, b| a * b, false);
binary_vs_cpu!(div_both_sides, Rank2<1, 6>, Rank2<7, 1>, Rank2<7, 6>, |a, b| a / b, true);
binary_vs_cpu!(matmul_tiles, Rank2<37, 53>, Rank2<53, 29>, Rank2<37, 29>, |a, b| a.matmul(b), false);
binary_vs_cpu!(matmul_batched, Rank3<3, 17, 19>, Rank3<3, 19, 21>, Rank3<3, 17, 21>, |a, b| a.matmul(b), false);
binary_vs_cpu!(matmul_folded_batch, Rank3<4, 5, 33>, Rank2<33, 18>, Rank3<4, 5, 18>, |a, b| a.matmul(b), false);

/// A unary op on both devices over 1000 elements (several workgroups), value and gradient.
macro_rules! unary_vs_cpu {
    ($name:ident, |$x:ident| $body:expr, $pos:expr) => {
        #[test]
        fn $name() {
            let Some(g) = gpu() else { return };
            let mut x = randn::<Rank2<40, 25>>(4);
            if $pos {
                x = x.abs() + 0.1;
            }
            let r = randn::<Rank2<40, 25>>(5);
            let cy = {
                let $x = x.clone().trace();
                $body
            };
            let gx = x.to_device(&g).unwrap();
            let gy = {
                let $x = gx.clone().trace();
                $body
            };
            close("forward", &down(&gy), cy.as_slice(), FWD);
            let cg = (cy * r.clone()).sum().backward();
            let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
            close(
                "grad",
                &down(&gg.get_gpu(&gx).unwrap()),
                cg.get_slice(&x).unwrap(),
                GRAD,
            );
        }
    };
}

unary_vs_cpu!(relu, |x| x.relu(), false);
unary_vs_cpu!(sigmoid, |x| x.sigmoid(), false);
unary_vs_cpu!(tanh, |x| x.tanh(), false);
unary_vs_cpu!(exp, |x| x.exp(), false);
unary_vs_cpu!(ln, |x| x.ln(), true);
unary_vs_cpu!(square, |x| x.square(), false);
unary_vs_cpu!(scale_shift_neg, |x| -((x * 2.5) + 0.75), false);
unary_vs_cpu!(log_softmax_last, |x| x.log_softmax::<1>(), false);
unary_vs_cpu!(log_softmax_first, |x| x.log_softmax::<0>(), false);

#[test]
fn log_softmax_long_rows() {
    // Rows longer than a workgroup (256), and a row of large values.
    let Some(g) = gpu() else { return };
    let mut x = randn::<Rank2<3, 700>>(6);
    x.as_mut_slice()[700..1400]
        .iter_mut()
        .for_each(|v| *v = *v * 10.0 + 80.0);
    let r = randn::<Rank2<3, 700>>(7);
    let cy = x.clone().trace().log_softmax::<1>();
    let gx = x.to_device(&g).unwrap();
    let gy = gx.clone().trace().log_softmax::<1>();
    close("forward", &down(&gy), cy.as_slice(), FWD);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * r.to_device(&g).unwrap()).sum().backward();
    close(
        "grad",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
}

#[test]
fn sum_and_mean() {
    let Some(g) = gpu() else { return };
    let x = randn::<Rank3<7, 11, 13>>(8);
    let gx = x.to_device(&g).unwrap();
    let (cs, gs) = (x.clone().trace().sum(), gx.clone().trace().sum());
    close("sum", &down(&gs), cs.as_slice(), FWD);
    let (cm, gm) = (x.clone().trace().mean(), gx.clone().trace().mean());
    close("mean", &down(&gm), cm.as_slice(), FWD);
    let (cg, gg) = ((cs * 3.0).backward(), (gs * 3.0).backward());
    close(
        "sum grad",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
    let (cg, gg) = (cm.backward(), gm.backward());
    close(
        "mean grad",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
}

#[test]
fn cross_entropy_matches_cpu() {
    let Some(g) = gpu() else { return };
    let x = randn::<Rank2<9, 13>>(9);
    let labels = Indices::<Rank1<9>>::from_vec(vec![0, 12, 3, 3, 7, 1, 11, 5, 2]).unwrap();
    let cl = shaped::nn::loss::cross_entropy(x.clone().trace(), &labels);
    let gx = x.to_device(&g).unwrap();
    let gl = shaped::gpu::cross_entropy(gx.clone().trace(), &labels);
    close("loss", &down(&gl), cl.as_slice(), FWD);
    let (cg, gg) = (cl.backward(), gl.backward());
    close(
        "grad",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
}

#[test]
fn gradients_accumulate_over_two_uses() {
    // x used twice: both backward paths add into one GPU gradient.
    let Some(g) = gpu() else { return };
    let x = randn::<Rank2<4, 6>>(10);
    let cx = x.clone().trace();
    let cg = (cx.clone() * cx).sum().backward();
    let gx = x.to_device(&g).unwrap();
    let t = gx.clone().trace();
    let gg = (t.clone() * t).sum().backward();
    close(
        "grad",
        &down(&gg.get_gpu(&gx).unwrap()),
        cg.get_slice(&x).unwrap(),
        GRAD,
    );
}

#[test]
fn unsupported_layouts_and_bad_labels_are_errors() {
    let Some(g) = gpu() else { return };
    let v = Tensor::<Rank1<3>>::ones().to_device(&g).unwrap();
    let m = Tensor::<Rank2<3, 2>>::ones().to_device(&g).unwrap();
    let err = v.try_matmul(m).unwrap_err().to_string();
    assert!(
        err.contains("matmul") && err.contains("not on the GPU"),
        "{err}"
    );
    let logits = Tensor::<Rank2<2, 3>>::ones().to_device(&g).unwrap();
    let labels = Indices::<Rank1<2>>::from_vec(vec![0, 3]).unwrap();
    let err = shaped::gpu::try_cross_entropy(logits, &labels)
        .unwrap_err()
        .to_string();
    assert!(err.contains("label 3"), "{err}");
}

#[test]
fn named_adapter_selection() {
    let Some(g) = gpu() else { return };
    let name = g.adapter().name;
    let again = Wgpu::with_adapter(&name[..name.len().min(4)]).unwrap();
    assert!(!again.adapter().name.is_empty());
    let err = Wgpu::with_adapter("no such adapter xyz")
        .unwrap_err()
        .to_string();
    assert!(err.contains("no adapter name contains"), "{err}");
    assert!(!Wgpu::adapters().is_empty());
}
