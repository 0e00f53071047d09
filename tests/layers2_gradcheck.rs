//! f64 finite-difference gradient checks, over random values and sizes, of GroupNorm,
//! grouped and depthwise convolution, and nearest/bilinear interpolation (both
//! `align_corners`), and Bilinear, with respect to their inputs and every parameter.

use proptest::prelude::*;
use rand::SeedableRng;
use shaped::gradcheck::{
    GradcheckOptions, Traced, gradcheck_params, gradcheck_vjp, gradcheck2_vjp,
};
use shaped::nn::{BilinearDyn, GroupNorm, GroupedConv2d, Module, Upsample};
use shaped::ops::conv::ConvArgs;
use shaped::ops::conv_grouped::Groups;
use shaped::ops::interpolate::{Interpolation, ScaleFactor};
use shaped::prelude::*;
use shaped::strategies::{tensor, tensor_with_shape};

fn opts() -> GradcheckOptions {
    GradcheckOptions::default()
}

fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

type Img = (usize, Const<6>, usize, usize);

/// A `(N, 6, H, W)` input of random run-time sizes.
fn images() -> impl Strategy<Value = Tensor<Img, f64>> {
    (1usize..=2, 1usize..=3, 1usize..=3)
        .prop_flat_map(|(n, h, w)| tensor_with_shape((n, Const, h, w), -2.0f64..2.0))
}

type Dyn4 = (usize, usize, usize, usize);

/// Upsampling inputs `(N, C, H, W)` of random run-time sizes, with a random output size.
fn resample_cases() -> impl Strategy<Value = (Tensor<Dyn4, f64>, (usize, usize))> {
    (
        1usize..=2,
        1usize..=2,
        1usize..=4,
        1usize..=4,
        1usize..=6,
        1usize..=6,
    )
        .prop_flat_map(|(n, c, h, w, oh, ow)| {
            (
                tensor_with_shape((n, c, h, w), -1.0f64..1.0),
                Just((oh, ow)),
            )
        })
}

const MODES: [Interpolation; 3] = [
    Interpolation::Nearest,
    Interpolation::Bilinear {
        align_corners: false,
    },
    Interpolation::Bilinear {
        align_corners: true,
    },
];

proptest! {
    #[test]
    fn groupnorm_input_and_parameters(x in images(), w in tensor::<Rank1<6>, f64>(0.5..1.5), b in tensor::<Rank1<6>, f64>(-1.0..1.0)) {
        for groups in [1usize, 2, 3, 6] {
            let run = |x: Traced<Img>| -> Traced<Img> {
                let mut gn1 = GroupNorm::<1, 6, f64>::new();
                let mut gn2 = GroupNorm::<2, 6, f64>::new();
                let mut gn3 = GroupNorm::<3, 6, f64>::new();
                let mut gn6 = GroupNorm::<6, 6, f64>::new();
                (gn1.weight, gn1.bias) = (w.clone(), b.clone());
                (gn2.weight, gn2.bias) = (w.clone(), b.clone());
                (gn3.weight, gn3.bias) = (w.clone(), b.clone());
                (gn6.weight, gn6.bias) = (w.clone(), b.clone());
                match groups { 1 => gn1.forward(x), 2 => gn2.forward(x), 3 => gn3.forward(x), _ => gn6.forward(x) }
            };
            gradcheck_vjp(&x, run, opts()).unwrap();
        }
        let mut gn = GroupNorm::<3, 6, f64>::new();
        (gn.weight, gn.bias) = (w, b);
        gradcheck_params(&gn, |m| m.forward(x.clone().trace()), opts()).unwrap();
    }

    #[test]
    fn interpolate_to_any_size((x, (oh, ow)) in resample_cases()) {
        for mode in MODES {
            gradcheck_vjp(&x, |x| x.interpolate((oh, ow), mode), opts()).unwrap();
        }
    }

    #[test]
    fn upsample_by_scale_factor(x in tensor::<Rank4<1, 2, 3, 2>, f64>(-1.0..1.0)) {
        for mode in MODES {
            gradcheck_vjp(&x, |x| Upsample::new(ScaleFactor::<2>, mode).forward(x), opts()).unwrap();
            gradcheck_vjp(&x, |x| x.interpolate(ScaleFactor::<3>, mode), opts()).unwrap();
        }
    }
}

