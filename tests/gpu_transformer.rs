//! The transformer decoder layer, the encoder and decoder stacks and dropout on attention
//! weights on the GPU: the PyTorch golden cases the CPU tests use (same files and
//! tolerances), and the CPU on other shapes and options (values and every gradient; dropout
//! with the same seed drops the same elements on both devices). The shape ops are in
//! `gpu_shape_ops.rs`.
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::{Golden, check_close};
use gpu_support::{FWD, GRAD, close, down, gpu, randn, up};
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::gpu::{
    GpuLayerNorm, GpuLinear, GpuMultiheadAttention, GpuTransformerDecoder,
    GpuTransformerDecoderLayer, GpuTransformerEncoder, GpuTransformerEncoderLayer,
};
use shaped::nn::{
    AttentionOptions, DecoderInput, Dropout, EncoderInput, LayerNorm, Module, MultiheadAttention,
    Params, TransformerActivation, TransformerConfig, TransformerDecoder, TransformerDecoderLayer,
    TransformerEncoder, TransformerEncoderLayer, causal_mask, key_padding_mask,
};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

fn rng() -> StdRng {
    StdRng::seed_from_u64(0)
}

fn grad<S: Shape, T>(gg: &Gradients<f32>, t: &GpuTensor<S, T>) -> Vec<f32> {
    down(&gg.get_gpu(t).expect("a GPU gradient"))
}

type Named = Vec<(String, Vec<f32>)>;

fn linear_grads<I: Dim, O: Dim>(l: &GpuLinear<I, O>, gg: &Gradients<f32>, p: &str) -> Named {
    vec![
        (format!("{p}weight"), grad(gg, &l.weight)),
        (format!("{p}bias"), grad(gg, l.bias.as_ref().unwrap())),
    ]
}

fn norm_grads<D: Dim>(n: &GpuLayerNorm<D>, gg: &Gradients<f32>, p: &str) -> Named {
    vec![
        (format!("{p}weight"), grad(gg, &n.weight)),
        (format!("{p}bias"), grad(gg, &n.bias)),
    ]
}

fn mha_grads<const E: usize, const H: usize>(
    m: &GpuMultiheadAttention<E, H>,
    gg: &Gradients<f32>,
    p: &str,
) -> Named {
    let mut out = vec![
        (format!("{p}in_proj_weight"), grad(gg, &m.in_proj_weight)),
        (
            format!("{p}in_proj_bias"),
            grad(gg, m.in_proj_bias.as_ref().unwrap()),
        ),
    ];
    out.extend(linear_grads(&m.out_proj, gg, &format!("{p}out_proj.")));
    out
}

fn encoder_layer_grads<const D: usize, const H: usize, const F: usize>(
    l: &GpuTransformerEncoderLayer<D, H, F>,
    gg: &Gradients<f32>,
    p: &str,
) -> Named {
    let mut out = mha_grads(&l.self_attn, gg, &format!("{p}self_attn."));
    out.extend(linear_grads(&l.linear1, gg, &format!("{p}linear1.")));
    out.extend(linear_grads(&l.linear2, gg, &format!("{p}linear2.")));
    out.extend(norm_grads(&l.norm1, gg, &format!("{p}norm1.")));
    out.extend(norm_grads(&l.norm2, gg, &format!("{p}norm2.")));
    out
}

fn decoder_layer_grads<const D: usize, const H: usize, const F: usize>(
    l: &GpuTransformerDecoderLayer<D, H, F>,
    gg: &Gradients<f32>,
    p: &str,
) -> Named {
    let mut out = mha_grads(&l.self_attn, gg, &format!("{p}self_attn."));
    out.extend(mha_grads(
        &l.multihead_attn,
        gg,
        &format!("{p}multihead_attn."),
    ));
    out.extend(linear_grads(&l.linear1, gg, &format!("{p}linear1.")));
    out.extend(linear_grads(&l.linear2, gg, &format!("{p}linear2.")));
    out.extend(norm_grads(&l.norm1, gg, &format!("{p}norm1.")));
    out.extend(norm_grads(&l.norm2, gg, &format!("{p}norm2.")));
    out.extend(norm_grads(&l.norm3, gg, &format!("{p}norm3.")));
    out
}

