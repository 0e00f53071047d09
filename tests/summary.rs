//! `Params::summary`: the printed layer tree of a tuple model, a derived nested struct and
//! containers, with PyTorch's `repr` of each layer, tensor shapes, counts and totals.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::nn::{
    BatchNorm2d, Conv2d, Conv2dConfig, Conv2dDyn, Dropout, Embedding, Flatten, Frozen, LSTM,
    LayerNorm, Linear, LinearDyn, MaxPool2d, ModelSummary, MultiheadAttention, Params, ReLU,
    Residual,
};
use shaped::prelude::*;

fn rng() -> StdRng {
    StdRng::seed_from_u64(0)
}

/// The printed summary, compared line by line so a failure shows the first difference.
fn check_text(summary: &ModelSummary, expected: &str) {
    let printed = summary.to_string();
    for (i, (got, want)) in printed.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "line {i} of\n{printed}");
    }
    assert_eq!(
        printed.lines().count(),
        expected.lines().count(),
        "\n{printed}"
    );
}

#[test]
fn tuple_model() {
    let mut r = rng();
    let model = (
        Conv2d::<1, 8, 3, 1, 1>::new(&mut r),
        BatchNorm2d::<8>::new(),
        ReLU,
        MaxPool2d::<2>,
        Flatten,
        Linear::<392, 10>::new(&mut r),
        Dropout::new(0.25, &mut r),
    );
    let s = model.summary();
    check_text(
        &s,
        "\
Sequential(
  (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))                 # 80 params: weight [8, 1, 3, 3], bias [8]
  (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)  # 16 params: weight [8], bias [8]; buffers (16 values): running_mean [8], running_var [8]
  (2): ReLU()
  (3): MaxPool2d(kernel_size=2, stride=2, padding=0)
  (4): Flatten(start_dim=1, end_dim=-1)
  (5): Linear(in_features=392, out_features=10, bias=True)                             # 3930 params: weight [10, 392], bias [10]
  (6): Dropout(p=0.25)
)
Trainable params: 4026
Buffer values: 16",
    );
    assert_eq!(s.trainable, model.num_params());
    assert_eq!(s.buffers, 16);
}

#[derive(Params)]
struct Block {
    norm: LayerNorm<8>,
    attn: MultiheadAttention<8, 2>,
    ff: (Linear<8, 16>, ReLU, Linear<16, 8>),
}

#[derive(Params)]
struct Net {
    embed: Embedding<20, 8>,
    layers: Vec<Block>,
    rnn: LSTM<8, 4>,
    head: Option<LinearDyn>,
    #[param(buffer)]
    scale: Tensor<Rank1<4>>,
    #[param(skip)]
    _name: &'static str,
}

#[test]
fn derived_nested_struct() {
    let mut r = rng();
    let block = |r: &mut StdRng| Block {
        norm: LayerNorm::new(),
        attn: MultiheadAttention::new(r),
        ff: (Linear::new(r), ReLU, Linear::new(r)),
    };
    let net = Net {
        embed: Embedding::new(&mut r),
        layers: vec![block(&mut r), block(&mut r)],
        rnn: LSTM::new(&mut r),
        head: Some(LinearDyn::new_dyn(4, 3, false, &mut r)),
        scale: Tensor::ones(),
        _name: "net",
    };
    let s = net.summary();
    let block_text = |i: usize| {
        format!(
            "    ({i}): Block(
      (norm): LayerNorm((8,), eps=1e-05, elementwise_affine=True)  # 16 params: weight [8], bias [8]
      (attn): MultiheadAttention(embed_dim=8, num_heads=2)         # 288 params: in_proj_weight [24, 8], in_proj_bias [24], out_proj.weight [8, 8], out_proj.bias [8]
      (ff): Sequential(
        (0): Linear(in_features=8, out_features=16, bias=True)     # 144 params: weight [16, 8], bias [16]
        (1): ReLU()
        (2): Linear(in_features=16, out_features=8, bias=True)     # 136 params: weight [8, 16], bias [8]
      )
    )
"
        )
    };
    let expected = format!(
        "\
Net(
  (embed): Embedding(20, 8)                                        # 160 params: weight [20, 8]
  (layers): ModuleList(
{}{}  )
  (rnn): LSTM(8, 4, batch_first=True)                              # 224 params: weight_ih_l0 [16, 8], weight_hh_l0 [16, 4], bias_ih_l0 [16], bias_hh_l0 [16]
  (head): Linear(in_features=4, out_features=3, bias=False)        # 12 params: weight [3, 4]
  (scale): Tensor(shape=[4])                                       # buffers (4 values): [4]
)
Trainable params: 1564
Buffer values: 4",
        block_text(0),
        block_text(1)
    );
    check_text(&s, &expected);
    assert_eq!(s.trainable, net.num_params());
}

