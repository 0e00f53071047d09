//! PyTorch reference values for BatchNorm1d/2d, LayerNorm and Embedding
//! (tests/golden/layer_batchnorm*, layer_layernorm, layer_embedding): outputs, running
//! statistics, and the gradients of `sum(y * gy)` with respect to inputs and parameters.

mod common;
use common::Golden;
use shaped::nn::*;
use shaped::ops::binary::{MulKernel, binary_op};
use shaped::prelude::*;

fn channels<const C: usize>(g: &Golden, name: &str) -> Tensor<Rank1<C>> {
    Tensor::from_vec(g.f(name)).unwrap()
}

/// A BatchNorm layer with the stored parameters and buffers.
fn batchnorm<const C: usize, const K: usize>(g: &Golden) -> BatchNormLayer<Const<C>, K> {
    assert_eq!(g.hp("eps"), 1e-5);
    assert_eq!(g.hp("momentum"), 0.1);
    let mut bn = BatchNormLayer::<Const<C>, K>::new();
    bn.weight = channels(g, "weight");
    bn.bias = channels(g, "bias");
    bn.running_mean = channels(g, "running_mean");
    bn.running_var = channels(g, "running_var");
    bn
}

/// Checks `y`, then backpropagates `sum(y * gy)` and checks the gradients of `x`, `weight`
/// and `bias`.
fn check_bn<S: ConstShape, const C: usize, const K: usize>(
    g: &Golden,
    bn: &BatchNormLayer<Const<C>, K>,
    x: &Tensor<S>,
    y: Tensor<S, f32, OwnedTape<f32>>,
) {
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<S>::from_vec(g.f("gy")).unwrap();
    let grads = binary_op(y, gy, S::default(), MulKernel).sum().backward();
    g.check_grad("x", grads.get_slice(x).unwrap());
    g.check_grad("weight", grads.get_slice(&bn.weight).unwrap());
    g.check_grad("bias", grads.get_slice(&bn.bias).unwrap());
}

#[test]
fn layer_batchnorm1d_eval() {
    let g = Golden::load("layer_batchnorm1d_eval");
    let bn: BatchNorm1d<4> = batchnorm(&g);
    assert_eq!(
        bn.param_names(),
        ["weight", "bias", "running_mean", "running_var"]
    );
    let x = Tensor::<Rank2<8, 4>>::from_vec(g.f("x")).unwrap();
    let y = bn.forward(x.clone().trace());
    check_bn(&g, &bn, &x, y);
    g.check_forward("y", bn.forward(x).as_slice());
}

#[test]
fn layer_batchnorm1d_train() {
    let g = Golden::load("layer_batchnorm1d_train");
    let mut bn: BatchNorm1d<4> = batchnorm(&g);
    let x = Tensor::<Rank2<8, 4>>::from_vec(g.f("x")).unwrap();
    let y = bn.forward_train(x.clone().trace());
    g.check_forward("running_mean.after", bn.running_mean.as_slice());
    g.check_forward("running_var.after", bn.running_var.as_slice());
    check_bn(&g, &bn, &x, y);
}

#[test]
fn layer_batchnorm2d_eval() {
    let g = Golden::load("layer_batchnorm2d_eval");
    let bn: BatchNorm2d<3> = batchnorm(&g);
    let x = Tensor::<Rank4<4, 3, 5, 5>>::from_vec(g.f("x")).unwrap();
    let y = bn.forward(x.clone().trace());
    check_bn(&g, &bn, &x, y);
    // Evaluation leaves the running statistics alone.
    g.check_forward("running_mean", bn.running_mean.as_slice());
}

#[test]
fn layer_batchnorm2d_train() {
    let g = Golden::load("layer_batchnorm2d_train");
    let mut bn: BatchNorm2d<3> = batchnorm(&g);
    let x = Tensor::<Rank4<4, 3, 5, 5>>::from_vec(g.f("x")).unwrap();
    let y = bn.forward_train(x.clone().trace());
    g.check_forward("running_mean.after", bn.running_mean.as_slice());
    g.check_forward("running_var.after", bn.running_var.as_slice());
    check_bn(&g, &bn, &x, y);
}

