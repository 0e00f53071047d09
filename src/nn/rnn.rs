//! Recurrent layer stacks: RNN (tanh or relu), LSTM and GRU, one or more layers, one
//! direction or both, batch-first or sequence-first, with dropout between layers, an optional
//! initial state, every step's output and the final state, plus a single-step API for
//! generation. Parameters use PyTorch's names and layouts: `weight_ih_l{k}` is
//! `(gates * hidden, input)` with LSTM gates stacked `i, f, g, o` and GRU gates `r, z, n`;
//! the reverse direction's end in `_reverse`.
//!
//! The forward passes ([`Module`](super::Module) impls) are in `rnn_forward.rs`.

use super::dropout::Dropout;
use super::params::{ParamMut, ParamView, Params};
use super::rnn_cell::RecurrentCell;
use super::rnn_layout::{BatchFirst, Bidirectional, Direction, Layout, Unidirectional};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::ops::rnn::{gru_cell_op, lstm_sequence_op, rnn_cell_op};
use crate::ops::shape_ops::stack_op;
use crate::shape::{Const, Dim, DimEq, Shape};
use crate::tensor::{Indices, Tensor};
use core::marker::PhantomData;
use rand::Rng;

/// Which recurrent cell a [`Recurrent`] stack or a [`RecurrentCell`] runs.
///
/// ```
/// use shaped::nn::{CellKind, GruKind};
/// assert_eq!(GruKind::MODE, "GRU");
/// ```
pub trait CellKind: Copy + Default + Send + Sync + 'static {
    /// Gates per hidden unit: 1 (RNN), 3 (GRU), 4 (LSTM).
    type Gates: crate::shape::ConstDim;
    /// PyTorch's module name, for messages.
    const NAME: &'static str;
    /// PyTorch's cell module name, for messages.
    const CELL_NAME: &'static str;
    /// PyTorch's mode: `LSTM`, `GRU`, `RNN_TANH` or `RNN_RELU`.
    const MODE: &'static str;
}

/// Elman RNN with tanh (`nn.RNN(nonlinearity="tanh")`, `nn.RNNCell`).
///
/// ```
/// use shaped::nn::{CellKind, RnnTanhKind};
/// assert_eq!(RnnTanhKind::MODE, "RNN_TANH");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RnnTanhKind;
/// Elman RNN with relu (`nn.RNN(nonlinearity="relu")`, `nn.RNNCell(nonlinearity="relu")`).
///
/// ```
/// use shaped::nn::{CellKind, RnnReluKind};
/// assert_eq!(RnnReluKind::MODE, "RNN_RELU");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RnnReluKind;
/// Long short-term memory (`nn.LSTM`, `nn.LSTMCell`).
///
/// ```
/// use shaped::nn::{CellKind, LstmKind};
/// assert_eq!(LstmKind::NAME, "LSTM");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct LstmKind;
/// Gated recurrent unit (`nn.GRU`, `nn.GRUCell`).
///
/// ```
/// use shaped::nn::{CellKind, GruKind};
/// assert_eq!(GruKind::CELL_NAME, "GRUCell");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GruKind;
impl CellKind for RnnTanhKind {
    type Gates = Const<1>;
    const NAME: &'static str = "RNN";
    const CELL_NAME: &'static str = "RNNCell";
    const MODE: &'static str = "RNN_TANH";
}
impl CellKind for RnnReluKind {
    type Gates = Const<1>;
    const NAME: &'static str = "RNN";
    const CELL_NAME: &'static str = "RNNCell";
    const MODE: &'static str = "RNN_RELU";
}
impl CellKind for LstmKind {
    type Gates = Const<4>;
    const NAME: &'static str = "LSTM";
    const CELL_NAME: &'static str = "LSTMCell";
    const MODE: &'static str = "LSTM";
}
impl CellKind for GruKind {
    type Gates = Const<3>;
    const NAME: &'static str = "GRU";
    const CELL_NAME: &'static str = "GRUCell";
    const MODE: &'static str = "GRU";
}

