//! Run-time-sized layers (`Conv1dDyn`, `Conv2dDyn`, `ConvTranspose2dDyn`, `GroupNormDyn`,
//! `MultiheadAttentionDyn`, the transformer encoder/decoder layers and stacks) against the
//! same PyTorch goldens as their static forms, each built from the golden file's
//! hyperparameters (a configuration read from a file); the same initialisation and state dict
//! as the static forms; errors naming both sizes; models that mix static and run-time layers.
//! Their gradient checks are in tests/dyn_layers_gradcheck.rs.

mod common;
use common::Golden;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::nn::{
    AttentionInput, AttentionOptions, Conv1dConfig, Conv1dDyn, Conv2d, Conv2dConfig, Conv2dDyn,
    ConvConfig, ConvTranspose2d, ConvTranspose2dDyn, DecoderInput, EncoderInput, Flatten,
    GroupNorm, GroupNormDyn, Linear, LinearDyn, MaxPool2d, Module, MultiheadAttention,
    MultiheadAttentionDyn, Params, ReLU, TransformerActivation, TransformerConfig,
    TransformerDecoder, TransformerDecoderDyn, TransformerDecoderLayer, TransformerDecoderLayerDyn,
    TransformerEncoder, TransformerEncoderDyn, TransformerEncoderLayer, TransformerEncoderLayerDyn,
    causal_mask,
};
use shaped::prelude::*;
use shaped::serialize::{LoadMode, from_safetensors, to_safetensors};

fn rng() -> StdRng {
    StdRng::seed_from_u64(0)
}

/// A hyperparameter stored as `3` or `[3, 3]`, as `N` values.
fn hp_axes<const N: usize>(g: &Golden, key: &str) -> [usize; N] {
    let text = g.hp_str(key);
    let values: Vec<usize> = text
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|v| v.trim().parse().unwrap_or_else(|_| panic!("{key}: {text}")))
        .collect();
    match values.as_slice() {
        [v] => [*v; N],
        _ => values
            .try_into()
            .unwrap_or_else(|_| panic!("{key}: {text}")),
    }
}

/// The layer's configuration as PyTorch's constructor arguments stored in the golden file.
fn conv_config<const N: usize>(g: &Golden) -> ConvConfig<N> {
    let mut c = ConvConfig::<N>::new(
        g.hp("in_channels") as usize,
        g.hp("out_channels") as usize,
        1,
    );
    c.kernel_size = hp_axes(g, "kernel_size");
    c.stride = hp_axes(g, "stride");
    c.padding = hp_axes(g, "padding");
    c.dilation = hp_axes(g, "dilation");
    if !g.hp_str("output_padding").is_empty() {
        c.output_padding = hp_axes(g, "output_padding");
    }
    c.groups = g.hp("groups") as usize;
    c
}

/// Loads the golden `weight` and `bias` into `$layer`, runs the golden `x` (as a tensor of
/// run-time sizes `$x`, traced), and checks `y` and the gradients of `x` and every parameter.
macro_rules! check_conv {
    ($g:expr, $layer:expr, $x:ty) => {{
        let g: &Golden = &$g;
        let layer = &mut $layer;
        assert_eq!(layer.param_names(), ["weight", "bias"]);
        let (w, b) = (g.f("weight"), g.f("bias"));
        layer.visit_mut("", &mut |p| {
            assert_eq!(p.dims.as_slice(), g.shape(p.name).as_slice(), "{}", p.name);
            p.data
                .copy_from_slice(if p.name == "weight" { &w } else { &b });
        });
        let dims = g.shape("x");
        let x =
            Tensor::<$x>::from_vec_with_shape(g.f("x"), <$x>::from_dims(&dims).unwrap()).unwrap();
        let y = layer.forward(x.clone().trace());
        assert_eq!(g.shape("y"), y.dims().as_slice());
        g.check_forward("y", y.as_slice());
        let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
        let grads = (y * gy).sum().backward();
        g.check_grad("x", grads.get_slice(&x).unwrap());
        let mut ids = Vec::new();
        layer.visit("", &mut |p| ids.push((p.name.to_string(), p.id)));
        for (name, id) in ids {
            g.check_grad(&name, grads.get_id(id).unwrap());
        }
        // Untraced, the same values.
        g.check_forward("y", layer.forward(x).as_slice());
    }};
}

type D3 = (usize, usize, usize);
type D4 = (usize, usize, usize, usize);

