//! The parameter visitor: the one way optimizers, zeroing, initialisation and serialisation
//! reach a model's tensors, each under its PyTorch `state_dict` name.

use crate::autograd::UniqueId;
use crate::dtype::Float;
use crate::shape::{Dims, Shape};
use crate::tensor::Tensor;
use std::sync::Arc;

/// Whether a named tensor is trained (a parameter) or only tracked (a buffer such as
/// BatchNorm's `running_mean`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorKind {
    /// Trained by optimizers.
    Parameter,
    /// Saved and loaded, never trained.
    Buffer,
}

/// A read-only view of one named tensor.
#[derive(Debug)]
pub struct ParamView<'a, E> {
    /// Its `state_dict` name, e.g. `0.weight`.
    pub name: &'a str,
    /// Its sizes.
    pub dims: Dims,
    /// Its values, row-major.
    pub data: &'a [E],
    /// The id its gradients are stored under.
    pub id: UniqueId,
    /// Parameter or buffer.
    pub kind: TensorKind,
}

/// A mutable view of one named tensor.
#[derive(Debug)]
pub struct ParamMut<'a, E> {
    /// Its `state_dict` name.
    pub name: &'a str,
    /// Its sizes (fixed by the model's type).
    pub dims: Dims,
    /// Its values, row-major; writing here changes the model.
    pub data: &'a mut [E],
    /// The id its gradients are stored under.
    pub id: UniqueId,
    /// Parameter or buffer.
    pub kind: TensorKind,
}

