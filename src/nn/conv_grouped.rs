//! Grouped and depthwise 2-D convolution layers.
//!
//! A separate type rather than a `G` parameter on [`Conv2d`](super::Conv2d): appending `G`
//! after `Conv2d`'s dilation would put it after the element type or in front of it, and both
//! would change what today's `Conv2d<I, O, K, S, P, D, E>` means; and the weight's second
//! dimension is `IN / G`, a computed dimension ([`PerGroup`]) rather than `Const<IN>`. So the
//! grouped layer names its groups right after the kernel size, and the depthwise case
//! (`G = IN`) is an alias that does not repeat the channel count.

use super::conv::{visit_weight_bias, visit_weight_bias_mut};
use super::conv_dyn::{ConvDescription, conv_description};
use super::init;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::conv::ConvArgs;
use crate::ops::conv_grouped::Groups;
use crate::shape::const_msg::ConstMsg;
use crate::shape::{Const, ConvOut, Dim, DimEq, PerGroup, Rank1};
use crate::tensor::Tensor;
use rand::Rng;

/// Fails the build unless `g` divides both channel counts.
const fn check_layer_groups(input: usize, output: usize, g: usize) {
    if g == 0 || !input.is_multiple_of(g) || !output.is_multiple_of(g) {
        ConstMsg::new()
            .s("GroupedConv2d: groups ")
            .n(g)
            .s(" must divide in_channels ")
            .n(input)
            .s(" and out_channels ")
            .n(output)
            .fail();
    }
}

/// The shape of a grouped convolution's weight: `(OUT, IN / G, K, K)`.
///
/// ```
/// use shaped::nn::GroupedConvWeight;
/// use shaped::prelude::*;
/// let w = Tensor::<GroupedConvWeight<6, 4, 3, 2>>::zeros();
/// assert_eq!(w.dims().as_slice(), &[4, 3, 3, 3]);
/// ```
pub type GroupedConvWeight<const IN: usize, const OUT: usize, const K: usize, const G: usize> =
    (Const<OUT>, PerGroup<Const<IN>, G>, Const<K>, Const<K>);

/// Grouped 2-D convolution, PyTorch's
/// `nn.Conv2d(IN, OUT, K, stride=S, padding=P, dilation=D, groups=G)` with a square kernel.
///
/// The channels are split into `G` blocks; output block `i` (`OUT / G` channels) sees only
/// input block `i` (`IN / G` channels). `G` must divide `IN` and `OUT`: a build error naming
/// the three numbers. Shapes as for [`Conv2d`](super::Conv2d): `(B, IN, H, W)` or unbatched
/// `(IN, H, W)` in, `(B, OUT, OH, OW)` out.
///
/// The weight is `(OUT, IN / G, K, K)` (its dimension 1 is [`PerGroup<Const<IN>, G>`]) and the
/// bias `(OUT,)`, named `weight` and `bias`, both initialised uniform in
/// `±1/sqrt(IN/G * K * K)` as in PyTorch.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{GroupedConv2d, Module};
/// use rand::SeedableRng;
/// // 4 channels in 2 groups, 6 out, 3x3, stride 1, padding 1.
/// let conv = GroupedConv2d::<4, 6, 3, 2, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(conv.weight.dims().as_slice(), &[6, 2, 3, 3]);
/// let y = conv.forward(Tensor::<Rank4<2, 4, 8, 8>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[2, 6, 8, 8]);
/// ```
#[derive(Clone, Debug)]
pub struct GroupedConv2d<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const G: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
    E: Float = f32,
> {
    /// `(out_channels, in_channels / groups, K, K)`.
    pub weight: Tensor<GroupedConvWeight<IN, OUT, K, G>, E>,
    /// `(out_channels,)`, or `None` for `bias=False`.
    pub bias: Option<Tensor<Rank1<OUT>, E>>,
}

/// Depthwise 2-D convolution: [`GroupedConv2d`] with one group per input channel
/// (PyTorch's `nn.Conv2d(C, OUT, K, groups=C)`), `OUT` a multiple of `C`. The weight is
/// `(OUT, 1, K, K)`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{DepthwiseConv2d, Module};
/// use rand::SeedableRng;
/// // Two 3x3 filters per channel, padding 1.
/// let dw = DepthwiseConv2d::<3, 6, 3, 1, 1>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// assert_eq!(dw.weight.dims().as_slice(), &[6, 1, 3, 3]);
/// let y = dw.forward(Tensor::<Rank4<1, 3, 5, 5>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[1, 6, 5, 5]);
/// ```
pub type DepthwiseConv2d<
    const C: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    const P: usize = 0,
    const D: usize = 1,
    E = f32,
