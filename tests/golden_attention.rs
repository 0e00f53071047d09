//! PyTorch reference values for nn.MultiheadAttention (tests/golden/layer_mha_*).

mod common;
use common::Golden;
use rand::SeedableRng;
use shaped::nn::{AttentionInput, Module, MultiheadAttention, Params};
use shaped::prelude::*;

fn load<M: Params<f32>>(model: &mut M, g: &Golden) {
    model.visit_mut("", &mut |p| p.data.copy_from_slice(&g.f(p.name)));
}

fn check_param_grads<M: Params<f32>>(model: &M, g: &Golden, grads: &Gradients<f32>) {
    model.visit("", &mut |p| {
        g.check_grad(p.name, grads.get_id(p.id).unwrap())
    });
}

#[test]
fn layer_mha_self() {
    let g = Golden::load("layer_mha_self");
    let mut mha = MultiheadAttention::<8, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    assert_eq!(
        mha.param_names(),
        [
            "in_proj_weight",
            "in_proj_bias",
            "out_proj.weight",
            "out_proj.bias"
        ]
    );
    load(&mut mha, &g);
    let x = Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("x")).unwrap();
    let (y, w) = mha.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    g.check_forward("attn_weights", w.as_slice());
    let gy = Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    check_param_grads(&mha, &g, &grads);
}

#[test]
fn layer_mha_causal() {
    let g = Golden::load("layer_mha_causal");
    let mut mha = MultiheadAttention::<8, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    load(&mut mha, &g);
    let x = Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x")).unwrap();
    let mask = MultiheadAttention::<8, 2>::causal_mask(5);
    assert_eq!(mask.to_vec(), g.f("attn_mask"));
    let input = AttentionInput {
        query: x.clone().trace(),
        key: x.clone().trace(),
        value: x.clone().trace(),
        attn_mask: Some(mask),
    };
    let (y, w) = mha.forward(input);
    g.check_forward("y", y.as_slice());
    g.check_forward("attn_weights", w.as_slice());
    let gy = Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    check_param_grads(&mha, &g, &grads);
}

#[test]
fn layer_mha_cross() {
    let g = Golden::load("layer_mha_cross");
    let mut mha = MultiheadAttention::<8, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    load(&mut mha, &g);
    let q = Tensor::<Rank3<2, 3, 8>>::from_vec(g.f("x")).unwrap();
    let k = Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x2")).unwrap();
    let v = Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x3")).unwrap();
    let input = AttentionInput {
        query: q.clone().trace(),
        key: k.clone().trace(),
        value: v.clone().trace(),
        attn_mask: None::<Tensor<Rank2<3, 5>>>,
    };
    let (y, w) = mha.forward(input);
    g.check_forward("y", y.as_slice());
    g.check_forward("attn_weights", w.as_slice());
    let gy = Tensor::<Rank3<2, 3, 8>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&q).unwrap());
    g.check_grad("x2", grads.get_slice(&k).unwrap());
    g.check_grad("x3", grads.get_slice(&v).unwrap());
    check_param_grads(&mha, &g, &grads);
}