/// A stack's gradients: each layer's under `layers.{i}.`, then the final norm's under `norm.`.
fn stack_grads<L, N: Dim>(
    layers: &[L],
    norm: Option<&GpuLayerNorm<N>>,
    gg: &Gradients<f32>,
    layer_grads: impl Fn(&L, &Gradients<f32>, &str) -> Named,
) -> Named {
    let mut out = Named::new();
    for (i, l) in layers.iter().enumerate() {
        out.extend(layer_grads(l, gg, &format!("layers.{i}.")));
    }
    if let Some(n) = norm {
        out.extend(norm_grads(n, gg, "norm."));
    }
    out
}

fn encoder_grads<const D: usize, const H: usize, const F: usize>(
    e: &GpuTransformerEncoder<D, H, F>,
    gg: &Gradients<f32>,
) -> Named {
    stack_grads(&e.layers, e.norm.as_ref(), gg, encoder_layer_grads)
}

fn decoder_grads<const D: usize, const H: usize, const F: usize>(
    e: &GpuTransformerDecoder<D, H, F>,
    gg: &Gradients<f32>,
) -> Named {
    stack_grads(&e.layers, e.norm.as_ref(), gg, decoder_layer_grads)
}

/// Every parameter of the CPU model `cpu`, by name, against the GPU's gradients: with the
/// CPU's gradients (`cg`), or with `golden(name, gpu)`.
fn check_named<M: Params<f32>>(
    cpu: &M,
    gpu: &Named,
    cg: Option<&Gradients<f32>>,
    golden: &mut dyn FnMut(&str, &[f32]),
) {
    let mut n = 0;
    cpu.visit("", &mut |p| {
        let (_, gv) = gpu
            .iter()
            .find(|(name, _)| name == p.name)
            .unwrap_or_else(|| panic!("no GPU parameter {}", p.name));
        match cg {
            Some(cg) => close(p.name, gv, cg.get_id(p.id).unwrap(), GRAD),
            None => golden(p.name, gv),
        }
        n += 1;
    });
    assert_eq!(n, gpu.len(), "GPU and CPU parameter counts");
}

fn load<M: Params<f32>>(model: &mut M, g: &Golden, prefix: &str) {
    model.visit_mut("", &mut |p| {
        let v = g.f(&format!("{prefix}{}", p.name));
        assert_eq!(v.len(), p.data.len(), "{}", p.name);
        p.data.copy_from_slice(&v);
    });
}

fn config(g: &Golden) -> TransformerConfig {
    let activation = if g.hp_str("activation") == "\"gelu\"" {
        TransformerActivation::Gelu
    } else {
        TransformerActivation::Relu
    };
    TransformerConfig::default()
        .dropout(g.hp("dropout"))
        .activation(activation)
        .layer_norm_eps(g.hp("layer_norm_eps"))
        .norm_first(g.hp_str("norm_first") == "true")
}

#[test]
fn transformer_decoder_layer_golden() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_transformer_decoder");
    let mut layer = TransformerDecoderLayer::<8, 2, 16>::new(config(&g), &mut rng());
    load(&mut layer, &g, "");
    let glayer = layer.to_device(&dev).unwrap();
    let x = up(&dev, &Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("x")).unwrap());
    let memory = up(
        &dev,
        &Tensor::<Rank3<2, 6, 8>>::from_vec(g.f("memory")).unwrap(),
    );
    let mask = causal_mask::<f32>(4);
    assert_eq!(mask.to_vec(), g.f("mask"));
    let input = DecoderInput::new(x.clone().trace(), memory.clone().trace()).with_tgt_mask(mask);
    let y = glayer.forward(input);
    g.check_forward("y", &down(&y));
    let gy = up(
        &dev,
        &Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &grad(&grads, &x));
    g.check_grad("memory", &grad(&grads, &memory));
    check_named(
        &layer,
        &decoder_layer_grads(&glayer, &grads, ""),
        None,
        &mut |name, gv| g.check_grad(name, gv),
    );
    let back = glayer.to_cpu().unwrap();
    assert_eq!(back.param_names(), layer.param_names());
    assert_eq!(
        back.self_attn.in_proj_weight.to_vec(),
        layer.self_attn.in_proj_weight.to_vec()
    );
}

