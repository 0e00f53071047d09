//! `#[derive(Params)]`: every kind of struct, enum and collection gets the `state_dict`
//! names PyTorch gives the same model (written out below from `model.state_dict().keys()`
//! of the equivalent `nn.Module`), round-trips through safetensors, and lets an optimizer
//! reach every parameter.

use rand::SeedableRng;
use rand::rngs::StdRng;
use shaped::nn::{BatchNorm1d, Linear, Module, Params, ReLU, TensorKind};
use shaped::optim::{Optimizer, Sgd};
use shaped::prelude::*;
use shaped::serialize::{LoadMode, from_safetensors, to_safetensors};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn lin<const I: usize, const O: usize>(r: &mut StdRng) -> Linear<I, O> {
    Linear::new(r)
}

/// Every name with its kind, in visiting order.
fn kinds<M: Params<f32>>(m: &M) -> Vec<(String, TensorKind)> {
    let mut out = Vec::new();
    m.visit("", &mut |p| out.push((p.name.to_string(), p.kind)));
    out
}

/// Every tensor's values, in visiting order.
fn values<E: Float, M: Params<E>>(m: &M) -> Vec<Vec<E>> {
    let mut out = Vec::new();
    m.visit("", &mut |p| out.push(p.data.to_vec()));
    out
}

// Named struct with every kind of field.

#[derive(Params)]
struct Net {
    encoder: Linear<4, 4>,
    act: ReLU,
    layers: Vec<Linear<4, 4>>,
    pair: [Linear<4, 4>; 2],
    head: Option<Linear<4, 2>>,
    norm: BatchNorm1d<2>,
    #[param(skip)]
    dropout_p: f32,
    #[param(skip)]
    _rng: StdRng,
}

impl Net {
    fn new(seed: u64, head: bool) -> Self {
        let mut r = rng(seed);
        Net {
            encoder: lin(&mut r),
            act: ReLU,
            layers: vec![lin(&mut r), lin(&mut r), lin(&mut r)],
            pair: [lin(&mut r), lin(&mut r)],
            head: head.then(|| lin(&mut r)),
            norm: BatchNorm1d::new(),
            dropout_p: 0.1,
            _rng: rng(seed + 1),
        }
    }

    /// A forward pass through every layer (the head only when present).
    fn forward<T: Tape<f32>>(&self, x: Tensor<Rank2<3, 4>, f32, T>) -> Tensor<(), f32, T> {
        let mut h = self.act.forward(self.encoder.forward(x));
        for l in &self.layers {
            h = l.forward(h);
        }
        for l in &self.pair {
            h = l.forward(h);
        }
        match &self.head {
            Some(head) => head.forward(h).sum(),
            None => h.sum(),
        }
    }
}

#[test]
fn named_struct_names_fields_like_pytorch_submodules() {
    // PyTorch: encoder = Linear, act = ReLU, layers = ModuleList([Linear] * 3),
    // pair = ModuleList([Linear] * 2), head = Linear, norm = BatchNorm1d(2), dropout_p = 0.1.
    let net = Net::new(0, true);
    let expected = [
        "encoder.weight",
        "encoder.bias",
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
        "layers.2.weight",
        "layers.2.bias",
        "pair.0.weight",
        "pair.0.bias",
        "pair.1.weight",
        "pair.1.bias",
        "head.weight",
        "head.bias",
        "norm.weight",
        "norm.bias",
        "norm.running_mean",
        "norm.running_var",
    ];
    assert_eq!(net.param_names(), expected);
    assert_eq!(net.dropout_p, 0.1);
    // Buffers of nested layers stay buffers.
    let k = kinds(&net);
    assert_eq!(k[16], ("norm.running_mean".into(), TensorKind::Buffer));
    assert_eq!(k[0].1, TensorKind::Parameter);
    assert_eq!(net.num_params(), 6 * (16 + 4) + (8 + 2) + 2 * 2);

    // PyTorch: `self.head = None` has no entries.
    let headless = Net::new(0, false);
    let names = headless.param_names();
    assert_eq!(names.len(), expected.len() - 2);
    assert!(!names.iter().any(|n| n.starts_with("head.")));
    assert_eq!(names[12], "norm.weight");
}

#[test]
fn names_are_prefixed_when_nested_and_visit_mut_agrees_with_visit() {
    let mut net = Net::new(1, true);
    let mut names = Vec::new();
    net.visit("model.", &mut |p| names.push(p.name.to_string()));
    assert_eq!(names[0], "model.encoder.weight");
    assert_eq!(names[4], "model.layers.1.weight");
    let mut names_mut = Vec::new();
    net.visit_mut("model.", &mut |p| names_mut.push(p.name.to_string()));
    assert_eq!(names, names_mut);
}

// Tuple struct, nested user structs, renamed fields, buffer fields.

#[derive(Params)]
struct Pair(Linear<3, 3>, ReLU, Linear<3, 1>);

