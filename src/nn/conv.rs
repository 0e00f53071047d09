//! Convolution layers with PyTorch's layouts, names and initialisation.
//!
//! Kernel size, stride, padding and dilation are const generics, so each layer's output
//! sizes are computed from its input type ([`ConvOut`], [`ConvTransposeOut`]) and a model
//! such as `(Conv2d<1, 16, 3>, ReLU, MaxPool2d<2>, Flatten, Linear<2704, 10>)` needs no
//! shape annotations.

use super::conv_dyn::{ConvDescription, conv_description};
use super::init;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::conv::{ConvArgs, ConvTransposeArgs};
use crate::shape::check::{ConvChannels, DimCheck};
use crate::shape::{
    Const, ConvOut, ConvTransposeOut, Dim, DimEq, Rank1, Rank3, Rank4, ShapeMismatch,
};
use crate::tensor::Tensor;
use rand::Rng;

pub(super) fn visit_weight_bias<S: crate::shape::Shape, SB: crate::shape::Shape, E: Float>(
    weight: &Tensor<S, E>,
    bias: &Option<Tensor<SB, E>>,
    prefix: &str,
    f: &mut dyn FnMut(ParamView<'_, E>),
) {
    visit_tensor(weight, &format!("{prefix}weight"), TensorKind::Parameter, f);
    if let Some(b) = bias {
        visit_tensor(b, &format!("{prefix}bias"), TensorKind::Parameter, f);
    }
}

pub(super) fn visit_weight_bias_mut<S: crate::shape::Shape, SB: crate::shape::Shape, E: Float>(
    weight: &mut Tensor<S, E>,
    bias: &mut Option<Tensor<SB, E>>,
    prefix: &str,
    f: &mut dyn FnMut(ParamMut<'_, E>),
) {
    visit_tensor_mut(weight, &format!("{prefix}weight"), TensorKind::Parameter, f);
    if let Some(b) = bias {
        visit_tensor_mut(b, &format!("{prefix}bias"), TensorKind::Parameter, f);
    }
}

/// 2-D convolution, PyTorch's `nn.Conv2d(IN, OUT, K, stride=S, padding=P, dilation=D)`
/// with a square kernel and `groups=1` (for `groups`, see [`GroupedConv2d`](super::GroupedConv2d)
/// and [`DepthwiseConv2d`](super::DepthwiseConv2d)).
///
/// Takes `(B, IN, H, W)` (any static or `usize` batch `B`) or unbatched `(IN, H, W)`, and
/// gives `(B, OUT, OH, OW)` with `OH = (H + 2P - D(K-1) - 1)/S + 1` computed by the type
/// ([`ConvOut`]). Input channels other than `IN` are a compile error when static; a kernel
/// that does not fit a static input fails the build.
///
/// The weight is `(OUT, IN, K, K)` and the bias `(OUT,)`, named `weight` and `bias`, both
/// initialised uniform in `±1/sqrt(IN*K*K)` as in PyTorch.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Conv2d, Module};
/// use rand::SeedableRng;
/// let conv = Conv2d::<3, 8, 3, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let y = conv.forward(Tensor::<Rank4<2, 3, 32, 32>>::zeros()); // padding 1 keeps 32x32
/// assert_eq!(y.dims().as_slice(), &[2, 8, 32, 32]);
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(out_channels, in_channels, K, K)`.
    pub weight: Tensor<Rank4<OUT, IN, K, K>, E>,
    /// `(out_channels,)`, or `None` for `bias=False`.
    pub bias: Option<Tensor<Rank1<OUT>, E>>,
}

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    E: Float,
> Conv2d<IN, OUT, K, S, P, D, E>
{
    /// A layer with bias, initialised like PyTorch from `rng`.
    ///
    /// ```
    /// use shaped::nn::{Conv2d, Params};
    /// use rand::SeedableRng;
    /// let conv = Conv2d::<1, 16, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(conv.num_params(), 16 * 9 + 16);
    /// assert!(conv.weight.as_slice().iter().all(|w| w.abs() <= 1.0 / 3.0));
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(IN * K * K);
        let weight = init::uniform(Default::default(), bound, rng);
        Conv2d {
            weight,
            bias: Some(init::uniform(Default::default(), bound, rng)),
        }
    }
    /// A layer without bias (`bias=False`).
    ///
    /// ```
    /// use shaped::nn::{Conv2d, Params};
    /// use rand::SeedableRng;
    /// let conv = Conv2d::<1, 16, 3>::new_no_bias(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(conv.param_names(), ["weight"]);
    /// ```
    pub fn new_no_bias<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(IN * K * K);
        Conv2d {
            weight: init::uniform(Default::default(), bound, rng),
            bias: None,
        }
    }
}

