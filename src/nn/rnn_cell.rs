//! Recurrent cells: one time step of an LSTM, GRU or Elman RNN (PyTorch's `LSTMCell`,
//! `GRUCell`, `RNNCell`). A cell is also one layer and direction of a
//! [`Recurrent`](super::Recurrent) stack, which holds its weights as cells.

use super::init;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use super::rnn::{CellKind, GruKind, LstmKind, RnnReluKind, RnnTanhKind};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::linear::linear_op;
use crate::ops::rnn_cell::{CellMode, CellStepArgs, cell_step_op};
use crate::shape::{Const, Dim, DimEq, Prod, Shape};
use crate::tensor::Tensor;
use rand::Rng;

/// A recurrent cell of kind `K` (see [`LSTMCell`], [`GRUCell`], [`RNNCell`],
/// [`RNNReluCell`]): input size `I`, hidden size `H`, PyTorch's parameter names and layouts
/// (`weight_ih` is `(gates * H, I)`, LSTM gates stacked `i, f, g, o`, GRU gates `r, z, n`).
///
/// As a [`Module`] it runs one step on `x` `(B, I)` (`B` static or run-time), from a given
/// state or from zeros (PyTorch's default): an LSTM cell maps `x` or `(x, (h, c))` to
/// `(h', c')`, the others map `x` or `(x, h)` to `h'`. A step is one primitive (both
/// products and the cell, one backward rule); untraced, it allocates only its outputs.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{GRUCell, Module};
/// use rand::SeedableRng;
/// let cell = GRUCell::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let h1 = cell.forward(Tensor::<Rank2<2, 3>>::ones()); // from h = 0
/// let h2 = cell.forward((Tensor::<Rank2<2, 3>>::ones(), h1));
/// assert_eq!(h2.dims().as_slice(), &[2, 4]);
/// ```
#[derive(Clone, Debug)]
pub struct RecurrentCell<K: CellKind, I: Dim, H: Dim, E: Float = f32> {
    /// Input-to-hidden weights, `(gates * hidden, input)`.
    pub weight_ih: Tensor<(Prod<K::Gates, H>, I), E>,
    /// Hidden-to-hidden weights, `(gates * hidden, hidden)`.
    pub weight_hh: Tensor<(Prod<K::Gates, H>, H), E>,
    /// Input-to-hidden bias.
    pub bias_ih: Option<Tensor<(Prod<K::Gates, H>,), E>>,
    /// Hidden-to-hidden bias.
    pub bias_hh: Option<Tensor<(Prod<K::Gates, H>,), E>>,
}

/// `nn.LSTMCell(I, H)`: `x` or `(x, (h, c))` to `(h', c')`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LSTMCell, Module};
/// use rand::SeedableRng;
/// let cell = LSTMCell::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = Tensor::<(usize, Const<3>)>::ones_with_shape((5, Const)); // run-time batch
/// let (h, c) = cell.forward(x.clone());
/// let (h, c) = cell.forward((x, (h, c))); // the next step
/// assert_eq!(c.dims().as_slice(), &[5, 4]);
/// ```
pub type LSTMCell<const I: usize, const H: usize, E = f32> =
    RecurrentCell<LstmKind, Const<I>, Const<H>, E>;
/// `nn.GRUCell(I, H)`: `x` or `(x, h)` to `h'`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{GRUCell, Module};
/// use rand::SeedableRng;
/// let cell = GRUCell::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(cell.forward(Tensor::<Rank2<1, 3>>::ones()).dims().as_slice(), &[1, 4]);
/// ```
pub type GRUCell<const I: usize, const H: usize, E = f32> =
    RecurrentCell<GruKind, Const<I>, Const<H>, E>;
/// `nn.RNNCell(I, H)` (tanh): `x` or `(x, h)` to `h'`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RNNCell};
/// use rand::SeedableRng;
/// let cell = RNNCell::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let h = cell.forward(Tensor::<Rank2<1, 3>>::ones());
/// assert!(h.to_vec().iter().all(|v| v.abs() < 1.0));
/// ```
pub type RNNCell<const I: usize, const H: usize, E = f32> =
    RecurrentCell<RnnTanhKind, Const<I>, Const<H>, E>;
/// `nn.RNNCell(I, H, nonlinearity="relu")`: `x` or `(x, h)` to `h'`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, RNNReluCell};
/// use rand::SeedableRng;
/// let cell = RNNReluCell::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let h = cell.forward(Tensor::<Rank2<1, 3>>::ones());
/// assert!(h.to_vec().iter().all(|&v| v >= 0.0));
/// ```
pub type RNNReluCell<const I: usize, const H: usize, E = f32> =
    RecurrentCell<RnnReluKind, Const<I>, Const<H>, E>;