/// A recurrent layer stack of cell kind `K`: input size `I`, hidden size `H`, `L` layers
/// (layer 0 reads the input, layer k > 0 reads layer k-1's outputs), direction `D`
/// ([`Unidirectional`] or [`Bidirectional`]) and layout `F` ([`BatchFirst`] or
/// [`SeqFirst`](super::SeqFirst)).
///
/// With `F = BatchFirst` inputs are `(batch, seq, I)` and outputs `(batch, seq, D*H)`; with
/// `SeqFirst` the first two axes swap. States are `(L*D, batch, H)` either way. Dropout
/// between layers ([`with_dropout`](Self::with_dropout)) acts in training mode only:
/// [`forward_train`](super::Module::forward_train), or `forward` after
/// [`train`](super::Params::train).
///
/// Use the aliases: [`LSTM`], [`GRU`], [`RNN`], [`RNNRelu`] and their bidirectional forms
/// [`BiLSTM`], [`BiGRU`], [`BiRNN`], [`BiRNNRelu`] (static sizes; the last type argument is
/// the layout), or [`RecurrentDyn`] for sizes known at run time.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BiGRU, Module, SeqFirst};
/// use rand::SeedableRng;
/// // nn.GRU(3, 5, num_layers=2, bidirectional=True, batch_first=False, dropout=0.1)
/// let mut gru = BiGRU::<3, 5, 2, f32, SeqFirst>::new(&mut rand::rngs::StdRng::seed_from_u64(0))
///     .with_dropout(0.1, &mut rand::rngs::StdRng::seed_from_u64(1));
/// let x = Tensor::<Rank3<7, 2, 3>>::ones(); // (seq, batch, input)
/// let (y, h_n) = gru.forward_train(x);
/// assert_eq!(y.dims().as_slice(), &[7, 2, 10]);
/// assert_eq!(h_n.dims().as_slice(), &[4, 2, 5]);
/// ```
#[derive(Clone, Debug)]
pub struct Recurrent<
    K: CellKind,
    I: Dim,
    H: Dim,
    L: Dim,
    E: Float = f32,
    D: Direction = Unidirectional,
    F: Layout = BatchFirst,
> {
    /// Layer 0 (forward direction).
    pub first: RecurrentCell<K, I, H, E>,
    /// Layers 1 and up (forward direction); they read `D*H` features.
    pub rest: Vec<RecurrentCell<K, D::Out<H>, H, E>>,
    /// Layer 0, reverse direction (bidirectional stacks only).
    pub first_reverse: Option<RecurrentCell<K, I, H, E>>,
    /// Layers 1 and up, reverse direction (empty unless bidirectional).
    pub rest_reverse: Vec<RecurrentCell<K, D::Out<H>, H, E>>,
    dropout: Dropout,
    layers: L,
    hidden: H,
    options: PhantomData<(D, F)>,
}

/// `nn.LSTM(I, H, num_layers=L, batch_first=True)` with sizes in the type; `F = SeqFirst`
/// for `batch_first=False`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LSTM, Module};
/// use rand::SeedableRng;
/// let lstm = LSTM::<3, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = Tensor::<Rank3<2, 4, 3>>::ones(); // (batch, seq, input)
/// let (y, (h_n, c_n)) = lstm.forward(x);
/// assert_eq!(y.dims().as_slice(), &[2, 4, 5]);
/// assert_eq!(h_n.dims().as_slice(), &[1, 2, 5]);
/// ```
pub type LSTM<const I: usize, const H: usize, const L: usize = 1, E = f32, F = BatchFirst> =
    Recurrent<LstmKind, Const<I>, Const<H>, Const<L>, E, Unidirectional, F>;
/// `nn.GRU(I, H, num_layers=L, batch_first=True)` with sizes in the type.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{GRU, Module};
/// use rand::SeedableRng;
/// let gru = GRU::<3, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let (y, h_n) = gru.forward(Tensor::<Rank3<2, 4, 3>>::ones());
/// assert_eq!(y.dims().as_slice(), &[2, 4, 5]);
/// ```
pub type GRU<const I: usize, const H: usize, const L: usize = 1, E = f32, F = BatchFirst> =
    Recurrent<GruKind, Const<I>, Const<H>, Const<L>, E, Unidirectional, F>;
/// `nn.RNN(I, H, num_layers=L, nonlinearity="tanh", batch_first=True)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RNN};
/// use rand::SeedableRng;
/// let rnn = RNN::<3, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let (y, _h_n) = rnn.forward(Tensor::<Rank3<2, 4, 3>>::ones());
/// assert!(y.to_vec().iter().all(|v| v.abs() < 1.0));
/// ```
pub type RNN<const I: usize, const H: usize, const L: usize = 1, E = f32, F = BatchFirst> =
    Recurrent<RnnTanhKind, Const<I>, Const<H>, Const<L>, E, Unidirectional, F>;