#[test]
fn conv2d_dyn_against_goldens() {
    for case in [
        "layer_conv2d_basic",
        "layer_conv2d_dilated",
        "layer_conv2d_k5",
        "layer_conv2d_strided",
        "layer_conv2d_groups",
        "layer_conv2d_depthwise",
    ] {
        let g = Golden::load(case);
        let mut layer = Conv2dDyn::<f32>::new(conv_config(&g), &mut rng());
        check_conv!(g, layer, D4);
        // Unbatched: each sample alone.
        let (x, y) = (g.f("x"), g.f("y"));
        let (xs, ys) = (x.len() / 2, y.len() / 2);
        let xd = g.shape("x");
        let x0 =
            Tensor::<D3>::from_vec_with_shape(x[..xs].to_vec(), (xd[1], xd[2], xd[3])).unwrap();
        common::check_close(case, layer.forward(x0).as_slice(), &y[..ys], 1e-5, 1e-4);
    }
}

#[test]
fn conv1d_dyn_against_golden() {
    let g = Golden::load("layer_conv1d");
    let mut layer = Conv1dDyn::<f32>::new(conv_config(&g), &mut rng());
    check_conv!(g, layer, D3);
    // A static input of the same values gives the same output.
    let x = Tensor::<Rank3<2, 3, 10>>::from_vec(g.f("x")).unwrap();
    g.check_forward("y", layer.forward(x).as_slice());
}

#[test]
fn conv_transpose2d_dyn_against_golden() {
    let g = Golden::load("layer_conv_transpose2d");
    let mut layer = ConvTranspose2dDyn::<f32>::new(conv_config(&g), &mut rng());
    check_conv!(g, layer, D4);
}

#[test]
fn same_initialisation_and_state_dict_as_the_static_forms() {
    let c = Conv2d::<3, 4, 3, 2, 1>::new(&mut rng());
    let d = Conv2dDyn::<f32>::new(Conv2dConfig::new(3, 4, 3).stride(2).padding(1), &mut rng());
    assert_eq!(c.weight.to_vec(), d.weight.to_vec());
    assert_eq!(
        c.bias.as_ref().unwrap().to_vec(),
        d.bias.as_ref().unwrap().to_vec()
    );
    assert_eq!(c.summary().to_string(), d.summary().to_string());

    let t = ConvTranspose2d::<3, 2, 3, 2, 1>::new(&mut rng());
    let td =
        ConvTranspose2dDyn::<f32>::new(Conv2dConfig::new(3, 2, 3).stride(2).padding(1), &mut rng());
    assert_eq!(t.weight.to_vec(), td.weight.to_vec());
    assert_eq!(t.summary().to_string(), td.summary().to_string());

    let c1 = shaped::nn::Conv1d::<2, 5, 3>::new_no_bias(&mut rng());
    let mut d1 = Conv1dDyn::<f32>::new(Conv1dConfig::new(2, 5, 3).bias(false), &mut rng());
    assert_eq!(c1.weight.to_vec(), d1.weight.to_vec());

    // A file saved from the static layer loads into the run-time one and back.
    let other = Conv2d::<3, 4, 3, 2, 1>::new(&mut StdRng::seed_from_u64(7));
    let bytes = to_safetensors(&other).unwrap();
    let mut d = d;
    from_safetensors(&mut d, &bytes, LoadMode::Strict, "static conv").unwrap();
    assert_eq!(d.weight.to_vec(), other.weight.to_vec());
    let mut back = Conv2d::<3, 4, 3, 2, 1>::new(&mut rng());
    from_safetensors(
        &mut back,
        &to_safetensors(&d).unwrap(),
        LoadMode::Strict,
        "dyn conv",
    )
    .unwrap();
    assert_eq!(back.bias.unwrap().to_vec(), other.bias.unwrap().to_vec());
    // A file of other sizes is refused, naming the shapes.
    let wrong = to_safetensors(&shaped::nn::Conv1d::<2, 4, 3>::new_no_bias(&mut rng())).unwrap();
    let err = from_safetensors(&mut d1, &wrong, LoadMode::Strict, "file").unwrap_err();
    assert!(err.to_string().contains("[4, 2, 3]"), "{err}");
}