macro_rules! conv2d_module {
    ($layer:ident [$($c:ident),*] $args:ty, $out:ident [$($oc:ident),*], $method:ident) => {
        impl<B: Dim, C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const IN: usize, const OUT: usize, const K: usize, $(const $c: usize),*>
            Module<Tensor<(B, C, H, W), E, T>> for $layer<IN, OUT, K, $($c,)* E>
        where
            C: DimEq<Const<IN>>,
        {
            type Output = Tensor<(B, Const<OUT>, $out<H, K, $($oc),*>, $out<W, K, $($oc),*>), E, T>;
            // The channel check is the conv op's own constant (reported once, without a position).
            const SHAPE_MISMATCH: ShapeMismatch = {
                let () = DimCheck::<C, Const<IN>, ConvChannels>::OK;
                let _ = <$out<H, K, $($oc),*> as Dim>::STATIC_SIZE;
                let _ = <$out<W, K, $($oc),*> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: Tensor<(B, C, H, W), E, T>) -> Result<Self::Output> {
                x.$method(self.weight.traced_as::<T>(), self.bias.as_ref().map(|b| b.traced_as::<T>()), <$args>::default())
            }
        }
        impl<C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const IN: usize, const OUT: usize, const K: usize, $(const $c: usize),*>
            Module<Tensor<(C, H, W), E, T>> for $layer<IN, OUT, K, $($c,)* E>
        where
            C: DimEq<Const<IN>>,
        {
            type Output = Tensor<(Const<OUT>, $out<H, K, $($oc),*>, $out<W, K, $($oc),*>), E, T>;
            // The channel check is the conv op's own constant (reported once, without a position).
            const SHAPE_MISMATCH: ShapeMismatch = {
                let () = DimCheck::<C, Const<IN>, ConvChannels>::OK;
                let _ = <$out<H, K, $($oc),*> as Dim>::STATIC_SIZE;
                let _ = <$out<W, K, $($oc),*> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: Tensor<(C, H, W), E, T>) -> Result<Self::Output> {
                x.$method(self.weight.traced_as::<T>(), self.bias.as_ref().map(|b| b.traced_as::<T>()), <$args>::default())
            }
        }
        impl<const IN: usize, const OUT: usize, const K: usize, $(const $c: usize,)* E: Float> Params<E> for $layer<IN, OUT, K, $($c,)* E> {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
                visit_weight_bias(&self.weight, &self.bias, prefix, f);
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
                visit_weight_bias_mut(&mut self.weight, &mut self.bias, prefix, f);
            }
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                f(super::module_name(prefix), self.description())
            }
        }
    };
}

conv2d_module!(Conv2d [S, P, D] ConvArgs<S, P, D>, ConvOut [S, P, D], try_conv2d);

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    E: Float,
> Conv2d<IN, OUT, K, S, P, D, E>
{
    /// PyTorch's `repr`, for summaries.
    fn description(&self) -> String {
        conv_description(
            "Conv2d",
            IN,
            OUT,
            ConvDescription {
                kernel: &[K, K],
                stride: &[S, S],
                padding: &[P, P],
                dilation: &[D, D],
                output_padding: &[0, 0],
                groups: 1,
                bias: self.bias.is_some(),
            },
        )
    }
}