#[derive(Params)]
struct Block {
    pair: Pair,
    #[param(rename = "proj")]
    projection: Linear<1, 1>,
    #[param(buffer)]
    scale: Tensor<(Const<3>,)>,
    r#type: Linear<1, 1>,
}

#[derive(Params)]
struct Outer {
    blocks: Vec<Block>,
    last: Pair,
}

fn block(r: &mut StdRng) -> Block {
    Block {
        pair: Pair(lin(r), ReLU, lin(r)),
        projection: lin(r),
        scale: Tensor::ones(),
        r#type: lin(r),
    }
}

#[test]
fn tuple_struct_fields_are_named_by_index_as_sequential() {
    let mut r = rng(2);
    let pair = Pair(lin(&mut r), ReLU, lin(&mut r));
    // nn.Sequential(Linear, ReLU, Linear)
    assert_eq!(
        pair.param_names(),
        ["0.weight", "0.bias", "2.weight", "2.bias"]
    );
}

#[test]
fn nested_structs_renames_and_buffers() {
    let mut r = rng(3);
    let outer = Outer {
        blocks: vec![block(&mut r), block(&mut r)],
        last: Pair(lin(&mut r), ReLU, lin(&mut r)),
    };
    let mut expected = Vec::new();
    for i in 0..2 {
        for n in [
            "pair.0.weight",
            "pair.0.bias",
            "pair.2.weight",
            "pair.2.bias",
            "proj.weight",
            "proj.bias",
            "scale",
            "type.weight",
            "type.bias",
        ] {
            expected.push(format!("blocks.{i}.{n}"));
        }
    }
    expected.extend(
        [
            "last.0.weight",
            "last.0.bias",
            "last.2.weight",
            "last.2.bias",
        ]
        .map(String::from),
    );
    assert_eq!(outer.param_names(), expected);
    let k = kinds(&outer);
    assert_eq!(k[6], ("blocks.0.scale".into(), TensorKind::Buffer));
    assert_eq!(k[5].1, TensorKind::Parameter);
    // The buffer is saved but not counted as trainable.
    let per_block = (9 + 3) + (3 + 1) + 2 + 2;
    assert_eq!(outer.num_params(), 2 * per_block + 12 + 4);
}

// Enums: the active variant's fields.

#[derive(Params)]
enum Head {
    /// Transparent: `head.weight` as PyTorch's `self.head = nn.Linear(..)`.
    Single(Linear<4, 2>),
    /// Two fields: by index.
    Deep(Linear<4, 3>, #[param(skip)] f32, Linear<3, 2>),
    /// By field name.
    Gated {
        value: Linear<4, 2>,
        #[param(skip)]
        temperature: f32,
        gate: Linear<4, 2>,
    },
    Identity,
}

#[derive(Params)]
struct Classifier {
    body: Linear<4, 4>,
    head: Head,
}

#[test]
fn enums_visit_the_active_variant() {
    let mut r = rng(4);
    let single = Classifier {
        body: lin(&mut r),
        head: Head::Single(lin(&mut r)),
    };
    assert_eq!(
        single.param_names(),
        ["body.weight", "body.bias", "head.weight", "head.bias"]
    );
    let deep = Classifier {
        body: lin(&mut r),
        head: Head::Deep(lin(&mut r), 0.5, lin(&mut r)),
    };
    if let Head::Deep(_, dropout_p, _) = &deep.head {
        assert_eq!(*dropout_p, 0.5);
    }
    assert_eq!(
        deep.param_names(),
        [
            "body.weight",
            "body.bias",
            "head.0.weight",
            "head.0.bias",
            "head.2.weight",
            "head.2.bias"
        ]
    );
    let gated = Classifier {
        body: lin(&mut r),
        head: Head::Gated {
            value: lin(&mut r),
            temperature: 2.0,
            gate: lin(&mut r),
        },
    };
    assert_eq!(
        gated.param_names(),
        [
            "body.weight",
            "body.bias",
            "head.value.weight",
            "head.value.bias",
            "head.gate.weight",
            "head.gate.bias"
        ]
    );
    if let Head::Gated { temperature, .. } = &gated.head {
        assert_eq!(*temperature, 2.0);
    }
    let identity = Classifier {
        body: lin(&mut r),
        head: Head::Identity,
    };
    assert_eq!(identity.param_names(), ["body.weight", "body.bias"]);
    assert_eq!(Head::Identity.num_params(), 0);
}

// Generic structs.

#[derive(Params)]
struct Stack<L> {
    layers: Vec<L>,
    #[param(skip)]
    depth: usize,
}

#[derive(Params)]
struct Gated<E: Float> {
    value: Linear<2, 2, E>,
    scale: Tensor<(Const<2>,), E>,
}

#[derive(Params)]
#[param(elem = f64)]
struct OnlyF64 {
    layer: Linear<2, 1, f64>,
}

#[test]
fn generic_structs_get_params_for_every_element_type_their_fields_have() {
    let mut r = rng(5);
    let stack = Stack {
        layers: vec![lin::<2, 2>(&mut r), lin(&mut r)],
        depth: 2,
    };
    assert_eq!(stack.depth, 2);
    assert_eq!(
        stack.param_names(),
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.weight",
            "layers.1.bias"
        ]
    );
    let nested = Stack {
        layers: vec![Pair(lin(&mut r), ReLU, lin(&mut r))],
        depth: 1,
    };
    assert_eq!(nested.param_names()[2], "layers.0.2.weight");

