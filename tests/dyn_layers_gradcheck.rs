//! f64 finite-difference gradient checks of the run-time-sized layers (`Conv2dDyn`,
//! `ConvTranspose2dDyn`, `Conv1dDyn`, `MultiheadAttentionDyn`, `GroupNormDyn`,
//! `TransformerEncoderLayerDyn`) over random configurations, sizes and values: the input and
//! every parameter.

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::gradcheck::{GradcheckOptions, gradcheck_params, gradcheck_vjp};
use shaped::nn::{
    AttentionOptions, Conv1dConfig, Conv1dDyn, Conv2dConfig, Conv2dDyn, ConvTranspose2dDyn,
    GroupNormDyn, Module, MultiheadAttentionDyn, TransformerActivation, TransformerConfig,
    TransformerEncoderLayerDyn,
};
use shaped::prelude::*;
use shaped::strategies::tensor_with_shape;

type D3 = (usize, usize, usize);
type D4 = (usize, usize, usize, usize);

fn rng() -> StdRng {
    StdRng::seed_from_u64(0)
}

/// A random 2-D convolution configuration (per-axis kernel, stride, padding, dilation;
/// groups) with an input `(N, C, H, W)` it fits.
fn conv2d_cases(transposed: bool) -> impl Strategy<Value = (Conv2dConfig, Tensor<D4, f64>, u64)> {
    let axis = (1usize..=3, 1usize..=2, 0usize..=1, 1usize..=2, 0usize..=2);
    (
        1usize..=2,
        1usize..=2,
        1usize..=2,
        1usize..=2,
        axis.clone(),
        axis,
        0u64..1000,
    )
        .prop_flat_map(
            move |(n, g, ci, co, (kh, sh, ph, dh, eh), (kw, sw, pw, dw, ew), seed)| {
                let g = if transposed { 1 } else { g };
                let mut c = Conv2dConfig::new(g * ci, g * co, 1).groups(g);
                c.kernel_size = [kh, kw];
                c.stride = [sh, sw];
                c.padding = [ph, pw];
                c.dilation = [dh, dw];
                if transposed {
                    // Smaller than the stride or the dilation, as PyTorch requires.
                    c.output_padding = [(sh.max(dh) - 1).min(eh), (sw.max(dw) - 1).min(ew)];
                }
                // The smallest input the (dilated) kernel fits, plus 0 to 2.
                let size = |k: usize, p: usize, d: usize, extra: usize| {
                    if transposed {
                        1 + extra
                    } else {
                        (d * (k - 1) + 1).saturating_sub(2 * p).max(1) + extra
                    }
                };
                let (h, w) = (size(kh, ph, dh, eh), size(kw, pw, dw, ew));
                (
                    Just(c),
                    tensor_with_shape((n, g * ci, h, w), -1.0f64..1.0),
                    Just(seed),
                )
            },
        )
        .prop_filter("a positive output size", move |(c, x, _)| {
            let d = x.dims();
            let layer = ConvTranspose2dDyn::<f64>::try_new(*c, &mut rng()).ok();
            !transposed
                || layer.is_some_and(|l| {
                    l.try_forward(Tensor::<D4, f64>::zeros_with_shape((
                        d[0], d[1], d[2], d[3],
                    )))
                    .is_ok()
                })
        })
}