/// `nn.RNN(I, H, num_layers=L, nonlinearity="relu", batch_first=True)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RNNRelu};
/// use rand::SeedableRng;
/// let rnn = RNNRelu::<3, 5, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let (y, _h_n) = rnn.forward(Tensor::<Rank3<2, 4, 3>>::ones());
/// assert!(y.to_vec().iter().all(|&v| v >= 0.0));
/// ```
pub type RNNRelu<const I: usize, const H: usize, const L: usize = 1, E = f32, F = BatchFirst> =
    Recurrent<RnnReluKind, Const<I>, Const<H>, Const<L>, E, Unidirectional, F>;
/// `nn.LSTM(I, H, num_layers=L, bidirectional=True, batch_first=True)`: `y` is
/// `(B, T, 2H)`, `h_n`/`c_n` `(2L, B, H)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BiLSTM, Module};
/// use rand::SeedableRng;
/// let lstm = BiLSTM::<3, 5, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let (y, (h_n, c_n)) = lstm.forward(Tensor::<Rank3<2, 4, 3>>::ones());
/// assert_eq!(y.dims().as_slice(), &[2, 4, 10]);
/// assert_eq!(c_n.dims().as_slice(), &[4, 2, 5]);
/// ```
pub type BiLSTM<const I: usize, const H: usize, const L: usize = 1, E = f32, F = BatchFirst> =
    Recurrent<LstmKind, Const<I>, Const<H>, Const<L>, E, Bidirectional, F>;
/// `nn.GRU(I, H, num_layers=L, bidirectional=True, batch_first=True)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BiGRU, Module, Params};
/// use rand::SeedableRng;
/// let gru = BiGRU::<3, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(gru.param_names()[4], "weight_ih_l0_reverse");
/// ```
pub type BiGRU<const I: usize, const H: usize, const L: usize = 1, E = f32, F = BatchFirst> =
    Recurrent<GruKind, Const<I>, Const<H>, Const<L>, E, Bidirectional, F>;
/// `nn.RNN(I, H, num_layers=L, bidirectional=True, batch_first=True)` (tanh).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BiRNN, Module};
/// use rand::SeedableRng;
/// let rnn = BiRNN::<3, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(rnn.forward(Tensor::<Rank3<2, 4, 3>>::ones()).1.dims().as_slice(), &[2, 2, 5]);
/// ```
pub type BiRNN<const I: usize, const H: usize, const L: usize = 1, E = f32, F = BatchFirst> =
    Recurrent<RnnTanhKind, Const<I>, Const<H>, Const<L>, E, Bidirectional, F>;
/// `nn.RNN(I, H, num_layers=L, nonlinearity="relu", bidirectional=True, batch_first=True)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BiRNNRelu, Module};
/// use rand::SeedableRng;
/// let rnn = BiRNNRelu::<3, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(rnn.forward(Tensor::<Rank3<2, 4, 3>>::ones()).0.dims().as_slice(), &[2, 4, 10]);
/// ```
pub type BiRNNRelu<const I: usize, const H: usize, const L: usize = 1, E = f32, F = BatchFirst> =
    Recurrent<RnnReluKind, Const<I>, Const<H>, Const<L>, E, Bidirectional, F>;
/// A recurrent stack of kind `K` with sizes known at run time.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Bidirectional, GruKind, Module, RecurrentDyn};
/// use rand::SeedableRng;
/// let gru = RecurrentDyn::<GruKind, f32, Bidirectional>::new_dyn(3, 4, 2, true, &mut rand::rngs::StdRng::seed_from_u64(0));
/// let (y, h_n) = gru.forward(Tensor::<(usize, usize, usize)>::ones_with_shape((2, 5, 3)));
/// assert_eq!(y.dims().as_slice(), &[2, 5, 8]);
/// assert_eq!(h_n.dims().as_slice(), &[4, 2, 4]);
/// ```
pub type RecurrentDyn<K, E = f32, D = Unidirectional, F = BatchFirst> =
    Recurrent<K, usize, usize, usize, E, D, F>;
