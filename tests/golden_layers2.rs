//! PyTorch reference values for the second set's layers (tests/golden/layer_groupnorm,
//! layer_conv2d_groups, layer_conv2d_depthwise, layer_upsample_*, layer_embedding_padding_idx):
//! outputs and the gradients of `sum(y * gy)` for the input and every parameter. Each test
//! first checks that the file's hyperparameters are the ones the layer's type spells.
//! Bilinear against PyTorch (tests/golden_extra/layer_bilinear*, made by layers_more.py
//! there), by finite differences, with its errors and `print(model)` line.

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

/// A Bilinear case: the stored parameters loaded into `$layer`, both inputs traced, `y` and
/// the gradients of both inputs and every parameter checked; then the untraced forward.
macro_rules! check_bilinear {
    ($case:literal, $layer:expr, $s1:ty, $s2:ty) => {{
        let g = Golden::load($case);
        let mut layer = $layer;
        layer.weight = Tensor::from_vec(g.f("weight")).unwrap();
        assert_eq!(g.shape("weight"), layer.weight.dims().as_slice());
        if let Some(b) = &mut layer.bias {
            *b = Tensor::from_vec(g.f("bias")).unwrap();
        }
        assert_eq!(layer.bias.is_some(), g.has("bias"));
        assert_eq!(
            g.hp_str("bias"),
            if g.has("bias") { "true" } else { "false" }
        );
        assert_eq!(
            [
                g.hp("in1_features"),
                g.hp("in2_features"),
                g.hp("out_features")
            ],
            [
                layer.in1_features() as f64,
                layer.in2_features() as f64,
                layer.out_features() as f64
            ]
        );
        let x1 = Tensor::<$s1>::from_vec(g.f("x")).unwrap();
        let x2 = Tensor::<$s2>::from_vec(g.f("x2")).unwrap();
        let y = layer.forward((x1.clone().trace(), x2.clone().trace()));
        assert_eq!(g.shape("y"), y.dims().as_slice());
        g.check_forward("y", y.as_slice());
        let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
        let grads = (y * gy).sum().backward();
        g.check_grad("x", grads.get_slice(&x1).unwrap());
        g.check_grad("x2", grads.get_slice(&x2).unwrap());
        g.check_grad("weight", grads.get_slice(&layer.weight).unwrap());
        if let Some(b) = &layer.bias {
            g.check_grad("bias", grads.get_slice(b).unwrap());
        }
        g.check_forward("y", layer.forward((x1, x2)).as_slice());
        layer
    }};
}

#[test]
fn layer_bilinear() {
    let layer = check_bilinear!("layer_bilinear", Bilinear::<3, 4, 5>::new(&mut rng()), Rank2<6, 3>, Rank2<6, 4>);
    assert_eq!(
        Params::<f32>::param_names(&layer),
        vec!["weight".to_string(), "bias".to_string()]
    );
}

#[test]
fn layer_bilinear_no_bias() {
    let layer = check_bilinear!(
        "layer_bilinear_no_bias",
        Bilinear::<4, 2, 3>::new_no_bias(&mut rng()),
        Rank2<5, 4>,
        Rank2<5, 2>
    );
    assert_eq!(
        Params::<f32>::param_names(&layer),
        vec!["weight".to_string()]
    );
}

#[test]
fn layer_bilinear_leading() {
    // Leading dimensions (2, 3) pass through, as in Linear.
    check_bilinear!(
        "layer_bilinear_leading",
        Bilinear::<3, 2, 4>::new(&mut rng()),
        Rank3<2, 3, 3>,
        Rank3<2, 3, 2>
    );
    // The same values with every size known only at run time.
    let g = Golden::load("layer_bilinear_leading");
    let mut layer = BilinearDyn::<f32>::new_dyn(3, 2, 4, true, &mut rng());
    layer.weight = Tensor::from_vec_with_shape(g.f("weight"), (4, 3, 2)).unwrap();
    layer.bias = Some(Tensor::from_vec_with_shape(g.f("bias"), (4,)).unwrap());
    let x1 = Tensor::from_vec_with_shape(g.f("x"), (2usize, 3usize, 3usize)).unwrap();
    let x2 = Tensor::from_vec_with_shape(g.f("x2"), (2usize, 3usize, 2usize)).unwrap();
    let y = layer.forward((x1, x2));
    assert_eq!(y.dims().as_slice(), &[2, 3, 4]);
    g.check_forward("y", y.as_slice());
}

