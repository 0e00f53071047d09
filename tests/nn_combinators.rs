//! Sequential tuples, Residual, Frozen, user structs and the parameter visitor.

use rand::SeedableRng;
use shaped::nn::{Frozen, Linear, Module, Params, ReLU, Residual, Tanh};
use shaped::optim::{Optimizer, Sgd};
use shaped::prelude::*;

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(7)
}

#[test]
fn residual_adds_input_and_backpropagates_through_both_paths() {
    let block = Residual(Linear::<3, 3, f64>::new(&mut rng()));
    let x = Tensor::<Rank2<2, 3>, f64>::from_array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]]);
    let y = block.forward(x.clone().trace());
    let plain = block.0.forward(x.clone());
    let want: Vec<f64> = plain
        .to_vec()
        .iter()
        .zip(x.to_vec())
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(y.to_vec(), want);
    let g = y.sum().backward();
    // d/dx sum(x + x W^T + b) = 1 + column sums of W.
    let w = block.0.weight.to_vec();
    let gx = g.get(&x).unwrap().to_vec();
    for j in 0..3 {
        let colsum: f64 = (0..3).map(|o| w[o * 3 + j]).sum();
        assert!((gx[j] - (1.0 + colsum)).abs() < 1e-12);
    }
}

#[test]
fn frozen_parameters_are_skipped_by_optimizers_but_still_named() {
    let mut model = (
        Frozen(Linear::<4, 4>::new(&mut rng())),
        ReLU,
        Linear::<4, 2>::new(&mut rng()),
    );
    assert_eq!(
        model.param_names(),
        ["0.weight", "0.bias", "2.weight", "2.bias"]
    );
    let frozen_before = model.0.0.weight.to_vec();
    let head_before = model.2.weight.to_vec();
    let loss = model
        .forward_train(Tensor::<Rank2<3, 4>>::ones().trace())
        .square()
        .mean();
    let grads = loss.backward();
    Sgd::new(0.5).step(&mut model, &grads);
    assert_eq!(model.0.0.weight.to_vec(), frozen_before);
    assert_ne!(model.2.weight.to_vec(), head_before);
}

#[test]
fn long_sequential_tuples_and_nesting() {
    let mut r = rng();
    let model = (
        Linear::<2, 3>::new(&mut r),
        Tanh,
        (Linear::<3, 3>::new(&mut r), ReLU),
        Linear::<3, 3>::new(&mut r),
        Tanh,
        Linear::<3, 3>::new(&mut r),
        ReLU,
        Linear::<3, 1>::new(&mut r),
    );
    let names = model.param_names();
    assert_eq!(names[2], "2.0.weight");
    assert_eq!(names.last().unwrap(), "7.bias");
    let y = model.forward(Tensor::<(usize, Const<2>)>::zeros_with_shape((5, Const)));
    assert_eq!(y.dims().as_slice(), &[5, 1]);
}

#[test]
fn models_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<(
        Linear<4, 4>,
        ReLU,
        shaped::nn::LSTM<4, 4>,
        shaped::nn::MultiheadAttention<4, 2>,
    )>();
}

#[test]
fn same_seed_same_model_and_pytorch_init_bounds() {
    type Model = (
        Linear<16, 8>,
        shaped::nn::LSTM<8, 4>,
        shaped::nn::MultiheadAttention<8, 2>,
    );
    let make = |seed| -> Model {
        let mut r = rand::rngs::StdRng::seed_from_u64(seed);
        (
            Linear::new(&mut r),
            shaped::nn::LSTM::new(&mut r),
            shaped::nn::MultiheadAttention::new(&mut r),
        )
    };
    let values = |m: &Model| {
        let mut v = Vec::new();
        m.visit("", &mut |p| v.push((p.name.to_string(), p.data.to_vec())));
        v
    };
    assert_eq!(values(&make(3)), values(&make(3)));
    assert_ne!(values(&make(3)), values(&make(4)));
    // init_rules.json: Linear U(+-1/sqrt(in)), LSTM U(+-1/sqrt(hidden)), MHA in_proj xavier.
    let m = make(3);
    let bound = |name: &str| -> f32 {
        match name {
            n if n.starts_with("0.") => 1.0 / 16f32.sqrt(),
            n if n.starts_with("1.") => 1.0 / 4f32.sqrt(),
            "2.in_proj_weight" => (6.0f32 / 32.0).sqrt(),
            "2.in_proj_bias" | "2.out_proj.bias" => 0.0,
            _ => 1.0 / 8f32.sqrt(),
        }
    };
    m.visit("", &mut |p| {
        let b = bound(p.name);
        assert!(
            p.data.iter().all(|v| v.abs() <= b),
            "{} exceeds {b}",
            p.name
        );
    });
}

/// `Identity` passes any input through (as the shortcut of a residual block, or in place of
/// a removed layer), has no parameters, and prints as PyTorch's.
#[test]
fn identity_is_a_no_op_layer() {
    use shaped::nn::{Identity, Linear, Module, Params, Residual};
    use shaped::rand::SeedableRng;
    let mut rng = shaped::rand::rngs::StdRng::seed_from_u64(0);
    let model = (Linear::<3, 3>::new(&mut rng), Identity, Residual(Identity));
    let x = Tensor::<Rank2<2, 3>>::randn(&mut rng);
    let y = model.forward(x.clone().trace());
    let linear = model.0.forward(x);
    let doubled: Vec<f32> = linear.as_slice().iter().map(|v| v + v).collect();
    assert_eq!(y.as_slice(), &doubled[..]);
    assert_eq!(Params::<f32>::param_names(&Identity).len(), 0);
    assert!(model.summary().to_string().contains("(1): Identity()"));
    let dims = Identity.forward(Tensor::<(usize, Const<4>)>::zeros_with_shape((5, Const)));
    assert_eq!(dims.dims().as_slice(), &[5, 4]);
}