/// A recurrent cell with sizes known at run time, e.g. `RecurrentCellDyn<LstmKind>`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{LstmKind, Module, RecurrentCellDyn};
/// use rand::SeedableRng;
/// let cell = RecurrentCellDyn::<LstmKind>::new_dyn(3, 4, true, &mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = Tensor::<(usize, usize)>::ones_with_shape((2, 3));
/// assert_eq!(cell.forward(x).0.dims().as_slice(), &[2, 4]);
/// ```
pub type RecurrentCellDyn<K, E = f32> = RecurrentCell<K, usize, usize, E>;

impl<K: CellKind, I: Dim, H: Dim, E: Float> RecurrentCell<K, I, H, E> {
    /// A cell with the given sizes, every weight and bias uniform in `±1/sqrt(hidden)` like
    /// PyTorch; no biases when `bias` is false.
    ///
    /// ```
    /// use shaped::nn::{LSTMCell, Params};
    /// use shaped::shape::Const;
    /// use rand::SeedableRng;
    /// let cell = LSTMCell::<3, 4>::with_dims(Const, Const, false, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(cell.param_names(), ["weight_ih", "weight_hh"]);
    /// ```
    pub fn with_dims<R: Rng + ?Sized>(input: I, hidden: H, bias: bool, rng: &mut R) -> Self {
        let bound = init::linear_bound(hidden.size());
        let g = Prod(K::Gates::default(), hidden);
        RecurrentCell {
            weight_ih: init::uniform((g, input), bound, rng),
            weight_hh: init::uniform((g, hidden), bound, rng),
            bias_ih: bias.then(|| init::uniform((g,), bound, rng)),
            bias_hh: bias.then(|| init::uniform((g,), bound, rng)),
        }
    }

    /// The input size.
    ///
    /// ```
    /// use shaped::nn::RNNCell;
    /// use rand::SeedableRng;
    /// assert_eq!(RNNCell::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).input_size(), 3);
    /// ```
    pub fn input_size(&self) -> usize {
        self.weight_ih.shape.1.size()
    }

    /// The hidden size.
    ///
    /// ```
    /// use shaped::nn::RNNCell;
    /// use rand::SeedableRng;
    /// assert_eq!(RNNCell::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0)).hidden_size(), 4);
    /// ```
    pub fn hidden_size(&self) -> usize {
        self.weight_hh.shape.1.size()
    }

