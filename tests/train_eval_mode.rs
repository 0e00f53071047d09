//! Train/eval mode: `model.train()` / `model.eval()` reach every Dropout, BatchNorm and
//! recurrent layer inside a derived user struct (nested structs, `Vec`s, `Option`s, enums),
//! `forward(&self)` obeys the flag, layers start in evaluation mode, `forward_train` trains
//! for one call, and BatchNorm trained through `forward` matches PyTorch's numbers.

mod common;
use common::Golden;
use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::distributed::ThreadGroup;
use shaped::nn::*;
use shaped::ops::binary::{MulKernel, binary_op};
use shaped::prelude::*;
use std::sync::Arc;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

type X<B, T> = Tensor<(B, Const<8>), f32, T>;

/// Linear, BatchNorm, ReLU, Dropout: one body, no training flag.
#[derive(Params, Clone)]
struct Block {
    fc: Linear<8, 8>,
    bn: BatchNorm1d<8>,
    drop: Dropout,
}

impl Block {
    fn new(r: &mut StdRng) -> Self {
        Block {
            fc: Linear::new(r),
            bn: BatchNorm1d::new(),
            drop: Dropout::new(0.5, r),
        }
    }
}

impl<B: Dim, T: Tape<f32>> Module<X<B, T>> for Block {
    type Output = X<B, T>;
    fn try_forward(&self, x: X<B, T>) -> Result<Self::Output> {
        let h = self.bn.try_forward(self.fc.try_forward(x)?)?.relu();
        self.drop.try_forward(h)
    }
}

/// A model with a nested struct, a `Vec` of them, an optional one and a skipped field.
#[derive(Params, Clone)]
struct Net {
    stem: Linear<4, 8>,
    blocks: Vec<Block>,
    extra: Option<Block>,
    head_drop: Dropout,
    head: Linear<8, 2>,
    #[param(skip)]
    _label: String,
}

impl Net {
    fn new(seed: u64, extra: bool) -> Self {
        let mut r = rng(seed);
        Net {
            stem: Linear::new(&mut r),
            blocks: vec![Block::new(&mut r), Block::new(&mut r)],
            extra: extra.then(|| Block::new(&mut r)),
            head_drop: Dropout::new(0.3, &mut r),
            head: Linear::new(&mut r),
            _label: "net".into(),
        }
    }
}

impl<B: Dim, T: Tape<f32>> Module<Tensor<(B, Const<4>), f32, T>> for Net {
    type Output = Tensor<(B, Const<2>), f32, T>;
    fn try_forward(&self, x: Tensor<(B, Const<4>), f32, T>) -> Result<Self::Output> {
        let mut h = self.stem.try_forward(x)?;
        for block in &self.blocks {
            h = block.try_forward(h)?;
        }
        if let Some(block) = &self.extra {
            h = block.try_forward(h)?;
        }
        self.head.try_forward(self.head_drop.try_forward(h)?)
    }
}

fn input() -> Tensor<(usize, Const<4>)> {
    Tensor::randn_with_shape((32, Const), &mut rng(99))
}

/// Every buffer by name, as a `state_dict` sees it.
fn buffers<M: Params<f32>>(m: &M) -> Vec<(String, Vec<f32>)> {
    let mut out = Vec::new();
    m.visit("", &mut |p| {
        if p.kind == TensorKind::Buffer {
            out.push((p.name.to_string(), p.data.to_vec()))
        }
    });
    out
}

/// Every mode-dependent layer of `net` with its flag.
fn flags(net: &Net) -> Vec<bool> {
    let mut out = vec![Params::<f32>::is_training(&net.head_drop)];
    for b in net.blocks.iter().chain(&net.extra) {
        out.push(b.bn.is_training());
        out.push(Params::<f32>::is_training(&b.drop));
    }
    out
}

#[test]
fn layers_start_in_eval_mode() {
    let net = Net::new(0, true);
    assert!(!net.is_training());
    assert!(flags(&net).iter().all(|&f| !f));
    let before = buffers(&net);
    let x = input();
    let (a, b) = (net.forward(x.clone()), net.forward(x));
    assert_eq!(a.to_vec(), b.to_vec(), "evaluation is deterministic");
    assert_eq!(
        buffers(&net),
        before,
        "evaluation leaves running statistics alone"
    );
}

