//! `#[derive(Module)]`: a struct whose layer fields run in order behaves as the tuple of the
//! same layers (outputs, training passes, shape checks), names a failing layer by its field,
//! and skips `#[param(skip)]` fields.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::nn::{BatchNorm1d, Dropout, Linear, Module, Params, ReLU, TensorKind};
use shaped::prelude::*;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

#[derive(Params, Module, Clone)]
struct Mlp {
    fc1: Linear<4, 8>,
    bn: BatchNorm1d<8>,
    act: ReLU,
    drop: Dropout,
    fc2: Linear<8, 2>,
    #[param(skip)]
    _steps: usize,
}

fn mlp(seed: u64) -> Mlp {
    let mut r = rng(seed);
    Mlp {
        fc1: Linear::new(&mut r),
        bn: BatchNorm1d::new(),
        act: ReLU,
        drop: Dropout::new(0.5, &mut r),
        fc2: Linear::new(&mut r),
        _steps: 0,
    }
}

type Tuple = (Linear<4, 8>, BatchNorm1d<8>, ReLU, Dropout, Linear<8, 2>);

fn as_tuple(m: &Mlp) -> Tuple {
    (
        m.fc1.clone(),
        m.bn.clone(),
        ReLU,
        m.drop.clone(),
        m.fc2.clone(),
    )
}

#[test]
fn runs_the_fields_in_order_like_the_tuple() {
    let mut model = mlp(0);
    let mut tuple = as_tuple(&model);
    let x = Tensor::<Rank2<16, 4>>::randn(&mut rng(1));
    let () = <Mlp as Module<Tensor<Rank2<16, 4>>>>::SHAPE_CHECK;
    let y: Tensor<Rank2<16, 2>> = model.forward(x.clone());
    assert_eq!(y.to_vec(), tuple.forward(x.clone()).to_vec());
    // Training pass: dropout masks and batch statistics as the tuple's.
    let (a, b) = (
        model.forward_train(x.clone()),
        tuple.forward_train(x.clone()),
    );
    assert_eq!(a.to_vec(), b.to_vec());
    assert_eq!(
        model.bn.running_mean.to_vec(),
        tuple.1.running_mean.to_vec()
    );
    // train(): forward through &self trains too.
    model.train();
    Params::<f32>::train(&mut tuple);
    assert_eq!(model.forward(x.clone()).to_vec(), tuple.forward(x).to_vec());
}

#[test]
fn gradients_reach_every_layer() {
    let model = mlp(2);
    let x = Tensor::<(usize, Const<4>)>::randn_with_shape((5, Const), &mut rng(3));
    let grads = model.forward(x.trace_constant()).square().sum().backward();
    model.visit("", &mut |p| {
        if p.kind == TensorKind::Parameter {
            assert!(grads.get_id(p.id).is_some(), "{}", p.name);
        }
    });
}

#[test]
fn run_time_errors_name_the_field() {
    let model = mlp(4);
    let x = Tensor::<(usize, usize)>::ones_with_shape((3, 5));
    let err = model.try_forward(x).unwrap_err().to_string();
    assert!(err.contains("layer `fc1` (LinearLayer<4, 8>)"), "{err}");
}

/// Tuple structs and generic structs.
#[derive(Params, Module)]
struct Pair<L>(L, ReLU);

#[derive(Params, Module)]
struct Stack<A, B> {
    first: A,
    second: B,
}

#[test]
fn tuple_and_generic_structs() {
    let mut r = rng(5);
    let pair = Pair(Linear::<3, 3>::new(&mut r), ReLU);
    let x = Tensor::<Rank2<2, 3>>::full(-1.0);
    let y = pair.forward(x.clone());
    assert!(y.to_vec().iter().all(|&v| v >= 0.0));
    let stack = Stack {
        first: pair,
        second: Linear::<3, 1>::new(&mut r),
    };
    assert_eq!(stack.forward(x).dims().as_slice(), &[2, 1]);
    assert_eq!(stack.param_names()[0], "first.0.weight");
    let err = stack
        .try_forward(Tensor::<(usize, usize)>::ones_with_shape((2, 4)))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("layer `first`") || err.contains("layer `first`"),
        "{err}"
    );
}