/// 1-D convolution, PyTorch's `nn.Conv1d(IN, OUT, K, stride=S, padding=P, dilation=D)`
/// with `groups=1`.
///
/// Takes `(B, IN, L)` or unbatched `(IN, L)` and gives `(B, OUT, OL)` with
/// `OL = (L + 2P - D(K-1) - 1)/S + 1` ([`ConvOut`]). The weight is `(OUT, IN, K)` and the bias
/// `(OUT,)`, initialised uniform in `±1/sqrt(IN*K)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Conv1d, Module};
/// use rand::SeedableRng;
/// let conv = Conv1d::<3, 4, 3, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let y = conv.forward(Tensor::<(usize, Const<3>, Const<10>)>::zeros_with_shape((5, Const, Const)));
/// assert_eq!(y.dims().as_slice(), &[5, 4, 10]);
/// ```
#[derive(Clone, Debug)]
pub struct Conv1d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(out_channels, in_channels, K)`.
    pub weight: Tensor<Rank3<OUT, IN, K>, E>,
    /// `(out_channels,)`, or `None` for `bias=False`.
    pub bias: Option<Tensor<Rank1<OUT>, E>>,
}

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    E: Float,
> Conv1d<IN, OUT, K, S, P, D, E>
{
    /// A layer with bias, initialised like PyTorch from `rng`.
    ///
    /// ```
    /// use shaped::nn::{Conv1d, Params};
    /// use rand::SeedableRng;
    /// let conv = Conv1d::<2, 4, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(conv.param_names(), ["weight", "bias"]);
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(IN * K);
        let weight = init::uniform(Default::default(), bound, rng);
        Conv1d {
            weight,
            bias: Some(init::uniform(Default::default(), bound, rng)),
        }
    }
    /// A layer without bias (`bias=False`).
    ///
    /// ```
    /// use shaped::nn::{Conv1d, Params};
    /// use rand::SeedableRng;
    /// let conv = Conv1d::<2, 4, 3>::new_no_bias(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(conv.num_params(), 4 * 2 * 3);
    /// ```
    pub fn new_no_bias<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(IN * K);
        Conv1d {
            weight: init::uniform(Default::default(), bound, rng),
            bias: None,
        }
    }
}

impl<
    B: Dim,
    C: Dim,
    L: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
> Module<Tensor<(B, C, L), E, T>> for Conv1d<IN, OUT, K, S, P, D, E>
where
    C: DimEq<Const<IN>>,
{
    type Output = Tensor<(B, Const<OUT>, ConvOut<L, K, S, P, D>), E, T>;
    // The channel check is the conv op's own constant (reported once, without a position).
    const SHAPE_MISMATCH: ShapeMismatch = {
        let () = DimCheck::<C, Const<IN>, ConvChannels>::OK;
        let _ = <ConvOut<L, K, S, P, D> as Dim>::STATIC_SIZE;
        ShapeMismatch::NONE
    };
    fn try_forward(&self, x: Tensor<(B, C, L), E, T>) -> Result<Self::Output> {
        x.try_conv1d(
            self.weight.traced_as::<T>(),
            self.bias.as_ref().map(|b| b.traced_as::<T>()),
            ConvArgs::<S, P, D>,
        )
    }
}

impl<
    C: Dim,
    L: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
> Module<Tensor<(C, L), E, T>> for Conv1d<IN, OUT, K, S, P, D, E>
where
    C: DimEq<Const<IN>>,
{
    type Output = Tensor<(Const<OUT>, ConvOut<L, K, S, P, D>), E, T>;
    // The channel check is the conv op's own constant (reported once, without a position).
    const SHAPE_MISMATCH: ShapeMismatch = {
        let () = DimCheck::<C, Const<IN>, ConvChannels>::OK;
        let _ = <ConvOut<L, K, S, P, D> as Dim>::STATIC_SIZE;
        ShapeMismatch::NONE
    };
    fn try_forward(&self, x: Tensor<(C, L), E, T>) -> Result<Self::Output> {
        x.try_conv1d(
            self.weight.traced_as::<T>(),
            self.bias.as_ref().map(|b| b.traced_as::<T>()),
            ConvArgs::<S, P, D>,
        )
    }
}

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    E: Float,
> Params<E> for Conv1d<IN, OUT, K, S, P, D, E>
{
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_weight_bias(&self.weight, &self.bias, prefix, f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        visit_weight_bias_mut(&mut self.weight, &mut self.bias, prefix, f);
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            conv_description(
                "Conv1d",
                IN,
                OUT,
                ConvDescription {
                    kernel: &[K],
                    stride: &[S],
                    padding: &[P],
                    dilation: &[D],
                    output_padding: &[0],
                    groups: 1,
                    bias: self.bias.is_some(),
                },
            ),
        )
    }
}