> = GroupedConv2d<C, OUT, K, C, S, P, D, E>;

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const G: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    E: Float,
> GroupedConv2d<IN, OUT, K, G, S, P, D, E>
{
    const FAN_IN: usize = {
        check_layer_groups(IN, OUT, G);
        IN / G * K * K
    };

    /// A layer with bias, initialised like PyTorch from `rng`.
    ///
    /// ```
    /// use shaped::nn::{GroupedConv2d, Params};
    /// use rand::SeedableRng;
    /// let conv = GroupedConv2d::<4, 8, 3, 4>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(conv.num_params(), 8 * 1 * 9 + 8);
    /// assert!(conv.weight.as_slice().iter().all(|w| w.abs() <= 1.0 / 3.0));
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(Self::FAN_IN);
        let weight = init::uniform(Default::default(), bound, rng);
        GroupedConv2d {
            weight,
            bias: Some(init::uniform(Default::default(), bound, rng)),
        }
    }

    /// A layer without bias (`bias=False`).
    ///
    /// ```
    /// use shaped::nn::{GroupedConv2d, Params};
    /// use rand::SeedableRng;
    /// let conv = GroupedConv2d::<4, 8, 3, 2>::new_no_bias(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(conv.param_names(), ["weight"]);
    /// ```
    pub fn new_no_bias<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let bound = init::linear_bound(Self::FAN_IN);
        GroupedConv2d {
            weight: init::uniform(Default::default(), bound, rng),
            bias: None,
        }
    }
}

impl<
    B: Dim,
    C: Dim,
    H: Dim,
    W: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const G: usize,
    const S: usize,
    const P: usize,
    const D: usize,
> Module<Tensor<(B, C, H, W), E, T>> for GroupedConv2d<IN, OUT, K, G, S, P, D, E>
where
    C: DimEq<Const<IN>>,
{
    type Output = Tensor<
        (
            B,
            Const<OUT>,
            ConvOut<H, K, S, P, D>,
            ConvOut<W, K, S, P, D>,
        ),
        E,
        T,
    >;
    fn try_forward(&self, x: Tensor<(B, C, H, W), E, T>) -> Result<Self::Output> {
        let _ = Self::FAN_IN;
        x.try_conv2d_grouped(
            self.weight.traced_as::<T>(),
            self.bias.as_ref().map(|b| b.traced_as::<T>()),
            ConvArgs::<S, P, D>,
            Groups::<G>,
        )
    }
}

impl<
    C: Dim,
    H: Dim,
    W: Dim,
    E: Float,
    T: Tape<E>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const G: usize,
    const S: usize,
    const P: usize,
    const D: usize,
> Module<Tensor<(C, H, W), E, T>> for GroupedConv2d<IN, OUT, K, G, S, P, D, E>
where
    C: DimEq<Const<IN>>,
{
    type Output = Tensor<(Const<OUT>, ConvOut<H, K, S, P, D>, ConvOut<W, K, S, P, D>), E, T>;
    fn try_forward(&self, x: Tensor<(C, H, W), E, T>) -> Result<Self::Output> {
        let _ = Self::FAN_IN;
        x.try_conv2d_grouped(
            self.weight.traced_as::<T>(),
            self.bias.as_ref().map(|b| b.traced_as::<T>()),
            ConvArgs::<S, P, D>,
            Groups::<G>,
        )
    }
}

impl<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const G: usize,
    const S: usize,
    const P: usize,
    const D: usize,
    E: Float,
> Params<E> for GroupedConv2d<IN, OUT, K, G, S, P, D, E>
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
                "Conv2d",
                IN,
                OUT,
                ConvDescription {
                    kernel: &[K, K],
                    stride: &[S, S],
                    padding: &[P, P],
                    dilation: &[D, D],
                    output_padding: &[0, 0],
                    groups: G,
                    bias: self.bias.is_some(),
                },
            ),
        )
    }
}
