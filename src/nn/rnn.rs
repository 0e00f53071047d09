//! Recurrent layers: RNN (tanh), LSTM and GRU, batch-first, one or more layers, optional
//! initial state, returning every step's output and the final state, plus a single-step API
//! for generation. Parameters use PyTorch's names and layouts: `weight_ih_l{k}` is
//! `(gates * hidden, input)` with LSTM gates stacked `i, f, g, o` and GRU gates `r, z, n`.

use super::init;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::linear::linear_op;
use crate::ops::rnn::{gru_cell_op, lstm_cell_op, lstm_sequence_op, rnn_tanh_cell_op};
use crate::ops::shape_ops::stack_op;
use crate::shape::{Const, ConstDim, Dim, DimEq, Prod, Shape};
use crate::tensor::Tensor;
use rand::Rng;

/// Which recurrent cell a [`Recurrent`] layer runs.
pub trait CellKind: Copy + Default + Send + Sync + 'static {
    /// Gates per hidden unit: 1 (RNN), 3 (GRU), 4 (LSTM).
    type Gates: crate::shape::ConstDim;
    /// PyTorch's module name, for messages.
    const NAME: &'static str;
}

/// Elman RNN with tanh (`nn.RNN(nonlinearity="tanh")`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RnnTanhCell;
/// Long short-term memory (`nn.LSTM`).
#[derive(Clone, Copy, Debug, Default)]
pub struct LstmCell;
/// Gated recurrent unit (`nn.GRU`).
#[derive(Clone, Copy, Debug, Default)]
pub struct GruCell;
impl CellKind for RnnTanhCell {
    type Gates = Const<1>;
    const NAME: &'static str = "RNN";
}
impl CellKind for LstmCell {
    type Gates = Const<4>;
    const NAME: &'static str = "LSTM";
}
impl CellKind for GruCell {
    type Gates = Const<3>;
    const NAME: &'static str = "GRU";
}

/// The weights of one layer: `(gates*H, In)`, `(gates*H, H)` and two biases.
#[derive(Clone, Debug)]
pub struct CellWeights<K: CellKind, In: Dim, H: Dim, E: Float> {
    /// Input-to-hidden weights, `(gates * hidden, input)`.
    pub weight_ih: Tensor<(Prod<K::Gates, H>, In), E>,
    /// Hidden-to-hidden weights, `(gates * hidden, hidden)`.
    pub weight_hh: Tensor<(Prod<K::Gates, H>, H), E>,
    /// Input-to-hidden bias.
    pub bias_ih: Option<Tensor<(Prod<K::Gates, H>,), E>>,
    /// Hidden-to-hidden bias.
    pub bias_hh: Option<Tensor<(Prod<K::Gates, H>,), E>>,
}

impl<K: CellKind, In: Dim, H: Dim, E: Float> CellWeights<K, In, H, E> {
    fn new<R: Rng + ?Sized>(input: In, hidden: H, bias: bool, rng: &mut R) -> Self {
        // PyTorch: every weight and bias uniform in +-1/sqrt(hidden).
        let bound = init::linear_bound(hidden.size());
        let g = Prod(K::Gates::default(), hidden);
        CellWeights {
            weight_ih: init::uniform((g, input), bound, rng),
            weight_hh: init::uniform((g, hidden), bound, rng),
            bias_ih: bias.then(|| init::uniform((g,), bound, rng)),
            bias_hh: bias.then(|| init::uniform((g,), bound, rng)),
        }
    }

