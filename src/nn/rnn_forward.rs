//! The forward passes of [`Recurrent`] stacks: an LSTM maps `x` or `(x, (h_0, c_0))` to
//! `(y, (h_n, c_n))`, a GRU or RNN maps `x` or `(x, h_0)` to `(y, h_n)`, as PyTorch.
//! Evaluation ([`Module::forward`] of a fresh stack, or after `eval()`) leaves dropout off;
//! training ([`Module::forward_train`], or `forward` after `train()`) drops between layers.

use super::dropout::Dropout;
use super::module::Module;
use super::rnn::{CellKind, GruKind, LstmKind, Recurrent, RnnReluKind, RnnTanhKind, retype};
use super::rnn_layout::{Direction, Layout};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::shape_ops::permute_op;
use crate::shape::{Dim, DimEq, Shape};
use crate::tensor::Tensor;

/// `y`: `(A0, A1, D*H)`, in the input's layout.
type Out<A0, A1, H, D, E, T> = Tensor<(A0, A1, <D as Direction>::Out<H>), E, T>;
/// `h_n` or `c_n`: `(L*D, B, H)`.
type State<L, A0, A1, H, D, F, E, T> =
    Tensor<(<D as Direction>::States<L>, <F as Layout>::Batch<A0, A1>, H), E, T>;
type Given<SS, E, T> = Option<(Tensor<SS, E, T>, Option<Tensor<SS, E, T>>)>;

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float, D: Direction, F: Layout>
    Recurrent<K, I, H, L, E, D, F>
{
    /// The whole forward pass: layout in and out, initial states (zeros when `None`), every
    /// layer and direction, final states.
    #[allow(clippy::type_complexity)]
    fn forward_core<A0: Dim, A1: Dim, X: DimEq<I>, SS: Shape, T: Tape<E>>(
        &self,
        x: Tensor<(A0, A1, X), E, T>,
        state: Given<SS, E, T>,
        dropout: Option<&Dropout>,
    ) -> Result<(
        Out<A0, A1, H, D, E, T>,
        State<L, A0, A1, H, D, F, E, T>,
        Option<State<L, A0, A1, H, D, F, E, T>>,
    )> {
        let (a0, a1) = (x.shape.0, x.shape.1);
        let dims = x.shape.dims();
        self.check_input(&dims)?;
        // Also a build-time check when the input size is a computed dimension.
        x.shape.2.dim_eq(self.first.weight_ih.shape.1)?;
        let batch = F::batch(a0, a1);
        let seq = if F::BATCH_FIRST {
            retype(x, (dims[0], dims[1], dims[2]))
        } else {
            permute_op(x, (dims[1], dims[0], dims[2]), &[1, 0, 2])
        };
        let states = match state {
            None => self.zero_state(batch.size()),
            Some((h, c)) => self.split_state(batch.size(), h, c)?,
        };
        let (y, finals) = self.run(seq, states, dropout)?;
        let (b, s, f) = y.shape;
        let y = if F::BATCH_FIRST {
            y
        } else {
            permute_op(y, (s, b, f), &[1, 0, 2])
        };
        let y = retype(y, (a0, a1, D::out(self.hidden_dim())));
        let (h, c) = self.stack_states(finals, D::states(self.layers_dim()), batch);
        Ok((y, h, c))
    }

    /// [`forward_core`](Self::forward_core) in training mode: dropout between layers.
    #[allow(clippy::type_complexity)]
    fn forward_core_train<A0: Dim, A1: Dim, X: DimEq<I>, SS: Shape, T: Tape<E>>(
        &self,
        x: Tensor<(A0, A1, X), E, T>,
        state: Given<SS, E, T>,
    ) -> Result<(
        Out<A0, A1, H, D, E, T>,
        State<L, A0, A1, H, D, F, E, T>,
        Option<State<L, A0, A1, H, D, F, E, T>>,
    )> {
        self.forward_core(x, state, Some(self.dropout_layer()))
    }

    /// The dropout between layers when this call trains (the scope's mode, else the flag).
    fn active_dropout(&self) -> Option<&Dropout> {
        let d = self.dropout_layer();
        d.active().then_some(d)
    }
}