#[test]
fn conv_input_channel_errors_name_both_sizes() {
    let conv = Conv2dDyn::<f32>::new(Conv2dConfig::new(3, 8, 3), &mut rng());
    let err = conv
        .try_forward(Tensor::<Rank4<2, 4, 8, 8>>::zeros())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Conv2dDyn expects 3 input channels, got 4"),
        "{err}"
    );
    let err = conv
        .try_forward(Tensor::<D3>::zeros_with_shape((5, 8, 8)))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Conv2dDyn expects 3 input channels, got 5"),
        "{err}"
    );
    // A kernel larger than the padded input.
    let err = conv
        .try_forward(Tensor::<D4>::zeros_with_shape((1, 3, 2, 8)))
        .unwrap_err();
    assert!(
        err.to_string().contains("[1, 3, 2, 8]") && err.to_string().contains("kernel_size [3, 3]"),
        "{err}"
    );
    let c1 = Conv1dDyn::<f32>::new(Conv1dConfig::new(2, 4, 3), &mut rng());
    let err = c1
        .try_forward(Tensor::<Rank3<1, 3, 9>>::zeros())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Conv1dDyn expects 2 input channels, got 3"),
        "{err}"
    );
    let up = ConvTranspose2dDyn::<f32>::new(Conv2dConfig::new(8, 4, 3).stride(2), &mut rng());
    let err = up
        .try_forward(Tensor::<Rank4<1, 4, 5, 5>>::zeros())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ConvTranspose2dDyn expects 8 input channels, got 4"),
        "{err}"
    );
    // A replaced weight of other sizes is an error, not a wrong result.
    let mut broken = conv.clone();
    broken.weight = Tensor::zeros_with_shape((8, 3, 5, 5));
    let err = broken
        .try_forward(Tensor::<Rank4<1, 3, 8, 8>>::zeros())
        .unwrap_err();
    assert!(err.to_string().contains("[8, 3, 5, 5]"), "{err}");
}

#[test]
#[should_panic(expected = "Conv2dDyn expects 3 input channels, got 4")]
fn conv_plain_forward_panics_with_the_message() {
    let conv = Conv2dDyn::<f32>::new(Conv2dConfig::new(3, 8, 3), &mut rng());
    let _ = conv.forward(Tensor::<Rank4<1, 4, 8, 8>>::zeros());
}

#[test]
fn invalid_conv_configurations_name_the_values() {
    let err = |c: Conv2dConfig| {
        Conv2dDyn::<f32>::try_new(c, &mut rng())
            .unwrap_err()
            .to_string()
    };
    assert!(err(Conv2dConfig::new(0, 4, 3)).contains("in_channels 0"));
    assert!(err(Conv2dConfig::new(3, 4, 0)).contains("kernel_size [0, 0]"));
    assert!(err(Conv2dConfig::new(3, 4, 3).stride(0)).contains("stride [0, 0]"));
    assert!(
        err(Conv2dConfig::new(3, 4, 3).groups(2))
            .contains("groups 2 must divide in_channels 3 and out_channels 4")
    );
    assert!(err(Conv2dConfig::new(4, 6, 3).groups(4)).contains("groups 4"));
    assert!(err(Conv2dConfig::new(4, 6, 3).output_padding(1)).contains("output_padding [1, 1]"));
    let t = ConvTranspose2dDyn::<f32>::try_new(
        Conv2dConfig::new(2, 2, 3).output_padding(1),
        &mut rng(),
    );
    assert!(
        t.unwrap_err()
            .to_string()
            .contains("must be smaller than the stride")
    );
    let t = ConvTranspose2dDyn::<f32>::try_new(Conv2dConfig::new(2, 2, 3).groups(2), &mut rng());
    assert!(t.unwrap_err().to_string().contains("groups 2"));
    let huge = Conv2dDyn::<f32>::try_new(Conv2dConfig::new(usize::MAX / 2, 4, 3), &mut rng());
    assert!(huge.is_err());
}

#[test]
#[should_panic(expected = "groups 2 must divide in_channels 3")]
fn conv_plain_new_panics_with_the_message() {
    let _ = Conv2dDyn::<f32>::new(Conv2dConfig::new(3, 4, 3).groups(2), &mut rng());
}