/// Transposed 1-D convolution, PyTorch's
/// `nn.ConvTranspose1d(IN, OUT, K, stride=S, padding=P, output_padding=OP, dilation=D)` with
/// `groups=1`.
///
/// Takes `(B, IN, L)` or unbatched `(IN, L)` and gives `(B, OUT, OL)` with
/// `OL = (L-1)S - 2P + D(K-1) + OP + 1` ([`ConvTransposeOut`]). The weight is `(IN, OUT, K)`
/// (PyTorch's layout for transposed convolutions) and the bias `(OUT,)`, both initialised
/// uniform in `±1/sqrt(OUT*K)`, as PyTorch does.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{ConvTranspose1d, Module};
/// use rand::SeedableRng;
/// // Doubles the length: 50 -> 100.
/// let up = ConvTranspose1d::<8, 4, 3, 2, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let y = up.forward(Tensor::<(usize, Const<8>, Const<50>)>::zeros_with_shape((2, Const, Const)));
/// assert_eq!(y.dims().as_slice(), &[2, 4, 100]);
/// ```
#[derive(Clone, Debug)]
pub struct ConvTranspose1d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const OP: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(in_channels, out_channels, K)`.
    pub weight: Tensor<Rank3<IN, OUT, K>, E>,
    /// `(out_channels,)`, or `None` for `bias=False`.
    pub bias: Option<Tensor<Rank1<OUT>, E>>,
}

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
    const D: usize,
    E: Float,
> ConvTranspose1d<IN, OUT, K, S, P, OP, D, E>
{
    /// A layer with bias, initialised like PyTorch from `rng`.
    ///
    /// ```
    /// use shaped::nn::{ConvTranspose1d, Params};
    /// use rand::SeedableRng;
    /// let up = ConvTranspose1d::<3, 2, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(up.num_params(), 3 * 2 * 3 + 2);
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(OUT * K);
        let weight = init::uniform(Default::default(), bound, rng);
        ConvTranspose1d {
            weight,
            bias: Some(init::uniform(Default::default(), bound, rng)),
        }
    }
    /// A layer without bias (`bias=False`).
    ///
    /// ```
    /// use shaped::nn::{ConvTranspose1d, Params};
    /// use rand::SeedableRng;
    /// let up = ConvTranspose1d::<3, 2, 3>::new_no_bias(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(up.param_names(), ["weight"]);
    /// ```
    pub fn new_no_bias<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(OUT * K);
        ConvTranspose1d {
            weight: init::uniform(Default::default(), bound, rng),
            bias: None,
        }
    }
}

impl<
    B: Dim,
    C: Dim,
    L: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
    const D: usize,
> Module<Tensor<(B, C, L), E, T>> for ConvTranspose1d<IN, OUT, K, S, P, OP, D, E>
where
    C: DimEq<Const<IN>>,
{
    type Output = Tensor<(B, Const<OUT>, ConvTransposeOut<L, K, S, P, OP, D>), E, T>;
    // The channel check is the conv op's own constant (reported once, without a position).
    const SHAPE_MISMATCH: ShapeMismatch = {
        let () = DimCheck::<C, Const<IN>, ConvChannels>::OK;
        let _ = <ConvTransposeOut<L, K, S, P, OP, D> as Dim>::STATIC_SIZE;
        ShapeMismatch::NONE
    };
    fn try_forward(&self, x: Tensor<(B, C, L), E, T>) -> Result<Self::Output> {
        x.try_conv_transpose1d(
            self.weight.traced_as::<T>(),
            self.bias.as_ref().map(|b| b.traced_as::<T>()),
            ConvTransposeArgs::<S, P, OP, D>,
        )
    }
}

impl<
    C: Dim,
    L: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
    const D: usize,
> Module<Tensor<(C, L), E, T>> for ConvTranspose1d<IN, OUT, K, S, P, OP, D, E>
where
    C: DimEq<Const<IN>>,
{
    type Output = Tensor<(Const<OUT>, ConvTransposeOut<L, K, S, P, OP, D>), E, T>;
    const SHAPE_MISMATCH: ShapeMismatch = {
        let () = DimCheck::<C, Const<IN>, ConvChannels>::OK;
        let _ = <ConvTransposeOut<L, K, S, P, OP, D> as Dim>::STATIC_SIZE;
        ShapeMismatch::NONE
    };
    fn try_forward(&self, x: Tensor<(C, L), E, T>) -> Result<Self::Output> {
        x.try_conv_transpose1d(
            self.weight.traced_as::<T>(),
            self.bias.as_ref().map(|b| b.traced_as::<T>()),
            ConvTransposeArgs::<S, P, OP, D>,
        )
    }
}

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
    const D: usize,
    E: Float,