    fn visit(&self, prefix: &str, layer: usize, f: &mut dyn FnMut(ParamView<'_, E>)) {
        let p = TensorKind::Parameter;
        visit_tensor(
            &self.weight_ih,
            &format!("{prefix}weight_ih_l{layer}"),
            p,
            f,
        );
        visit_tensor(
            &self.weight_hh,
            &format!("{prefix}weight_hh_l{layer}"),
            p,
            f,
        );
        if let Some(b) = &self.bias_ih {
            visit_tensor(b, &format!("{prefix}bias_ih_l{layer}"), p, f);
        }
        if let Some(b) = &self.bias_hh {
            visit_tensor(b, &format!("{prefix}bias_hh_l{layer}"), p, f);
        }
    }

    fn visit_mut(&mut self, prefix: &str, layer: usize, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        let p = TensorKind::Parameter;
        visit_tensor_mut(
            &mut self.weight_ih,
            &format!("{prefix}weight_ih_l{layer}"),
            p,
            f,
        );
        visit_tensor_mut(
            &mut self.weight_hh,
            &format!("{prefix}weight_hh_l{layer}"),
            p,
            f,
        );
        if let Some(b) = &mut self.bias_ih {
            visit_tensor_mut(b, &format!("{prefix}bias_ih_l{layer}"), p, f);
        }
        if let Some(b) = &mut self.bias_hh {
            visit_tensor_mut(b, &format!("{prefix}bias_hh_l{layer}"), p, f);
        }
    }

    /// `x W_ih^T + b_ih` for every step at once: `[B, S, In] -> [B, S, gates*H]`.
    fn project_input<SX: Shape, T: Tape<E>>(
        &self,
        x: Tensor<SX, E, T>,
    ) -> Tensor<(usize, usize, usize), E, T> {
        let d = x.shape.dims();
        let out = (d[0], d[1], self.weight_ih.shape.0.size());
        linear_op(
            x,
            self.weight_ih.traced_as::<T>(),
            self.bias_ih.as_ref().map(|b| b.traced_as::<T>()),
            out,
        )
    }

    /// `h W_hh^T + b_hh`: `[B, H] -> [B, gates*H]`.
    fn project_hidden<SH: Shape, T: Tape<E>>(
        &self,
        h: Tensor<SH, E, T>,
    ) -> Tensor<(usize, usize), E, T> {
        let out = (h.shape.dims()[0], self.weight_hh.shape.0.size());
        linear_op(
            h,
            self.weight_hh.traced_as::<T>(),
            self.bias_hh.as_ref().map(|b| b.traced_as::<T>()),
            out,
        )
    }
}

/// A recurrent layer stack of cell kind `K`: input size `I`, hidden size `H`, `L` layers
/// (layer 0 reads the input, layer k > 0 reads layer k-1's outputs). Batch-first:
/// inputs are `(batch, seq, I)`, outputs `(batch, seq, H)`, states `(L, batch, H)`.
/// Use the aliases [`LSTM`], [`GRU`], [`RNN`] (static sizes) or their `Dyn` forms.
#[derive(Clone, Debug)]
pub struct Recurrent<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float = f32> {
    /// Layer 0.
    pub first: CellWeights<K, I, H, E>,
    /// Layers 1 and up.
    pub rest: Vec<CellWeights<K, H, H, E>>,
    layers: L,
    hidden: H,
}

/// `nn.LSTM(I, H, num_layers=L, batch_first=True)` with sizes in the type.
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
pub type LSTM<const I: usize, const H: usize, const L: usize = 1, E = f32> =
    Recurrent<LstmCell, Const<I>, Const<H>, Const<L>, E>;
/// `nn.GRU(I, H, num_layers=L, batch_first=True)` with sizes in the type.
pub type GRU<const I: usize, const H: usize, const L: usize = 1, E = f32> =
    Recurrent<GruCell, Const<I>, Const<H>, Const<L>, E>;
/// `nn.RNN(I, H, num_layers=L, nonlinearity="tanh", batch_first=True)`.
pub type RNN<const I: usize, const H: usize, const L: usize = 1, E = f32> =
    Recurrent<RnnTanhCell, Const<I>, Const<H>, Const<L>, E>;
/// An LSTM with sizes known at run time.
pub type LSTMDyn<E = f32> = Recurrent<LstmCell, usize, usize, usize, E>;
/// A GRU with sizes known at run time.
pub type GRUDyn<E = f32> = Recurrent<GruCell, usize, usize, usize, E>;
/// A tanh RNN with sizes known at run time.
pub type RNNDyn<E = f32> = Recurrent<RnnTanhCell, usize, usize, usize, E>;

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float> Recurrent<K, I, H, L, E> {
    /// A layer stack with the given sizes, initialised like PyTorch from `rng`.
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
        let first = CellWeights::new(input, hidden, bias, rng);
        let rest = (1..layers.size())
            .map(|_| CellWeights::new(hidden, hidden, bias, rng))
            .collect();
        Recurrent {
            first,
            rest,
            layers,
            hidden,
        }
    }
    /// Number of layers.
    pub fn num_layers(&self) -> usize {
        self.layers.size()
    }
    /// Hidden size.
    pub fn hidden_size(&self) -> usize {
        self.hidden.size()
    }
}