#[test]
fn static_and_run_time_conv_layers_mix() {
    let mut r = rng();
    // static -> run-time -> static -> run-time: the output sizes become `usize` after a
    // run-time layer, and a static layer after one checks its input at run time.
    let model = (
        Conv2d::<1, 4, 3, 1, 1>::new(&mut r),
        ReLU,
        Conv2dDyn::new(Conv2dConfig::new(4, 6, 3).padding(1).groups(2), &mut r),
        ReLU,
        MaxPool2d::<2>,
        Conv2d::<6, 8, 3>::new(&mut r),
        Flatten,
        LinearDyn::new_dyn(8 * 2 * 2, 10, true, &mut r),
        ReLU,
        Linear::<10, 3>::new(&mut r),
    );
    let x = Tensor::<Rank4<2, 1, 8, 8>>::ones();
    let y = model.forward(x.clone().trace());
    assert_eq!(y.dims().as_slice(), &[2, 3]);
    let grads = y.sum().backward();
    assert!(grads.get_slice(&x).is_some());
    let y2: Tensor<(Const<2>, Const<3>)> = model.forward(x);
    assert_eq!(y2.dims().as_slice(), &[2, 3]);

    // A run-time layer whose output does not fit the static one after it: an `Err` from the
    // static layer, naming both channel counts.
    let bad = (
        Conv2dDyn::new(Conv2dConfig::new(1, 5, 3), &mut r),
        Conv2d::<6, 8, 3>::new(&mut r),
    );
    let err = bad
        .try_forward(Tensor::<Rank4<1, 1, 8, 8>>::ones())
        .unwrap_err();
    assert!(
        err.to_string().contains("5") && err.to_string().contains("6"),
        "{err}"
    );

    // A static output fed to a run-time layer expecting other channels.
    let bad = (
        Conv2d::<1, 4, 3>::new(&mut r),
        ConvTranspose2dDyn::new(Conv2dConfig::new(3, 2, 3), &mut r),
    );
    let err = bad
        .try_forward(Tensor::<Rank4<1, 1, 8, 8>>::ones())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("ConvTranspose2dDyn expects 3 input channels, got 4"),
        "{err}"
    );
}

#[test]
fn groupnorm_dyn_against_golden() {
    let g = Golden::load("layer_groupnorm");
    let mut gn =
        GroupNormDyn::<f32>::new(g.hp("num_groups") as usize, g.hp("num_channels") as usize);
    assert_eq!((gn.eps, gn.num_groups()), (g.hp("eps"), 3));
    assert_eq!(gn.param_names(), ["weight", "bias"]);
    gn.visit_mut("", &mut |p| p.data.copy_from_slice(&g.f(p.name)));
    let x = Tensor::<D4>::from_vec_with_shape(g.f("x"), (2, 6, 4, 4)).unwrap();
    let y = gn.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&gn.weight).unwrap());
    g.check_grad("bias", grads.get_slice(&gn.bias).unwrap());
    // Static input, same values; the summary reads as the static layer's.
    let xs = Tensor::<Rank4<2, 6, 4, 4>>::from_vec(g.f("x")).unwrap();
    g.check_forward("y", gn.forward(xs).as_slice());
    assert_eq!(
        gn.summary().to_string(),
        GroupNorm::<3, 6>::new().summary().to_string()
    );
    // Errors.
    let err = gn
        .try_forward(Tensor::<Rank3<2, 4, 5>>::zeros())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("GroupNormDyn expects 6 channels, got 4"),
        "{err}"
    );
    for (groups, channels) in [(0, 6), (4, 6), (2, 0)] {
        let err = GroupNormDyn::<f32>::try_new(groups, channels).unwrap_err();
        assert!(
            err.to_string().contains(&format!(
                "num_groups {groups} must divide num_channels {channels}"
            )),
            "{err}"
        );
    }
}

fn load_mha<M: Params<f32>>(m: &mut M, g: &Golden) {
    m.visit_mut("", &mut |p| {
        assert_eq!(p.dims.as_slice(), g.shape(p.name).as_slice(), "{}", p.name);
        p.data.copy_from_slice(&g.f(p.name))
    });
}

fn check_mha_param_grads<M: Params<f32>>(m: &M, g: &Golden, grads: &Gradients<f32>) {
    m.visit("", &mut |p| {
        g.check_grad(p.name, grads.get_id(p.id).unwrap())
    });
}