/// An LSTM with sizes known at run time.
///
/// ```
/// use shaped::nn::LSTMDyn;
/// use rand::SeedableRng;
/// let lstm = LSTMDyn::<f32>::new_dyn(3, 4, 2, true, &mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(lstm.num_layers(), 2);
/// ```
pub type LSTMDyn<E = f32> = Recurrent<LstmKind, usize, usize, usize, E>;
/// A GRU with sizes known at run time.
///
/// ```
/// use shaped::nn::GRUDyn;
/// use rand::SeedableRng;
/// assert_eq!(GRUDyn::<f32>::new_dyn(3, 4, 1, true, &mut rand::rngs::StdRng::seed_from_u64(0)).hidden_size(), 4);
/// ```
pub type GRUDyn<E = f32> = Recurrent<GruKind, usize, usize, usize, E>;
/// A tanh RNN with sizes known at run time.
///
/// ```
/// use shaped::nn::RNNDyn;
/// use rand::SeedableRng;
/// assert!(!RNNDyn::<f32>::new_dyn(3, 4, 1, true, &mut rand::rngs::StdRng::seed_from_u64(0)).bidirectional());
/// ```
pub type RNNDyn<E = f32> = Recurrent<RnnTanhKind, usize, usize, usize, E>;

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float, D: Direction, F: Layout>
    Recurrent<K, I, H, L, E, D, F>
{
    /// A layer stack with the given sizes, initialised like PyTorch from `rng` (every weight
    /// and bias uniform in `±1/sqrt(hidden)`); no biases when `bias` is false. Panics
    /// without layers.
    ///
    /// ```
    /// use shaped::nn::{BiLSTM, Params};
    /// use shaped::shape::Const;
    /// use rand::SeedableRng;
    /// let lstm = BiLSTM::<3, 4, 2>::with_dims(Const, Const, Const, false, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(lstm.param_names().len(), 8); // 2 weights x 2 directions x 2 layers
    /// assert_eq!(lstm.rest[0].weight_ih.dims().as_slice(), &[16, 8]); // layer 1 reads 2H
    /// ```
    pub fn with_dims<R: Rng + ?Sized>(
        input: I,
        hidden: H,
        layers: L,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        assert!(
            layers.size() >= 1,
            "a recurrent layer needs at least one layer"
        );
        let two = D::NUM == 2;
        let first = RecurrentCell::with_dims(input, hidden, bias, rng);
        let first_reverse = two.then(|| RecurrentCell::with_dims(input, hidden, bias, rng));
        let (mut rest, mut rest_reverse) = (Vec::new(), Vec::new());
        for _ in 1..layers.size() {
            rest.push(RecurrentCell::with_dims(D::out(hidden), hidden, bias, rng));
            if two {
                rest_reverse.push(RecurrentCell::with_dims(D::out(hidden), hidden, bias, rng));
            }
        }
        Recurrent {
            first,
            rest,
            first_reverse,
            rest_reverse,
            dropout: Dropout::with_seed(0.0, 0),
            layers,
            hidden,
            options: PhantomData,
        }
    }

    /// PyTorch's `dropout=p`: in training mode ([`forward_train`](super::Module::forward_train),
    /// or `forward` after [`train`](super::Params::train)) the outputs of every layer but the last are dropped with probability `p` (and the rest
    /// scaled by `1/(1-p)`) before the next layer reads them; evaluation is unaffected. The
    /// masks' generator is seeded from `rng`. Panics unless `0 <= p <= 1`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{LSTM, Module};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let mut lstm = LSTM::<3, 4, 2>::new(&mut rng).with_dropout(0.5, &mut rng);
    /// let x = Tensor::<Rank3<1, 6, 3>>::ones();
    /// let (eval_a, _) = lstm.forward(x.clone());
    /// let (eval_b, _) = lstm.forward(x.clone());
    /// assert_eq!(eval_a.to_vec(), eval_b.to_vec()); // no dropout in evaluation
    /// let (train, _) = lstm.forward_train(x);
    /// assert_ne!(train.to_vec(), eval_a.to_vec());
    /// ```
    #[track_caller]
    pub fn with_dropout<R: Rng + ?Sized>(self, p: f64, rng: &mut R) -> Self {
        self.try_with_dropout(p, rng).or_panic()
    }

    /// [`with_dropout`](Self::with_dropout), with an error for `p` outside `[0, 1]`.
    ///
    /// ```
    /// use shaped::nn::GRU;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// assert!(GRU::<3, 4, 2>::new(&mut rng).try_with_dropout(-0.1, &mut rng).is_err());
    /// ```
    pub fn try_with_dropout<R: Rng + ?Sized>(mut self, p: f64, rng: &mut R) -> Result<Self> {
        let training = Params::<E>::is_training(&self.dropout);
        self.dropout = Dropout::try_new(p, rng)?;
        Params::<E>::set_training(&mut self.dropout, training);
        Ok(self)
    }

    /// The dropout probability between layers (0 unless set).
    ///
    /// ```
    /// use shaped::nn::GRU;
    /// use rand::SeedableRng;
    /// assert_eq!(GRU::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).dropout(), 0.0);
    /// ```
    pub fn dropout(&self) -> f64 {
        self.dropout.p()
    }

    /// Number of layers.
    ///
    /// ```
    /// use shaped::nn::BiRNN;
    /// use rand::SeedableRng;
    /// assert_eq!(BiRNN::<3, 4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).num_layers(), 2);
    /// ```
    pub fn num_layers(&self) -> usize {
        self.layers.size()
    }
    /// Hidden size.
    ///
    /// ```
    /// use shaped::nn::RNN;
    /// use rand::SeedableRng;
    /// assert_eq!(RNN::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).hidden_size(), 4);
    /// ```
    pub fn hidden_size(&self) -> usize {
        self.hidden.size()
    }
    /// Whether the stack runs both directions (PyTorch's `bidirectional`).
    ///
    /// ```
    /// use shaped::nn::BiGRU;
    /// use rand::SeedableRng;
    /// assert!(BiGRU::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).bidirectional());
    /// ```
    pub fn bidirectional(&self) -> bool {
        D::NUM == 2
    }
    /// Whether inputs are `(batch, seq, input)` (PyTorch's `batch_first`).
    ///
    /// ```
    /// use shaped::nn::{LSTM, SeqFirst};
    /// use rand::SeedableRng;
    /// assert!(!LSTM::<3, 4, 1, f32, SeqFirst>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).batch_first());
    /// ```
    pub fn batch_first(&self) -> bool {
        F::BATCH_FIRST
    }
    pub(crate) fn layers_dim(&self) -> L {
        self.layers
    }
    pub(crate) fn hidden_dim(&self) -> H {
        self.hidden
    }
    pub(crate) fn dropout_layer(&self) -> &Dropout {
        &self.dropout
    }
}