/// `register_forward_hook`: the hook sees each output, the model's output, names and summary
/// are those of the unhooked model.
#[test]
fn forward_hook_reads_outputs_without_changing_the_model() {
    use shaped::nn::HookExt;
    use std::cell::RefCell;
    let seen = RefCell::new(Vec::new());
    let plain = (
        Linear::<4, 8>::new(&mut rng()),
        ReLU,
        Linear::<8, 2>::new(&mut rng()),
    );
    let hooked = (
        plain.0.clone(),
        ReLU.with_forward_hook(|_, y: &Tensor<Rank2<3, 8>>| {
            seen.borrow_mut().push(y.to_vec());
            None
        }),
        plain.2.clone(),
    );
    let x = Tensor::<Rank2<3, 4>>::from_vec((0..12).map(|i| (i as f32 * 0.37).sin()).collect())
        .unwrap();
    assert_eq!(
        hooked.forward(x.clone()).to_vec(),
        plain.forward(x.clone()).to_vec()
    );
    let hidden = ReLU.forward(plain.0.forward(x.clone())).to_vec();
    assert_eq!(*seen.borrow(), vec![hidden.clone()]);
    // The training pass runs the hook too.
    let mut hooked = hooked;
    hooked.forward_train(x.clone());
    assert_eq!(seen.borrow().len(), 2);
    assert_eq!(hooked.param_names(), plain.param_names());
    assert_eq!(hooked.summary().to_string(), plain.summary().to_string());
}

/// A replaced output is what the next layer gets, and gradients flow through the replacement.
#[test]
fn forward_hook_replacement_reaches_the_next_layer_and_the_gradients() {
    use shaped::nn::{ForwardHook, HookExt};
    let first = Linear::<3, 3, f64>::new(&mut rng());
    let hooked = (
        first
            .clone()
            .with_forward_hook(|_, y: &Tensor<Rank2<2, 3>, f64, _>| {
                Some(y.clone().mul_scalar(3.0))
            }),
        Tanh,
    );
    let x = Tensor::<Rank2<2, 3>, f64>::from_array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]]);
    let y = hooked.forward(x.clone().trace());
    let want = Tanh.forward(first.forward(x.clone()).mul_scalar(3.0));
    assert_eq!(y.to_vec(), want.to_vec());
    let g = y.sum().backward();
    let want_g = Tanh
        .forward(first.forward(x.clone().trace()).mul_scalar(3.0))
        .sum()
        .backward();
    assert_eq!(
        g.get(&x).unwrap().to_vec(),
        want_g.get(&x).unwrap().to_vec()
    );
    assert_eq!(
        g.get(&hooked.0.layer.weight).unwrap().to_vec(),
        want_g.get(&first.weight).unwrap().to_vec()
    );
    // The hook passes the layer's shape checks on.
    type Hook =
        fn(&Linear<3, 3, f64>, &Tensor<Rank2<2, 3>, f64>) -> Option<Tensor<Rank2<2, 3>, f64>>;
    assert!(
        <ForwardHook<Linear<3, 3, f64>, Hook> as Module<Tensor<Rank2<2, 3>, f64>>>::SHAPE_MISMATCH
            .is_none()
    );
}

/// `register_forward_pre_hook`: the layer runs on what the hook returns; run-time size
/// errors of the layer come through; train/eval reach the wrapped layer.
#[test]
fn forward_pre_hook_replaces_the_input_and_passes_errors_and_modes_on() {
    use shaped::nn::{Dropout, HookExt};
    use std::cell::Cell;
    let calls = Cell::new(0);
    let layer = Linear::<4, 2>::new(&mut rng());
    let hooked = layer
        .clone()
        .with_forward_pre_hook(|_, x: Tensor<(usize, usize)>| {
            calls.set(calls.get() + 1);
            x.mul_scalar(-1.0)
        });
    let x =
        Tensor::<(usize, usize)>::from_vec_with_shape(vec![1.0, 2.0, 3.0, 4.0], (1, 4)).unwrap();
    let y = hooked.forward(x.clone());
    assert_eq!(y.to_vec(), layer.forward(x.mul_scalar(-1.0)).to_vec());
    let wrong = Tensor::<(usize, usize)>::ones_with_shape((1, 5));
    let err = hooked.try_forward(wrong).unwrap_err().to_string();
    assert!(err.contains('5') && err.contains('4'), "{err}");
    assert_eq!(calls.get(), 2);

    let mut dropped = Dropout::with_seed(0.5, 3).with_forward_pre_hook(|_, x: Tensor<Rank1<64>>| x);
    assert!(!Params::<f32>::is_training(&dropped));
    Params::<f32>::train(&mut dropped);
    assert!(Params::<f32>::is_training(&dropped) && Params::<f32>::is_training(&dropped.layer));
    let out = dropped.forward(Tensor::<Rank1<64>>::ones()).to_vec();
    assert!(
        out.contains(&0.0),
        "training mode reaches the wrapped Dropout"
    );
}