#[test]
fn train_reaches_every_layer_and_forward_trains_through_ref() {
    let mut net = Net::new(1, true);
    net.train();
    assert!(net.is_training());
    assert_eq!(flags(&net), vec![true; 7]);

    let before = buffers(&net);
    assert_eq!(before.len(), 6, "three BatchNorms, two buffers each");
    let x = input();
    let model: &Net = &net; // training through a shared reference
    let (a, b) = (model.forward(x.clone()), model.forward(x.clone()));
    assert_ne!(a.to_vec(), b.to_vec(), "dropout draws a new mask per call");
    let after = buffers(model);
    for ((name, old), (_, new)) in before.iter().zip(&after) {
        assert_ne!(
            old, new,
            "{name} moved (seen through visit before any &mut access)"
        );
    }

    // eval(): the pending statistics reach the fields, forward is deterministic and uses them.
    net.eval();
    assert!(!net.is_training());
    assert_eq!(flags(&net), vec![false; 7]);
    assert_eq!(buffers(&net), after);
    let block = &net.blocks[0];
    let mean = block.bn.running_mean.to_vec();
    assert_eq!(after[0], ("blocks.0.bn.running_mean".into(), mean));
    let (c, d) = (net.forward(x.clone()), net.forward(x));
    assert_eq!(c.to_vec(), d.to_vec());
    assert_eq!(buffers(&net), after);
}

#[test]
fn eval_batchnorm_uses_running_statistics() {
    let mut bn = BatchNorm1d::<3>::new();
    bn.train();
    let x = Tensor::<Rank2<4, 3>>::randn(&mut rng(5));
    for _ in 0..3 {
        let _ = bn.forward(x.clone());
    }
    bn.eval();
    let y = bn.forward(x.clone()).to_vec();
    let (m, v) = (bn.running_mean.to_vec(), bn.running_var.to_vec());
    assert!(m.iter().all(|&m| m != 0.0) && v.iter().all(|&v| v != 1.0));
    for (i, (&xi, &yi)) in x.as_slice().iter().zip(&y).enumerate() {
        let c = i % 3;
        let want = (xi - m[c]) / (v[c] + 1e-5).sqrt();
        assert!((yi - want).abs() < 1e-5, "{yi} vs {want}");
    }
}

#[test]
fn eval_forward_sees_statistics_updated_through_ref_before_any_mut_access() {
    let x = Tensor::<Rank2<4, 3>>::randn(&mut rng(6));
    let mut a = BatchNorm1d::<3>::new();
    a.train();
    let _ = a.forward(x.clone());
    let mut b = BatchNorm1d::<3>::new();
    let _ = b.forward_train(x.clone());
    // `a` is still in training mode; a clone in eval mode reads the pending statistics.
    let mut a_eval = a.clone();
    Params::<f32>::set_training(&mut a_eval, false);
    assert_eq!(a_eval.forward(x.clone()).to_vec(), b.forward(x).to_vec());
    a.sync_running();
    assert_eq!(a.running_mean.to_vec(), b.running_mean.to_vec());
    assert_eq!(a.running_var.to_vec(), b.running_var.to_vec());
}

#[test]
fn default_forward_train_trains_one_call_and_keeps_the_mode() {
    let mut net = Net::new(2, false);
    let mut twin = net.clone();
    let x = input();
    let eval = net.forward(x.clone()).to_vec();
    let before = buffers(&net);
    let y = net.forward_train(x.clone()).to_vec();
    assert_ne!(
        y, eval,
        "forward_train drops and normalises with batch statistics"
    );
    assert_ne!(buffers(&net), before, "running statistics moved");
    assert!(
        !net.is_training(),
        "forward_train does not switch the model"
    );
    // The same as switching to training mode for one forward call.
    twin.train();
    assert_eq!(twin.forward(x).to_vec(), y);
    twin.eval();
    assert_eq!(buffers(&twin), buffers(&net));
}

#[test]
fn traced_training_through_forward_reaches_every_parameter() {
    let mut net = Net::new(3, true);
    net.train();
    let loss = net.forward(input().trace_constant()).square().mean();
    let grads = loss.backward();
    let mut reached = 0;
    net.visit("", &mut |p| {
        if p.kind == TensorKind::Parameter {
            assert!(grads.get_id(p.id).is_some(), "{} has a gradient", p.name);
            reached += 1;
        }
    });
    assert_eq!(reached, 2 + 3 * 4 + 2);
}

#[test]
fn eval_model_serves_many_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Net>();
    send_sync::<Dropout>();
    send_sync::<BatchNorm2d<3>>();
    let mut net = Net::new(4, true);
    net.train();
    let _ = net.forward(input());
    net.eval();
    let net = Arc::new(net);
    let want = net.forward(input()).to_vec();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let net = Arc::clone(&net);
            std::thread::spawn(move || (0..5).map(|_| net.forward(input()).to_vec()).collect())
        })
        .collect();
    for h in handles {
        let got: Vec<Vec<f32>> = h.join().unwrap();
        assert!(got.iter().all(|y| *y == want));
    }
}