impl<K: CellKind, const I: usize, const H: usize, const L: usize, E: Float>
    Recurrent<K, Const<I>, Const<H>, Const<L>, E>
{
    /// A static-size layer stack with biases, PyTorch's initialisation from `rng`.
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, Const, true, rng)
    }
}

impl<K: CellKind, E: Float> Recurrent<K, usize, usize, usize, E> {
    /// A run-time-size layer stack.
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

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float> Params<E> for Recurrent<K, I, H, L, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.first.visit(prefix, 0, f);
        for (k, w) in self.rest.iter().enumerate() {
            w.visit(prefix, k + 1, f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.first.visit_mut(prefix, 0, f);
        for (k, w) in self.rest.iter_mut().enumerate() {
            w.visit_mut(prefix, k + 1, f);
        }
    }
}

type Seq<E, T> = Tensor<(usize, usize, usize), E, T>;
type Mat<E, T> = Tensor<(usize, usize), E, T>;

/// The state of one layer for a batch: `h`, plus `c` for an LSTM.
struct LayerState<E: Float, T> {
    h: Mat<E, T>,
    c: Option<Mat<E, T>>,
}

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float> Recurrent<K, I, H, L, E> {
    /// Runs one layer over the whole sequence; returns all outputs and the final state.
    fn run_layer<SX: Shape, T: Tape<E>, In: Dim>(
        w: &CellWeights<K, In, H, E>,
        x: Tensor<SX, E, T>,
        state: LayerState<E, T>,
    ) -> (Seq<E, T>, LayerState<E, T>) {
        let d = x.shape.dims();
        let (b, s, hsz) = (d[0], d[1], w.weight_hh.shape.1.size());
        let gx = w.project_input(x);
        let LayerState { mut h, mut c } = state;
        if <K::Gates as ConstDim>::SIZE == 4 {
            let c0 = c.take().expect("an LSTM layer carries a cell state");
            let (y, h, c) = lstm_sequence_op(
                gx,
                w.weight_hh.traced_as::<T>(),
                w.bias_hh.as_ref().map(|b| b.traced_as::<T>()),
                h,
                c0,
            );
            return (y, LayerState { h, c: Some(c) });
        }
        let mut outputs = Vec::with_capacity(s);
        for t in 0..s {
            let gh = w.project_hidden(h.clone());
            match <K::Gates as ConstDim>::SIZE {
                4 => {
                    let c_prev = c.take().expect("an LSTM layer carries a cell state");
                    let (hn, cn) = lstm_cell_op(gx.clone(), t, gh, c_prev);
                    h = hn;
                    c = Some(cn);
                }
                3 => h = gru_cell_op(gx.clone(), t, gh, h),
                _ => h = rnn_tanh_cell_op(gx.clone(), t, gh, (b, hsz)),
            }
            outputs.push(h.clone());
        }
        let y = stack_op(outputs, 1, (b, s, hsz));
        (y, LayerState { h, c })
    }

    /// Runs every layer. `state0` holds per-layer `(h, c)`; returns `y` and per-layer states.
    fn run<SX: Shape, T: Tape<E>>(
        &self,
        x: Tensor<SX, E, T>,
        state0: Vec<LayerState<E, T>>,
    ) -> (Seq<E, T>, Vec<LayerState<E, T>>) {
        let mut states = state0.into_iter();
        let mut finals = Vec::with_capacity(self.num_layers());
        let (mut y, st) =
            Self::run_layer(&self.first, x, states.next().expect("one state per layer"));
        finals.push(st);
        for w in &self.rest {
            let (y2, st) = Self::run_layer(w, y, states.next().expect("one state per layer"));
            y = y2;
            finals.push(st);
        }
        (y, finals)
    }

    fn zero_state<T: Tape<E>>(&self, batch: usize) -> Vec<LayerState<E, T>> {
        let zeros = || {
            Tensor::<(usize, usize), E>::zeros_with_shape((batch, self.hidden.size()))
                .traced_as::<T>()
        };
        (0..self.num_layers())
            .map(|_| LayerState {
                h: zeros(),
                c: (<K::Gates as ConstDim>::SIZE == 4).then(zeros),
            })
            .collect()
    }

    /// Splits `(L, B, H)` states into per-layer `(B, H)` tensors.
    fn split_state<SS: Shape, T: Tape<E>>(
        &self,
        h: Tensor<SS, E, T>,
        c: Option<Tensor<SS, E, T>>,
    ) -> Result<Vec<LayerState<E, T>>> {
        let d = h.shape.dims();
        let want = [self.num_layers(), d[1], self.hidden.size()];
        if d.as_slice() != want || c.as_ref().is_some_and(|c| c.shape.dims() != d) {
            return Err(Error::shape(
                K::NAME,
                format!(
                    "initial state of shape {:?} does not fit (num_layers, batch, hidden) = {want:?}",
                    d.as_slice()
                ),
            ));
        }
        let rows = |t: Tensor<SS, E, T>| -> Vec<Mat<E, T>> {
            let t = t
                .try_realize::<(usize, usize, usize)>()
                .expect("rank checked above");
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

    fn check_input(&self, dims: &[usize]) -> Result<()> {
        let want = self.first.weight_ih.shape.1.size();
        if dims.len() != 3 || dims[2] != want {
            return Err(Error::shape(
                K::NAME,
                format!("input of shape {dims:?} does not fit (batch, seq, {want})"),
            ));
        }
        Ok(())
    }

    fn stack_states<B: Dim, T: Tape<E>>(
        &self,
        finals: Vec<LayerState<E, T>>,
        batch: B,
    ) -> (Tensor<(L, B, H), E, T>, Option<Tensor<(L, B, H), E, T>>) {
        let shape = (self.layers, batch, self.hidden);
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
fn retype<S1: Shape, S2: Shape, E: Float, T>(t: Tensor<S1, E, T>, shape: S2) -> Tensor<S2, E, T> {
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
pub struct RecurrentState<L: Dim, B: Dim, H: Dim, E: Float, T> {
    /// Hidden state per layer.
    pub h: Tensor<(L, B, H), E, T>,
    /// Cell state per layer (LSTM only).
    pub c: Option<Tensor<(L, B, H), E, T>>,
}

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float> Recurrent<K, I, H, L, E> {
    /// Runs one time step through every layer (for generation): `x` is `(batch, input)`;
    /// `state` is the previous step's (zeros when `None`). Returns the top layer's output
    /// `(batch, hidden)` and the new state.
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
        let seq = retype(x, (b.size(), 1usize, x_size(&b, &self.first)));
        self.check_input(&seq.shape.dims())?;
        let states = match state {
            None => self.zero_state(b.size()),
            Some(st) => self.split_state(st.h, st.c)?,
        };
        let (y, finals) = self.run(seq, states);
        let (h, c) = self.stack_states(finals, b);
        Ok((retype(y, (b, self.hidden)), RecurrentState { h, c }))
    }
}

fn x_size<B: Dim, K: CellKind, In: Dim, H: Dim, E: Float>(
    _: &B,
    w: &CellWeights<K, In, H, E>,
) -> usize {
    w.weight_ih.shape.1.size()
}

impl<I: Dim, H: Dim, L: Dim, E: Float, B: Dim, S: Dim, X: DimEq<I>, T: Tape<E>>
    Module<Tensor<(B, S, X), E, T>> for Recurrent<LstmCell, I, H, L, E>
{
    /// `(y, (h_n, c_n))`.
    #[allow(clippy::type_complexity)]
    type Output = (
        Tensor<(B, S, H), E, T>,
        (Tensor<(L, B, H), E, T>, Tensor<(L, B, H), E, T>),
    );
    fn try_forward(&self, x: Tensor<(B, S, X), E, T>) -> Result<Self::Output> {
        let (b, s) = (x.shape.0, x.shape.1);
        self.check_input(&x.shape.dims())?;
        let (y, finals) = self.run(x, self.zero_state(b.size()));
        let (h, c) = self.stack_states(finals, b);
        Ok((
            retype(y, (b, s, self.hidden)),
            (h, c.expect("LSTM layers carry a cell state")),
        ))
    }
}

impl<I, H, L, E, B, S, X, L2, B2, H2, T>
    Module<(
        Tensor<(B, S, X), E, T>,
        (Tensor<(L2, B2, H2), E, T>, Tensor<(L2, B2, H2), E, T>),
    )> for Recurrent<LstmCell, I, H, L, E>
where
    I: Dim,
    H: Dim,
    L: Dim,
    E: Float,
    B: Dim,
    S: Dim,
    X: DimEq<I>,
    L2: DimEq<L>,
    B2: DimEq<B>,
    H2: DimEq<H>,
    T: Tape<E>,
{
    /// `(y, (h_n, c_n))`.
    #[allow(clippy::type_complexity)]
    type Output = (
        Tensor<(B, S, H), E, T>,
        (Tensor<(L, B, H), E, T>, Tensor<(L, B, H), E, T>),
    );
    fn try_forward(
        &self,
        (x, (h0, c0)): (
            Tensor<(B, S, X), E, T>,
            (Tensor<(L2, B2, H2), E, T>, Tensor<(L2, B2, H2), E, T>),
        ),
    ) -> Result<Self::Output> {
        let (b, s) = (x.shape.0, x.shape.1);
        self.check_input(&x.shape.dims())?;
        let states = self.split_state(h0, Some(c0))?;
        let (y, finals) = self.run(x, states);
        let (h, c) = self.stack_states(finals, b);
        Ok((
            retype(y, (b, s, self.hidden)),
            (h, c.expect("LSTM layers carry a cell state")),
        ))
    }
}

macro_rules! h_only_modules {
    ($Cell:ty) => {
        impl<I: Dim, H: Dim, L: Dim, E: Float, B: Dim, S: Dim, X: DimEq<I>, T: Tape<E>>
            Module<Tensor<(B, S, X), E, T>> for Recurrent<$Cell, I, H, L, E>
        {
            /// `(y, h_n)`.
            type Output = (Tensor<(B, S, H), E, T>, Tensor<(L, B, H), E, T>);
            fn try_forward(&self, x: Tensor<(B, S, X), E, T>) -> Result<Self::Output> {
                let (b, s) = (x.shape.0, x.shape.1);
                self.check_input(&x.shape.dims())?;
                let (y, finals) = self.run(x, self.zero_state(b.size()));
                let (h, _) = self.stack_states(finals, b);
                Ok((retype(y, (b, s, self.hidden)), h))
            }
        }

        impl<I, H, L, E, B, S, X, L2, B2, H2, T>
            Module<(Tensor<(B, S, X), E, T>, Tensor<(L2, B2, H2), E, T>)>
            for Recurrent<$Cell, I, H, L, E>
        where
            I: Dim,
            H: Dim,
            L: Dim,
            E: Float,
            B: Dim,
            S: Dim,
            X: DimEq<I>,
            L2: DimEq<L>,
            B2: DimEq<B>,
            H2: DimEq<H>,
            T: Tape<E>,
        {
            /// `(y, h_n)`.
            type Output = (Tensor<(B, S, H), E, T>, Tensor<(L, B, H), E, T>);
            fn try_forward(
                &self,
                (x, h0): (Tensor<(B, S, X), E, T>, Tensor<(L2, B2, H2), E, T>),
            ) -> Result<Self::Output> {
                let (b, s) = (x.shape.0, x.shape.1);
                self.check_input(&x.shape.dims())?;
                let states = self.split_state(h0, None)?;
                let (y, finals) = self.run(x, states);
                let (h, _) = self.stack_states(finals, b);
                Ok((retype(y, (b, s, self.hidden)), h))
            }
        }
    };
}
h_only_modules!(GruCell);
h_only_modules!(RnnTanhCell);
