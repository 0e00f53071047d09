//! The activation layers beyond ReLU, sigmoid, tanh, GELU, SiLU, leaky ReLU and softplus:
//! PReLU against PyTorch (tests/golden_extra/layer_prelu*, made by activations.py there),
//! its parameter gradient by finite differences, and every activation layer's forward,
//! `print(model)` line and place in a model. (The elementwise ops themselves are checked
//! against PyTorch in golden_elementwise.rs and by finite differences in gradcheck_props.rs,
//! one row each in common/unary_ops.rs.) GLU against PyTorch (layer_glu_*, made by
//! glu_pixel_shuffle.py there) and by finite differences over random shapes. RReLU in
//! evaluation against PyTorch (layer_rrelu_eval*, made by layers_more.py there); its
//! training mode, which is random, by its properties and by finite differences.

#[macro_use]
mod common;
use common::Golden;
use proptest::prelude::*;
use rand::SeedableRng;
use shaped::gradcheck::{GradcheckOptions, gradcheck_params, gradcheck_vjp};
use shaped::nn::*;
use shaped::ops::binary::{MulKernel, binary_op};
use shaped::prelude::*;
use shaped::strategies::{away_from, shape, tensor, tensor_with_shape};

/// Checks `y`, then backpropagates `sum(y * gy)` and checks the gradients of `x` and
/// `weight`.
fn check_prelu<S: ConstShape, SW: Shape>(
    g: &Golden,
    weight: &Tensor<SW>,
    x: &Tensor<S>,
    y: Tensor<S, f32, OwnedTape<f32>>,
) {
    g.check_forward("y", y.as_slice());
    let gy = Tensor::<S>::from_vec(g.f("gy")).unwrap();
    let grads = binary_op(y, gy, S::default(), MulKernel).sum().backward();
    g.check_grad("x", grads.get_slice(x).unwrap());
    g.check_grad("weight", grads.get_slice(weight).unwrap());
}

#[test]
fn layer_prelu() {
    let g = Golden::load("layer_prelu");
    assert_eq!(g.hp("num_parameters"), 1.0);
    let mut prelu = PReLU::<f32>::new();
    assert_eq!(prelu.weight.to_vec(), vec![0.25]);
    prelu.weight = Tensor::from_vec(g.f("weight")).unwrap();
    let x = Tensor::<Rank3<3, 4, 5>>::from_vec(g.f("x")).unwrap();
    check_prelu(&g, &prelu.weight, &x, prelu.forward(x.clone().trace()));
    // Untraced, the same values.
    g.check_forward("y", prelu.forward(x).as_slice());
}

#[test]
fn layer_prelu_channels() {
    let g = Golden::load("layer_prelu_channels");
    let mut prelu = ChannelPReLU::<3>::new();
    assert_eq!(prelu.weight.to_vec(), vec![0.25; 3]);
    prelu.weight = Tensor::from_vec(g.f("weight")).unwrap();
    let x = Tensor::<Rank4<2, 3, 4, 5>>::from_vec(g.f("x")).unwrap();
    check_prelu(&g, &prelu.weight, &x, prelu.forward(x.clone().trace()));

    // The same with the channel count and the batch known only at run time.
    let mut dynamic = ChannelPReLUDyn::<f32>::new_dyn(3);
    dynamic.weight = Tensor::from_vec_with_shape(g.f("weight"), (3,)).unwrap();
    let xd =
        Tensor::from_vec_with_shape(g.f("x"), (2usize, 3usize, Const::<4>, Const::<5>)).unwrap();
    let y = dynamic.try_forward(xd.clone().trace()).unwrap();
    g.check_forward("y", y.as_slice());
    let gy =
        Tensor::from_vec_with_shape(g.f("gy"), (2usize, 3usize, Const::<4>, Const::<5>)).unwrap();
    let grads = (y * gy).sum().backward();
    g.check_grad("x", grads.get_slice(&xd).unwrap());
    g.check_grad("weight", grads.get_slice(&dynamic.weight).unwrap());
}

#[test]
fn layer_prelu_channels_2d() {
    let g = Golden::load("layer_prelu_channels_2d");
    let mut prelu = ChannelPReLU::<4>::new();
    prelu.weight = Tensor::from_vec(g.f("weight")).unwrap();
    let x = Tensor::<Rank2<5, 4>>::from_vec(g.f("x")).unwrap();
    check_prelu(&g, &prelu.weight, &x, prelu.forward(x.clone().trace()));
}