/// Models and layers whose tensors can be visited by name.
///
/// Implemented by every layer, by tuples (names `0.`, `1.`, ...), by `Vec<L>` and `[L; N]`
/// (names `0.`, `1.`, ... as `nn.ModuleList`), by `Option<L>` and `Box<L>` (the layer's own
/// names; nothing when `None`) and, through `#[derive(Params)]`
/// (see [`derive@crate::Params`]) or the [`params!`](crate::params) macro, by your own
/// structs and enums (names `field.`).
///
/// ```
/// use shaped::nn::{Linear, ReLU, Params};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let model = (Linear::<4, 8>::new(&mut rng), ReLU, Linear::<8, 2>::new(&mut rng));
/// assert_eq!(model.param_names(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert_eq!(model.num_params(), 4 * 8 + 8 + 8 * 2 + 2);
/// ```
pub trait Params<E: Float> {
    /// Calls `f` on every parameter and buffer, names prefixed by `prefix`.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>));
    /// Calls `f` on every parameter and buffer, mutably.
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>));

    /// Switches every mode-dependent layer inside to training (`true`) or evaluation
    /// (`false`) mode; [`train`](Params::train) and [`eval`](Params::eval) call it. Layers
    /// without a mode keep this empty default; Dropout, BatchNorm, SyncBatchNorm, recurrent
    /// stacks and transformer layers store the flag, and containers (tuples, `Vec`, arrays,
    /// `Option`, `Box`, `Residual`, `Frozen`, `#[derive(Params)]` structs and enums) pass it to
    /// every layer they hold. A hand-written `Params` impl of a struct holding such layers
    /// passes it on the same way.
    ///
    /// ```
    /// use shaped::nn::{Dropout, Params};
    /// let mut model = (Dropout::with_seed(0.5, 0), Dropout::with_seed(0.2, 1));
    /// Params::<f32>::set_training(&mut model, true);
    /// assert!(Params::<f32>::is_training(&model));
    /// ```
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Whether any mode-dependent layer inside is in training mode (PyTorch's
    /// `model.training`, which a model without Dropout or BatchNorm may ignore: such a model
    /// answers `false`).
    ///
    /// ```
    /// use shaped::nn::{BatchNorm1d, Linear, Params};
    /// use rand::SeedableRng;
    /// let mut model = (Linear::<4, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0)), BatchNorm1d::<3>::new());
    /// assert!(!model.is_training()); // layers start in evaluation mode
    /// model.train();
    /// assert!(model.is_training());
    /// ```
    fn is_training(&self) -> bool {
        false
    }

    /// PyTorch's `model.train()`: [`forward`](super::Module::forward) runs every Dropout,
    /// BatchNorm, recurrent and transformer layer inside in training mode until
    /// [`eval`](Params::eval). Layers start in evaluation mode (PyTorch's start in training
    /// mode; see [`Module`](super::Module#train-and-eval-mode) for why).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Dropout, Linear, Module};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut model = (Linear::<8, 8>::new(&mut rng), Dropout::with_seed(0.5, 7));
    /// let x = Tensor::<Rank2<16, 8>>::ones();
    /// model.train();
    /// let y = model.forward(x.clone()); // dropout drops, through &self
    /// assert!(y.to_vec().contains(&0.0));
    /// model.eval();
    /// assert_eq!(model.forward(x.clone()).to_vec(), model.forward(x).to_vec());
    /// ```
    fn train(&mut self) {
        self.set_training(true)
    }

    /// PyTorch's `model.eval()`: [`forward`](super::Module::forward) runs every layer inside
    /// in evaluation mode (Dropout off, BatchNorm on running statistics), the state a fresh
    /// layer starts in.
    ///
    /// ```
    /// use shaped::nn::{BatchNorm2d, Params};
    /// let mut bn = BatchNorm2d::<3>::new();
    /// bn.train();
    /// bn.eval();
    /// assert!(!bn.is_training());
    /// ```
    fn eval(&mut self) {
        self.set_training(false)
    }

    /// Calls `f(tied_name, target)` for every tied name: a second `state_dict` name for a
    /// tensor visited under `target` (PyTorch's `self.decoder.weight = self.encoder.weight`
    /// writes the one tensor as both `encoder.weight` and `decoder.weight`). Both names are
    /// full names, prefixed by `prefix`.
    ///
    /// The tensor itself is visited once, under `target`, so optimizers, clipping,
    /// [`num_params`](Params::num_params) and data-parallel reductions see one parameter;
    /// safetensors files and checkpoints hold it under both names. `#[derive(Params)]`
    /// declares tied names with `#[param(tied(weight = "encoder.weight"))]` on the field that
    /// uses the weight (see [`TiedLinear`](crate::nn::TiedLinear)); the default has none.
    ///
    /// ```
    /// use shaped::nn::{Embedding, Params, TiedLinear};
    /// use rand::SeedableRng;
    ///
    /// #[derive(shaped::Params)]
    /// struct Lm {
    ///     encoder: Embedding<10, 4>,
    ///     #[param(tied(weight = "encoder.weight"))]
    ///     decoder: TiedLinear<4, 10>,
    /// }
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let lm = Lm { encoder: Embedding::new(&mut rng), decoder: TiedLinear::new(&mut rng) };
    /// assert_eq!(lm.param_names(), ["encoder.weight", "decoder.bias"]);
    /// assert_eq!(lm.tied_names(), [("decoder.weight".to_string(), "encoder.weight".to_string())]);
    /// assert_eq!(lm.state_dict_names(), ["encoder.weight", "decoder.bias", "decoder.weight"]);
    /// ```
    fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
        let _ = (prefix, f);
    }

    /// Every tied name with the name of the tensor it stands for, `(tied, target)`, in
    /// visiting order (see [`visit_tied`](Params::visit_tied)).
    fn tied_names(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        self.visit_tied("", &mut |tied, target| {
            out.push((tied.to_string(), target.to_string()))
        });
        out
    }

    /// The names a PyTorch `state_dict()` of the same model has: every visited name
    /// ([`param_names`](Params::param_names)), then the tied names.
    fn state_dict_names(&self) -> Vec<String> {
        let mut names = self.param_names();
        names.extend(self.tied_names().into_iter().map(|(tied, _)| tied));
        names
    }

    /// Every name, parameters and buffers, in visiting order (like `state_dict().keys()`,
    /// without tied names: see [`state_dict_names`](Params::state_dict_names)).
    fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit("", &mut |p| names.push(p.name.to_string()));
        names
    }
    /// The number of trainable scalars (buffers excluded), like
    /// `sum(p.numel() for p in model.parameters())`: a tensor is counted once, however many
    /// names it has (PyTorch's `parameters()` skips repeats too).
    fn num_params(&self) -> usize {
        let mut counter = ParamCounter::new();
        self.visit("", &mut |p| counter.add(p.kind, p.id, p.data.len()));
        counter.total()
    }

    /// Describes this layer for [`summary`](Params::summary): calls `f(name, description)`
    /// with its module name (the prefix without its final dot; `""` for the model itself) and
    /// PyTorch's `repr` of it (`Linear(in_features=4, out_features=8, bias=True)`).
    /// Containers (tuples, `Vec`s, derived structs) describe themselves by their kind
    /// (`Sequential`, `ModuleList`, the struct's name) and then each sublayer, prefixed as in
    /// [`visit`](Params::visit). The default describes the layer by its type's name, which
    /// suits layers without sizes to show (`ReLU`); override it to show sizes.
    ///
    /// ```
    /// use shaped::nn::{Linear, Params, ReLU};
    /// use rand::SeedableRng;
    /// let model = (Linear::<4, 8>::new(&mut rand::rngs::StdRng::seed_from_u64(0)), ReLU);
    /// let mut lines = Vec::new();
    /// model.describe("", &mut |name, description| lines.push(format!("{name}: {description}")));
    /// assert_eq!(lines, [": Sequential", "0: Linear(in_features=4, out_features=8, bias=True)", "1: ReLU"]);
    /// ```
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            module_name(prefix),
            short_type_name(std::any::type_name::<Self>()),
        )
    }

    /// The model's layer tree, like PyTorch's `print(model)`, with each layer's tensors (name,
    /// shape, count) and the totals of trainable parameters and buffer values; print it with
    /// `{}`. Built from [`describe`](Params::describe) and [`visit`](Params::visit), so tuples,
    /// containers and `#[derive(Params)]` structs need no code of their own.
    ///
    /// ```
    /// use shaped::nn::{Linear, Params, ReLU};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let model = (Linear::<4, 8>::new(&mut rng), ReLU, Linear::<8, 2>::new(&mut rng));
    /// let summary = model.summary();
    /// assert_eq!(summary.trainable, 58);
    /// println!("{summary}");
    /// assert_eq!(summary.to_string().lines().next(), Some("Sequential("));
    /// ```
    fn summary(&self) -> super::summary::ModelSummary {
        super::summary::ModelSummary::of(self)
    }
}