impl<K: CellKind, const I: usize, const H: usize, const L: usize, E: Float, D: Direction, F: Layout>
    Recurrent<K, Const<I>, Const<H>, Const<L>, E, D, F>
{
    /// A static-size layer stack with biases, PyTorch's initialisation from `rng`.
    ///
    /// ```
    /// use shaped::nn::{GRU, Params};
    /// use rand::SeedableRng;
    /// let gru = GRU::<3, 4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(gru.param_names()[4], "weight_ih_l1");
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, Const, true, rng)
    }
}

impl<K: CellKind, E: Float, D: Direction, F: Layout> Recurrent<K, usize, usize, usize, E, D, F> {
    /// A run-time-size layer stack.
    ///
    /// ```
    /// use shaped::nn::LSTMDyn;
    /// use rand::SeedableRng;
    /// let lstm = LSTMDyn::<f32>::new_dyn(3, 4, 1, false, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert!(lstm.first.bias_ih.is_none());
    /// ```
    pub fn new_dyn<R: Rng + ?Sized>(
        input: usize,
        hidden: usize,
        layers: usize,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        Self::with_dims(input, hidden, layers, bias, rng)
    }
}

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float, D: Direction, F: Layout> Params<E>
    for Recurrent<K, I, H, L, E, D, F>
{
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.first.visit_named(prefix, "_l0", f);
        if let Some(w) = &self.first_reverse {
            w.visit_named(prefix, "_l0_reverse", f);
        }
        for (k, w) in self.rest.iter().enumerate() {
            w.visit_named(prefix, &format!("_l{}", k + 1), f);
            if let Some(w) = self.rest_reverse.get(k) {
                w.visit_named(prefix, &format!("_l{}_reverse", k + 1), f);
            }
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.first.visit_named_mut(prefix, "_l0", f);
        if let Some(w) = &mut self.first_reverse {
            w.visit_named_mut(prefix, "_l0_reverse", f);
        }
        for (k, w) in self.rest.iter_mut().enumerate() {
            w.visit_named_mut(prefix, &format!("_l{}", k + 1), f);
            if let Some(w) = self.rest_reverse.get_mut(k) {
                w.visit_named_mut(prefix, &format!("_l{}_reverse", k + 1), f);
            }
        }
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        let mut s = format!(
            "{}({}, {}",
            K::NAME,
            self.first.weight_ih.shape.1.size(),
            self.hidden.size()
        );
        if self.layers.size() != 1 {
            s += &format!(", num_layers={}", self.layers.size());
        }
        if K::MODE == "RNN_RELU" {
            s += ", nonlinearity='relu'";
        }
        if self.first.bias_ih.is_none() {
            s += ", bias=False";
        }
        if F::BATCH_FIRST {
            s += ", batch_first=True";
        }
        if self.dropout.p() != 0.0 {
            s += &format!(", dropout={}", super::summary::py_float(self.dropout.p()));
        }
        if D::NUM == 2 {
            s += ", bidirectional=True";
        }
        f(super::module_name(prefix), s + ")")
    }
    fn set_training(&mut self, training: bool) {
        Params::<E>::set_training(&mut self.dropout, training);
    }
    fn is_training(&self) -> bool {
        Params::<E>::is_training(&self.dropout)
    }
}