// Each case runs finite differences over every weight through im2col and gemm, so these take
// a small case count.
proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn conv2d_dyn_gradients((config, x, seed) in conv2d_cases(false)) {
        let layer = Conv2dDyn::<f64>::new(config, &mut StdRng::seed_from_u64(seed));
        gradcheck_vjp(&x, |x| layer.forward(x), GradcheckOptions::default()).unwrap();
        gradcheck_params(&layer, |m| m.forward(x.clone().trace()), GradcheckOptions::default()).unwrap();
        // Unbatched, the first sample.
        let d = x.dims();
        let x0 = Tensor::<D3, f64>::from_vec_with_shape(x.as_slice()[..d[1] * d[2] * d[3]].to_vec(), (d[1], d[2], d[3])).unwrap();
        gradcheck_vjp(&x0, |x| layer.forward(x), GradcheckOptions::default()).unwrap();
    }

    #[test]
    fn conv_transpose2d_dyn_gradients((config, x, seed) in conv2d_cases(true)) {
        let layer = ConvTranspose2dDyn::<f64>::new(config, &mut StdRng::seed_from_u64(seed));
        gradcheck_vjp(&x, |x| layer.forward(x), GradcheckOptions::default()).unwrap();
        gradcheck_params(&layer, |m| m.forward(x.clone().trace()), GradcheckOptions::default()).unwrap();
    }

    #[test]
    fn conv1d_dyn_gradients((n, g, ci, co, k, s, p, d, extra, seed) in (1usize..=2, 1usize..=2, 1usize..=2, 1usize..=2, 1usize..=3, 1usize..=2, 0usize..=1, 1usize..=2, 0usize..=2, 0u64..1000)) {
        let c = Conv1dConfig::new(g * ci, g * co, k).stride(s).padding(p).dilation(d).groups(g);
        let len = (d * (k - 1) + 1).saturating_sub(2 * p).max(1) + extra;
        let layer = Conv1dDyn::<f64>::new(c, &mut StdRng::seed_from_u64(seed));
        let x: Tensor<D3, f64> = Tensor::randn_with_shape((n, g * ci, len), &mut StdRng::seed_from_u64(seed + 1));
        gradcheck_vjp(&x, |x| layer.forward(x), GradcheckOptions::default()).unwrap();
        gradcheck_params(&layer, |m| m.forward(x.clone().trace()), GradcheckOptions::default()).unwrap();
    }

    #[test]
    fn multihead_attention_dyn_gradients((b, l, s, heads, head_dim, seed) in (1usize..=2, 1usize..=3, 1usize..=3, 1usize..=3, 1usize..=2, 0u64..1000)) {
        let embed = heads * head_dim;
        let mha = MultiheadAttentionDyn::<f64>::new(embed, heads, &mut StdRng::seed_from_u64(seed));
        let mut r = StdRng::seed_from_u64(seed + 1);
        let q: Tensor<D3, f64> = Tensor::randn_with_shape((b, l, embed), &mut r);
        let kv: Tensor<D3, f64> = Tensor::randn_with_shape((b, s, embed), &mut r);
        gradcheck_vjp(&q, |x| mha.forward(x).0, GradcheckOptions::default()).unwrap();
        gradcheck_vjp(&kv, |kv| mha.forward_with(q.clone().traced_as(), kv.clone(), kv, AttentionOptions::default()).0, GradcheckOptions::default()).unwrap();
        gradcheck_params(&mha, |m| m.forward(q.clone().trace()).0, GradcheckOptions::default()).unwrap();
    }

    #[test]
    fn groupnorm_dyn_gradients((n, groups, per, h, seed) in (1usize..=2, 1usize..=3, 1usize..=2, 2usize..=3, 0u64..1000)) {
        let mut gn = GroupNormDyn::<f64>::new(groups, groups * per);
        let mut r = StdRng::seed_from_u64(seed);
        gn.weight = Tensor::randn_with_shape((groups * per,), &mut r);
        gn.bias = Tensor::randn_with_shape((groups * per,), &mut r);
        let x: Tensor<D3, f64> = Tensor::randn_with_shape((n, groups * per, h), &mut r);
        gradcheck_vjp(&x, |x| gn.forward(x), GradcheckOptions::default()).unwrap();
        gradcheck_params(&gn, |m| m.forward(x.clone().trace()), GradcheckOptions::default()).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn transformer_encoder_layer_dyn_gradients((b, l, heads, head_dim, ff, norm_first, seed) in (1usize..=2, 1usize..=3, 1usize..=2, 1usize..=2, 1usize..=3, any::<bool>(), 0u64..1000)) {
        let d = heads * head_dim;
        let config = TransformerConfig::default().dropout(0.0).norm_first(norm_first).activation(TransformerActivation::Gelu);
        let layer = TransformerEncoderLayerDyn::<f64>::new(d, heads, ff, config, &mut StdRng::seed_from_u64(seed));
        let x: Tensor<D3, f64> = Tensor::randn_with_shape((b, l, d), &mut StdRng::seed_from_u64(seed + 1));
        gradcheck_vjp(&x, |x| layer.forward(x), GradcheckOptions::default()).unwrap();
        gradcheck_params(&layer, |m| m.forward(x.clone().trace()), GradcheckOptions::default()).unwrap();
    }
}