    let g64 = Gated::<f64> {
        value: Linear::new(&mut r),
        scale: Tensor::ones(),
    };
    assert_eq!(
        Params::<f64>::param_names(&g64),
        ["value.weight", "value.bias", "scale"]
    );
    assert_eq!(values(&g64)[2], vec![1.0f64, 1.0]);
    let g32 = Gated::<f32> {
        value: Linear::new(&mut r),
        scale: Tensor::ones(),
    };
    assert_eq!(g32.num_params(), 8);
    let only = OnlyF64 {
        layer: Linear::new(&mut r),
    };
    assert_eq!(only.param_names(), ["layer.weight", "layer.bias"]);
}

// Save/load and optimizers through a derived struct.

#[test]
fn safetensors_round_trip_through_a_derived_struct() {
    let net = Net::new(6, true);
    let bytes = to_safetensors(&net).unwrap();
    let mut copy = Net::new(7, true);
    assert_ne!(values(&copy), values(&net));
    from_safetensors(&mut copy, &bytes, LoadMode::Strict, "net").unwrap();
    assert_eq!(values(&copy), values(&net));

    // A model without the optional head does not load the full file strictly...
    let mut headless = Net::new(8, false);
    let err = from_safetensors(&mut headless, &bytes, LoadMode::Strict, "net").unwrap_err();
    assert!(err.to_string().contains("head.weight"), "{err}");
    // ...and the enum variant in the file decides what loads.
    let mut r = rng(9);
    let deep = Classifier {
        body: lin(&mut r),
        head: Head::Deep(lin(&mut r), 0.0, lin(&mut r)),
    };
    let mut single = Classifier {
        body: lin(&mut r),
        head: Head::Single(lin(&mut r)),
    };
    let bytes = to_safetensors(&deep).unwrap();
    assert!(from_safetensors(&mut single, &bytes, LoadMode::Strict, "deep").is_err());
}

#[test]
fn an_optimizer_step_reaches_every_parameter_and_no_buffer() {
    let mut net = Net::new(10, true);
    let before = values(&net);
    let x = Tensor::<Rank2<3, 4>>::full(0.5).trace();
    let grads = net.forward(x).backward();
    let mut ids = Vec::new();
    net.visit("", &mut |p| ids.push((p.name.to_string(), p.id, p.kind)));
    for (name, id, kind) in &ids {
        if *kind == TensorKind::Parameter && !name.starts_with("norm.") {
            assert!(grads.get_id(*id).is_some(), "no gradient for {name}");
        }
    }
    Sgd::new(0.1).step(&mut net, &grads);
    let after = values(&net);
    for ((name, _, kind), (b, a)) in ids.iter().zip(before.iter().zip(&after)) {
        // BatchNorm is not in this forward pass, so nothing under `norm.` has a gradient.
        let trained = *kind == TensorKind::Parameter && !name.starts_with("norm.");
        assert_eq!(a != b, trained, "{name} changed: {}", a != b);
    }
}

// Recursive types.

#[derive(Params)]
struct Tree {
    leaf: Linear<2, 2>,
    children: Vec<Tree>,
}

#[derive(Params)]
struct GenericTree<L> {
    leaf: L,
    children: Vec<Box<GenericTree<L>>>,
}

/// Mutually recursive types fix their element type with `elem`.
#[derive(Params)]
#[param(elem = f32)]
struct Even {
    layer: Linear<1, 1>,
    next: Option<Box<Odd>>,
}

#[derive(Params)]
#[param(elem = f32)]
struct Odd {
    layers: Vec<Even>,
}

#[test]
fn recursive_types_are_visited_depth_first() {
    let mut r = rng(11);
    let tree = Tree {
        leaf: lin(&mut r),
        children: vec![Tree {
            leaf: lin(&mut r),
            children: vec![],
        }],
    };
    assert_eq!(
        tree.param_names(),
        [
            "leaf.weight",
            "leaf.bias",
            "children.0.leaf.weight",
            "children.0.leaf.bias"
        ]
    );
    let generic = GenericTree {
        leaf: lin::<1, 1>(&mut r),
        children: vec![Box::new(GenericTree {
            leaf: lin(&mut r),
            children: vec![],
        })],
    };
    assert_eq!(generic.param_names()[3], "children.0.leaf.bias");
    let even = Even {
        layer: lin(&mut r),
        next: Some(Box::new(Odd {
            layers: vec![Even {
                layer: lin(&mut r),
                next: None,
            }],
        })),
    };
    assert_eq!(
        even.param_names(),
        [
            "layer.weight",
            "layer.bias",
            "next.layers.0.layer.weight",
            "next.layers.0.layer.bias"
        ]
    );
}