#[test]
fn multihead_attention_dyn_against_goldens() {
    // Self-attention, built from the file's hyperparameters.
    let g = Golden::load("layer_mha_self");
    let mut mha = MultiheadAttentionDyn::<f32>::new(
        g.hp("embed_dim") as usize,
        g.hp("num_heads") as usize,
        &mut rng(),
    );
    assert_eq!(
        mha.param_names(),
        [
            "in_proj_weight",
            "in_proj_bias",
            "out_proj.weight",
            "out_proj.bias"
        ]
    );
    load_mha(&mut mha, &g);
    let x = Tensor::<D3>::from_vec_with_shape(g.f("x"), (2, 4, 8)).unwrap();
    let (y, w) = mha.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    g.check_forward("attn_weights", w.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    check_mha_param_grads(&mha, &g, &grads);

    // Causal mask, through AttentionInput and through try_forward_with.
    let g = Golden::load("layer_mha_causal");
    let mut mha = MultiheadAttentionDyn::<f32>::new(8, 2, &mut rng());
    load_mha(&mut mha, &g);
    let x = Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x")).unwrap();
    let mask = causal_mask::<f32>(5);
    assert_eq!(mask.to_vec(), g.f("attn_mask"));
    let input = AttentionInput {
        query: x.clone().trace(),
        key: x.clone().trace(),
        value: x.clone().trace(),
        attn_mask: Some(mask.clone()),
    };
    let (y, w) = mha.forward(input);
    g.check_forward("y", y.as_slice());
    g.check_forward("attn_weights", w.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    check_mha_param_grads(&mha, &g, &grads);
    let opts = AttentionOptions {
        attn_mask: Some(&mask),
        ..Default::default()
    };
    let (y, w) = mha.forward_with(x.clone(), x.clone(), x, opts);
    g.check_forward("y", y.as_slice());
    g.check_forward("attn_weights", w.unwrap().as_slice());

    // Cross-attention with 4 heads.
    let g = Golden::load("layer_mha_cross");
    let mut mha = MultiheadAttentionDyn::<f32>::new(8, 4, &mut rng());
    load_mha(&mut mha, &g);
    let q = Tensor::<D3>::from_vec_with_shape(g.f("x"), (2, 3, 8)).unwrap();
    let k = Tensor::<D3>::from_vec_with_shape(g.f("x2"), (2, 5, 8)).unwrap();
    let v = Tensor::<D3>::from_vec_with_shape(g.f("x3"), (2, 5, 8)).unwrap();
    let (y, w) = mha.forward_with(
        q.clone().trace(),
        k.clone().trace(),
        v.clone().trace(),
        AttentionOptions::default(),
    );
    g.check_forward("y", y.as_slice());
    g.check_forward("attn_weights", w.unwrap().as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&q).unwrap());
    g.check_grad("x2", grads.get_slice(&k).unwrap());
    g.check_grad("x3", grads.get_slice(&v).unwrap());
    check_mha_param_grads(&mha, &g, &grads);
}

#[test]
fn multihead_attention_dyn_shares_init_state_dict_and_errors() {
    let s = MultiheadAttention::<8, 2>::new(&mut rng());
    let d = MultiheadAttentionDyn::<f32>::new(8, 2, &mut rng());
    assert_eq!(s.in_proj_weight.to_vec(), d.in_proj_weight.to_vec());
    assert_eq!(s.out_proj.weight.to_vec(), d.out_proj.weight.to_vec());
    assert_eq!(s.summary().to_string(), d.summary().to_string());
    let other = MultiheadAttention::<8, 2>::new(&mut StdRng::seed_from_u64(3));
    let mut d = d;
    from_safetensors(
        &mut d,
        &to_safetensors(&other).unwrap(),
        LoadMode::Strict,
        "mha",
    )
    .unwrap();
    let x = Tensor::<Rank3<1, 3, 8>>::ones();
    assert_eq!(other.forward(x.clone()).0.to_vec(), d.forward(x).0.to_vec());

    let err = d.try_forward(Tensor::<Rank3<1, 3, 6>>::ones()).unwrap_err();
    assert!(
        err.to_string()
            .contains("MultiheadAttentionDyn expects embed_dim 8, got 6"),
        "{err}"
    );
    let (q, kv) = (
        Tensor::<Rank3<1, 3, 8>>::ones(),
        Tensor::<Rank3<1, 4, 4>>::ones(),
    );
    let err = d
        .try_forward_with(q.clone(), kv.clone(), kv, AttentionOptions::default())
        .unwrap_err();
    assert!(
        err.to_string().contains("expects embed_dim 8, got 4 (key"),
        "{err}"
    );
    let bad_mask = Tensor::<(usize, usize)>::zeros_with_shape((3, 2));
    let opts = AttentionOptions {
        attn_mask: Some(&bad_mask),
        ..Default::default()
    };
    assert!(d.try_forward_with(q.clone(), q.clone(), q, opts).is_err());
    for (embed, heads) in [(8, 3), (0, 1), (8, 0)] {
        let err = MultiheadAttentionDyn::<f32>::try_new(embed, heads, &mut rng()).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("num_heads {heads} must divide embed_dim {embed}")),
            "{err}"
        );
    }
}