/// The count of [`Params::num_params`]. Not generic, and its set's code is behind its own
/// methods: the default method is compiled for every model type in the user's crate, and
/// reaches it through every `dyn Params` vtable (issue 15).
struct ParamCounter {
    seen: std::collections::HashSet<UniqueId>,
    total: usize,
}

impl ParamCounter {
    #[inline(never)]
    fn new() -> Self {
        ParamCounter {
            seen: Default::default(),
            total: 0,
        }
    }
    #[inline(never)]
    fn add(&mut self, kind: TensorKind, id: UniqueId, len: usize) {
        if kind == TensorKind::Parameter && self.seen.insert(id) {
            self.total += len
        }
    }
    /// The total; frees the set here rather than in the caller's drop glue.
    #[inline(never)]
    fn total(self) -> usize {
        self.total
    }
}

/// The module name for a visiting prefix: the prefix without its final dot (`"0."` ->
/// `"0"`, `""` for the model itself), as [`Params::describe`] reports it.
///
/// ```
/// assert_eq!(shaped::nn::module_name("layers.0."), "layers.0");
/// assert_eq!(shaped::nn::module_name(""), "");
/// ```
pub fn module_name(prefix: &str) -> &str {
    prefix.strip_suffix('.').unwrap_or(prefix)
}

/// `a::b::Name<C, D>` -> `Name`.
fn short_type_name(full: &str) -> String {
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_string()
}

