//! PyTorch reference values for the second set's layers (tests/golden/layer_groupnorm,
//! layer_conv2d_groups, layer_conv2d_depthwise, layer_upsample_*, layer_embedding_padding_idx):
//! outputs and the gradients of `sum(y * gy)` for the input and every parameter. Each test
//! first checks that the file's hyperparameters are the ones the layer's type spells.

mod common;
use common::Golden;
use shaped::nn::*;
use shaped::prelude::*;

fn rng() -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(0)
}

/// A JSON list of integers from the metadata, e.g. `[3, 3]`.
fn hp_list(g: &Golden, key: &str) -> Vec<usize> {
    g.hp_str(key)
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|v| v.trim().parse().unwrap())
        .collect()
}

/// Checks a `Conv2d`-style case's hyperparameters against the layer's type.
fn check_conv_hps(
    g: &Golden,
    (i, o, k, s, p, d, groups): (usize, usize, usize, usize, usize, usize, usize),
) {
    assert_eq!(g.hp("in_channels") as usize, i);
    assert_eq!(g.hp("out_channels") as usize, o);
    assert_eq!(hp_list(g, "kernel_size"), [k, k]);
    assert_eq!(hp_list(g, "stride"), [s, s]);
    assert_eq!(hp_list(g, "padding"), [p, p]);
    assert_eq!(hp_list(g, "dilation"), [d, d]);
    assert_eq!(g.hp("groups") as usize, groups);
}

/// Runs a grouped convolution on the golden `x`, traced and untraced, and checks `y` and the
/// gradients of `x`, `weight` and `bias`.
fn check_grouped<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const G: usize,
    const P: usize,
    const H: usize,
    const W: usize,
>(
    g: &Golden,
) {
    let mut layer = GroupedConv2d::<IN, OUT, K, G, 1, P>::new(&mut rng());
    assert_eq!(layer.param_names(), ["weight", "bias"]);
    assert_eq!(g.shape("weight"), layer.weight.dims().as_slice());
    layer.weight.as_mut_slice().copy_from_slice(&g.f("weight"));
    layer
        .bias
        .as_mut()
        .unwrap()
        .as_mut_slice()
        .copy_from_slice(&g.f("bias"));
    let x = Tensor::<Rank4<2, IN, H, W>>::from_vec(g.f("x")).unwrap();
    let y = layer.forward(x.clone().trace());
    assert_eq!(g.shape("y"), y.dims().as_slice());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&layer.weight).unwrap());
    g.check_grad(
        "bias",
        grads.get_slice(layer.bias.as_ref().unwrap()).unwrap(),
    );
    g.check_forward("y", layer.forward(x).as_slice());
}

#[test]
fn layer_conv2d_groups() {
    let g = Golden::load("layer_conv2d_groups");
    check_conv_hps(&g, (4, 6, 3, 1, 1, 1, 2));
    check_grouped::<4, 6, 3, 2, 1, 6, 6>(&g);
}

#[test]
fn layer_conv2d_depthwise() {
    let g = Golden::load("layer_conv2d_depthwise");
    check_conv_hps(&g, (3, 6, 3, 1, 1, 1, 3));
    check_grouped::<3, 6, 3, 3, 1, 6, 6>(&g);
    // The alias is the same type.
    let dw: DepthwiseConv2d<3, 6, 3, 1, 1> = GroupedConv2d::<3, 6, 3, 3, 1, 1>::new(&mut rng());
    assert_eq!(dw.weight.dims().as_slice(), &[6, 1, 3, 3]);
}