impl<K: CellKind, I: Dim, H: Dim, L: Dim, E: Float, D: Direction, F: Layout>
    Recurrent<K, I, H, L, E, D, F>
{
    /// The state's dimensions against `(L*D, B, H)`: at run time, and when the code is built
    /// for computed dimensions (a bidirectional stack's `L*2`).
    fn check_state_dims<A0: Dim, A1: Dim, X: Dim, L2, B2, H2, T>(
        &self,
        x: &Tensor<(A0, A1, X), E, T>,
        h0: &Tensor<(L2, B2, H2), E, T>,
    ) -> Result<()>
    where
        L2: DimEq<D::States<L>>,
        B2: DimEq<F::Batch<A0, A1>>,
        H2: DimEq<H>,
    {
        let batch = F::batch(x.shape.0, x.shape.1);
        let want = [self.num_layers() * D::NUM, batch.size(), self.hidden_size()];
        if h0.shape.dims().as_slice() != want {
            return Err(Error::shape(
                K::NAME,
                format!(
                    "initial state of shape {:?} does not fit (num_layers * num_directions, batch, hidden) = {want:?}",
                    h0.shape.dims().as_slice()
                ),
            ));
        }
        let (l2, b2, h2) = h0.shape;
        l2.dim_eq(D::states(self.layers_dim()))?;
        b2.dim_eq(F::batch(x.shape.0, x.shape.1))?;
        h2.dim_eq(self.hidden_dim())?;
        Ok(())
    }
}

fn no_state<E: Float, T>() -> Given<(usize, usize, usize), E, T> {
    None
}

impl<I, H, L, E, D, F, A0, A1, X, T> Module<Tensor<(A0, A1, X), E, T>>
    for Recurrent<LstmKind, I, H, L, E, D, F>
where
    I: Dim,
    H: Dim,
    L: Dim,
    E: Float,
    D: Direction,
    F: Layout,
    A0: Dim,
    A1: Dim,
    X: DimEq<I>,
    T: Tape<E>,
{
    /// `(y, (h_n, c_n))`, from zero states.
    #[allow(clippy::type_complexity)]
    type Output = (
        Out<A0, A1, H, D, E, T>,
        (
            State<L, A0, A1, H, D, F, E, T>,
            State<L, A0, A1, H, D, F, E, T>,
        ),
    );
    fn try_forward(&self, x: Tensor<(A0, A1, X), E, T>) -> Result<Self::Output> {
        let (y, h, c) = self.forward_core(x, no_state(), self.active_dropout())?;
        Ok((y, (h, c.expect("LSTM layers carry a cell state"))))
    }
    fn try_forward_train(&mut self, x: Tensor<(A0, A1, X), E, T>) -> Result<Self::Output> {
        let (y, h, c) = self.forward_core_train(x, no_state())?;
        Ok((y, (h, c.expect("LSTM layers carry a cell state"))))
    }
}

impl<I, H, L, E, D, F, A0, A1, X, L2, B2, H2, T>
    Module<(
        Tensor<(A0, A1, X), E, T>,
        (Tensor<(L2, B2, H2), E, T>, Tensor<(L2, B2, H2), E, T>),
    )> for Recurrent<LstmKind, I, H, L, E, D, F>