/// PyTorch's initialisation bound `1/sqrt(in1)` for weight and bias, the `print(model)` line,
/// run-time errors naming the sizes, and empty batches and feature axes. (Static feature
/// sizes that differ fail the build: tests/compile_fail/bilinear_in2_features.rs.)
#[test]
fn bilinear_init_print_and_errors() {
    let layer = Bilinear::<16, 3, 50>::new(&mut rng());
    let bound = 0.25f32;
    let w = layer.weight.to_vec();
    assert!(w.iter().all(|v| v.abs() <= bound));
    assert!(
        w.iter().any(|v| v.abs() > 0.9 * bound),
        "uniform over the whole range"
    );
    let b = layer.bias.as_ref().unwrap().to_vec();
    assert!(b.iter().all(|v| v.abs() <= bound));
    let printed = (Bilinear::<3, 4, 5>::new(&mut rng()),)
        .summary()
        .to_string();
    let line = "(0): Bilinear(in1_features=3, in2_features=4, out_features=5, bias=True)";
    assert!(printed.contains(line), "{line} missing from\n{printed}");
    let printed = Params::<f32>::summary(&BilinearDyn::<f32>::new_dyn(2, 2, 1, false, &mut rng()))
        .to_string();
    assert!(
        printed.contains("Bilinear(in1_features=2, in2_features=2, out_features=1, bias=False)"),
        "{printed}"
    );

    let dynamic = BilinearDyn::<f32>::new_dyn(3, 4, 5, true, &mut rng());
    let x1 = Tensor::<(usize, usize)>::zeros_with_shape((2, 3));
    let err = dynamic
        .try_forward((
            x1.clone(),
            Tensor::<(usize, usize)>::zeros_with_shape((2, 5)),
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[2, 5]") && err.contains("[5, 3, 4]"), "{err}");
    let err = dynamic
        .try_forward((
            x1.clone(),
            Tensor::<(usize, usize)>::zeros_with_shape((3, 4)),
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("same dimensions but the last"), "{err}");
    let rank = Tensor::<(usize, usize, usize)>::zeros_with_shape((1, 2, 4));
    assert!(dynamic.try_forward((x1, rank)).is_err());
    let mismatched_bias = shaped::ops::bilinear::try_bilinear(
        Tensor::<(usize, usize)>::zeros_with_shape((2, 3)),
        Tensor::<(usize, usize)>::zeros_with_shape((2, 4)),
        Tensor::<(usize, usize, usize)>::zeros_with_shape((5, 3, 4)),
        Some(Tensor::<(usize,)>::zeros_with_shape((4,))),
    );
    assert!(mismatched_bias.is_err());

    // Empty batch: an empty output and gradients; empty feature axes: the bias alone.
    let x1 = Tensor::<(usize, Const<3>)>::zeros_with_shape((0, Const)).trace();
    let x2 = Tensor::<(usize, Const<4>)>::zeros_with_shape((0, Const));
    let layer = Bilinear::<3, 4, 5>::new(&mut rng());
    let y = layer.forward((x1.clone(), x2));
    assert_eq!(y.dims().as_slice(), &[0, 5]);
    let grads = y.sum().backward();
    assert_eq!(
        grads.get_slice(&layer.weight).unwrap_or(&[0.0; 60]),
        &[0.0; 60]
    );
    let empty = BilinearDyn::<f32>::new_dyn(0, 2, 3, true, &mut rng());
    let y = empty.forward((
        Tensor::<(usize, usize)>::zeros_with_shape((2, 0)).trace(),
        Tensor::<(usize, usize)>::ones_with_shape((2, 2)).trace(),
    ));
    let b = empty.bias.as_ref().unwrap().to_vec();
    assert_eq!(y.to_vec(), [b.clone(), b].concat());
    let grads = y.sum().backward();
    assert_eq!(
        grads.get_slice(empty.bias.as_ref().unwrap()).unwrap(),
        &[2.0; 3]
    );
    // The same with the second input empty (it used to leave out the bias).
    let no_x2 = BilinearDyn::<f32>::new_dyn(2, 0, 3, true, &mut rng());
    let x1 = Tensor::<(usize, usize)>::ones_with_shape((2, 2)).trace();
    let y = no_x2.forward((
        x1.clone(),
        Tensor::<(usize, usize)>::zeros_with_shape((2, 0)),
    ));
    let b = no_x2.bias.as_ref().unwrap().to_vec();
    assert_eq!(y.to_vec(), [b.clone(), b].concat());
    let grads = y.sum().backward();
    assert_eq!(grads.get_slice(&x1).unwrap_or(&[0.0; 4]), &[0.0; 4]);
    let zero_out = BilinearDyn::<f32>::new_dyn(2, 2, 0, true, &mut rng());
    let y = zero_out.forward((
        Tensor::<Rank2<3, 2>>::ones().trace(),
        Tensor::<Rank2<3, 2>>::ones(),
    ));
    assert_eq!(y.dims().as_slice(), &[3, 0]);
    let _ = y.sum().backward();
}