> Params<E> for ConvTranspose1d<IN, OUT, K, S, P, OP, D, E>
{
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_weight_bias(&self.weight, &self.bias, prefix, f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        visit_weight_bias_mut(&mut self.weight, &mut self.bias, prefix, f);
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            conv_description(
                "ConvTranspose1d",
                IN,
                OUT,
                ConvDescription {
                    kernel: &[K],
                    stride: &[S],
                    padding: &[P],
                    dilation: &[D],
                    output_padding: &[OP],
                    groups: 1,
                    bias: self.bias.is_some(),
                },
            ),
        )
    }
}

/// Transposed 2-D convolution, PyTorch's
/// `nn.ConvTranspose2d(IN, OUT, K, stride=S, padding=P, output_padding=OP, dilation=D)` with
/// a square kernel and `groups=1`.
///
/// Takes `(B, IN, H, W)` or unbatched `(IN, H, W)` and gives `(B, OUT, OH, OW)` with
/// `OH = (H-1)S - 2P + D(K-1) + OP + 1` ([`ConvTransposeOut`]). The weight is
/// `(IN, OUT, K, K)` (PyTorch's layout for transposed convolutions) and the bias `(OUT,)`,
/// both initialised uniform in `±1/sqrt(OUT*K*K)`: PyTorch computes the fan-in from the
/// weight's dimension 1.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{ConvTranspose2d, Module};
/// use rand::SeedableRng;
/// // Doubles the resolution: 7x7 -> 14x14.
/// let up = ConvTranspose2d::<8, 4, 3, 2, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let y = up.forward(Tensor::<Rank4<2, 8, 7, 7>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[2, 4, 14, 14]);
/// ```
#[derive(Clone, Debug)]
pub struct ConvTranspose2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const OP: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(in_channels, out_channels, K, K)`.
    pub weight: Tensor<Rank4<IN, OUT, K, K>, E>,
    /// `(out_channels,)`, or `None` for `bias=False`.
    pub bias: Option<Tensor<Rank1<OUT>, E>>,
}

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
    const D: usize,
    E: Float,
> ConvTranspose2d<IN, OUT, K, S, P, OP, D, E>
{
    /// A layer with bias, initialised like PyTorch from `rng`.
    ///
    /// ```
    /// use shaped::nn::{ConvTranspose2d, Params};
    /// use rand::SeedableRng;
    /// let up = ConvTranspose2d::<3, 2, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(up.num_params(), 3 * 2 * 9 + 2);
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(OUT * K * K);
        let weight = init::uniform(Default::default(), bound, rng);
        ConvTranspose2d {
            weight,
            bias: Some(init::uniform(Default::default(), bound, rng)),
        }
    }
    /// A layer without bias (`bias=False`).
    ///
    /// ```
    /// use shaped::nn::{ConvTranspose2d, Params};
    /// use rand::SeedableRng;
    /// let up = ConvTranspose2d::<3, 2, 3>::new_no_bias(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(up.param_names(), ["weight"]);
    /// ```
    pub fn new_no_bias<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(OUT * K * K);
        ConvTranspose2d {
            weight: init::uniform(Default::default(), bound, rng),
            bias: None,
        }
    }
}

conv2d_module!(ConvTranspose2d [S, P, OP, D] ConvTransposeArgs<S, P, OP, D>, ConvTransposeOut [S, P, OP, D], try_conv_transpose2d);

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
    const D: usize,
    E: Float,
> ConvTranspose2d<IN, OUT, K, S, P, OP, D, E>
{
    /// PyTorch's `repr`, for summaries.
    fn description(&self) -> String {
        conv_description(
            "ConvTranspose2d",
            IN,
            OUT,
            ConvDescription {
                kernel: &[K, K],
                stride: &[S, S],
                padding: &[P, P],
                dilation: &[D, D],
                output_padding: &[OP, OP],
                groups: 1,
                bias: self.bias.is_some(),
            },
        )
    }
}
