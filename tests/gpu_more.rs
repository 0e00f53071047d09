//! Transposed and grouped convolution, the GRU, the Elman RNN and multi-head attention on the
//! GPU: each layer against
//! the CPU layer on the same data and weights (output and every gradient), and the PyTorch
//! golden cases they cover (same files and tolerances as the CPU tests).
#![cfg(feature = "wgpu")]

mod common;
mod gpu_support;

use common::Golden;
use gpu_support::{FWD, GRAD, close, down, gpu, randn, up};
use shaped::autograd::Gradients;
use shaped::gpu::prelude::*;
use shaped::gpu::{
    GpuGRU, GpuLinear, GpuMultiheadAttention, GpuRNN, GpuRecurrent, GpuRecurrentCell,
    GpuTransformerEncoderLayer,
};
use shaped::nn::{
    AttentionOptions, BiGRU, BiRNN, CellKind, ConvTranspose2d, Direction, EncoderInput, GRU,
    GRUCell, GroupedConv2d, Layout, Module, MultiheadAttention, Params, RNN, RNNCell, RNNRelu,
    RNNReluCell, SeqFirst, TransformerActivation, TransformerConfig, TransformerEncoderLayer,
    causal_mask, key_padding_mask,
};
use shaped::prelude::*;
use shaped::rand::{SeedableRng, rngs::StdRng};

fn rng() -> StdRng {
    StdRng::seed_from_u64(0)
}

fn grad<S: Shape, T>(gg: &Gradients<f32>, t: &GpuTensor<S, T>) -> Vec<f32> {
    down(&gg.get_gpu(t).expect("a GPU gradient"))
}

