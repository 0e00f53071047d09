//! The two type-level options of a recurrent layer stack: its [`Direction`] (PyTorch's
//! `bidirectional`) and its [`Layout`] (PyTorch's `batch_first`). Both change shapes, so
//! they are types, and the output shapes follow from them.

use crate::shape::{Const, Dim, Prod};
use core::fmt::Debug;

/// One direction or both (PyTorch's `bidirectional=False/True`); a type parameter of
/// [`Recurrent`](super::Recurrent).
///
/// ```
/// use shaped::nn::{Bidirectional, Direction, Unidirectional};
/// use shaped::shape::{Const, Dim};
/// assert_eq!(Unidirectional::out(Const::<5>).size(), 5);
/// assert_eq!(Bidirectional::out(Const::<5>).size(), 10); // y holds both directions
/// assert_eq!(Bidirectional::states(Const::<2>).size(), 4); // h_n: num_layers * 2
/// ```
pub trait Direction: Copy + Default + Debug + Send + Sync + 'static {
    /// Directions per layer: 1 or 2.
    const NUM: usize;
    /// The feature size of the output `y` (and the input size of layers above the first):
    /// `H` or `2H`.
    type Out<H: Dim>: Dim;
    /// The first dimension of `h_0`/`h_n`: `num_layers` or `num_layers * 2`.
    type States<L: Dim>: Dim;
    /// The output feature dimension for hidden size `h`.
    fn out<H: Dim>(h: H) -> Self::Out<H>;
    /// The state count for `l` layers.
    fn states<L: Dim>(l: L) -> Self::States<L>;
}

/// Forward in time only (PyTorch's default).
///
/// ```
/// use shaped::nn::{Direction, Unidirectional};
/// assert_eq!(Unidirectional::NUM, 1);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Unidirectional;

/// Forward and reverse (`bidirectional=True`): every layer also runs a second cell from the
/// last step to the first, with parameters named `*_reverse`; `y` concatenates the forward
/// and reverse outputs on its last axis (`2H`), and `h_n` is `[num_layers * 2, B, H]` ordered
/// layer 0 forward, layer 0 reverse, layer 1 forward, ...
///
/// Their sizes are computed dimensions (`Prod<Const<2>, H>`, `Prod<L, Const<2>>`): layers
/// and `h_0` of static size `2H` / `2L` meet them through `DimEq`, and `.realize()` turns
/// them into plain static shapes for elementwise ops.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BiLSTM, Bidirectional, Direction, Module};
/// use rand::SeedableRng;
/// assert_eq!(Bidirectional::NUM, 2);
/// let lstm = BiLSTM::<3, 5, 2>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let h0 = Tensor::<Rank3<4, 1, 5>>::zeros(); // num_layers * 2 = 4
/// let (y, (h_n, _c_n)) = lstm.forward((Tensor::<Rank3<1, 6, 3>>::ones(), (h0.clone(), h0)));
/// let y: Tensor<Rank3<1, 6, 10>> = y.realize();
/// let h_n: Tensor<Rank3<4, 1, 5>> = h_n.realize();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Bidirectional;

impl Direction for Unidirectional {
    const NUM: usize = 1;
    type Out<H: Dim> = H;
    type States<L: Dim> = L;
    fn out<H: Dim>(h: H) -> H {
        h
    }
    fn states<L: Dim>(l: L) -> L {
        l
    }
}

impl Direction for Bidirectional {
    const NUM: usize = 2;
    type Out<H: Dim> = Prod<Const<2>, H>;
    type States<L: Dim> = Prod<L, Const<2>>;
    fn out<H: Dim>(h: H) -> Prod<Const<2>, H> {
        Prod(Const, h)
    }
    fn states<L: Dim>(l: L) -> Prod<L, Const<2>> {
        Prod(l, Const)
    }
}

/// Where the batch axis is in `x` and `y` (PyTorch's `batch_first`); a type parameter of
/// [`Recurrent`](super::Recurrent). States are `[num_layers, B, H]` either way.
///
/// ```
/// use shaped::nn::{BatchFirst, Layout, SeqFirst};
/// assert!(BatchFirst::BATCH_FIRST && !SeqFirst::BATCH_FIRST);
/// assert_eq!(SeqFirst::batch(7usize, 2usize), 2); // x is [T, B, I]
/// ```
pub trait Layout: Copy + Default + Debug + Send + Sync + 'static {
    /// Whether `x` is `[B, T, I]` (true) or `[T, B, I]`.
    const BATCH_FIRST: bool;
    /// The batch dimension of an input `(A0, A1, I)`.
    type Batch<A0: Dim, A1: Dim>: Dim;
    /// The batch dimension of an input whose first two dimensions are `a0`, `a1`.
    fn batch<A0: Dim, A1: Dim>(a0: A0, a1: A1) -> Self::Batch<A0, A1>;
}

/// `x` is `[B, T, I]` and `y` `[B, T, H]` (`batch_first=True`, this crate's default).
///
/// ```
/// use shaped::nn::{BatchFirst, Layout};
/// assert_eq!(BatchFirst::batch(2usize, 7usize), 2);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct BatchFirst;

/// `x` is `[T, B, I]` and `y` `[T, B, H]` (`batch_first=False`, PyTorch's default).
///
/// ```
/// use shaped::nn::{Layout, SeqFirst};
/// assert!(!SeqFirst::BATCH_FIRST);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SeqFirst;

impl Layout for BatchFirst {
    const BATCH_FIRST: bool = true;
    type Batch<A0: Dim, A1: Dim> = A0;
    fn batch<A0: Dim, A1: Dim>(a0: A0, _: A1) -> A0 {
        a0
    }
}

impl Layout for SeqFirst {
    const BATCH_FIRST: bool = false;
    type Batch<A0: Dim, A1: Dim> = A1;
    fn batch<A0: Dim, A1: Dim>(_: A0, a1: A1) -> A1 {
        a1
    }
}