pub(crate) type Seq<E, T> = Tensor<(usize, usize, usize), E, T>;
type Mat<E, T> = Tensor<(usize, usize), E, T>;

/// The state of one layer and direction for a batch: `h`, plus `c` for an LSTM.
pub(crate) struct LayerState<E: Float, T> {
    h: Mat<E, T>,
    c: Option<Mat<E, T>>,
}

/// `x` `[B, S, F]` with its steps in reverse order.
fn flip_time<E: Float, T: Tape<E>>(x: Seq<E, T>) -> Seq<E, T> {
    let s = x.shape.1;
    let idx = Indices::<(usize,)>::from_vec_with_shape((0..s).rev().collect(), (s,))
        .expect("one index per step");
    x.index_select::<1, usize>(&idx)
}

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float, D: Direction, F: Layout>
    Recurrent<K, I, H, L, E, D, F>
{
    /// Runs one layer and direction over the whole sequence; returns all outputs and the
    /// final state.
    fn run_layer<T: Tape<E>, In: Dim>(
        w: &RecurrentCell<K, In, H, E>,
        x: Seq<E, T>,
        state: LayerState<E, T>,
    ) -> (Seq<E, T>, LayerState<E, T>) {
        let (b, s, hsz) = (x.shape.0, x.shape.1, w.hidden_size());
        let LayerState { mut h, mut c } = state;
        if K::MODE == "LSTM" {
            // Both biases go to the sequence op, which adds them once and sums their
            // (equal) gradients once.
            let gx = w.project_input(x, false);
            let c0 = c.take().expect("an LSTM layer carries a cell state");
            let (y, h, c) = lstm_sequence_op(
                gx,
                w.weight_hh.traced_as::<T>(),
                [&w.bias_ih, &w.bias_hh].map(|b| b.as_ref().map(|b| b.traced_as::<T>())),
                h,
                c0,
            );
            return (y, LayerState { h, c: Some(c) });
        }
        let gx = w.project_input(x, true);
        let mut outputs = Vec::with_capacity(s);
        for t in 0..s {
            let gh = w.project_hidden(h.clone());
            h = match K::MODE {
                "GRU" => gru_cell_op(gx.clone(), t, gh, h),
                mode => rnn_cell_op(gx.clone(), t, gh, (b, hsz), mode == "RNN_RELU"),
            };
            outputs.push(h.clone());
        }
        let y = stack_op(outputs, 1, (b, s, hsz));
        (y, LayerState { h, c })
    }

    /// Runs one layer in every direction: the reverse cell reads the steps last to first,
    /// and its outputs, put back in time order, follow the forward ones on the last axis.
    fn run_directions<T: Tape<E>, In: Dim>(
        fwd: &RecurrentCell<K, In, H, E>,
        rev: Option<&RecurrentCell<K, In, H, E>>,
        x: Seq<E, T>,
        states: &mut impl Iterator<Item = LayerState<E, T>>,
        finals: &mut Vec<LayerState<E, T>>,
    ) -> Seq<E, T> {
        let mut next = || states.next().expect("one state per layer and direction");
        let Some(rev) = rev else {
            let (y, st) = Self::run_layer(fwd, x, next());
            finals.push(st);
            return y;
        };
        let (yf, sf) = Self::run_layer(fwd, x.clone(), next());
        let (yr, sr) = Self::run_layer(rev, flip_time(x), next());
        finals.extend([sf, sr]);
        let (b, s, h) = yf.shape;
        let y = yf.concat::<2, _, _>(flip_time(yr));
        retype(y, (b, s, 2 * h))
    }

    /// Runs every layer on a batch-first `x`. `state0` holds per-layer-and-direction `(h, c)`
    /// in PyTorch's order; `dropout` (training mode) acts between layers. Returns `y` and the
    /// final states in the same order.
    pub(crate) fn run<T: Tape<E>>(
        &self,
        x: Seq<E, T>,
        state0: Vec<LayerState<E, T>>,
        dropout: Option<&Dropout>,
    ) -> Result<(Seq<E, T>, Vec<LayerState<E, T>>)> {
        let mut states = state0.into_iter();
        let mut finals = Vec::with_capacity(self.num_layers() * D::NUM);
        let rev = self.first_reverse.as_ref();
        let mut y = Self::run_directions(&self.first, rev, x, &mut states, &mut finals);
        for (k, w) in self.rest.iter().enumerate() {
            if let Some(d) = dropout {
                y = d.drop_shared(y);
            }
            let rev = self.rest_reverse.get(k);
            y = Self::run_directions(w, rev, y, &mut states, &mut finals);
        }
        Ok((y, finals))
    }

    /// The zeros every layer and direction starts from when no state is given: constants
    /// that take no gradient (as PyTorch's default `hx`), so the backward pass skips the
    /// products that only their gradients need.
    pub(crate) fn zero_state<T: Tape<E>>(&self, batch: usize) -> Vec<LayerState<E, T>> {
        let zeros = || {
            Tensor::<(usize, usize), E>::zeros_with_shape((batch, self.hidden.size()))
                .put_tape(T::untracked())
        };
        (0..self.num_layers() * D::NUM)
            .map(|_| LayerState {
                h: zeros(),
                c: (K::MODE == "LSTM").then(zeros),
            })
            .collect()
    }

    /// Splits `(L*D, B, H)` states into per-layer-and-direction `(B, H)` tensors, checking
    /// their sizes against `batch`.
    pub(crate) fn split_state<SS: Shape, T: Tape<E>>(
        &self,
        batch: usize,
        h: Tensor<SS, E, T>,
        c: Option<Tensor<SS, E, T>>,
    ) -> Result<Vec<LayerState<E, T>>> {
        let d = h.shape.dims();
        let want = [self.num_layers() * D::NUM, batch, self.hidden.size()];
        if d.as_slice() != want || c.as_ref().is_some_and(|c| c.shape.dims() != d) {
            let what = if c.is_some() { "(h_0, c_0)" } else { "h_0" };
            return Err(Error::shape(
                K::NAME,
                format!(
                    "initial state {what} of shape {:?} does not fit (num_layers * num_directions, batch, hidden) = {want:?}",
                    d.as_slice()
                ),
            ));
        }
        let rows = |t: Tensor<SS, E, T>| -> Vec<Mat<E, T>> {
            let t = retype(t, (want[0], want[1], want[2]));
            (0..want[0]).map(|l| t.clone().select::<0>(l)).collect()
        };
        let hs = rows(h);
        let cs: Vec<Option<Mat<E, T>>> = match c {
            Some(c) => rows(c).into_iter().map(Some).collect(),
            None => (0..want[0]).map(|_| None).collect(),
        };
        Ok(hs
            .into_iter()
            .zip(cs)
            .map(|(h, c)| LayerState { h, c })
            .collect())
    }

    /// Checks the feature size of `x` (`dims` of rank 3, or `(B, I)` for a step).
    pub(crate) fn check_input(&self, dims: &[usize]) -> Result<()> {
        let want = self.first.input_size();
        if dims.last() != Some(&want) {
            return Err(Error::shape(
                K::NAME,
                format!("input of shape {dims:?} does not fit (.., {want}) (input_size {want})"),
            ));
        }
        Ok(())
    }

    /// Stacks the final states into `(L*D, B, H)` tensors of type `(LS, B, H)`.
    pub(crate) fn stack_states<LS: Dim, B: Dim, T: Tape<E>>(
        &self,
        finals: Vec<LayerState<E, T>>,
        states: LS,
        batch: B,
    ) -> (Tensor<(LS, B, H), E, T>, Option<Tensor<(LS, B, H), E, T>>) {
        let shape = (states, batch, self.hidden);
        let (hs, cs): (Vec<_>, Vec<_>) = finals.into_iter().map(|s| (s.h, s.c)).unzip();
        let c = cs
            .into_iter()
            .collect::<Option<Vec<_>>>()
            .map(|cs| stack_op(cs, 0, shape));
        (stack_op(hs, 0, shape), c)
    }
}