    /// Visits the parameters as `{prefix}weight_ih{suffix}`, ... (a stack's layers add
    /// `_l0`, `_l0_reverse`, ...).
    pub(crate) fn visit_named(
        &self,
        prefix: &str,
        suffix: &str,
        f: &mut dyn FnMut(ParamView<'_, E>),
    ) {
        let (p, name) = (TensorKind::Parameter, |n: &str| {
            format!("{prefix}{n}{suffix}")
        });
        visit_tensor(&self.weight_ih, &name("weight_ih"), p, f);
        visit_tensor(&self.weight_hh, &name("weight_hh"), p, f);
        if let Some(b) = &self.bias_ih {
            visit_tensor(b, &name("bias_ih"), p, f);
        }
        if let Some(b) = &self.bias_hh {
            visit_tensor(b, &name("bias_hh"), p, f);
        }
    }

    /// [`visit_named`](Self::visit_named), mutably.
    pub(crate) fn visit_named_mut(
        &mut self,
        prefix: &str,
        suffix: &str,
        f: &mut dyn FnMut(ParamMut<'_, E>),
    ) {
        let (p, name) = (TensorKind::Parameter, |n: &str| {
            format!("{prefix}{n}{suffix}")
        });
        visit_tensor_mut(&mut self.weight_ih, &name("weight_ih"), p, f);
        visit_tensor_mut(&mut self.weight_hh, &name("weight_hh"), p, f);
        if let Some(b) = &mut self.bias_ih {
            visit_tensor_mut(b, &name("bias_ih"), p, f);
        }
        if let Some(b) = &mut self.bias_hh {
            visit_tensor_mut(b, &name("bias_hh"), p, f);
        }
    }

    /// `x W_ih^T + b_ih` for every step at once: `[B, S, In] -> [B, S, gates*H]`; without
    /// `b_ih` when `with_bias` is false (the LSTM sequence op adds it with `b_hh`).
    pub(crate) fn project_input<SX: Shape, T: Tape<E>>(
        &self,
        x: Tensor<SX, E, T>,
        with_bias: bool,
    ) -> Tensor<(usize, usize, usize), E, T> {
        let d = x.shape.dims();
        let out = (d[0], d[1], self.weight_ih.shape.0.size());
        let bias = self.bias_ih.as_ref().filter(|_| with_bias);
        linear_op(
            x,
            self.weight_ih.traced_as::<T>(),
            bias.map(|b| b.traced_as::<T>()),
            out,
        )
    }

    /// `h W_hh^T + b_hh`: `[B, H] -> [B, gates*H]`.
    pub(crate) fn project_hidden<SH: Shape, T: Tape<E>>(
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

    /// Checks `x` `(B, In)` and the state's `(B, H)` sizes at run time.
    fn check(&self, x: &[usize], state: Option<&[usize]>) -> Result<()> {
        let (i, h) = (self.input_size(), self.hidden_size());
        if x[1] != i {
            return Err(Error::shape(
                K::CELL_NAME,
                format!("input of shape {x:?} does not fit (batch, {i})"),
            ));
        }
        if let Some(s) = state.filter(|s| *s != [x[0], h]) {
            return Err(Error::shape(
                K::CELL_NAME,
                format!(
                    "state of shape {s:?} does not fit (batch, hidden) = {:?}",
                    [x[0], h]
                ),
            ));
        }
        Ok(())
    }

    /// One step on `x` from `h` (and `c`), both `(B, H)`; zeros when `None`.
    #[allow(clippy::type_complexity)]
    pub(crate) fn step<B: Dim, X: Dim, T: Tape<E>>(
        &self,
        x: Tensor<(B, X), E, T>,
        state: Option<(Tensor<(B, H), E, T>, Option<Tensor<(B, H), E, T>>)>,
    ) -> (Tensor<(B, H), E, T>, Option<Tensor<(B, H), E, T>>) {
        let shape = (x.shape.0, self.weight_hh.shape.1);
        let lstm = K::MODE == "LSTM";
        // Constants that take no gradient, as the layers' zero states.
        let zeros = || Tensor::<(B, H), E>::zeros_with_shape(shape).put_tape(T::untracked());
        let (h, c) = match state {
            Some((h, c)) => (h, c.or_else(|| lstm.then(zeros))),
            None => (zeros(), lstm.then(zeros)),
        };
        let args = CellStepArgs {
            x,
            h,
            c,
            w_ih: self.weight_ih.traced_as::<T>(),
            w_hh: self.weight_hh.traced_as::<T>(),
            b_ih: self.bias_ih.as_ref().map(|b| b.traced_as::<T>()),
            b_hh: self.bias_hh.as_ref().map(|b| b.traced_as::<T>()),
        };
        cell_step_op(CellMode::from_name(K::MODE), args)
    }
}

/// The same tensor under another shape type of identical sizes (same id and buffer).
fn retype<S1: Shape, S2: Shape, E: Float, T>(t: Tensor<S1, E, T>, shape: S2) -> Tensor<S2, E, T> {
    debug_assert_eq!(t.shape.dims().as_slice(), shape.dims().as_slice());
    Tensor {
        shape,
        data: t.data,
        id: t.id,
        tape: t.tape,
    }
}

impl<K: CellKind, const I: usize, const H: usize, E: Float>
    RecurrentCell<K, Const<I>, Const<H>, E>
{
    /// A static-size cell with biases, initialised like PyTorch from `rng`.
    ///
    /// ```
    /// use shaped::nn::{LSTMCell, Params};
    /// use rand::SeedableRng;
    /// let cell = LSTMCell::<3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(cell.param_names(), ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]);
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, true, rng)
    }
}

impl<K: CellKind, E: Float> RecurrentCell<K, usize, usize, E> {
    /// A cell with sizes known at run time.
    ///
    /// ```
    /// use shaped::nn::{GruKind, RecurrentCellDyn};
    /// use rand::SeedableRng;
    /// let cell = RecurrentCellDyn::<GruKind>::new_dyn(3, 4, true, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(cell.weight_ih.dims().as_slice(), &[12, 3]);
    /// ```
    pub fn new_dyn<R: Rng + ?Sized>(input: usize, hidden: usize, bias: bool, rng: &mut R) -> Self {
        Self::with_dims(input, hidden, bias, rng)
    }
}

impl<K: CellKind, I: Dim, H: Dim, E: Float> Params<E> for RecurrentCell<K, I, H, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        self.visit_named(prefix, "", f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        self.visit_named_mut(prefix, "", f);
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        let bias = if self.bias_ih.is_some() {
            ""
        } else {
            ", bias=False"
        };
        f(
            super::module_name(prefix),
            format!(
                "{}({}, {}{bias})",
                K::CELL_NAME,
                self.weight_ih.shape.1.size(),
                self.weight_hh.shape.1.size()
            ),
        )
    }
}

