//! PyTorch reference values for nn.Linear (tests/golden/layer_linear*).

mod common;
use common::Golden;
use shaped::nn::{Linear, Module, Params};
use shaped::prelude::*;

#[test]
fn layer_linear() {
    let g = Golden::load("layer_linear");
    let layer = Linear::<6, 5> {
        weight: Tensor::from_vec(g.f("weight")).unwrap(),
        bias: Some(Tensor::from_vec(g.f("bias")).unwrap()),
    };
    assert_eq!(layer.param_names(), ["weight", "bias"]);
    let x = Tensor::<Rank3<2, 3, 6>>::from_vec(g.f("x")).unwrap();
    let y = layer.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank3<2, 3, 5>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&layer.weight).unwrap());
    g.check_grad(
        "bias",
        grads.get_slice(layer.bias.as_ref().unwrap()).unwrap(),
    );
    // Untraced forward gives the same values.
    g.check_forward("y", layer.forward(x).as_slice());
}

#[test]
fn layer_linear_nobias() {
    let g = Golden::load("layer_linear_nobias");
    let layer = Linear::<6, 5> {
        weight: Tensor::from_vec(g.f("weight")).unwrap(),
        bias: None,
    };
    assert_eq!(layer.param_names(), ["weight"]);
    let x = Tensor::<Rank2<4, 6>>::from_vec(g.f("x")).unwrap();
    let y = layer.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank2<4, 5>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&layer.weight).unwrap());
}
