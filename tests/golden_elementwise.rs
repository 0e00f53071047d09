//! PyTorch reference values for elementwise ops (tests/golden/binary_*, unary_*).

mod common;
#[path = "common/unary_ops.rs"]
#[macro_use]
mod unary_ops;
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

/// One golden test per row of `unary_ops!` that has a PyTorch case, its parameters read
/// from the case's hyperparameters.
macro_rules! unary_goldens {
    ($($name:ident($golden:tt, $values:expr, $domain:ident, [$($kink:expr),*];
        $($p:ident: $ps:expr, $pd:expr, $ph:tt);*) => |$x:ident| $body:expr;)*) => {
        mod unary {
            use super::*;
            $(unary_goldens!(@case $name, $golden, [$($p, $ph),*], |$x| $body);)*
        }
    };
    (@case $name:ident, none, [$($p:ident, $ph:tt),*], |$x:ident| $body:expr) => {};
    (@case $name:ident, $golden:literal, [$($p:ident, $ph:literal),*], |$x:ident| $body:expr) => {
        #[test]
        fn $name() {
            let _g = Golden::load($golden);
            $(let $p = _g.hp($ph) as f32;)*
            unary_case($golden, |$x| $body);
        }
    };
}

unary_ops!(unary_goldens);

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