#[test]
#[should_panic(expected = "MultiheadAttentionDyn expects embed_dim 8, got 5")]
fn multihead_attention_dyn_plain_forward_panics() {
    let mha = MultiheadAttentionDyn::<f32>::new(8, 2, &mut rng());
    let _ = mha.forward(Tensor::<Rank3<1, 2, 5>>::ones());
}

#[test]
fn static_and_run_time_attention_mix() {
    let mut r = rng();
    // Linear (static) -> attention (run-time) -> LayerNorm (static) -> Linear (static): the
    // run-time feature size meets the static layers' sizes at run time.
    let embed = MultiheadAttentionDyn::<f32>::new(8, 4, &mut r);
    let proj = Linear::<4, 8>::new(&mut r);
    let norm = shaped::nn::LayerNorm::<8>::new();
    let head = Linear::<8, 2>::new(&mut r);
    let x = Tensor::<(usize, usize, Const<4>)>::ones_with_shape((2, 3, Const));
    let h = proj.forward(x.clone().trace());
    let (a, _) = embed.forward(h);
    let y = head.forward(norm.forward(a));
    assert_eq!(y.dims().as_slice(), &[2, 3, 2]);
    assert!(y.sum().backward().get_slice(&x).is_some());
    // A run-time output of the wrong size for the static layer after it: an Err naming both.
    let wide = MultiheadAttentionDyn::<f32>::new(6, 2, &mut r);
    let (a, _) = wide.forward(Tensor::<Rank3<1, 2, 6>>::ones());
    let err = head.try_forward(a).unwrap_err();
    assert!(
        err.to_string().contains("6") && err.to_string().contains("8"),
        "{err}"
    );
}

/// The encoder options the golden was made with.
fn transformer_config(g: &Golden) -> TransformerConfig {
    let activation = match g.hp_str("activation").as_str() {
        "\"relu\"" => TransformerActivation::Relu,
        "\"gelu\"" => TransformerActivation::Gelu,
        other => panic!("{}: unexpected activation {other}", g.case),
    };
    TransformerConfig::default()
        .dropout(g.hp("dropout"))
        .activation(activation)
        .layer_norm_eps(g.hp("layer_norm_eps"))
        .norm_first(g.hp_str("norm_first") == "true")
}

#[test]
fn transformer_encoder_layer_dyn_against_goldens() {
    for case in [
        "layer_transformer_encoder",
        "layer_transformer_encoder_prenorm_gelu",
    ] {
        let g = Golden::load(case);
        let (d, h, f) = (
            g.hp("d_model") as usize,
            g.hp("nhead") as usize,
            g.hp("dim_feedforward") as usize,
        );
        let mut layer =
            TransformerEncoderLayerDyn::<f32>::new(d, h, f, transformer_config(&g), &mut rng());
        layer.visit_mut("", &mut |p| {
            assert_eq!(p.dims.as_slice(), g.shape(p.name).as_slice(), "{}", p.name);
            p.data.copy_from_slice(&g.f(p.name))
        });
        let xd = g.shape("x");
        let x = Tensor::<D3>::from_vec_with_shape(g.f("x"), (xd[0], xd[1], xd[2])).unwrap();
        let mut input = EncoderInput::new(x.clone().trace());
        if g.hp_str("causal") == "true" {
            input = input.with_mask(causal_mask(xd[1]));
        }
        // Dropout is 0: training mode gives the same values.
        g.check_forward("y", layer.forward_train(input.clone()).as_slice());
        let y = layer.forward(input);
        g.check_forward("y", y.as_slice());
        let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
        let grads = (y * gy).sum().backward();
        g.check_grad("x", grads.get_slice(&x).unwrap());
        layer.visit("", &mut |p| {
            g.check_grad(p.name, grads.get_id(p.id).unwrap())
        });
    }
}