#[test]
fn another_threads_forward_train_does_not_touch_an_eval_call() {
    let net = Arc::new(Net::new(5, false));
    let want = net.forward(input()).to_vec();
    let trainer = {
        let mut own = (*net).clone();
        std::thread::spawn(move || {
            for _ in 0..20 {
                let _ = own.forward_train(input());
            }
        })
    };
    for _ in 0..20 {
        assert_eq!(net.forward(input()).to_vec(), want);
    }
    trainer.join().unwrap();
}

#[test]
fn dropout_train_forward_draws_the_masks_of_forward_train() {
    let x = Tensor::<Rank2<16, 16>>::ones();
    let mut a = Dropout::with_seed(0.4, 11);
    let mut b = Dropout::with_seed(0.4, 11);
    Params::<f32>::train(&mut a);
    for _ in 0..3 {
        assert_eq!(
            a.forward(x.clone()).to_vec(),
            b.forward_train(x.clone()).to_vec()
        );
    }
    Params::<f32>::eval(&mut a);
    assert_eq!(a.forward(x.clone()).to_vec(), x.to_vec());
}

#[test]
fn containers_pass_the_mode_on() {
    let mut r = rng(7);
    let mut model = (
        Residual((Linear::<4, 4>::new(&mut r), Dropout::new(0.5, &mut r))),
        Frozen(BatchNorm1d::<4>::new()),
        Box::new(Dropout::new(0.5, &mut r)),
        [Dropout::new(0.5, &mut r), Dropout::new(0.5, &mut r)],
    );
    model.train();
    assert!(Params::<f32>::is_training(&model.0.0.1));
    assert!(model.1.0.is_training());
    assert!(Params::<f32>::is_training(&*model.2));
    assert!(model.3.iter().all(Params::<f32>::is_training));
    model.eval();
    assert!(!model.is_training());
    assert!(!model.1.0.is_training() && !Params::<f32>::is_training(&model.0.0.1));
}

/// An enum model: the active variant is switched; `train()` reaches an LSTM's dropout.
#[derive(Params)]
enum Rnn {
    Lstm(LSTM<3, 4, 2>),
    Gru(GRU<3, 4, 2>),
}

#[test]
fn enum_variant_and_recurrent_dropout_follow_the_mode() {
    let mut r = rng(8);
    let mut model = Rnn::Lstm(LSTM::new(&mut r).with_dropout(0.5, &mut r));
    let x = Tensor::<Rank3<2, 5, 3>>::ones();
    let run = |m: &Rnn| match m {
        Rnn::Lstm(l) => l.forward(x.clone()).0.to_vec(),
        Rnn::Gru(g) => g.forward(x.clone()).0.to_vec(),
    };
    assert_eq!(run(&model), run(&model));
    model.train();
    assert!(model.is_training());
    assert_ne!(run(&model), run(&model), "dropout between the layers");
    model.eval();
    assert_eq!(run(&model), run(&model));
    let mut gru = Rnn::Gru(GRU::new(&mut r).with_dropout(0.5, &mut r));
    gru.train();
    assert!(gru.is_training());
}

#[test]
fn transformer_layers_follow_the_mode() {
    let mut r = rng(9);
    let layer = TransformerEncoderLayer::<8, 2, 16>::new(TransformerConfig::default(), &mut r);
    let mut encoder = TransformerEncoder::new(layer, 2, &mut r);
    let x = Tensor::<Rank3<2, 4, 8>>::randn(&mut r);
    let eval = encoder.forward(x.clone()).to_vec();
    assert_eq!(encoder.forward(x.clone()).to_vec(), eval);
    encoder.train();
    assert!(encoder.is_training());
    assert_ne!(encoder.forward(x.clone()).to_vec(), eval);
    encoder.eval();
    assert_eq!(encoder.forward(x).to_vec(), eval);
}

/// `params!` structs pass the mode on as derived ones do.
struct Pair {
    drop: Dropout,
    norm: BatchNorm1d<2>,
}
shaped::params!(Pair { drop, norm });

#[test]
fn params_macro_structs_pass_the_mode_on() {
    let mut pair = Pair {
        drop: Dropout::with_seed(0.5, 0),
        norm: BatchNorm1d::new(),
    };
    pair.train();
    assert!(Params::<f32>::is_training(&pair.drop) && pair.norm.is_training());
    pair.eval();
    assert!(!pair.is_training());
}