/// A run-time channel count that differs from the input's is an error naming both.
#[test]
fn channel_prelu_with_the_wrong_channel_count_is_an_error() {
    let prelu = ChannelPReLUDyn::<f32>::new_dyn(3);
    let err = prelu
        .try_forward(Tensor::<Rank4<2, 5, 4, 4>>::ones())
        .unwrap_err()
        .to_string();
    assert!(err.contains("5 channels") && err.contains("has 3"), "{err}");
    let x = Tensor::from_vec_with_shape(vec![1.0f32; 8], (2usize, 4usize)).unwrap();
    assert!(prelu.try_forward(x).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// The slopes' gradient by finite differences (f64), shared and per channel, off the
    /// kink at 0.
    #[test]
    fn prelu_weight_gradients(
        x in tensor::<Rank4<2, 3, 2, 2>, f64>(away_from(-3.0..3.0, &[0.0], 1e-3)),
        w in tensor::<Rank1<3>, f64>(-0.5..1.0),
    ) {
        let opts = GradcheckOptions::default();
        let mut channels = ChannelPReLU::<3, f64>::new();
        channels.weight = w.clone();
        gradcheck_params(&channels, |m| m.forward(x.clone().trace()).square(), opts)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let shared = PReLU::<f64>::with_init(w.as_slice()[0]);
        gradcheck_params(&shared, |m| m.forward(x.clone().trace()).square(), opts)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
}

/// Each layer applies its op with its hyperparameters (PyTorch's defaults where it has
/// them) and prints as PyTorch's `print(model)` does.
#[test]
fn activation_layers_forward_and_print_as_pytorch() {
    let x =
        || Tensor::<Rank2<2, 4>, f64>::from_array([[-4.0, -0.5, 0.3, 2.0], [7.0, -7.0, 0.0, 1.5]]);
    let same = |a: Tensor<Rank2<2, 4>, f64>, b: Tensor<Rank2<2, 4>, f64>| {
        assert_eq!(a.to_vec(), b.to_vec())
    };
    same(ELU::default().forward(x()), x().elu(1.0));
    same(ELU { alpha: 0.5 }.forward(x()), x().elu(0.5));
    same(CELU { alpha: 2.0 }.forward(x()), x().celu(2.0));
    same(SELU.forward(x()), x().selu());
    same(Hardtanh::default().forward(x()), x().hardtanh(-1.0, 1.0));
    same(ReLU6.forward(x()), x().relu6());
    same(Hardsigmoid.forward(x()), x().hardsigmoid());
    same(Hardswish.forward(x()), x().hardswish());
    same(Mish.forward(x()), x().mish());
    same(Softsign.forward(x()), x().softsign());
    same(LogSigmoid.forward(x()), x().logsigmoid());
    same(Tanhshrink.forward(x()), x().tanhshrink());
    same(Hardshrink::default().forward(x()), x().hardshrink(0.5));
    same(Softshrink { lambd: 1.0 }.forward(x()), x().softshrink(1.0));
    same(
        Threshold {
            threshold: 0.3,
            value: -9.0,
        }
        .forward(x()),
        x().threshold(0.3, -9.0),
    );
    same(Softplus::default().forward(x()), x().softplus(1.0, 20.0));
    assert_eq!(
        x().relu6().to_vec(),
        [0.0, 0.0, 0.3, 2.0, 6.0, 0.0, 0.0, 1.5]
    );

    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Linear::<4, 4>::new(&mut rng),
        (
            ELU::default(),
            CELU::default(),
            SELU,
            Hardtanh::default(),
            ReLU6,
            Hardsigmoid,
        ),
        (
            Hardswish,
            Mish,
            Softsign,
            LogSigmoid,
            Tanhshrink,
            Hardshrink::default(),
        ),
        (
            Softshrink::default(),
            Threshold {
                threshold: 0.1,
                value: 20.0,
            },
            Softplus::default(),
        ),
        PReLU::new(),
        ChannelPReLU::<4>::new(),
    );
    let y = model.forward(Tensor::<Rank2<3, 4>>::ones().trace());
    assert!(y.as_slice().iter().all(|v| v.is_finite()));
    let _ = y.sum().backward();
    let printed = model.summary().to_string();
    for line in [
        "(0): ELU(alpha=1.0)",
        "(1): CELU(alpha=1.0)",
        "(2): SELU()",
        "(3): Hardtanh(min_val=-1.0, max_val=1.0)",
        "(4): ReLU6()",
        "(5): Hardsigmoid()",
        "(0): Hardswish()",
        "(1): Mish()",
        "(2): Softsign()",
        "(3): LogSigmoid()",
        "(4): Tanhshrink()",
        "(5): Hardshrink(0.5)",
        "(0): Softshrink(0.5)",
        "(1): Threshold(threshold=0.1, value=20.0)",
        "(2): Softplus(beta=1.0, threshold=20.0)",
        "(4): PReLU(num_parameters=1)",
        "(5): PReLU(num_parameters=4)",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
    assert_eq!(
        model.state_dict_names()[2..],
        ["4.weight".to_string(), "5.weight".to_string()]
    );
}

#[test]
fn layer_glu_last() {
    let g = check_pool!("layer_glu_last", GLU::<2>, Rank3<3, 4, 10>);
    assert_eq!(g.hp("dim"), -1.0);
}

#[test]
fn layer_glu_dim1() {
    let g = check_pool!("layer_glu_dim1", GLU::<1>, Rank3<2, 6, 5>);
    assert_eq!(g.hp("dim"), 1.0);
}

/// GLU in a model: halved static and run-time axes, its `print(model)` line, and an odd
/// run-time axis as an error naming it (an odd static one does not compile:
/// tests/compile_fail/glu_odd_axis.rs).
#[test]
fn glu_shapes_print_and_odd_axis() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let model = (
        Linear::<3, 8>::new(&mut rng),
        GLU::<1>,
        Linear::<4, 2>::new(&mut rng),
    );
    let y = model.forward(Tensor::<(usize, Const<3>)>::ones_with_shape((5, Const)));
    assert_eq!(y.dims().as_slice(), &[5, 2]);
    assert!(model.summary().to_string().contains("(1): GLU(dim=1)"));
    let x =
        Tensor::<(usize, usize)>::from_vec_with_shape(vec![1.0, 2.0, 0.0, 100.0], (1, 4)).unwrap();
    assert_eq!(x.clone().glu::<1>().to_vec(), vec![0.5, 2.0]);
    let odd = Tensor::<(usize, usize)>::zeros_with_shape((2, 7));
    let err = GLU::<1>.try_forward(odd).unwrap_err().to_string();
    assert!(err.contains("odd size 7"), "{err}");
    // Halving the first axis of a run-time shape.
    let x =
        Tensor::<(usize, usize)>::from_vec_with_shape(vec![1.0, 2.0, 0.0, 0.0], (2, 2)).unwrap();
    assert_eq!(x.glu::<0>().to_vec(), vec![0.5, 1.0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// GLU by finite differences (f64) along each axis of random run-time shapes, the halved
    /// axis of even size.
    #[test]
    fn glu_gradients(
        x in shape::<(usize, usize, usize)>(1..=4).prop_flat_map(|(a, b, c)| {
            tensor_with_shape((a, 2 * b, c), -4.0f64..4.0)
        })
    ) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        gradcheck_vjp(&x, |x| x.glu::<1>(), opts).map_err(fail)?;
        let (a, n, c) = *x.shape(); // n even
        let last = x.clone().reshape_dyn((a, c, n));
        gradcheck_vjp(&last, |x| x.glu::<2>(), opts).map_err(fail)?;
        let first = x.reshape_dyn((n, a, c));
        gradcheck_vjp(&first, |x| x.glu::<0>(), opts).map_err(fail)?;
    }
}

#[test]
fn layer_rrelu_eval() {
    let g = check_pool!("layer_rrelu_eval", RReLU::default(), Rank2<4, 7>);
    assert_eq!((g.hp("lower"), g.hp("upper")), (RReLU::LOWER, RReLU::UPPER));
}

#[test]
fn layer_rrelu_eval_bounds() {
    let g = check_pool!("layer_rrelu_eval_bounds", RReLU::with_seed(0.1, 0.3, 0), Rank3<2, 3, 5>);
    assert_eq!((g.hp("lower"), g.hp("upper")), (0.1, 0.3));
    // The op gives the same values.
    let x = Tensor::<Rank3<2, 3, 5>>::from_vec(g.f("x")).unwrap();
    g.check_forward("y", x.rrelu(0.1, 0.3).as_slice());
}

/// Training mode: every negative element gets its own slope in `[lower, upper]`, positive
/// ones pass unchanged, the gradient is the slope used, the layer's mode switches as
/// Dropout's, seeds repeat, bad bounds are errors, and the `print(model)` line.
#[test]
fn rrelu_training_properties() {
    let n = 4000;
    let xs: Vec<f32> = (0..n)
        .map(|i| if i % 2 == 0 { -1.5 } else { 0.5 + i as f32 })
        .collect();
    let x = Tensor::<(usize,)>::from_vec_with_shape(xs.clone(), (n,))
        .unwrap()
        .trace();
    let mut layer = RReLU::with_seed(0.1, 0.3, 11);
    let y = layer.forward_train(x.clone());
    let grads = (y.clone() * 1.0).sum().backward();
    let gx = grads.get_slice(&x).unwrap();
    let (mut slopes, mut seen) = (Vec::new(), std::collections::BTreeSet::new());
    for ((&xi, &yi), &gi) in xs.iter().zip(y.as_slice()).zip(gx) {
        if xi > 0.0 {
            assert_eq!((yi, gi), (xi, 1.0));
        } else {
            let slope = yi / xi;
            assert!((0.1..=0.3).contains(&gi), "slope {gi}");
            assert!((slope - gi).abs() < 1e-6, "the gradient is the slope used");
            slopes.push(gi);
            seen.insert(gi.to_bits());
        }
    }
    assert!(seen.len() > slopes.len() * 9 / 10, "a slope per element");
    let mean = slopes.iter().sum::<f32>() / slopes.len() as f32;
    assert!((mean - 0.2).abs() < 0.01, "uniform slopes: mean {mean}");
    assert!(slopes.iter().any(|&s| s < 0.11) && slopes.iter().any(|&s| s > 0.29));

    // Zero takes a random slope too, as in PyTorch (its output stays 0).
    let z = Tensor::<Rank1<3>>::zeros().trace();
    let y = RReLU::with_seed(0.1, 0.3, 1).forward_train(z.clone());
    assert_eq!(y.to_vec(), vec![0.0; 3]);
    let g = y.sum().backward();
    assert!(
        g.get_slice(&z)
            .unwrap()
            .iter()
            .all(|s| (0.1..=0.3).contains(s))
    );

    // Evaluation by default; `train()` makes `forward` random, `eval()` fixed again.
    let x = Tensor::<Rank1<64>>::full(-1.0);
    let fixed = layer.forward(x.clone()).to_vec();
    assert!(fixed.iter().all(|&v| (v + 0.2).abs() < 1e-6));
    Params::<f32>::train(&mut layer);
    let random = layer.forward(x.clone()).to_vec();
    assert!(random.iter().any(|&v| (v + 0.2).abs() > 1e-3));
    Params::<f32>::eval(&mut layer);
    assert_eq!(layer.forward(x.clone()).to_vec(), fixed);
    // Same seed, same slopes; a clone continues from the same state.
    let mut a = RReLU::with_seed(0.1, 0.3, 3);
    let mut b = a.clone();
    assert_eq!(
        a.forward_train(x.clone()).to_vec(),
        b.forward_train(x.clone()).to_vec()
    );
    // lower == upper is a fixed slope in training too.
    let same = RReLU::with_seed(0.25, 0.25, 0)
        .forward_train(x.clone())
        .to_vec();
    assert!(same.iter().all(|&v| v == -0.25));
    // NaN passes through; empty inputs are fine.
    let nan = Tensor::<Rank1<2>>::from_array([f32::NAN, -1.0]).rrelu_train(
        0.1,
        0.3,
        &mut rand::rngs::StdRng::seed_from_u64(0),
    );
    assert!(nan.as_slice()[0].is_nan());
    let empty = Tensor::<(usize,)>::zeros_with_shape((0,));
    assert_eq!(
        RReLU::default().forward_train(empty).dims().as_slice(),
        &[0]
    );

    // Bounds: not finite or lower > upper are errors (PyTorch refuses lower > upper).
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    assert!(RReLU::try_new(0.3, 0.1, &mut rng).is_err());
    assert!(RReLU::try_new(f64::NAN, 0.1, &mut rng).is_err());
    assert!(RReLU::try_new(0.1, f64::INFINITY, &mut rng).is_err());
    assert!(x.clone().try_rrelu(0.5, 0.4).is_err());
    assert!(x.try_rrelu_train(0.5, 0.4, &mut rng).is_err());

    let model = (
        Linear::<4, 4>::new(&mut rng),
        RReLU::default(),
        RReLU::with_seed(0.1, 0.5, 0),
    );
    let printed = model.summary().to_string();
    for line in [
        "(1): RReLU(lower=0.125, upper=0.3333333333333333)",
        "(2): RReLU(lower=0.1, upper=0.5)",
    ] {
        assert!(printed.contains(line), "{line} missing from\n{printed}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]
    /// RReLU by finite differences (f64) over random shapes: evaluation, and training with
    /// the same seed for every evaluation of the function (so that the slopes are fixed).
    #[test]
    fn rrelu_gradients(
        x in shape::<(usize, usize)>(1..=5)
            .prop_flat_map(|s| tensor_with_shape(s, away_from(-3.0f64..3.0, &[0.0], 1e-3))),
        seed in 0u64..1000,
    ) {
        let opts = GradcheckOptions::default();
        let fail = |e: shaped::gradcheck::GradcheckError| TestCaseError::fail(e.to_string());
        gradcheck_vjp(&x, |x| x.rrelu(0.125, 1.0 / 3.0), opts).map_err(fail)?;
        gradcheck_vjp(
            &x,
            |x| RReLU::with_seed(0.1, 0.4, seed).forward_train(x),
            opts,
        )
        .map_err(fail)?;
    }
}
