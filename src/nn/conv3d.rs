//! `Conv3d`, for volumes (video clips, medical scans), with PyTorch's layout, names and
//! initialisation.

use super::conv::{visit_weight_bias, visit_weight_bias_mut};
use super::conv_dyn::{ConvDescription, conv_description};
use super::init;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::conv::ConvArgs;
use crate::shape::check::{ConvChannels, DimCheck};
use crate::shape::{Const, ConvOut, Dim, DimEq, Rank1, Rank5, ShapeMismatch};
use crate::tensor::Tensor;
use rand::Rng;

/// 3-D convolution, PyTorch's `nn.Conv3d(IN, OUT, K, stride=S, padding=P, dilation=D)` with a
/// cubic kernel and `groups=1`.
///
/// Takes `(B, IN, D, H, W)` (any static or `usize` batch `B`) or unbatched `(IN, D, H, W)`,
/// and gives `(B, OUT, OD, OH, OW)` with `OD = (ID + 2P - D(K-1) - 1)/S + 1` for input depth
/// `ID` (`D` is the dilation), and likewise along `H` and `W`, computed by the type
/// ([`ConvOut`]). Input channels other than `IN` are a compile error when static; a
/// kernel that does not fit a static input fails the build.
///
/// The weight is `(OUT, IN, K, K, K)` and the bias `(OUT,)`, named `weight` and `bias`, both
/// initialised uniform in `±1/sqrt(IN*K*K*K)` as in PyTorch. There is no run-time-channel
/// form (as [`Conv2dDyn`](super::Conv2dDyn) is for `Conv2d`).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Conv3d, Module};
/// use rand::SeedableRng;
/// let conv = Conv3d::<3, 8, 3, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let clip = Tensor::<(usize, Const<3>, Const<4>, Const<16>, Const<16>)>::zeros_with_shape(
///     (2, Const, Const, Const, Const),
/// );
/// let y = conv.forward(clip); // padding 1 keeps 4x16x16
/// assert_eq!(y.dims().as_slice(), &[2, 8, 4, 16, 16]);
/// ```
#[derive(Clone, Debug)]
pub struct Conv3d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(out_channels, in_channels, K, K, K)`.
    pub weight: Tensor<Rank5<OUT, IN, K, K, K>, E>,
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
> Conv3d<IN, OUT, K, S, P, D, E>
{
    /// A layer with bias, initialised like PyTorch from `rng`.
    ///
    /// ```
    /// use shaped::nn::{Conv3d, Params};
    /// use rand::SeedableRng;
    /// let conv = Conv3d::<2, 4, 3>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(conv.num_params(), 4 * 2 * 27 + 4);
    /// let bound = 1.0 / (2.0f32 * 27.0).sqrt();
    /// assert!(conv.weight.as_slice().iter().all(|w| w.abs() <= bound));
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(IN * K * K * K);
        let weight = init::uniform(Default::default(), bound, rng);
        Conv3d {
            weight,
            bias: Some(init::uniform(Default::default(), bound, rng)),
        }
    }
    /// A layer without bias (`bias=False`).
    ///
    /// ```
    /// use shaped::nn::{Conv3d, Params};
    /// use rand::SeedableRng;
    /// let conv = Conv3d::<2, 4, 3>::new_no_bias(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(conv.param_names(), ["weight"]);
    /// ```
    pub fn new_no_bias<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(IN * K * K * K);
        Conv3d {
            weight: init::uniform(Default::default(), bound, rng),
            bias: None,
        }
    }

    /// PyTorch's `repr`, for summaries.
    fn description(&self) -> String {
        conv_description(
            "Conv3d",
            IN,
            OUT,
            ConvDescription {
                kernel: &[K, K, K],
                stride: &[S, S, S],
                padding: &[P, P, P],
                dilation: &[D, D, D],
                output_padding: &[0, 0, 0],
                groups: 1,
                bias: self.bias.is_some(),
            },
        )
    }
}

impl<
    B: Dim,
    C: Dim,
    ID: Dim,
    H: Dim,
    W: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
> Module<Tensor<(B, C, ID, H, W), E, T>> for Conv3d<IN, OUT, K, S, P, D, E>
where
    C: DimEq<Const<IN>>,
{
    type Output = Tensor<
        (
            B,
            Const<OUT>,
            ConvOut<ID, K, S, P, D>,
            ConvOut<H, K, S, P, D>,
            ConvOut<W, K, S, P, D>,
        ),
        E,
        T,
    >;
    // The channel check is the conv op's own constant (reported once, without a position).
    const SHAPE_MISMATCH: ShapeMismatch = {
        let () = DimCheck::<C, Const<IN>, ConvChannels>::OK;
        let _ = <ConvOut<ID, K, S, P, D> as Dim>::STATIC_SIZE;
        let _ = <ConvOut<H, K, S, P, D> as Dim>::STATIC_SIZE;
        let _ = <ConvOut<W, K, S, P, D> as Dim>::STATIC_SIZE;
        ShapeMismatch::NONE
    };
    fn try_forward(&self, x: Tensor<(B, C, ID, H, W), E, T>) -> Result<Self::Output> {
        x.try_conv3d(
            self.weight.traced_as::<T>(),
            self.bias.as_ref().map(|b| b.traced_as::<T>()),
            ConvArgs::<S, P, D>,
        )
    }
}

impl<
    C: Dim,
    ID: Dim,
    H: Dim,
    W: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const D: usize,
> Module<Tensor<(C, ID, H, W), E, T>> for Conv3d<IN, OUT, K, S, P, D, E>
where
    C: DimEq<Const<IN>>,
{
    type Output = Tensor<
        (
            Const<OUT>,
            ConvOut<ID, K, S, P, D>,
            ConvOut<H, K, S, P, D>,
            ConvOut<W, K, S, P, D>,
        ),
        E,
        T,
    >;
    // The channel check is the conv op's own constant (reported once, without a position).
    const SHAPE_MISMATCH: ShapeMismatch = {
        let () = DimCheck::<C, Const<IN>, ConvChannels>::OK;
        let _ = <ConvOut<ID, K, S, P, D> as Dim>::STATIC_SIZE;
        let _ = <ConvOut<H, K, S, P, D> as Dim>::STATIC_SIZE;
        let _ = <ConvOut<W, K, S, P, D> as Dim>::STATIC_SIZE;
        ShapeMismatch::NONE
    };
    fn try_forward(&self, x: Tensor<(C, ID, H, W), E, T>) -> Result<Self::Output> {
        x.try_conv3d(
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
> Params<E> for Conv3d<IN, OUT, K, S, P, D, E>
{
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