/// tests/golden_extra/transformer_masks_stack: a pre-norm GELU decoder layer with all four
/// masks, and a two-layer post-norm encoder stack with a final norm, a causal mask and a
/// key padding mask.
#[test]
fn pytorch_masks_prenorm_decoder_and_encoder_stack_golden() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("../golden_extra/transformer_masks_stack");
    let mut rng = rng();
    let config = TransformerConfig::default()
        .dropout(0.0)
        .activation(TransformerActivation::Gelu)
        .norm_first(true)
        .layer_norm_eps(1e-6);
    let mut decoder = TransformerDecoderLayer::<8, 2, 12>::new(config, &mut rng);
    load(&mut decoder, &g, "dec.");
    let gdec = decoder.to_device(&dev).unwrap();
    let tgt = up(
        &dev,
        &Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("dec.tgt")).unwrap(),
    );
    let memory = up(
        &dev,
        &Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("dec.mem")).unwrap(),
    );
    let memory_mask =
        Tensor::<(usize, usize)>::from_vec_with_shape(g.f("dec.mem_mask"), (4, 5)).unwrap();
    let mut tgt_padding = [false; 8];
    tgt_padding[7] = true;
    let mut memory_padding = [false; 10];
    memory_padding[3..5].fill(true);
    let input = DecoderInput::new(tgt.clone().trace(), memory.clone().trace())
        .with_tgt_mask(causal_mask(4))
        .with_memory_mask(memory_mask)
        .with_tgt_key_padding_mask(key_padding_mask(&tgt_padding, 2, 4).unwrap())
        .with_memory_key_padding_mask(key_padding_mask(&memory_padding, 2, 5).unwrap());
    let y = gdec.forward(input);
    g.check_forward("dec.y", &down(&y));
    let gy = up(
        &dev,
        &Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("dec.gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    let tol = |name: &str, gv: &[f32]| check_close(name, gv, &g.f(name), 1e-4, 1e-3);
    tol("dec.grad.tgt", &grad(&grads, &tgt));
    tol("dec.grad.mem", &grad(&grads, &memory));
    check_named(
        &decoder,
        &decoder_layer_grads(&gdec, &grads, ""),
        None,
        &mut |name, gv| tol(&format!("dec.grad.{name}"), gv),
    );

    let layer = TransformerEncoderLayer::<8, 2, 12>::new(TransformerConfig::default(), &mut rng);
    let mut encoder = TransformerEncoder::new(layer, 2, &mut rng).with_norm(LayerNorm::new());
    load(&mut encoder, &g, "enc.");
    let genc = encoder.to_device(&dev).unwrap();
    assert_eq!(genc.num_layers(), 2);
    let x = up(
        &dev,
        &Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("enc.x")).unwrap(),
    );
    let mut padding = [false; 8];
    padding[2..4].fill(true);
    let input = EncoderInput::new(x.clone().trace())
        .with_mask(causal_mask(4))
        .with_key_padding_mask(key_padding_mask(&padding, 2, 4).unwrap());
    let y = genc.forward(input);
    g.check_forward("enc.y", &down(&y));
    let gy = up(
        &dev,
        &Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("enc.gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    tol("enc.grad.x", &grad(&grads, &x));
    check_named(
        &encoder,
        &encoder_grads(&genc, &grads),
        None,
        &mut |name, gv| tol(&format!("enc.grad.{name}"), gv),
    );
    let back = genc.to_cpu().unwrap();
    assert_eq!(back.param_names(), encoder.param_names());
}

/// A post-norm relu decoder stack (two layers, final norm) on run-time shapes with every
/// mask, in evaluation mode with the default dropout 0.1: the CPU's values and gradients.
#[test]
fn transformer_decoder_stack_matches_cpu() {
    let Some(dev) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(5);
    let layer = TransformerDecoderLayer::<6, 3, 10>::new(TransformerConfig::default(), &mut rng);
    let decoder = TransformerDecoder::new(layer, 2, &mut rng).with_norm(LayerNorm::new());
    let gdec = decoder.to_device(&dev).unwrap();
    let shape = |l| (2usize, l, Const::<6>);
    let tgt = Tensor::<(usize, usize, Const<6>)>::randn_with_shape(shape(3), &mut rng);
    let memory = Tensor::<(usize, usize, Const<6>)>::randn_with_shape(shape(4), &mut rng);
    let memory_mask = Tensor::<(usize, usize)>::randn_with_shape((3, 4), &mut rng);
    let tgt_pad =
        key_padding_mask::<f32>(&[false, false, true, false, false, false], 2, 3).unwrap();
    let mem_pad = key_padding_mask::<f32>(
        &[false, true, false, false, false, false, false, true],
        2,
        4,
    )
    .unwrap();
    fn masks<X, M>(
        i: DecoderInput<X, M, f32>,
        m: [&Tensor<(usize, usize)>; 3],
    ) -> DecoderInput<X, M, f32> {
        i.with_tgt_mask(causal_mask(3))
            .with_memory_mask(m[0].clone())
            .with_tgt_key_padding_mask(m[1].clone())
            .with_memory_key_padding_mask(m[2].clone())
    }
    let m = [&memory_mask, &tgt_pad, &mem_pad];
    let cy = decoder.forward(masks(
        DecoderInput::new(tgt.clone().trace(), memory.clone().trace()),
        m,
    ));
    let (gt, gm) = (up(&dev, &tgt), up(&dev, &memory));
    let gy = gdec.forward(masks(
        DecoderInput::new(gt.clone().trace(), gm.clone().trace()),
        m,
    ));
    close("y", &down(&gy), cy.as_slice(), FWD);
    let r = Tensor::<(usize, usize, Const<6>)>::randn_with_shape(shape(3), &mut rng);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&dev, &r)).sum().backward();
    close("tgt", &grad(&gg, &gt), cg.get_slice(&tgt).unwrap(), GRAD);
    close(
        "memory",
        &grad(&gg, &gm),
        cg.get_slice(&memory).unwrap(),
        GRAD,
    );
    check_named(
        &decoder,
        &decoder_grads(&gdec, &gg),
        Some(&cg),
        &mut |_, _| {},
    );
    // Without masks, the tuple form.
    let cy = decoder.forward((tgt.clone(), memory.clone()));
    close(
        "y (tuple)",
        &down(&gdec.forward((gt, gm))),
        cy.as_slice(),
        FWD,
    );
    let back = gdec.to_cpu().unwrap();
    assert_eq!(back.param_names(), decoder.param_names());
    assert!(back.norm.is_some() && back.layers.len() == 2);
}

