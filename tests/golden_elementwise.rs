//! PyTorch reference values for elementwise ops (tests/golden/binary_*, unary_*).

mod common;
use common::Golden;
use shaped::prelude::*;

type X = Rank2<4, 7>;

/// Runs `f` on the stored `x`, checks `y`, then backpropagates `sum(y * gy)` and checks grad.x.
fn unary_case(
    case: &str,
    f: impl Fn(Tensor<X, f32, OwnedTape<f32>>) -> Tensor<X, f32, OwnedTape<f32>>,
) {
    let g = Golden::load(case);
    let x = Tensor::<X>::from_vec(g.f("x")).unwrap();
    let gy = Tensor::<X>::from_vec(g.f("gy")).unwrap();
    let y = f(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
}

#[test]
fn unary_abs() {
    unary_case("unary_abs", |x| x.abs());
}
#[test]
fn unary_clamp() {
    let g = Golden::load("unary_clamp");
    let (lo, hi) = (g.hp("min") as f32, g.hp("max") as f32);
    unary_case("unary_clamp", |x| x.clamp(lo, hi));
}
#[test]
fn unary_exp() {
    unary_case("unary_exp", |x| x.exp());
}
#[test]
fn unary_gelu_erf() {
    unary_case("unary_gelu_erf", |x| x.gelu());
}
#[test]
fn unary_gelu_tanh() {
    unary_case("unary_gelu_tanh", |x| x.gelu_tanh());
}
#[test]
fn unary_leaky_relu() {
    let slope = Golden::load("unary_leaky_relu").hp("negative_slope") as f32;
    unary_case("unary_leaky_relu", |x| x.leaky_relu(slope));
}
#[test]
fn unary_log() {
    unary_case("unary_log", |x| x.ln());
}
#[test]
fn unary_neg() {
    unary_case("unary_neg", |x| -x);
}
#[test]
fn unary_pow() {
    let p = Golden::load("unary_pow").hp("exponent") as f32;
    unary_case("unary_pow", |x| x.powf(p));
}
#[test]
fn unary_relu() {
    unary_case("unary_relu", |x| x.relu());
}
#[test]
fn unary_sigmoid() {
    unary_case("unary_sigmoid", |x| x.sigmoid());
}
#[test]
fn unary_silu() {
    unary_case("unary_silu", |x| x.silu());
}
#[test]
fn unary_softplus() {
    let g = Golden::load("unary_softplus");
    let (b, t) = (g.hp("beta") as f32, g.hp("threshold") as f32);
    unary_case("unary_softplus", |x| x.softplus(b, t));
}
#[test]
fn unary_sqrt() {
    unary_case("unary_sqrt", |x| x.sqrt());
}
#[test]
fn unary_tanh() {
    unary_case("unary_tanh", |x| x.tanh());
}

type A = Rank3<3, 1, 5>;
type B = Rank2<4, 5>;
type Y = Rank3<3, 4, 5>;

fn binary_case(
    case: &str,
    f: impl Fn(
        Tensor<A, f32, OwnedTape<f32>>,
        Tensor<B, f32, OwnedTape<f32>>,
    ) -> Tensor<Y, f32, OwnedTape<f32>>,
) {
    let g = Golden::load(case);
    let a = Tensor::<A>::from_vec(g.f("x")).unwrap();
    let b = Tensor::<B>::from_vec(g.f("x2")).unwrap();
    let gy = Tensor::<Y>::from_vec(g.f("gy")).unwrap();
    let y = f(a.clone().trace(), b.clone().trace());
    g.check_forward("y", y.as_slice());
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&a).unwrap());
    g.check_grad("x2", grads.get_slice(&b).unwrap());
}

#[test]
fn binary_add() {
    binary_case("binary_add", |a, b| a + b);
}
#[test]
fn binary_sub() {
    binary_case("binary_sub", |a, b| a - b);
}
#[test]
fn binary_mul() {
    binary_case("binary_mul", |a, b| a * b);
}
#[test]
fn binary_div() {
    binary_case("binary_div", |a, b| a / b);
}