#[test]
fn transformer_encoder_dyn_matches_the_static_stack() {
    let config = TransformerConfig::default().dropout(0.0).norm_first(true);
    let mut r = rng();
    let layer = TransformerEncoderLayer::<8, 2, 16>::new(config, &mut r);
    let encoder = TransformerEncoder::new(layer, 2, &mut r).with_norm(shaped::nn::LayerNorm::new());
    let mut r = rng();
    let layer = TransformerEncoderLayerDyn::<f32>::new(8, 2, 16, config, &mut r);
    let mut dyn_encoder = TransformerEncoderDyn::new(layer, 2, &mut r)
        .with_norm(shaped::nn::LayerNormDyn::new_dyn(8));
    assert_eq!(encoder.param_names(), dyn_encoder.param_names());
    assert_eq!(
        encoder.summary().to_string(),
        dyn_encoder.summary().to_string()
    );
    // Other values through a state dict, then the same outputs and gradients.
    let other = {
        let mut r = StdRng::seed_from_u64(5);
        let layer = TransformerEncoderLayer::<8, 2, 16>::new(config, &mut r);
        TransformerEncoder::new(layer, 2, &mut r).with_norm(shaped::nn::LayerNorm::new())
    };
    from_safetensors(
        &mut dyn_encoder,
        &to_safetensors(&other).unwrap(),
        LoadMode::Strict,
        "encoder",
    )
    .unwrap();
    let x: Tensor<Rank3<2, 4, 8>> = Tensor::randn(&mut rng());
    let pad = shaped::nn::key_padding_mask(
        &[false, false, false, true, false, false, false, false],
        2,
        4,
    )
    .unwrap();
    let input = |x: Tensor<Rank3<2, 4, 8>, f32, OwnedTape<f32>>| {
        let mut i = EncoderInput::new(x).with_mask(causal_mask(4));
        i.src_key_padding_mask = Some(pad.clone());
        i
    };
    let (ys, yd) = (
        other.forward(input(x.clone().trace())),
        dyn_encoder.forward(input(x.clone().trace())),
    );
    common::check_close("encoder", yd.as_slice(), ys.as_slice(), 1e-6, 1e-5);
    let (gs, gd) = (ys.sum().backward(), yd.sum().backward());
    common::check_close(
        "grad x",
        gd.get_slice(&x).unwrap(),
        gs.get_slice(&x).unwrap(),
        1e-6,
        1e-5,
    );
    let mut grads_static = Vec::new();
    other.visit("", &mut |p| {
        grads_static.push(gs.get_id(p.id).unwrap().to_vec())
    });
    let mut i = 0;
    dyn_encoder.visit("", &mut |p| {
        common::check_close(
            p.name,
            gd.get_id(p.id).unwrap(),
            &grads_static[i],
            1e-6,
            1e-5,
        );
        i += 1;
    });
    // Errors name both sizes.
    let err = dyn_encoder
        .try_forward(Tensor::<Rank3<2, 4, 6>>::ones())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("TransformerEncoderDyn expects d_model 8, got 6"),
        "{err}"
    );
    let err = TransformerEncoderLayerDyn::<f32>::try_new(8, 3, 16, config, &mut rng()).unwrap_err();
    assert!(
        err.to_string()
            .contains("num_heads 3 must divide embed_dim 8"),
        "{err}"
    );
}

#[test]
fn static_and_run_time_transformer_layers_mix() {
    let mut r = rng();
    let config = TransformerConfig::default().dropout(0.0);
    // Linear (static) -> encoder layer (run-time) -> Linear (static), as a tuple.
    let mut model = (
        Linear::<4, 8>::new(&mut r),
        TransformerEncoderLayerDyn::new(8, 2, 16, config, &mut r),
        TransformerEncoderLayer::<8, 2, 16>::new(config, &mut r),
        Linear::<8, 3>::new(&mut r),
    );
    let x = Tensor::<(usize, usize, Const<4>)>::ones_with_shape((2, 5, Const));
    let y = model.forward_train(x.clone().trace());
    assert_eq!(y.dims().as_slice(), &[2, 5, 3]);
    assert!(y.sum().backward().get_slice(&x).is_some());
    let y: Tensor<(usize, usize, Const<3>)> = model.forward(x);
    assert_eq!(y.dims().as_slice(), &[2, 5, 3]);
}