#[test]
fn layer_groupnorm() {
    let g = Golden::load("layer_groupnorm");
    assert_eq!(g.hp("num_groups"), 3.0);
    assert_eq!(g.hp("num_channels"), 6.0);
    assert_eq!(g.hp("eps"), 1e-5);
    assert_eq!(g.hp_str("affine"), "true");
    let mut gn = GroupNorm::<3, 6>::new();
    assert_eq!(gn.eps, 1e-5);
    assert_eq!(gn.param_names(), ["weight", "bias"]);
    gn.weight = Tensor::from_vec(g.f("weight")).unwrap();
    gn.bias = Tensor::from_vec(g.f("bias")).unwrap();
    let x = Tensor::<Rank4<2, 6, 4, 4>>::from_vec(g.f("x")).unwrap();
    let y = gn.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank4<2, 6, 4, 4>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&gn.weight).unwrap());
    g.check_grad("bias", grads.get_slice(&gn.bias).unwrap());
    g.check_forward("y", gn.forward(x.clone()).as_slice());
    // A run-time batch size gives the same values.
    let xd =
        Tensor::<(usize, Const<6>, usize, usize)>::from_vec_with_shape(g.f("x"), (2, Const, 4, 4))
            .unwrap();
    g.check_forward("y", gn.forward(xd).as_slice());
}

#[test]
fn layer_embedding_padding_idx() {
    let g = Golden::load("layer_embedding_padding_idx");
    assert_eq!(g.hp("num_embeddings"), 8.0);
    assert_eq!(g.hp("embedding_dim"), 3.0);
    let padding_idx = g.hp("padding_idx") as usize;
    let mut emb = Embedding::<8, 3>::new(&mut rng()).with_padding_idx(padding_idx);
    // PyTorch zeroes the padding row at construction.
    assert_eq!(emb.weight.as_slice()[padding_idx * 3..][..3], [0.0; 3]);
    // The stored table (its padding row is zero as well).
    emb.weight = Tensor::from_vec(g.f("weight")).unwrap();
    let x = Indices::<Rank2<2, 6>>::from_vec(g.idx("x")).unwrap();
    assert!(
        x.as_slice().contains(&padding_idx),
        "the case looks the padding row up"
    );
    let y = emb.forward(TracedIndices(x.clone()));
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<Rank3<2, 6, 3>>::from_vec(g.f("gy")).unwrap();
    let grads = (y * gy).sum().backward();
    let gw = grads.get_slice(&emb.weight).unwrap();
    g.check_grad("weight", gw);
    assert_eq!(gw[padding_idx * 3..][..3], [0.0; 3]);
    g.check_forward("y", emb.forward(x).as_slice());
}

/// Runs `up` on the golden `x`, traced and untraced, and checks `y` and the gradient of `x`.
fn check_upsample<const N: usize, const C: usize, const H: usize, const W: usize, Z>(
    g: &Golden,
    up: Upsample<Z>,
) where
    Z: shaped::ops::interpolate::InterpolateSize<Const<H>, Const<W>> + Copy,
{
    assert!(Params::<f32>::param_names(&up).is_empty());
    let x = Tensor::<Rank4<N, C, H, W>>::from_vec(g.f("x")).unwrap();
    let y = up.forward(x.clone().trace());
    assert_eq!(g.shape("y"), y.dims().as_slice());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_forward("y", up.forward(x).as_slice());
}

#[test]
fn layer_upsample_nearest() {
    use shaped::ops::interpolate::ScaleFactor;
    let g = Golden::load("layer_upsample_nearest");
    assert_eq!(g.hp_str("mode"), "\"nearest\"");
    assert_eq!(g.hp("scale_factor"), 2.0);
    check_upsample::<2, 3, 3, 4, _>(&g, Upsample::nearest(ScaleFactor::<2>));
    // The same size given explicitly, static and run-time.
    check_upsample::<2, 3, 3, 4, _>(&g, Upsample::nearest((Const::<6>, Const::<8>)));
    check_upsample::<2, 3, 3, 4, _>(&g, Upsample::nearest((6usize, 8usize)));
}

#[test]
fn layer_upsample_bilinear() {
    let g = Golden::load("layer_upsample_bilinear");
    assert_eq!(g.hp_str("mode"), "\"bilinear\"");
    assert_eq!(g.hp_str("align_corners"), "false");
    assert_eq!(hp_list(&g, "size"), [6, 8]);
    check_upsample::<2, 2, 3, 4, _>(&g, Upsample::bilinear((Const::<6>, Const::<8>), false));
    check_upsample::<2, 2, 3, 4, _>(&g, Upsample::bilinear((6usize, 8usize), false));
}
