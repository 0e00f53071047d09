//! PyTorch's NaN and infinity semantics (issue 14): activations, clamp, max pooling and
//! max/min reductions on inputs holding NaN, +inf and -inf, against
//! `tests/golden/nan_*.safetensors` (written by `tests/golden/gen_nan_cases.py`).
//! A NaN expected value must be NaN; infinities must match exactly; finite values use the
//! usual tolerances (forward atol 1e-5 rtol 1e-4, gradients atol 1e-4 rtol 1e-3).

mod common;

use common::Golden;
use shaped::nn::{MaxPool2d, Module};
use shaped::prelude::*;

fn check(what: &str, actual: &[f32], expected: &[f32], atol: f32, rtol: f32) {
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

fn forward(g: &Golden, name: &str, actual: &[f32]) {
    check(
        &format!("{}: {name}", g.case),
        actual,
        &g.f(name),
        1e-5,
        1e-4,
    );
}

fn grad(g: &Golden, name: &str, actual: &[f32]) {
    let key = format!("grad.{name}");
    check(
        &format!("{}: {key}", g.case),
        actual,
        &g.f(&key),
        1e-4,
        1e-3,
    );
}

/// Runs `f` on the case's `x` untraced and traced, and checks `y` and `grad.x`.
fn unary(
    case: &str,
    f: impl Fn(Tensor<Rank2<2, 4>, f32, OwnedTape<f32>>) -> Tensor<Rank2<2, 4>, f32, OwnedTape<f32>>,
) {
    let g = Golden::load(case);
    let x = Tensor::<Rank2<2, 4>>::from_vec(g.f("x")).unwrap();
    let y = f(x.clone().trace());
    forward(&g, "y", y.as_slice());
    let gy = Tensor::<Rank2<2, 4>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    grad(&g, "x", grads.get_slice(&x).unwrap());
    // The untraced path (kernels that work in place) gives the same values.
    let (y, _) = f(x.clone().trace_constant()).split_tape();
    forward(&g, "y", y.as_slice());
}

#[test]
fn nan_relu() {
    unary("nan_unary_relu", |x| x.relu());
    // Untraced, with the buffer owned (the in-place path).
    let g = Golden::load("nan_unary_relu");
    let x = Tensor::<Rank2<2, 4>>::from_vec(g.f("x")).unwrap();
    forward(&g, "y", x.relu().as_slice());
}

#[test]
fn nan_leaky_relu() {
    let slope = Golden::load("nan_unary_leaky_relu").hp("negative_slope") as f32;
    unary("nan_unary_leaky_relu", |x| x.leaky_relu(slope));
}

#[test]
fn nan_sigmoid_tanh_silu() {
    unary("nan_unary_sigmoid", |x| x.sigmoid());
    unary("nan_unary_tanh", |x| x.tanh());
    unary("nan_unary_silu", |x| x.silu());
}

#[test]
fn nan_gelu() {
    unary("nan_unary_gelu_erf", |x| x.gelu());
    unary("nan_unary_gelu_tanh", |x| x.gelu_tanh());
}

#[test]
fn nan_softplus() {
    let g = Golden::load("nan_unary_softplus");
    let (b, t) = (g.hp("beta") as f32, g.hp("threshold") as f32);
    unary("nan_unary_softplus", |x| x.softplus(b, t));
}

#[test]
fn nan_clamp() {
    let g = Golden::load("nan_unary_clamp");
    let (lo, hi) = (g.hp("min") as f32, g.hp("max") as f32);
    unary("nan_unary_clamp", |x| x.clamp(lo, hi));
}

#[test]
fn nan_maxpool2d() {
    let g = Golden::load("nan_maxpool2d");
    let x = Tensor::<Rank4<1, 2, 4, 4>>::from_vec(g.f("x")).unwrap();
    let y = MaxPool2d::<2>.forward(x.clone().trace());
    forward(&g, "y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    grad(&g, "x", grads.get_slice(&x).unwrap());
    forward(&g, "y", MaxPool2d::<2>.forward(x).as_slice());
}

#[test]
fn nan_max_min_along_a_dim() {
    for (case, max) in [("nan_reduce_max_dim", true), ("nan_reduce_min_dim", false)] {
        let g = Golden::load(case);
        let x = Tensor::<Rank2<3, 4>>::from_vec(g.f("x")).unwrap();
        let (y, idx) = if max {
            x.clone().trace().max_dim_with_indices::<1>()
        } else {
            x.clone().trace().min_dim_with_indices::<1>()
        };
        forward(&g, "y", y.as_slice());
        assert_eq!(
            idx.as_slice(),
            g.idx("indices").as_slice(),
            "{case}: indices"
        );
        let gy = Tensor::<Rank1<3>>::from_vec(g.f("gy")).unwrap();
        let grads = (y * gy).sum().backward();
        grad(&g, "x", grads.get_slice(&x).unwrap());
    }
}

#[test]
fn nan_max_min_of_everything() {
    for (case, max) in [("nan_reduce_max_all", true), ("nan_reduce_min_all", false)] {
        let g = Golden::load(case);
        let x = Tensor::<Rank2<3, 4>>::from_vec(g.f("x")).unwrap();
        let y = if max {
            x.clone().trace().max()
        } else {
            x.clone().trace().min()
        };
        forward(&g, "y", y.as_slice());
        let gy = Tensor::<()>::from_vec(g.f("gy")).unwrap();
        let grads = (y * gy).sum().backward();
        grad(&g, "x", grads.get_slice(&x).unwrap());
    }
}

#[test]
fn ties_share_the_gradient_of_a_full_max() {
    // PyTorch's evenly_distribute_backward: two maxima get half each.
    let x = Tensor::<Rank1<4>, f64>::from_array([1.0, 3.0, 3.0, -2.0]);
    let grads = x.clone().trace().max().backward();
    assert_eq!(grads.get(&x).unwrap().to_vec(), vec![0.0, 0.5, 0.5, 0.0]);
}

#[test]
fn every_nan_case_is_covered() {
    let src = include_str!("golden_nan.rs");
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(case) = name
            .strip_suffix(".safetensors")
            .filter(|n| n.starts_with("nan_"))
        {
            assert!(src.contains(&format!("\"{case}\"")), "no test for {case}");
        }
    }
}