#[test]
fn transformer_decoder_layer_dyn_against_golden() {
    let g = Golden::load("layer_transformer_decoder");
    let (d, h, f) = (
        g.hp("d_model") as usize,
        g.hp("nhead") as usize,
        g.hp("dim_feedforward") as usize,
    );
    let mut layer =
        TransformerDecoderLayerDyn::<f32>::new(d, h, f, transformer_config(&g), &mut rng());
    layer.visit_mut("", &mut |p| {
        assert_eq!(p.dims.as_slice(), g.shape(p.name).as_slice(), "{}", p.name);
        p.data.copy_from_slice(&g.f(p.name))
    });
    let x = Tensor::<D3>::from_vec_with_shape(g.f("x"), (2, 4, 8)).unwrap();
    let memory = Tensor::<Rank3<2, 6, 8>>::from_vec(g.f("memory")).unwrap();
    let input =
        DecoderInput::new(x.clone().trace(), memory.clone().trace()).with_tgt_mask(causal_mask(4));
    let y = layer.forward(input);
    g.check_forward("y", y.as_slice());
    let gy = Tensor::from_vec_with_shape(g.f("gy"), *y.shape()).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("memory", grads.get_slice(&memory).unwrap());
    layer.visit("", &mut |p| {
        g.check_grad(p.name, grads.get_id(p.id).unwrap())
    });
}

#[test]
fn transformer_decoder_dyn_matches_the_static_stack() {
    let config = TransformerConfig::default().dropout(0.0);
    let mut r = rng();
    let layer = TransformerDecoderLayer::<8, 2, 16>::new(config, &mut r);
    let decoder = TransformerDecoder::new(layer, 2, &mut r);
    let mut r = rng();
    let layer = TransformerDecoderLayerDyn::<f32>::new(8, 2, 16, config, &mut r);
    let mut dyn_decoder = TransformerDecoderDyn::new(layer, 2, &mut r);
    assert_eq!(
        decoder.summary().to_string(),
        dyn_decoder.summary().to_string()
    );
    let mut values = Vec::new();
    decoder.visit("", &mut |p| values.push(p.data.to_vec()));
    let mut i = 0;
    dyn_decoder.visit("", &mut |p| {
        assert_eq!(p.data, values[i].as_slice(), "{}", p.name);
        i += 1;
    });
    let tgt: Tensor<Rank3<2, 3, 8>> = Tensor::randn(&mut rng());
    let memory: Tensor<Rank3<2, 5, 8>> = Tensor::randn(&mut StdRng::seed_from_u64(1));
    let ys = decoder.forward((tgt.clone(), memory.clone()));
    let yd = dyn_decoder.forward_train((tgt.clone(), memory.clone()));
    common::check_close("decoder", yd.as_slice(), ys.as_slice(), 1e-6, 1e-5);
    let err = dyn_decoder
        .try_forward((tgt, Tensor::<Rank3<2, 5, 4>>::ones()))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("TransformerDecoderDyn expects memory d_model 8, got 4"),
        "{err}"
    );
    let err = dyn_decoder
        .try_forward((Tensor::<Rank3<2, 3, 4>>::ones(), memory))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("TransformerDecoderDyn expects d_model 8, got 4"),
        "{err}"
    );
}

#[test]
fn run_time_transformer_layers_follow_train_and_eval() {
    let config = TransformerConfig::default().dropout(0.5);
    let mut r = rng();
    let layer = TransformerEncoderLayerDyn::<f32>::new(8, 2, 16, config, &mut r);
    let mut encoder = TransformerEncoderDyn::new(layer, 2, &mut r);
    let mut decoder = TransformerDecoderDyn::new(
        TransformerDecoderLayerDyn::<f32>::new(8, 2, 16, config, &mut r),
        1,
        &mut r,
    );
    let x: Tensor<Rank3<2, 4, 8>> = Tensor::randn(&mut rng());
    assert!(!encoder.is_training() && !decoder.is_training());
    let eval = encoder.forward(x.clone());
    assert_eq!(eval.to_vec(), encoder.forward(x.clone()).to_vec());
    encoder.train();
    decoder.train();
    assert!(encoder.is_training() && decoder.is_training());
    assert_ne!(
        eval.to_vec(),
        encoder.forward(x.clone()).to_vec(),
        "dropout acts in training mode"
    );
    assert_ne!(
        decoder.forward((x.clone(), x.clone())).to_vec(),
        decoder.forward((x.clone(), x.clone())).to_vec()
    );
    encoder.eval();
    assert_eq!(eval.to_vec(), encoder.forward(x).to_vec());
}