/// Training mode with dropout 0.3 everywhere, attention weights included: the GPU draws
/// the CPU layer's masks from the same generators, so values and gradients agree; a second
/// call draws new masks on both.
#[test]
fn encoder_stack_dropout_matches_cpu_with_same_seed() {
    let Some(dev) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(9);
    let config = TransformerConfig::default().dropout(0.3).norm_first(true);
    let layer = TransformerEncoderLayer::<8, 2, 12>::new(config, &mut rng);
    let mut encoder = TransformerEncoder::new(layer, 2, &mut rng);
    let mut genc = encoder.to_device(&dev).unwrap();
    let x = randn::<Rank3<2, 5, 8>>(21);
    let gx = up(&dev, &x);
    let mut previous: Option<Vec<f32>> = None;
    for call in 0..2 {
        let cy =
            encoder.forward_train(EncoderInput::new(x.clone().trace()).with_mask(causal_mask(5)));
        let gy =
            genc.forward_train(EncoderInput::new(gx.clone().trace()).with_mask(causal_mask(5)));
        let gv = down(&gy);
        close(&format!("y (call {call})"), &gv, cy.as_slice(), FWD);
        if let Some(p) = &previous {
            assert_ne!(p, &gv, "a second training call draws new masks");
        }
        previous = Some(gv);
        let r = randn::<Rank3<2, 5, 8>>(22);
        let cg = (cy * r.clone()).sum().backward();
        let gg = (gy * up(&dev, &r)).sum().backward();
        close("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
        check_named(
            &encoder,
            &encoder_grads(&genc, &gg),
            Some(&cg),
            &mut |_, _| {},
        );
    }
    // Evaluation mode drops nothing: the CPU's evaluation values.
    encoder.eval();
    genc.eval();
    let cy = encoder.forward(x.clone());
    close(
        "y (eval)",
        &down(&genc.forward(gx.clone())),
        cy.as_slice(),
        FWD,
    );
    // train() on the GPU stack: the dropouts act in plain forward too.
    genc.train();
    encoder.train();
    close(
        "y (train())",
        &down(&genc.forward(gx)),
        encoder.forward(x).as_slice(),
        FWD,
    );
}

/// A decoder layer in training mode with dropout on both attentions, every other dropout
/// and a target mask: the CPU's values and gradients for the same seed.
#[test]
fn decoder_layer_dropout_matches_cpu_with_same_seed() {
    let Some(dev) = gpu() else { return };
    let mut rng = StdRng::seed_from_u64(11);
    let config = TransformerConfig::default()
        .dropout(0.25)
        .activation(TransformerActivation::Gelu);
    let mut layer = TransformerDecoderLayer::<6, 2, 8>::new(config, &mut rng);
    let mut glayer = layer.to_device(&dev).unwrap();
    let tgt = randn::<Rank3<2, 4, 6>>(31);
    let memory = randn::<Rank3<2, 3, 6>>(32);
    let cy = layer.forward_train(
        DecoderInput::new(tgt.clone().trace(), memory.clone().trace())
            .with_tgt_mask(causal_mask(4)),
    );
    let (gt, gm) = (up(&dev, &tgt), up(&dev, &memory));
    let gy = glayer.forward_train(
        DecoderInput::new(gt.clone().trace(), gm.clone().trace()).with_tgt_mask(causal_mask(4)),
    );
    close("y", &down(&gy), cy.as_slice(), FWD);
    let r = randn::<Rank3<2, 4, 6>>(33);
    let cg = (cy * r.clone()).sum().backward();
    let gg = (gy * up(&dev, &r)).sum().backward();
    close("tgt", &grad(&gg, &gt), cg.get_slice(&tgt).unwrap(), GRAD);
    close(
        "memory",
        &grad(&gg, &gm),
        cg.get_slice(&memory).unwrap(),
        GRAD,
    );
    check_named(
        &layer,
        &decoder_layer_grads(&glayer, &gg, ""),
        Some(&cg),
        &mut |_, _| {},
    );
}

/// `AttentionOptions::dropout` on the GPU: the weights (returned after dropout, as on the
/// CPU) and the output equal the CPU's for the same seed.
#[test]
fn attention_weight_dropout_matches_cpu() {
    let Some(dev) = gpu() else { return };
    let mha = MultiheadAttention::<8, 2>::new(&mut StdRng::seed_from_u64(3));
    let gmha = mha.to_device(&dev).unwrap();
    let q = randn::<Rank3<2, 3, 8>>(41);
    let kv = randn::<Rank3<2, 5, 8>>(42);
    let mut cdrop = Dropout::with_seed(0.4, 7);
    let mut gdrop = Dropout::with_seed(0.4, 7);
    let copts = AttentionOptions {
        dropout: Some(&mut cdrop),
        ..Default::default()
    };
    let (cy, cw) = mha.forward_with(
        q.clone().trace(),
        kv.clone().trace(),
        kv.clone().trace(),
        copts,
    );
    let (gq, gkv) = (up(&dev, &q), up(&dev, &kv));
    let gopts = AttentionOptions {
        dropout: Some(&mut gdrop),
        ..Default::default()
    };
    let (gy, gw) = gmha
        .try_forward_with(
            gq.clone().trace(),
            gkv.clone().trace(),
            gkv.clone().trace(),
            gopts,
        )
        .unwrap();
    close("y", &down(&gy), cy.as_slice(), FWD);
    close("weights", &down(&gw.unwrap()), cw.unwrap().as_slice(), FWD);
    // It dropped something: the output differs from the one without dropout.
    let (plain, _) = gmha
        .try_forward_with(
            gq.clone(),
            gkv.clone(),
            gkv.clone(),
            AttentionOptions::default(),
        )
        .unwrap();
    assert_ne!(down(&plain), down(&gy));
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    close("q", &grad(&gg, &gq), cg.get_slice(&q).unwrap(), GRAD);
    close("kv", &grad(&gg, &gkv), cg.get_slice(&kv).unwrap(), GRAD);
    close(
        "in_proj_weight",
        &grad(&gg, &gmha.in_proj_weight),
        cg.get_slice(&mha.in_proj_weight).unwrap(),
        GRAD,
    );
}