#[test]
fn wrappers_and_run_time_layers() {
    let mut r = rng();
    let model = (
        Frozen(Linear::<4, 4>::new(&mut r)),
        Residual((Linear::<4, 4>::new(&mut r), ReLU)),
        Conv2dDyn::new(
            Conv2dConfig::new(4, 8, 3).stride(2).groups(2).bias(false),
            &mut r,
        ),
    );
    let s = model.summary();
    check_text(
        &s,
        "\
Sequential(
  (0): Frozen Linear(in_features=4, out_features=4, bias=True)                # buffers (20 values): weight [4, 4], bias [4]
  (1): Residual(
    (0): Sequential(
      (0): Linear(in_features=4, out_features=4, bias=True)                   # 20 params: weight [4, 4], bias [4]
      (1): ReLU()
    )
  )
  (2): Conv2d(4, 8, kernel_size=(3, 3), stride=(2, 2), groups=2, bias=False)  # 144 params: weight [8, 2, 3, 3]
)
Trainable params: 164
Buffer values: 20",
    );
}

#[test]
fn single_layer_and_empty_model() {
    let layer = Linear::<2, 3>::new(&mut rng());
    check_text(
        &layer.summary(),
        "\
Linear(in_features=2, out_features=3, bias=True)  # 9 params: weight [3, 2], bias [3]
Trainable params: 9
Buffer values: 0",
    );
    let empty: Vec<Linear<2, 2>> = Vec::new();
    check_text(
        &Params::<f32>::summary(&empty),
        "\
ModuleList()
Trainable params: 0
Buffer values: 0",
    );
}

/// A hand-written `Params` impl without `describe` is one leaf named after its type that
/// lists every tensor under it.
struct Custom {
    a: Linear<2, 2>,
    b: Linear<2, 1>,
}
shaped::params!(Custom { a, b });

struct Opaque {
    inner: Custom,
}
impl Params<f32> for Opaque {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(shaped::nn::ParamView<'_, f32>)) {
        self.inner.visit(&format!("{prefix}inner."), f)
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(shaped::nn::ParamMut<'_, f32>)) {
        self.inner.visit_mut(&format!("{prefix}inner."), f)
    }
}

#[test]
fn params_macro_and_default_description() {
    let mut r = rng();
    let custom = Custom {
        a: Linear::new(&mut r),
        b: Linear::new(&mut r),
    };
    check_text(
        &custom.summary(),
        "\
Custom(
  (a): Linear(in_features=2, out_features=2, bias=True)  # 6 params: weight [2, 2], bias [2]
  (b): Linear(in_features=2, out_features=1, bias=True)  # 3 params: weight [1, 2], bias [1]
)
Trainable params: 9
Buffer values: 0",
    );
    let opaque = Opaque { inner: custom };
    check_text(
        &opaque.summary(),
        "\
Opaque()  # 9 params: inner.a.weight [2, 2], inner.a.bias [2], inner.b.weight [1, 2], inner.b.bias [1]
Trainable params: 9
Buffer values: 0",
    );
}

#[derive(Params)]
enum Rnn {
    Lstm(LSTM<4, 3>),
    Stacked {
        first: Linear<4, 4>,
        second: Linear<4, 3>,
    },
}

#[derive(Params)]
struct Tagger {
    rnn: Rnn,
    head: Linear<3, 2>,
}

#[test]
fn derived_enums() {
    let mut r = rng();
    // A newtype variant is transparent: its layer stands in the enum's place.
    let tagger = Tagger {
        rnn: Rnn::Lstm(LSTM::new(&mut r)),
        head: Linear::new(&mut r),
    };
    check_text(
        &tagger.summary(),
        "\
Tagger(
  (rnn): LSTM(4, 3, batch_first=True)                       # 108 params: weight_ih_l0 [12, 4], weight_hh_l0 [12, 3], bias_ih_l0 [12], bias_hh_l0 [12]
  (head): Linear(in_features=3, out_features=2, bias=True)  # 8 params: weight [2, 3], bias [2]
)
Trainable params: 116
Buffer values: 0",
    );
    // Any other variant is a container named after the enum.
    let tagger = Tagger {
        rnn: Rnn::Stacked {
            first: Linear::new(&mut r),
            second: Linear::new(&mut r),
        },
        head: Linear::new(&mut r),
    };
    check_text(
        &tagger.summary(),
        "\
Tagger(
  (rnn): Rnn(
    (first): Linear(in_features=4, out_features=4, bias=True)   # 20 params: weight [4, 4], bias [4]
    (second): Linear(in_features=4, out_features=3, bias=True)  # 15 params: weight [3, 4], bias [3]
  )
  (head): Linear(in_features=3, out_features=2, bias=True)      # 8 params: weight [2, 3], bias [2]
)
Trainable params: 43
Buffer values: 0",
    );
}