/// A conv-style layer (`weight`, optional `bias`) on both devices with the loss `sum(y^2)`:
/// the output and the gradients of the input and the parameters.
macro_rules! conv_vs_cpu {
    ($layer:expr, $x:ty, $seed:expr) => {{
        let Some(dev) = gpu() else { return };
        let layer = $layer;
        let glayer = layer.to_device(&dev).unwrap();
        let x = randn::<$x>($seed);
        let cy = layer.forward(x.clone().trace());
        let gx = up(&dev, &x);
        let gy = glayer.forward(gx.clone().trace());
        assert_eq!(gy.to_cpu().unwrap().dims(), cy.dims());
        close("y", &down(&gy), cy.as_slice(), FWD);
        let cg = cy.square().sum().backward();
        let gg = gy.square().sum().backward();
        close("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
        close(
            "weight",
            &grad(&gg, &glayer.weight),
            cg.get_slice(&layer.weight).unwrap(),
            GRAD,
        );
        if let (Some(cb), Some(gb)) = (&layer.bias, &glayer.bias) {
            close("bias", &grad(&gg, gb), cg.get_slice(cb).unwrap(), GRAD);
        }
        // Untraced: the same values; back to the CPU: the same layer.
        close(
            "y untraced",
            &down(&glayer.forward(gx)),
            layer.forward(x).as_slice(),
            FWD,
        );
        let back = glayer.to_cpu().unwrap();
        assert_eq!(back.weight.to_vec(), layer.weight.to_vec());
    }};
}

/// A golden conv case (`x`, `weight`, `bias`, `y`, `gy` and the gradients of `sum(y * gy)`).
macro_rules! conv_golden {
    ($case:literal, $layer:expr, $x:ty, $y:ty) => {{
        let Some(dev) = gpu() else { return };
        let g = Golden::load($case);
        let mut layer = $layer;
        assert_eq!(g.shape("weight"), layer.weight.dims().as_slice());
        layer.weight.as_mut_slice().copy_from_slice(&g.f("weight"));
        let b = layer.bias.as_mut().unwrap();
        b.as_mut_slice().copy_from_slice(&g.f("bias"));
        let glayer = layer.to_device(&dev).unwrap();
        let x = up(&dev, &Tensor::<$x>::from_vec(g.f("x")).unwrap());
        let y = glayer.forward(x.clone().trace());
        g.check_forward("y", &down(&y));
        let gy = up(&dev, &Tensor::<$y>::from_vec(g.f("gy")).unwrap());
        let grads = (y * gy).sum().backward();
        g.check_grad("x", &grad(&grads, &x));
        g.check_grad("weight", &grad(&grads, &glayer.weight));
        g.check_grad("bias", &grad(&grads, glayer.bias.as_ref().unwrap()));
    }};
}

#[test]
fn conv_transpose2d_golden() {
    conv_golden!(
        "layer_conv_transpose2d",
        ConvTranspose2d::<3, 2, 3, 2, 1>::new(&mut rng()),
        Rank4<2, 3, 5, 5>,
        Rank4<2, 2, 9, 9>
    );
}

#[test]
fn conv_transpose2d_output_padding_dilation_matches_cpu() {
    conv_vs_cpu!(
        ConvTranspose2d::<2, 3, 3, 2, 1, 1, 2>::new(&mut rng()),
        Rank4<2, 2, 4, 5>,
        1
    );
}

#[test]
fn conv_transpose2d_stride3_no_bias_matches_cpu() {
    conv_vs_cpu!(
        ConvTranspose2d::<3, 2, 2, 3, 0, 2>::new_no_bias(&mut rng()),
        Rank4<1, 3, 3, 4>,
        2
    );
}

#[test]
fn grouped_conv2d_golden() {
    conv_golden!(
        "layer_conv2d_groups",
        GroupedConv2d::<4, 6, 3, 2, 1, 1>::new(&mut rng()),
        Rank4<2, 4, 6, 6>,
        Rank4<2, 6, 6, 6>
    );
}

#[test]
fn depthwise_conv2d_golden() {
    conv_golden!(
        "layer_conv2d_depthwise",
        GroupedConv2d::<3, 6, 3, 3, 1, 1>::new(&mut rng()),
        Rank4<2, 3, 6, 6>,
        Rank4<2, 6, 6, 6>
    );
}

#[test]
fn grouped_conv2d_strided_dilated_matches_cpu() {
    conv_vs_cpu!(
        GroupedConv2d::<6, 4, 3, 2, 2, 1, 2>::new(&mut rng()),
        Rank4<2, 6, 7, 6>,
        3
    );
}

#[test]
fn grouped_conv2d_one_group_no_bias_matches_cpu() {
    conv_vs_cpu!(
        GroupedConv2d::<3, 4, 2, 1>::new_no_bias(&mut rng()),
        Rank4<2, 3, 5, 4>,
        4
    );
}

/// Copies every parameter the model names from the golden file.
fn load<M: Params<f32>>(model: &mut M, g: &Golden) {
    model.visit_mut("", &mut |p| {
        let v = g.f(p.name);
        assert_eq!(v.len(), p.data.len(), "{}", p.name);
        p.data.copy_from_slice(&v);
    });
}

/// The GPU cell's parameter gradients, named with `suffix` (`""` or `"_l0"`, ...).
fn cell_grads<K: CellKind, I: Dim, H: Dim>(
    cell: &GpuRecurrentCell<K, I, H>,
    gg: &Gradients<f32>,
    suffix: &str,
) -> Vec<(String, Vec<f32>)> {
    let mut out = vec![
        (format!("weight_ih{suffix}"), grad(gg, &cell.weight_ih)),
        (format!("weight_hh{suffix}"), grad(gg, &cell.weight_hh)),
    ];
    if let Some(b) = &cell.bias_ih {
        out.push((format!("bias_ih{suffix}"), grad(gg, b)));
    }
    if let Some(b) = &cell.bias_hh {
        out.push((format!("bias_hh{suffix}"), grad(gg, b)));
    }
    out
}

/// Every parameter gradient of a GPU stack, named as PyTorch names them.
fn stack_grads<K: CellKind, I: Dim, H: Dim, L: Dim, F: Layout, D: Direction>(
    l: &GpuRecurrent<K, I, H, L, F, D>,
    gg: &Gradients<f32>,
) -> Vec<(String, Vec<f32>)> {
    let mut out = cell_grads(&l.cell, gg, "_l0");
    if let Some(c) = &l.cell_reverse {
        out.extend(cell_grads(c, gg, "_l0_reverse"));
    }
    for (k, c) in l.rest.iter().enumerate() {
        out.extend(cell_grads(c, gg, &format!("_l{}", k + 1)));
        if let Some(c) = l.rest_reverse.get(k) {
            out.extend(cell_grads(c, gg, &format!("_l{}_reverse", k + 1)));
        }
    }
    out
}

/// Compares one named gradient: the GPU's and, when there is one, the CPU's.
type Check<'a> = &'a mut dyn FnMut(&str, &[f32], Option<&[f32]>);

/// Every parameter gradient of the CPU model `cpu` against the GPU's, by name, with `check`.
fn check_named<M: Params<f32>>(
    cpu: &M,
    gpu: &[(String, Vec<f32>)],
    check: Check<'_>,
    cg: Option<&Gradients<f32>>,
) {
    let mut n = 0;
    cpu.visit("", &mut |p| {
        let (_, gv) = gpu
            .iter()
            .find(|(name, _)| name == p.name)
            .unwrap_or_else(|| panic!("no GPU parameter {}", p.name));
        check(p.name, gv, cg.map(|cg| cg.get_id(p.id).unwrap()));
        n += 1;
    });
    assert_eq!(n, gpu.len());
}

/// A golden cell case: `x`, `h0`, `h1`, `gh1` and the gradients of `sum(h1 * gh1)`.
macro_rules! cell_golden {
    ($case:literal, $cell:ty) => {{
        let Some(dev) = gpu() else { return };
        let g = Golden::load($case);
        let mut cell = <$cell>::new(&mut rng());
        load(&mut cell, &g);
        let gcell = cell.to_device(&dev).unwrap();
        let x = up(&dev, &Tensor::<Rank2<3, 4>>::from_vec(g.f("x")).unwrap());
        let h0 = up(&dev, &Tensor::<Rank2<3, 5>>::from_vec(g.f("h0")).unwrap());
        let h1 = gcell.forward((x.clone().trace(), h0.clone().trace()));
        g.check_forward("h1", &down(&h1));
        let gh1 = up(&dev, &Tensor::<Rank2<3, 5>>::from_vec(g.f("gh1")).unwrap());
        let grads = (h1 * gh1).sum().backward();
        g.check_grad("x", &grad(&grads, &x));
        g.check_grad("h0", &grad(&grads, &h0));
        check_named(
            &cell,
            &cell_grads(&gcell, &grads, ""),
            &mut |name, gv, _| g.check_grad(name, gv),
            None,
        );
        g.check_forward("h1", &down(&gcell.forward((x, h0))));
    }};
}

#[test]
fn gru_cell_golden() {
    cell_golden!("layer_gru_cell", GRUCell<4, 5>);
}

#[test]
fn rnn_relu_cell_golden() {
    cell_golden!("layer_rnn_cell_relu", RNNReluCell<4, 5>);
}

/// A cell from a zero state on both devices (and without biases), loss `sum(h'^2)`.
macro_rules! cell_vs_cpu {
    ($cell:ty, $seed:expr) => {{
        let Some(dev) = gpu() else { return };
        let mut cell = <$cell>::new(&mut StdRng::seed_from_u64($seed));
        for with_bias in [true, false] {
            if !with_bias {
                cell.bias_ih = None;
                cell.bias_hh = None;
            }
            let gcell = cell.to_device(&dev).unwrap();
            let x = randn::<Rank2<3, 5>>($seed + 1);
            let ch = cell.forward(x.clone().trace());
            let gx = up(&dev, &x);
            let gh = gcell.forward(gx.clone().trace());
            close("h'", &down(&gh), ch.as_slice(), FWD);
            let cg = ch.square().sum().backward();
            let gg = gh.square().sum().backward();
            close("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
            check_named(
                &cell,
                &cell_grads(&gcell, &gg, ""),
                &mut |name, gv, cv| close(name, gv, cv.unwrap(), GRAD),
                Some(&cg),
            );
        }
    }};
}

#[test]
fn gru_cell_matches_cpu() {
    cell_vs_cpu!(GRUCell<5, 7>, 10);
}

#[test]
fn rnn_tanh_cell_matches_cpu() {
    cell_vs_cpu!(RNNCell<5, 7>, 20);
}

#[test]
fn rnn_relu_cell_matches_cpu() {
    cell_vs_cpu!(RNNReluCell<5, 7>, 30);
}

/// A golden sequence case, batch-first `x` `(2, 4, 3)`, `h0` `(STATES, 2, 5)` and `y`
/// `(2, 4, OUT)`; loss `sum(y * gy)` plus `sum(h_n * gh_n)` when the file has `gh_n`.
macro_rules! layer_golden {
    ($case:literal, $layer:ty, $states:literal, $out:literal) => {{
        let Some(dev) = gpu() else { return };
        let g = Golden::load($case);
        let mut layer = <$layer>::new(&mut rng());
        load(&mut layer, &g);
        let glayer = layer.to_device(&dev).unwrap();
        let x = up(&dev, &Tensor::<Rank3<2, 4, 3>>::from_vec(g.f("x")).unwrap());
        let h0 = Tensor::<Rank3<$states, 2, 5>>::from_vec(g.f("h0")).unwrap();
        let h0 = up(&dev, &h0);
        let (y, h_n) = glayer.forward((x.clone().trace(), h0.clone().trace()));
        g.check_forward("y", &down(&y));
        g.check_forward("h_n", &down(&h_n));
        // Computed output dims (2 * H, 2 * L) as the static sizes they are.
        let y = y.reshape_dyn(<Rank3<2, 4, $out>>::default());
        let h_n = h_n.reshape_dyn(<Rank3<$states, 2, 5>>::default());
        let gy = up(
            &dev,
            &Tensor::<Rank3<2, 4, $out>>::from_vec(g.f("gy")).unwrap(),
        );
        let grads = if g.has("gh_n") {
            let ghn = Tensor::<Rank3<$states, 2, 5>>::from_vec(g.f("gh_n")).unwrap();
            ((y * gy).sum() + (h_n * up(&dev, &ghn)).sum()).backward()
        } else {
            (y * gy).sum().backward()
        };
        g.check_grad("x", &grad(&grads, &x));
        g.check_grad("h0", &grad(&grads, &h0));
        let named = stack_grads(&glayer, &grads);
        check_named(
            &layer,
            &named,
            &mut |name, gv, _| g.check_grad(name, gv),
            None,
        );
    }};
}

#[test]
fn gru_layer_golden() {
    layer_golden!("layer_gru", GRU<3, 5>, 1, 5);
}

#[test]
fn rnn_tanh_layer_golden() {
    layer_golden!("layer_rnn_tanh", RNN<3, 5>, 1, 5);
}

#[test]
fn rnn_relu_two_layer_golden() {
    layer_golden!("layer_rnn_relu", RNNRelu<3, 5, 2>, 2, 5);
}

/// A 2-layer sequence-first GRU from a zero state on both devices: `y`, `h_n` and every
/// gradient with cotangents on both.
#[test]
fn gru_two_layer_seq_first_matches_cpu() {
    let Some(dev) = gpu() else { return };
    let gru = GRU::<4, 6, 2, f32, SeqFirst>::new(&mut StdRng::seed_from_u64(40));
    let ggru: GpuGRU<_, _, _, SeqFirst> = gru.to_device(&dev).unwrap();
    let x = randn::<Rank3<5, 3, 4>>(41); // (seq, batch, input)
    let (cy, chn) = gru.forward(x.clone().trace());
    let gx = up(&dev, &x);
    let (gy, ghn) = ggru.forward(gx.clone().trace());
    close("y", &down(&gy), cy.as_slice(), FWD);
    close("h_n", &down(&ghn), chn.as_slice(), FWD);
    let (ry, rh) = (randn::<Rank3<5, 3, 6>>(42), randn::<Rank3<2, 3, 6>>(43));
    let cg = ((cy * ry.clone()).sum() + (chn * rh.clone()).sum()).backward();
    let gg = ((gy * up(&dev, &ry)).sum() + (ghn * up(&dev, &rh)).sum()).backward();
    close("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
    check_named(
        &gru,
        &stack_grads(&ggru, &gg),
        &mut |name, gv, cv| close(name, gv, cv.unwrap(), GRAD),
        Some(&cg),
    );
    // Back to the CPU: the same parameters under the same names.
    let back = ggru.to_cpu().unwrap();
    assert_eq!(back.param_names(), gru.param_names());
}

/// The GPU attention layer's parameter gradients, by PyTorch's names.
fn mha_grads<const E: usize, const H: usize>(
    m: &GpuMultiheadAttention<E, H>,
    gg: &Gradients<f32>,
) -> Vec<(String, Vec<f32>)> {
    let mut out = vec![
        ("in_proj_weight".into(), grad(gg, &m.in_proj_weight)),
        (
            "in_proj_bias".into(),
            grad(gg, m.in_proj_bias.as_ref().unwrap()),
        ),
    ];
    out.extend(linear_grads(&m.out_proj, gg, "out_proj."));
    out
}

fn linear_grads<I: Dim, O: Dim>(
    l: &GpuLinear<I, O>,
    gg: &Gradients<f32>,
    prefix: &str,
) -> Vec<(String, Vec<f32>)> {
    vec![
        (format!("{prefix}weight"), grad(gg, &l.weight)),
        (format!("{prefix}bias"), grad(gg, l.bias.as_ref().unwrap())),
    ]
}

#[test]
fn mha_self_golden() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_mha_self");
    let mut mha = MultiheadAttention::<8, 2>::new(&mut rng());
    load(&mut mha, &g);
    let gmha = mha.to_device(&dev).unwrap();
    let x = up(&dev, &Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("x")).unwrap());
    let (y, w) = gmha.forward(x.clone().trace());
    g.check_forward("y", &down(&y));
    g.check_forward("attn_weights", &down(&w));
    let gy = up(
        &dev,
        &Tensor::<Rank3<2, 4, 8>>::from_vec(g.f("gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &grad(&grads, &x));
    check_named(
        &mha,
        &mha_grads(&gmha, &grads),
        &mut |name, gv, _| g.check_grad(name, gv),
        None,
    );
    let back = gmha.to_cpu().unwrap();
    assert_eq!(back.param_names(), mha.param_names());
}

#[test]
fn mha_causal_golden() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_mha_causal");
    let mut mha = MultiheadAttention::<8, 2>::new(&mut rng());
    load(&mut mha, &g);
    let gmha = mha.to_device(&dev).unwrap();
    let x = up(&dev, &Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x")).unwrap());
    let mask = MultiheadAttention::<8, 2>::causal_mask(5);
    let xt = x.clone().trace();
    let opts = AttentionOptions {
        attn_mask: Some(&mask),
        ..Default::default()
    };
    let (y, w) = gmha
        .try_forward_with(xt.clone(), xt.clone(), xt, opts)
        .unwrap();
    g.check_forward("y", &down(&y));
    g.check_forward("attn_weights", &down(&w.unwrap()));
    let gy = up(
        &dev,
        &Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &grad(&grads, &x));
    check_named(
        &mha,
        &mha_grads(&gmha, &grads),
        &mut |name, gv, _| g.check_grad(name, gv),
        None,
    );
}

#[test]
fn mha_cross_golden() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_mha_cross");
    let mut mha = MultiheadAttention::<8, 4>::new(&mut rng());
    load(&mut mha, &g);
    let gmha = mha.to_device(&dev).unwrap();
    let q = up(&dev, &Tensor::<Rank3<2, 3, 8>>::from_vec(g.f("x")).unwrap());
    let k = up(
        &dev,
        &Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x2")).unwrap(),
    );
    let v = up(
        &dev,
        &Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x3")).unwrap(),
    );
    let (y, w) = gmha
        .try_forward_with(
            q.clone().trace(),
            k.clone().trace(),
            v.clone().trace(),
            AttentionOptions::default(),
        )
        .unwrap();
    g.check_forward("y", &down(&y));
    g.check_forward("attn_weights", &down(&w.unwrap()));
    let gy = up(
        &dev,
        &Tensor::<Rank3<2, 3, 8>>::from_vec(g.f("gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &grad(&grads, &q));
    g.check_grad("x2", &grad(&grads, &k));
    g.check_grad("x3", &grad(&grads, &v));
    check_named(
        &mha,
        &mha_grads(&gmha, &grads),
        &mut |name, gv, _| g.check_grad(name, gv),
        None,
    );
}

/// Cross-attention with a key padding mask and an attention mask, without the weights, on
/// both devices (run-time sequence lengths); dropout on the weights is an `Err` on the GPU.
#[test]
fn mha_masks_without_weights_match_cpu() {
    let Some(dev) = gpu() else { return };
    let mha = MultiheadAttention::<6, 3>::new(&mut StdRng::seed_from_u64(50));
    let gmha = mha.to_device(&dev).unwrap();
    let q = randn::<Rank3<2, 4, 6>>(51)
        .try_realize::<(Const<2>, usize, Const<6>)>()
        .unwrap();
    let kv = randn::<Rank3<2, 3, 6>>(52)
        .try_realize::<(Const<2>, usize, Const<6>)>()
        .unwrap();
    let pad = key_padding_mask::<f32>(&[false, false, true, false, true, true], 2, 3).unwrap();
    let mut am = vec![0.0f32; 12];
    am[1] = f32::NEG_INFINITY; // query 0 does not see key 1
    let am = Tensor::<(usize, usize)>::from_vec_with_shape(am, (4, 3)).unwrap();
    let opts = || AttentionOptions {
        attn_mask: Some(&am),
        key_padding_mask: Some(&pad),
        need_weights: false,
        dropout: None,
    };
    let (cy, cw) = mha
        .try_forward_with(
            q.clone().trace(),
            kv.clone().trace(),
            kv.clone().trace(),
            opts(),
        )
        .unwrap();
    assert!(cw.is_none());
    let (gq, gkv) = (up(&dev, &q), up(&dev, &kv));
    let (gy, gw) = gmha
        .try_forward_with(
            gq.clone().trace(),
            gkv.clone().trace(),
            gkv.clone().trace(),
            opts(),
        )
        .unwrap();
    assert!(gw.is_none());
    close("y", &down(&gy), cy.as_slice(), FWD);
    let cg = cy.square().sum().backward();
    let gg = gy.square().sum().backward();
    close("q", &grad(&gg, &gq), cg.get_slice(&q).unwrap(), GRAD);
    close("kv", &grad(&gg, &gkv), cg.get_slice(&kv).unwrap(), GRAD);
    check_named(
        &mha,
        &mha_grads(&gmha, &gg),
        &mut |name, gv, cv| close(name, gv, cv.unwrap(), GRAD),
        Some(&cg),
    );
    // A mask that does not fit is an Err naming it.
    let bad = Tensor::<(usize, usize)>::zeros_with_shape((3, 3));
    let opts = AttentionOptions {
        attn_mask: Some(&bad),
        ..Default::default()
    };
    let e = gmha
        .try_forward_with(gq.clone(), gkv.clone(), gkv.clone(), opts)
        .unwrap_err();
    assert!(e.to_string().contains("attn_mask"), "{e}");
}

/// Every parameter gradient of a GPU encoder layer under PyTorch's names.
fn encoder_grads<const D: usize, const H: usize, const F: usize>(
    l: &GpuTransformerEncoderLayer<D, H, F>,
    gg: &Gradients<f32>,
) -> Vec<(String, Vec<f32>)> {
    let mut out: Vec<(String, Vec<f32>)> = mha_grads(&l.self_attn, gg)
        .into_iter()
        .map(|(n, v)| (format!("self_attn.{n}"), v))
        .collect();
    out.extend(linear_grads(&l.linear1, gg, "linear1."));
    out.extend(linear_grads(&l.linear2, gg, "linear2."));
    for (name, norm) in [("norm1", &l.norm1), ("norm2", &l.norm2)] {
        out.push((format!("{name}.weight"), grad(gg, &norm.weight)));
        out.push((format!("{name}.bias"), grad(gg, &norm.bias)));
    }
    out
}

/// The golden encoder layer's options (dropout 0 in every golden).
fn encoder_config(g: &Golden) -> TransformerConfig {
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
fn transformer_encoder_layer_post_norm_golden() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_transformer_encoder");
    let mut layer = TransformerEncoderLayer::<8, 2, 16>::new(encoder_config(&g), &mut rng());
    assert!(!layer.norm_first);
    load(&mut layer, &g);
    let mut glayer = layer.to_device(&dev).unwrap();
    let x = up(&dev, &Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("x")).unwrap());
    // Dropout is 0: training mode computes the same values.
    g.check_forward("y", &down(&glayer.forward_train(x.clone())));
    let y = glayer.forward(x.clone().trace());
    g.check_forward("y", &down(&y));
    let gy = up(
        &dev,
        &Tensor::<Rank3<2, 5, 8>>::from_vec(g.f("gy")).unwrap(),
    );
    let grads = (y * gy).sum().backward();
    g.check_grad("x", &grad(&grads, &x));
    check_named(
        &layer,
        &encoder_grads(&glayer, &grads),
        &mut |name, gv, _| g.check_grad(name, gv),
        None,
    );
    // Back to the CPU: the same parameters under the same names.
    let back = glayer.to_cpu().unwrap();
    assert_eq!(back.param_names(), layer.param_names());
}

#[test]
fn transformer_encoder_layer_pre_norm_gelu_causal_golden() {
    let Some(dev) = gpu() else { return };
    let g = Golden::load("layer_transformer_encoder_prenorm_gelu");
    let mut layer = TransformerEncoderLayer::<8, 4, 12>::new(encoder_config(&g), &mut rng());
    assert!(layer.norm_first && layer.activation == TransformerActivation::Gelu);
    load(&mut layer, &g);
    let glayer = layer.to_device(&dev).unwrap();
    // A run-time batch and length.
    let x =
        Tensor::<(usize, usize, Const<8>)>::from_vec_with_shape(g.f("x"), (2, 6, Const)).unwrap();
    let x = up(&dev, &x);
    let mask = causal_mask::<f32>(6);
    assert_eq!(mask.to_vec(), g.f("mask"));
    let input = EncoderInput {
        src: x.clone().trace(),
        mask: None,
        src_key_padding_mask: None,
    }
    .with_mask(mask);
    let y = glayer.forward(input);
    g.check_forward("y", &down(&y));
    let gy =
        Tensor::<(usize, usize, Const<8>)>::from_vec_with_shape(g.f("gy"), (2, 6, Const)).unwrap();
    let grads = (y * up(&dev, &gy)).sum().backward();
    g.check_grad("x", &grad(&grads, &x));
    check_named(
        &layer,
        &encoder_grads(&glayer, &grads),
        &mut |name, gv, _| g.check_grad(name, gv),
        None,
    );
}

/// Evaluation mode runs with the CPU layer's default dropout (0.1); training mode drops as
/// the CPU layer does.
#[test]
fn transformer_encoder_layer_modes() {
    let Some(dev) = gpu() else { return };
    let mut layer =
        TransformerEncoderLayer::<6, 2, 10>::new(TransformerConfig::default(), &mut rng());
    layer.eval();
    let mut glayer = layer.to_device(&dev).unwrap();
    let x = randn::<Rank3<2, 3, 6>>(60);
    let pad = key_padding_mask::<f32>(&[false, false, true, false, false, false], 2, 3).unwrap();
    let cin = EncoderInput::new(x.clone()).with_key_padding_mask(pad.clone());
    let cy = layer.forward(cin);
    let gin = EncoderInput {
        src: up(&dev, &x),
        mask: None,
        src_key_padding_mask: None,
    }
    .with_key_padding_mask(pad);
    close("y (eval)", &down(&glayer.forward(gin)), cy.as_slice(), FWD);
    // Training mode: every dropout, the attention weights' included, draws the CPU
    // layer's masks from the same generators.
    glayer.train();
    layer.train();
    close(
        "y (train)",
        &down(&glayer.forward(up(&dev, &x))),
        layer.forward(x).as_slice(),
        FWD,
    );
}

/// Bidirectional stacks on both devices, from given initial states: `y`, `h_n` and every
/// gradient (reverse-direction parameters included), cotangents on both outputs.
macro_rules! bidirectional_vs_cpu {
    ($layer:ty, $gpu:ty, $seed:expr) => {{
        let Some(dev) = gpu() else { return };
        let layer = <$layer>::new(&mut StdRng::seed_from_u64($seed));
        let glayer: $gpu = layer.to_device(&dev).unwrap();
        let x = randn::<Rank3<5, 3, 4>>($seed + 1); // (seq, batch, input)
        let h0 = randn::<Rank3<4, 3, 6>>($seed + 2); // (layers * 2, batch, hidden)
        let (cy, chn) = layer.forward((x.clone().trace(), h0.clone().trace()));
        let (gx, gh0) = (up(&dev, &x), up(&dev, &h0));
        let (gy, ghn) = glayer.forward((gx.clone().trace(), gh0.clone().trace()));
        assert_eq!(gy.to_cpu().unwrap().dims(), cy.dims());
        close("y", &down(&gy), cy.as_slice(), FWD);
        close("h_n", &down(&ghn), chn.as_slice(), FWD);
        let (ry, rh) = (
            randn::<Rank3<5, 3, 12>>($seed + 3),
            randn::<Rank3<4, 3, 6>>($seed + 4),
        );
        // The computed output dims (2 * H, 2 * L) as the static sizes they are.
        let cy = cy.try_realize::<Rank3<5, 3, 12>>().unwrap();
        let chn = chn.try_realize::<Rank3<4, 3, 6>>().unwrap();
        let gy = gy.reshape_dyn(<Rank3<5, 3, 12>>::default());
        let ghn = ghn.reshape_dyn(<Rank3<4, 3, 6>>::default());
        let cg = ((cy * ry.clone()).sum() + (chn * rh.clone()).sum()).backward();
        let gg = ((gy * up(&dev, &ry)).sum() + (ghn * up(&dev, &rh)).sum()).backward();
        close("x", &grad(&gg, &gx), cg.get_slice(&x).unwrap(), GRAD);
        close("h0", &grad(&gg, &gh0), cg.get_slice(&h0).unwrap(), GRAD);
        assert!(glayer.cell_reverse.is_some() && glayer.rest_reverse.len() == 1);
        check_named(
            &layer,
            &stack_grads(&glayer, &gg),
            &mut |name, gv, cv| close(name, gv, cv.unwrap(), GRAD),
            Some(&cg),
        );
        let back = glayer.to_cpu().unwrap();
        assert_eq!(back.param_names(), layer.param_names());
    }};
}

#[test]
fn bigru_two_layer_seq_first_matches_cpu() {
    bidirectional_vs_cpu!(
        BiGRU<4, 6, 2, f32, SeqFirst>,
        GpuGRU<_, _, _, SeqFirst, _>,
        70
    );
}

#[test]
fn birnn_two_layer_seq_first_matches_cpu() {
    bidirectional_vs_cpu!(
        BiRNN<4, 6, 2, f32, SeqFirst>,
        GpuRNN<_, _, _, SeqFirst, _>,
        80
    );
}

#[test]
fn gru_bidirectional_golden() {
    layer_golden!("layer_gru_bidirectional", BiGRU<3, 5>, 2, 10);
}