/// The same layer with a run-time channel count and batch size gives the same results.
#[test]
fn layer_batchnorm2d_train_dyn() {
    let g = Golden::load("layer_batchnorm2d_train");
    let mut bn = BatchNorm2dDyn::<f32>::new_dyn(3);
    bn.weight = Tensor::from_vec_with_shape(g.f("weight"), (3,)).unwrap();
    bn.bias = Tensor::from_vec_with_shape(g.f("bias"), (3,)).unwrap();
    bn.running_mean = Tensor::from_vec_with_shape(g.f("running_mean"), (3,)).unwrap();
    bn.running_var = Tensor::from_vec_with_shape(g.f("running_var"), (3,)).unwrap();
    let x = Tensor::<(usize, usize, Const<5>, Const<5>)>::from_vec_with_shape(
        g.f("x"),
        (4, 3, Const, Const),
    )
    .unwrap();
    let y = bn.forward_train(x);
    g.check_forward("y", y.as_slice());
    g.check_forward("running_var.after", bn.running_var.as_slice());
    let wrong =
        Tensor::<(usize, usize, Const<5>, Const<5>)>::zeros_with_shape((4, 2, Const, Const));
    assert!(bn.try_forward_train(wrong).is_err());
}

/// BatchNorm1d on `(N, C, L)`: statistics over N and L. Built from the 2-D golden case by
/// viewing `(N, C, H, W)` as `(N, C, H*W)`, which normalises identically.
#[test]
fn layer_batchnorm1d_train_3d_input() {
    let g = Golden::load("layer_batchnorm2d_train");
    let mut bn: BatchNorm1d<3> = batchnorm(&g);
    let x = Tensor::<Rank3<4, 3, 25>>::from_vec(g.f("x")).unwrap();
    let y = bn.forward_train(x.clone().trace());
    g.check_forward("running_mean.after", bn.running_mean.as_slice());
    g.check_forward("running_var.after", bn.running_var.as_slice());
    check_bn(&g, &bn, &x, y);
}

#[test]
fn batchnorm_train_needs_two_values_per_channel() {
    let mut bn = BatchNorm1d::<3>::new();
    let err = bn
        .try_forward_train(Tensor::<Rank2<1, 3>>::ones())
        .unwrap_err();
    assert!(
        err.to_string().contains("more than 1 value per channel"),
        "{err}"
    );
    assert!(bn.try_forward(Tensor::<Rank2<1, 3>>::ones()).is_ok());
}

#[test]
fn layer_layernorm() {
    let g = Golden::load("layer_layernorm");
    assert_eq!(g.hp("eps"), 1e-5);
    let mut ln = LayerNorm::<8>::new();
    ln.weight = Tensor::from_vec(g.f("weight")).unwrap();
    ln.bias = Tensor::from_vec(g.f("bias")).unwrap();
    assert_eq!(ln.param_names(), ["weight", "bias"]);
    let x = Tensor::<Rank3<2, 3, 8>>::from_vec(g.f("x")).unwrap();
    let y = ln.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank3<2, 3, 8>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&ln.weight).unwrap());
    g.check_grad("bias", grads.get_slice(&ln.bias).unwrap());
    g.check_forward("y", ln.forward(x).as_slice());
}

#[test]
fn layer_embedding() {
    let g = Golden::load("layer_embedding");
    let emb = Embedding::<10, 4> {
        weight: Tensor::from_vec(g.f("weight")).unwrap(),
        padding_idx: None,
    };
    assert_eq!(emb.param_names(), ["weight"]);
    let idx = Indices::<Rank2<2, 5>>::from_vec(g.idx("x")).unwrap();
    let y: Tensor<Rank3<2, 5, 4>, f32, OwnedTape<f32>> = emb.forward(TracedIndices(idx.clone()));
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank3<2, 5, 4>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("weight", grads.get_slice(&emb.weight).unwrap());
    // Untraced indices give the same values without a tape.
    let y: Tensor<Rank3<2, 5, 4>> = emb.forward(idx);
    g.check_forward("y", y.as_slice());
}

#[test]
#[should_panic(expected = "index 10 at position 1 is out of range for 10 embeddings")]
fn embedding_panics_on_out_of_range_index() {
    let g = Golden::load("layer_embedding");
    let emb = Embedding::<10, 4> {
        weight: Tensor::from_vec(g.f("weight")).unwrap(),
        padding_idx: None,
    };
    let _ = emb.forward(Indices::<Rank1<2>>::from_array([3, 10]));
}