impl<I: Dim, H: Dim, E: Float, B: Dim, X: DimEq<I>, T: Tape<E>> Module<Tensor<(B, X), E, T>>
    for RecurrentCell<LstmKind, I, H, E>
{
    /// `(h', c')`, from zero states.
    type Output = (Tensor<(B, H), E, T>, Tensor<(B, H), E, T>);
    fn try_forward(&self, x: Tensor<(B, X), E, T>) -> Result<Self::Output> {
        self.check(&x.shape.dims(), None)?;
        x.shape.1.dim_eq(self.weight_ih.shape.1)?;
        let (h, c) = self.step(x, None);
        Ok((h, c.expect("an LSTM step returns a cell state")))
    }
}

impl<I, H, E, B, X, B2, H2, T>
    Module<(
        Tensor<(B, X), E, T>,
        (Tensor<(B2, H2), E, T>, Tensor<(B2, H2), E, T>),
    )> for RecurrentCell<LstmKind, I, H, E>
where
    I: Dim,
    H: Dim,
    E: Float,
    B: Dim,
    X: DimEq<I>,
    B2: DimEq<B>,
    H2: DimEq<H>,
    T: Tape<E>,
{
    /// `(h', c')`.
    type Output = (Tensor<(B, H), E, T>, Tensor<(B, H), E, T>);
    #[allow(clippy::type_complexity)]
    fn try_forward(
        &self,
        (x, (h, c)): (
            Tensor<(B, X), E, T>,
            (Tensor<(B2, H2), E, T>, Tensor<(B2, H2), E, T>),
        ),
    ) -> Result<Self::Output> {
        let (hd, cd) = (h.shape.dims(), c.shape.dims());
        self.check(&x.shape.dims(), Some(hd.as_slice()))?;
        self.check(&x.shape.dims(), Some(cd.as_slice()))?;
        x.shape.1.dim_eq(self.weight_ih.shape.1)?;
        h.shape.0.dim_eq(x.shape.0)?;
        h.shape.1.dim_eq(self.weight_hh.shape.1)?;
        let shape = (x.shape.0, self.weight_hh.shape.1);
        let (h, c) = self.step(x, Some((retype(h, shape), Some(retype(c, shape)))));
        Ok((h, c.expect("an LSTM step returns a cell state")))
    }
}

macro_rules! h_only_cell_modules {
    ($Kind:ty) => {
        impl<I: Dim, H: Dim, E: Float, B: Dim, X: DimEq<I>, T: Tape<E>> Module<Tensor<(B, X), E, T>>
            for RecurrentCell<$Kind, I, H, E>
        {
            /// `h'`, from a zero state.
            type Output = Tensor<(B, H), E, T>;
            fn try_forward(&self, x: Tensor<(B, X), E, T>) -> Result<Self::Output> {
                self.check(&x.shape.dims(), None)?;
                x.shape.1.dim_eq(self.weight_ih.shape.1)?;
                Ok(self.step(x, None).0)
            }
        }

        impl<I, H, E, B, X, B2, H2, T> Module<(Tensor<(B, X), E, T>, Tensor<(B2, H2), E, T>)>
            for RecurrentCell<$Kind, I, H, E>
        where
            I: Dim,
            H: Dim,
            E: Float,
            B: Dim,
            X: DimEq<I>,
            B2: DimEq<B>,
            H2: DimEq<H>,
            T: Tape<E>,
        {
            /// `h'`.
            type Output = Tensor<(B, H), E, T>;
            fn try_forward(
                &self,
                (x, h): (Tensor<(B, X), E, T>, Tensor<(B2, H2), E, T>),
            ) -> Result<Self::Output> {
                self.check(&x.shape.dims(), Some(h.shape.dims().as_slice()))?;
                x.shape.1.dim_eq(self.weight_ih.shape.1)?;
                h.shape.0.dim_eq(x.shape.0)?;
                h.shape.1.dim_eq(self.weight_hh.shape.1)?;
                let shape = (x.shape.0, self.weight_hh.shape.1);
                Ok(self.step(x, Some((retype(h, shape), None))).0)
            }
        }
    };
}
h_only_cell_modules!(GruKind);
h_only_cell_modules!(RnnTanhKind);
h_only_cell_modules!(RnnReluKind);