#[test]
fn sync_batchnorm_trains_through_forward() {
    let x = Tensor::<Rank2<4, 2>>::randn(&mut rng(10));
    let outputs = ThreadGroup::run(2, |g| {
        let group = Arc::new(g.clone());
        let mut a = SyncBatchNorm::new(BatchNorm1d::<2>::new(), group.clone());
        let mut b = SyncBatchNorm::new(BatchNorm1d::<2>::new(), group);
        a.train();
        let ya = a.forward(x.clone()).to_vec();
        let yb = b.forward_train(x.clone()).to_vec();
        a.eval();
        (
            ya,
            yb,
            a.norm.running_mean.to_vec(),
            b.norm.running_mean.to_vec(),
        )
    });
    for (ya, yb, ma, mb) in outputs {
        assert_eq!(ya, yb);
        assert_eq!(ma, mb);
        assert!(ma.iter().any(|&m| m != 0.0));
    }
}

/// PyTorch's BatchNorm in training mode (tests/golden/layer_batchnorm*_train), run as
/// `bn.train(); bn.forward(x)`: the output, the gradients and the running statistics.
fn golden_train_through_forward<S: ConstShape, const C: usize, const K: usize>(case: &str)
where
    BatchNormLayer<Const<C>, K>:
        Module<Tensor<S, f32, OwnedTape<f32>>, Output = Tensor<S, f32, OwnedTape<f32>>>,
{
    let g = Golden::load(case);
    let channels = |name| Tensor::<Rank1<C>>::from_vec(g.f(name)).unwrap();
    let mut bn = BatchNormLayer::<Const<C>, K>::new();
    bn.weight = channels("weight");
    bn.bias = channels("bias");
    bn.running_mean = channels("running_mean");
    bn.running_var = channels("running_var");
    bn.train();
    let x = Tensor::<S>::from_vec(g.f("x")).unwrap();
    let y = bn.forward(x.clone().trace());
    g.check_forward("y", y.as_slice());
    let state = buffers(&bn);
    g.check_forward("running_mean.after", &state[0].1);
    g.check_forward("running_var.after", &state[1].1);
    let gy = Tensor::<S>::from_vec(g.f("gy")).unwrap();
    let grads = binary_op(y, gy, S::default(), MulKernel).sum().backward();
    g.check_grad("x", grads.get_slice(&x).unwrap());
    g.check_grad("weight", grads.get_slice(&bn.weight).unwrap());
    g.check_grad("bias", grads.get_slice(&bn.bias).unwrap());
    bn.eval();
    g.check_forward("running_mean.after", bn.running_mean.as_slice());
    g.check_forward("running_var.after", bn.running_var.as_slice());
}

#[test]
fn golden_batchnorm1d_train_through_forward() {
    golden_train_through_forward::<Rank2<8, 4>, 4, 1>("layer_batchnorm1d_train");
}

#[test]
fn golden_batchnorm2d_train_through_forward() {
    golden_train_through_forward::<Rank4<4, 3, 5, 5>, 3, 2>("layer_batchnorm2d_train");
}

/// A PyTorch-style loop through the `Trainer`: `model.train()` once, `forward` in both
/// closures; validation still runs in evaluation mode, training in training mode.
#[test]
fn trainer_validates_in_eval_mode_after_train() {
    use shaped::optim::Sgd;
    use shaped::train::{Step, Trainer};
    let mut model = Net::new(12, false);
    model.train();
    let x = input();
    let y = Indices::<(usize,)>::from_vec_with_shape(vec![1; 32], (32,)).unwrap();
    let mut opt = Sgd::new(0.01);
    let data = vec![(x, y)];
    let history = Trainer::new(&mut model, &mut opt)
        .epochs(2)
        .quiet(true)
        .validate(data.clone(), |m, (x, y)| {
            let (a, b) = (m.forward(x.clone()), m.forward(x));
            assert_eq!(a.to_vec(), b.to_vec(), "validation is deterministic");
            Step::cross_entropy(a, &y)
        })
        .fit(data, |m, (x, y)| {
            let (a, b) = (m.forward(x.clone()), m.forward(x.clone()));
            assert_ne!(a.to_vec(), b.to_vec(), "training drops");
            Step::cross_entropy(m.forward(x.trace_constant()), &y)
        })
        .unwrap();
    assert_eq!(history.len(), 2);
    assert!(
        model.is_training(),
        "the model's own mode is left as it was"
    );
}