/// Visits one tensor field: the building block of every `Params` impl.
pub fn visit_tensor<S: Shape, E: Float, T>(
    t: &Tensor<S, E, T>,
    name: &str,
    kind: TensorKind,
    f: &mut dyn FnMut(ParamView<'_, E>),
) {
    f(ParamView {
        name,
        dims: t.shape.dims(),
        data: &t.data,
        id: t.id,
        kind,
    })
}

/// Visits one tensor field mutably (copy-on-write if its buffer is shared).
pub fn visit_tensor_mut<S: Shape, E: Float, T>(
    t: &mut Tensor<S, E, T>,
    name: &str,
    kind: TensorKind,
    f: &mut dyn FnMut(ParamMut<'_, E>),
) {
    let dims = t.shape.dims();
    let id = t.id;
    f(ParamMut {
        name,
        dims,
        data: Arc::make_mut(&mut t.data).as_mut_slice(),
        id,
        kind,
    })
}

/// Implements [`Params`] for a struct by visiting the listed fields, each named
/// `field.` like PyTorch sub-modules. Fields may be layers, tuples, `Vec`s, arrays or
/// `Option`s of layers, or anything else that implements `Params`.
///
/// `#[derive(Params)]` (see [`derive@crate::Params`]) does the same and more (tuple structs,
/// enums, generic structs, skipped and buffer fields); this macro remains for existing code.
///
/// * `params!(Model { a, b })` for a struct of `f32` layers;
/// * `params!(Model: f64 { a, b })` for another element type;
/// * `params!(Model<E> { a, b })` for a struct generic over its element type only.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Linear, Module, Params};
/// use rand::SeedableRng;
///
/// struct Mlp {
///     hidden: Linear<4, 8>,
///     out: Linear<8, 2>,
/// }
/// shaped::params!(Mlp { hidden, out });
///
/// impl<B: Dim, T: Tape<f32>> Module<Tensor<(B, Const<4>), f32, T>> for Mlp {
///     type Output = Tensor<(B, Const<2>), f32, T>;
///     fn try_forward(&self, x: Tensor<(B, Const<4>), f32, T>) -> Result<Self::Output> {
///         let h = self.hidden.try_forward(x)?.relu();
///         self.out.try_forward(h)
///     }
/// }
///
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mlp = Mlp { hidden: Linear::new(&mut rng), out: Linear::new(&mut rng) };
/// assert_eq!(mlp.param_names(), ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]);
/// let y = mlp.forward(Tensor::<(usize, Const<4>)>::zeros_with_shape((5, Const)));
/// assert_eq!(y.dims().as_slice(), &[5, 2]);
/// ```
#[macro_export]
macro_rules! params {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        $crate::params!($ty: f32 { $($field),* });
    };
    ($ty:ident : $e:ty { $($field:ident),* $(,)? }) => {
        impl $crate::nn::Params<$e> for $ty {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut($crate::nn::ParamView<'_, $e>)) {
                $($crate::nn::Params::<$e>::visit(&self.$field, &format!("{prefix}{}.", stringify!($field)), f);)*
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut($crate::nn::ParamMut<'_, $e>)) {
                $($crate::nn::Params::<$e>::visit_mut(&mut self.$field, &format!("{prefix}{}.", stringify!($field)), f);)*
            }
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                f($crate::nn::module_name(prefix), stringify!($ty).to_string());
                $($crate::nn::Params::<$e>::describe(&self.$field, &format!("{prefix}{}.", stringify!($field)), f);)*
            }
            fn set_training(&mut self, training: bool) {
                $($crate::nn::Params::<$e>::set_training(&mut self.$field, training);)*
            }
            fn is_training(&self) -> bool {
                false $(|| $crate::nn::Params::<$e>::is_training(&self.$field))*
            }
        }
    };
    ($ty:ident < $g:ident > { $($field:ident),* $(,)? }) => {
        impl<$g: $crate::dtype::Float> $crate::nn::Params<$g> for $ty<$g> {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut($crate::nn::ParamView<'_, $g>)) {
                $($crate::nn::Params::<$g>::visit(&self.$field, &format!("{prefix}{}.", stringify!($field)), f);)*
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut($crate::nn::ParamMut<'_, $g>)) {
                $($crate::nn::Params::<$g>::visit_mut(&mut self.$field, &format!("{prefix}{}.", stringify!($field)), f);)*
            }
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                f($crate::nn::module_name(prefix), stringify!($ty).to_string());
                $($crate::nn::Params::<$g>::describe(&self.$field, &format!("{prefix}{}.", stringify!($field)), f);)*
            }
            fn set_training(&mut self, training: bool) {
                $($crate::nn::Params::<$g>::set_training(&mut self.$field, training);)*
            }
            fn is_training(&self) -> bool {
                false $(|| $crate::nn::Params::<$g>::is_training(&self.$field))*
            }
        }
    };
}

macro_rules! tuple_params {
    ($($M:ident $i:tt),*) => {
        impl<E: Float, $($M: Params<E>),*> Params<E> for ($($M,)*) {
            #[allow(unused_variables)]
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
                $(self.$i.visit(&format!("{prefix}{}.", $i), f);)*
            }
            #[allow(unused_variables)]
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
                $(self.$i.visit_mut(&format!("{prefix}{}.", $i), f);)*
            }
            #[allow(unused_variables)]
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                f(module_name(prefix), "Sequential".to_string());
                $(self.$i.describe(&format!("{prefix}{}.", $i), f);)*
            }
            #[allow(unused_variables)]
            fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
                $(self.$i.visit_tied(&format!("{prefix}{}.", $i), f);)*
            }
            #[allow(unused_variables)]
            fn set_training(&mut self, training: bool) {
                $(self.$i.set_training(training);)*
            }
            fn is_training(&self) -> bool {
                false $(|| self.$i.is_training())*
            }
        }
    };
}
tuple_params!();
tuple_params!(A 0);
tuple_params!(A 0, B 1);
tuple_params!(A 0, B 1, C 2);
tuple_params!(A 0, B 1, C 2, D 3);
tuple_params!(A 0, B 1, C 2, D 3, F 4);
tuple_params!(A 0, B 1, C 2, D 3, F 4, G 5);
tuple_params!(A 0, B 1, C 2, D 3, F 4, G 5, H 6);
tuple_params!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7);
tuple_params!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8);
tuple_params!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9);
tuple_params!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10);
tuple_params!(A 0, B 1, C 2, D 3, F 4, G 5, H 6, I 7, J 8, K 9, L 10, M 11);