// Each case runs a dozen finite-difference sweeps through im2col and gemm (about a second
// per case in a debug build), so these take a small case count.
proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn grouped_conv_input_weight_bias(x in tensor::<Rank4<2, 4, 5, 5>, f64>(-1.0..1.0), w in tensor::<Rank4<6, 2, 3, 3>, f64>(-1.0..1.0), b in tensor::<Rank1<6>, f64>(-1.0..1.0)) {
        // Padded (im2col rows), unpadded unit stride (wide rows), and strided with dilation.
        gradcheck2_vjp(&x, &w, |x, w| x.conv2d_grouped(w, Some(b.clone().traced_as()), ConvArgs::<1, 1, 1>, Groups::<2>), opts()).unwrap();
        gradcheck2_vjp(&x, &w, |x, w| x.conv2d_grouped(w, None, ConvArgs::<1, 0, 1>, Groups::<2>), opts()).unwrap();
        gradcheck2_vjp(&x, &w, |x, w| x.conv2d_grouped(w, None, ConvArgs::<2, 2, 2>, Groups::<2>), opts()).unwrap();
        gradcheck_vjp(&b, |b| x.clone().conv2d_grouped(w.traced_as(), Some(b), ConvArgs::<2, 1, 1>, Groups::<2>), opts()).unwrap();
        // Unbatched.
        let xu = Tensor::<Rank3<4, 5, 5>, f64>::from_vec(x.as_slice()[..100].to_vec()).unwrap();
        gradcheck2_vjp(&xu, &w, |x, w| x.conv2d_grouped(w, None, ConvArgs::<1, 1, 1>, Groups::<2>), opts()).unwrap();
    }

    #[test]
    fn depthwise_and_pointwise_grouped_conv(x in tensor::<Rank4<2, 4, 4, 5>, f64>(-1.0..1.0), wd in tensor::<Rank4<8, 1, 3, 3>, f64>(-1.0..1.0), wp in tensor::<Rank4<4, 1, 1, 1>, f64>(-1.0..1.0), seed in 0u64..1000) {
        gradcheck2_vjp(&x, &wd, |x, w| x.conv2d_grouped(w, None, ConvArgs::<1, 1, 1>, Groups::<4>), opts()).unwrap();
        gradcheck2_vjp(&x, &wd, |x, w| x.conv2d_grouped(w, None, ConvArgs::<1, 2, 2>, Groups::<4>), opts()).unwrap();
        // A 1x1 kernel (no unfolding).
        gradcheck2_vjp(&x, &wp, |x, w| x.conv2d_grouped(w, None, ConvArgs::<1, 0, 1>, Groups::<4>), opts()).unwrap();
        let layer = GroupedConv2d::<4, 8, 3, 4, 1, 1, 1, f64>::new(&mut rng(seed));
        gradcheck_params(&layer, |m| m.forward(x.clone().trace()), opts()).unwrap();
        let layer = GroupedConv2d::<4, 6, 2, 2, 2, 1, 1, f64>::new(&mut rng(seed));
        gradcheck_params(&layer, |m| m.forward(x.clone().trace()), opts()).unwrap();
    }
}

/// Bilinear inputs of random run-time sizes: `x1` `(N, I1)`, `x2` `(N, I2)`, and `O`.
type Pair = (Tensor<(usize, usize), f64>, Tensor<(usize, usize), f64>);
fn bilinear_cases() -> impl Strategy<Value = (Pair, usize)> {
    (1usize..=3, 1usize..=3, 1usize..=3, 1usize..=3).prop_flat_map(|(n, i1, i2, o)| {
        (
            (
                tensor_with_shape((n, i1), -2.0f64..2.0),
                tensor_with_shape((n, i2), -2.0f64..2.0),
            ),
            Just(o),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// Bilinear: both inputs together, then the weight and bias, with and without bias.
    #[test]
    fn bilinear_gradients(((x1, x2), o) in bilinear_cases(), seed in 0u64..1000) {
        let (i1, i2) = (x1.shape().1, x2.shape().1);
        for bias in [true, false] {
            let layer = BilinearDyn::<f64>::new_dyn(i1, i2, o, bias, &mut rng(seed));
            gradcheck2_vjp(&x1, &x2, |a, b| layer.forward((a, b)), opts())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            gradcheck_params(&layer, |m| m.forward((x1.clone().trace(), x2.clone())).square(), opts())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
    }
}