/// The same tensor under another shape type with identical sizes. It keeps the id: the
/// layout is unchanged, so gradients accumulated under either type are the same buffer.
pub(crate) fn retype<S1: Shape, S2: Shape, E: Float, T>(
    t: Tensor<S1, E, T>,
    shape: S2,
) -> Tensor<S2, E, T> {
    debug_assert_eq!(t.shape.numel(), shape.numel());
    Tensor {
        shape,
        data: t.data,
        id: t.id,
        tape: t.tape,
    }
}

/// The state of every layer: `h` `(L, B, H)`, and `c` for an LSTM. Returned by
/// [`Recurrent::step`] and passed back for the next step.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{GRU, RecurrentState};
/// use rand::SeedableRng;
/// let gru = GRU::<3, 4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let state = RecurrentState { h: Tensor::<Rank3<2, 1, 4>>::zeros(), c: None };
/// let (y, next) = gru.step(Tensor::<Rank2<1, 3>>::ones(), Some(state)).unwrap();
/// assert_eq!(next.h.dims().as_slice(), &[2, 1, 4]);
/// ```
pub struct RecurrentState<L: Dim, B: Dim, H: Dim, E: Float, T> {
    /// Hidden state per layer.
    pub h: Tensor<(L, B, H), E, T>,
    /// Cell state per layer (LSTM only).
    pub c: Option<Tensor<(L, B, H), E, T>>,
}

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float, F: Layout>
    Recurrent<K, I, H, L, E, Unidirectional, F>
{
    /// Runs one time step through every layer (for generation): `x` is `(batch, input)`;
    /// `state` is the previous step's (zeros when `None`). Returns the top layer's output
    /// `(batch, hidden)` and the new state. (One direction only: a reverse direction needs
    /// the whole sequence. Dropout is off, as in evaluation.)
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::LSTM;
    /// use rand::SeedableRng;
    /// let lstm = LSTM::<3, 4, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let (y1, s) = lstm.step(Tensor::<Rank2<1, 3>>::ones(), None).unwrap();
    /// let (y2, _) = lstm.step(Tensor::<Rank2<1, 3>>::ones(), Some(s)).unwrap();
    /// assert_eq!(y2.dims().as_slice(), &[1, 4]);
    /// assert_ne!(y1.to_vec(), y2.to_vec());
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn step<B: Dim, X: DimEq<I>, T: Tape<E>>(
        &self,
        x: Tensor<(B, X), E, T>,
        state: Option<RecurrentState<L, B, H, E, T>>,
    ) -> Result<(Tensor<(B, H), E, T>, RecurrentState<L, B, H, E, T>)> {
        let b = x.shape.0;
        self.check_input(&x.shape.dims())?;
        x.shape.1.dim_eq(self.first.weight_ih.shape.1)?;
        let states = match state {
            None => self.zero_state(b.size()),
            Some(st) => self.split_state(b.size(), st.h, st.c)?,
        };
        // Layer by layer through the fused one-step cell: no sequence bookkeeping.
        let bh = (b.size(), self.hidden);
        let mut finals = Vec::with_capacity(states.len());
        let mut input = retype(x, (b.size(), self.first.input_size()));
        for (k, st) in states.into_iter().enumerate() {
            let st = Some((retype(st.h, bh), st.c.map(|c| retype(c, bh))));
            let (h, c) = match k {
                0 => self.first.step(input, st),
                k => self.rest[k - 1].step(input, st),
            };
            input = retype(h.clone(), (bh.0, bh.1.size()));
            finals.push(LayerState {
                h: retype(h, (bh.0, bh.1.size())),
                c: c.map(|c| retype(c, (bh.0, bh.1.size()))),
            });
        }
        let y = input;
        let (h, c) = self.stack_states(finals, self.layers, b);
        Ok((retype(y, (b, self.hidden)), RecurrentState { h, c }))
    }
}