where
    I: Dim,
    H: Dim,
    L: Dim,
    E: Float,
    D: Direction,
    F: Layout,
    A0: Dim,
    A1: Dim,
    X: DimEq<I>,
    L2: DimEq<D::States<L>>,
    B2: DimEq<F::Batch<A0, A1>>,
    H2: DimEq<H>,
    T: Tape<E>,
{
    /// `(y, (h_n, c_n))`.
    #[allow(clippy::type_complexity)]
    type Output = (
        Out<A0, A1, H, D, E, T>,
        (
            State<L, A0, A1, H, D, F, E, T>,
            State<L, A0, A1, H, D, F, E, T>,
        ),
    );
    #[allow(clippy::type_complexity)]
    fn try_forward(
        &self,
        (x, (h0, c0)): (
            Tensor<(A0, A1, X), E, T>,
            (Tensor<(L2, B2, H2), E, T>, Tensor<(L2, B2, H2), E, T>),
        ),
    ) -> Result<Self::Output> {
        self.check_state_dims(&x, &h0)?;
        let (y, h, c) = self.forward_core(x, Some((h0, Some(c0))), self.active_dropout())?;
        Ok((y, (h, c.expect("LSTM layers carry a cell state"))))
    }
    #[allow(clippy::type_complexity)]
    fn try_forward_train(
        &mut self,
        (x, (h0, c0)): (
            Tensor<(A0, A1, X), E, T>,
            (Tensor<(L2, B2, H2), E, T>, Tensor<(L2, B2, H2), E, T>),
        ),
    ) -> Result<Self::Output> {
        self.check_state_dims(&x, &h0)?;
        let (y, h, c) = self.forward_core_train(x, Some((h0, Some(c0))))?;
        Ok((y, (h, c.expect("LSTM layers carry a cell state"))))
    }
}

macro_rules! h_only_modules {
    ($Kind:ty) => {
        impl<I, H, L, E, D, F, A0, A1, X, T> Module<Tensor<(A0, A1, X), E, T>>
            for Recurrent<$Kind, I, H, L, E, D, F>
        where
            I: Dim,
            H: Dim,
            L: Dim,
            E: Float,
            D: Direction,
            F: Layout,
            A0: Dim,
            A1: Dim,
            X: DimEq<I>,
            T: Tape<E>,
        {
            /// `(y, h_n)`, from a zero state.
            type Output = (Out<A0, A1, H, D, E, T>, State<L, A0, A1, H, D, F, E, T>);
            fn try_forward(&self, x: Tensor<(A0, A1, X), E, T>) -> Result<Self::Output> {
                let (y, h, _) = self.forward_core(x, no_state(), self.active_dropout())?;
                Ok((y, h))
            }
            fn try_forward_train(&mut self, x: Tensor<(A0, A1, X), E, T>) -> Result<Self::Output> {
                let (y, h, _) = self.forward_core_train(x, no_state())?;
                Ok((y, h))
            }
        }

        impl<I, H, L, E, D, F, A0, A1, X, L2, B2, H2, T>
            Module<(Tensor<(A0, A1, X), E, T>, Tensor<(L2, B2, H2), E, T>)>
            for Recurrent<$Kind, I, H, L, E, D, F>
        where
            I: Dim,
            H: Dim,
            L: Dim,
            E: Float,
            D: Direction,
            F: Layout,
            A0: Dim,
            A1: Dim,
            X: DimEq<I>,
            L2: DimEq<D::States<L>>,
            B2: DimEq<F::Batch<A0, A1>>,
            H2: DimEq<H>,
            T: Tape<E>,
        {
            /// `(y, h_n)`.
            type Output = (Out<A0, A1, H, D, E, T>, State<L, A0, A1, H, D, F, E, T>);
            fn try_forward(
                &self,
                (x, h0): (Tensor<(A0, A1, X), E, T>, Tensor<(L2, B2, H2), E, T>),
            ) -> Result<Self::Output> {
                self.check_state_dims(&x, &h0)?;
                let (y, h, _) = self.forward_core(x, Some((h0, None)), self.active_dropout())?;
                Ok((y, h))
            }
            fn try_forward_train(
                &mut self,
                (x, h0): (Tensor<(A0, A1, X), E, T>, Tensor<(L2, B2, H2), E, T>),
            ) -> Result<Self::Output> {
                self.check_state_dims(&x, &h0)?;
                let (y, h, _) = self.forward_core_train(x, Some((h0, None)))?;
                Ok((y, h))
            }
        }
    };
}
h_only_modules!(GruKind);
h_only_modules!(RnnTanhKind);
h_only_modules!(RnnReluKind);