/// A bare tensor is a parameter named by its field (the prefix without its final dot).
impl<S: Shape, E: Float> Params<E> for Tensor<S, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_tensor(
            self,
            prefix.strip_suffix('.').unwrap_or(prefix),
            TensorKind::Parameter,
            f,
        )
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        visit_tensor_mut(
            self,
            prefix.strip_suffix('.').unwrap_or(prefix),
            TensorKind::Parameter,
            f,
        )
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        let dims = self.shape.dims();
        f(
            module_name(prefix),
            format!("Tensor(shape={:?})", dims.as_slice()),
        )
    }
}

impl<E: Float, M: Params<E>> Params<E> for Vec<M> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        for (i, m) in self.iter().enumerate() {
            m.visit(&format!("{prefix}{i}."), f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        for (i, m) in self.iter_mut().enumerate() {
            m.visit_mut(&format!("{prefix}{i}."), f);
        }
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(module_name(prefix), "ModuleList".to_string());
        for (i, m) in self.iter().enumerate() {
            m.describe(&format!("{prefix}{i}."), f);
        }
    }
    fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
        for (i, m) in self.iter().enumerate() {
            m.visit_tied(&format!("{prefix}{i}."), f);
        }
    }
    fn set_training(&mut self, training: bool) {
        for m in self.iter_mut() {
            m.set_training(training);
        }
    }
    fn is_training(&self) -> bool {
        self.iter().any(Params::<E>::is_training)
    }
}

/// An optional layer adds nothing to the name and is visited only when present, as PyTorch's
/// `self.proj = None` has no `state_dict` entries.
impl<E: Float, M: Params<E>> Params<E> for Option<M> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        if let Some(m) = self {
            m.visit(prefix, f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        if let Some(m) = self {
            m.visit_mut(prefix, f);
        }
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        if let Some(m) = self {
            m.describe(prefix, f);
        }
    }
    fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
        if let Some(m) = self {
            m.visit_tied(prefix, f);
        }
    }
    fn set_training(&mut self, training: bool) {
        if let Some(m) = self {
            m.set_training(training);
        }
    }
    fn is_training(&self) -> bool {
        self.as_ref().is_some_and(Params::<E>::is_training)
    }
}

/// A boxed layer is named as the layer itself.
impl<E: Float, M: Params<E> + ?Sized> Params<E> for Box<M> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        (**self).visit(prefix, f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        (**self).visit_mut(prefix, f);
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        (**self).describe(prefix, f);
    }
    fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
        (**self).visit_tied(prefix, f);
    }
    fn set_training(&mut self, training: bool) {
        (**self).set_training(training);
    }
    fn is_training(&self) -> bool {
        (**self).is_training()
    }
}

/// An array of layers is named as `nn.ModuleList`: `0.`, `1.`, ...
impl<E: Float, M: Params<E>, const N: usize> Params<E> for [M; N] {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        for (i, m) in self.iter().enumerate() {
            m.visit(&format!("{prefix}{i}."), f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        for (i, m) in self.iter_mut().enumerate() {
            m.visit_mut(&format!("{prefix}{i}."), f);
        }
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(module_name(prefix), "ModuleList".to_string());
        for (i, m) in self.iter().enumerate() {
            m.describe(&format!("{prefix}{i}."), f);
        }
    }
    fn visit_tied(&self, prefix: &str, f: &mut dyn FnMut(&str, &str)) {
        for (i, m) in self.iter().enumerate() {
            m.visit_tied(&format!("{prefix}{i}."), f);
        }
    }
    fn set_training(&mut self, training: bool) {
        for m in self.iter_mut() {
            m.set_training(training);
        }
    }
    fn is_training(&self) -> bool {
        self.iter().any(Params::<E>::is_training)
    }
}
