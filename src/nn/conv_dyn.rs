//! Convolution layers whose channels, kernel size, stride, padding, dilation and groups are
//! run-time values ([`Conv1dDyn`], [`Conv2dDyn`], [`ConvTranspose2dDyn`]), e.g. read from a
//! configuration file. They share the traced convolution and its kernels with the static
//! layers ([`Conv2d`](super::Conv2d), ...), have the same parameter names, layouts and
//! initialisation (a state dict loads into either), and check the input's channels when
//! called: an `Err` naming the layer and both sizes.
//!
//! The static layers keep their geometry in const generics so that output sizes are types
//! ([`ConvOut`](crate::shape::ConvOut)); here the output's channels and spatial sizes are
//! `usize`, and a static layer may follow (its input check then runs at run time).

use super::init;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::{Error, OrPanic, Result};
use crate::ops::conv::{ConvGeom, Kind, conv_op, geom};
use crate::shape::{Dim, Shape, conv_out_size, conv_transpose_out_size};
use crate::tensor::Tensor;
use rand::Rng;

/// The hyperparameters of a run-time-sized convolution with `N` spatial axes, PyTorch's
/// constructor arguments: [`Conv1dConfig`] (`N = 1`) and [`Conv2dConfig`] (`N = 2`).
///
/// [`new`](Self::new) gives PyTorch's defaults (stride 1, padding 0, dilation 1, groups 1,
/// bias); the builder methods set one value for every axis, the public fields one per axis.
/// `output_padding` is used by [`ConvTranspose2dDyn`] only and must stay 0 otherwise.
///
/// ```
/// use shaped::nn::Conv2dConfig;
/// let config = Conv2dConfig::new(3, 16, 3).stride(2).padding(1);
/// assert_eq!(config.kernel_size, [3, 3]);
/// assert_eq!((config.stride, config.padding, config.groups), ([2, 2], [1, 1], 1));
/// // Per-axis values, as read from a file:
/// let wide = Conv2dConfig { kernel_size: [1, 5], padding: [0, 2], ..Conv2dConfig::new(3, 16, 1) };
/// assert_eq!(wide.kernel_size, [1, 5]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConvConfig<const N: usize> {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size per spatial axis.
    pub kernel_size: [usize; N],
    /// Stride per spatial axis.
    pub stride: [usize; N],
    /// Zero padding on both sides, per spatial axis.
    pub padding: [usize; N],
    /// Dilation per spatial axis.
    pub dilation: [usize; N],
    /// Extra size on one side of a transposed convolution's output (0 for a convolution).
    pub output_padding: [usize; N],
    /// Channel groups (`groups=`); must divide both channel counts.
    pub groups: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
}

/// [`ConvConfig`] of a 1-D convolution ([`Conv1dDyn`]).
pub type Conv1dConfig = ConvConfig<1>;
/// [`ConvConfig`] of a 2-D convolution ([`Conv2dDyn`], [`ConvTranspose2dDyn`]).
pub type Conv2dConfig = ConvConfig<2>;

impl<const N: usize> ConvConfig<N> {
    /// `in_channels` to `out_channels` with a `kernel_size` on every axis and PyTorch's
    /// defaults for the rest.
    ///
    /// ```
    /// use shaped::nn::Conv1dConfig;
    /// let c = Conv1dConfig::new(2, 4, 5);
    /// assert_eq!((c.kernel_size, c.stride, c.dilation, c.bias), ([5], [1], [1], true));
    /// ```
    pub fn new(in_channels: usize, out_channels: usize, kernel_size: usize) -> Self {
        ConvConfig {
            in_channels,
            out_channels,
            kernel_size: [kernel_size; N],
            stride: [1; N],
            padding: [0; N],
            dilation: [1; N],
            output_padding: [0; N],
            groups: 1,
            bias: true,
        }
    }
    /// The same stride on every axis.
    ///
    /// ```
    /// assert_eq!(shaped::nn::Conv2dConfig::new(1, 1, 3).stride(2).stride, [2, 2]);
    /// ```
    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = [stride; N];
        self
    }
    /// The same padding on every axis.
    ///
    /// ```
    /// assert_eq!(shaped::nn::Conv2dConfig::new(1, 1, 3).padding(1).padding, [1, 1]);
    /// ```
    pub fn padding(mut self, padding: usize) -> Self {
        self.padding = [padding; N];
        self
    }
    /// The same dilation on every axis.
    ///
    /// ```
    /// assert_eq!(shaped::nn::Conv2dConfig::new(1, 1, 3).dilation(2).dilation, [2, 2]);
    /// ```
    pub fn dilation(mut self, dilation: usize) -> Self {
        self.dilation = [dilation; N];
        self
    }
    /// The same output padding on every axis (transposed convolutions).
    ///
    /// ```
    /// assert_eq!(shaped::nn::Conv2dConfig::new(1, 1, 3).stride(2).output_padding(1).output_padding, [1, 1]);
    /// ```
    pub fn output_padding(mut self, output_padding: usize) -> Self {
        self.output_padding = [output_padding; N];
        self
    }
    /// Channel groups (`groups=`).
    ///
    /// ```
    /// assert_eq!(shaped::nn::Conv2dConfig::new(4, 4, 3).groups(4).groups, 4);
    /// ```
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
    /// With or without a bias.
    ///
    /// ```
    /// assert!(!shaped::nn::Conv2dConfig::new(1, 1, 3).bias(false).bias);
    /// ```
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    /// The configuration's errors, naming the layer and the values.
    fn validate(&self, layer: &'static str, transposed: bool) -> Result<()> {
        let bad = |message: String| Err(Error::value(layer, message));
        let c = self;
        if c.in_channels == 0 || c.out_channels == 0 {
            return bad(format!(
                "in_channels {} and out_channels {} must be at least 1",
                c.in_channels, c.out_channels
            ));
        }
        for (what, values) in [
            ("kernel_size", &c.kernel_size),
            ("stride", &c.stride),
            ("dilation", &c.dilation),
        ] {
            if values.contains(&0) {
                return bad(format!(
                    "{what} {values:?} must be at least 1 on every axis"
                ));
            }
        }
        if c.groups == 0
            || !c.in_channels.is_multiple_of(c.groups)
            || !c.out_channels.is_multiple_of(c.groups)
        {
            return bad(format!(
                "groups {} must divide in_channels {} and out_channels {}",
                c.groups, c.in_channels, c.out_channels
            ));
        }
        if transposed {
            if c.groups != 1 {
                return bad(format!(
                    "groups {} is not supported for transposed convolutions (only 1)",
                    c.groups
                ));
            }
            for i in 0..N {
                if c.output_padding[i] >= c.stride[i] && c.output_padding[i] >= c.dilation[i] {
                    return bad(format!(
                        "output_padding {:?} must be smaller than the stride {:?} or the dilation {:?}",
                        c.output_padding, c.stride, c.dilation
                    ));
                }
            }
        } else if c.output_padding.iter().any(|&p| p != 0) {
            return bad(format!(
                "output_padding {:?} applies to transposed convolutions only",
                c.output_padding
            ));
        }
        Ok(())
    }

    /// PyTorch's `repr` of the layer: `Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1))`.
    fn describe(&self, kind: &str) -> String {
        conv_description(
            kind,
            self.in_channels,
            self.out_channels,
            ConvDescription {
                kernel: &self.kernel_size,
                stride: &self.stride,
                padding: &self.padding,
                dilation: &self.dilation,
                output_padding: &self.output_padding,
                groups: self.groups,
                bias: self.bias,
            },
        )
    }
}

/// The geometry part of a convolution's `repr`.
pub(super) struct ConvDescription<'a> {
    pub(super) kernel: &'a [usize],
    pub(super) stride: &'a [usize],
    pub(super) padding: &'a [usize],
    pub(super) dilation: &'a [usize],
    pub(super) output_padding: &'a [usize],
    pub(super) groups: usize,
    pub(super) bias: bool,
}

/// PyTorch's `repr` of a convolution layer: the non-default arguments only, as
/// `Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))`.
pub(super) fn conv_description(
    kind: &str,
    in_channels: usize,
    out_channels: usize,
    d: ConvDescription<'_>,
) -> String {
    let tuple = |v: &[usize]| match v {
        [a] => format!("({a},)"),
        _ => format!(
            "({})",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut s = format!(
        "{kind}({in_channels}, {out_channels}, kernel_size={}, stride={}",
        tuple(d.kernel),
        tuple(d.stride)
    );
    if d.padding.iter().any(|&p| p != 0) {
        s += &format!(", padding={}", tuple(d.padding));
    }
    if d.dilation.iter().any(|&x| x != 1) {
        s += &format!(", dilation={}", tuple(d.dilation));
    }
    if d.output_padding.iter().any(|&x| x != 0) {
        s += &format!(", output_padding={}", tuple(d.output_padding));
    }
    if d.groups != 1 {
        s += &format!(", groups={}", d.groups);
    }
    if !d.bias {
        s += ", bias=False";
    }
    s + ")"
}

/// The weight and bias of a run-time-sized convolution, initialised like PyTorch: uniform in
/// `±1/sqrt(fan_in)` with `fan_in` the weight's dimension 1 times the kernel's elements.
fn init_weight<S: Shape, E: Float, R: Rng + ?Sized>(
    layer: &'static str,
    shape: S,
    out_channels: usize,
    bias: bool,
    rng: &mut R,
) -> Result<(Tensor<S, E>, Option<Tensor<(usize,), E>>)> {
    shape.try_numel(layer)?;
    let dims = shape.dims();
    let fan_in = dims.as_slice()[1..].iter().product::<usize>();
    let bound = init::linear_bound(fan_in);
    let weight = init::uniform(shape, bound, rng);
    let bias = bias.then(|| init::uniform((out_channels,), bound, rng));
    Ok((weight, bias))
}

/// The error for an input whose channels are not the layer's.
fn channel_error(layer: &'static str, expected: usize, got: usize, dims: &[usize]) -> Error {
    Error::shape(
        layer,
        format!("{layer} expects {expected} input channels, got {got} (input shape {dims:?})"),
    )
}

/// The error for parameters that were replaced by tensors of other sizes.
fn weight_error(layer: &'static str, weight: &[usize], expected: &[usize]) -> Error {
    Error::shape(
        layer,
        format!("the weight has shape {weight:?} but the configuration needs {expected:?}"),
    )
}

/// Checks the input channels and spatial sizes against the configuration and gives the
/// backend geometry and the output's spatial sizes `(oh, ow)`. A 1-D convolution is a 2-D one
/// over images of height 1 (`spatial = [1, l]`, `N = 1` values placed on the width axis).
fn plan<const N: usize>(
    layer: &'static str,
    c: &ConvConfig<N>,
    transposed: bool,
    channels: usize,
    spatial: [usize; 2],
    dims: &[usize],
) -> Result<(ConvGeom, [usize; 2])> {
    if channels != c.in_channels {
        return Err(channel_error(layer, c.in_channels, channels, dims));
    }
    // Axis values as (height, width); a 1-D layer is 1 high with no padding or dilation.
    let axis = |v: &[usize; N], one: usize| -> [usize; 2] {
        if N == 1 { [one, v[0]] } else { [v[0], v[1]] }
    };
    let (k, s, p, d, op) = (
        axis(&c.kernel_size, 1),
        axis(&c.stride, 1),
        axis(&c.padding, 0),
        axis(&c.dilation, 1),
        axis(&c.output_padding, 0),
    );
    let mut out = [0; 2];
    for i in 0..2 {
        let o = if transposed {
            conv_transpose_out_size(spatial[i], k[i], s[i], p[i], op[i], d[i])
        } else {
            conv_out_size(spatial[i], k[i], s[i], p[i], d[i])
        };
        out[i] = o.ok_or_else(|| {
            Error::shape(
                layer,
                format!(
                    "input shape {dims:?} does not fit kernel_size {:?}, stride {:?}, padding {:?}, dilation {:?}{}: no positive output size",
                    c.kernel_size,
                    c.stride,
                    c.padding,
                    c.dilation,
                    if transposed {
                        format!(", output_padding {:?}", c.output_padding)
                    } else {
                        String::new()
                    }
                ),
            )
        })?;
    }
    let g = if transposed {
        // The convolution this transposes maps the output grid back onto the input grid.
        geom(
            c.out_channels,
            out[0],
            out[1],
            k[0],
            k[1],
            (s[0], s[1]),
            (p[0], p[1]),
            (d[0], d[1]),
            spatial[0],
            spatial[1],
        )
    } else {
        geom(
            c.in_channels / c.groups,
            spatial[0],
            spatial[1],
            k[0],
            k[1],
            (s[0], s[1]),
            (p[0], p[1]),
            (d[0], d[1]),
            out[0],
            out[1],
        )
    };
    Ok((g, out))
}

/// The traced convolution of `x` (`n` samples of `channels` channels and `spatial` sizes)
/// with the layer's parameters, reshaped to `out`.
#[allow(clippy::too_many_arguments)]
fn run<SX: Shape, SW: Shape, SO: Shape, E: Float, T: Tape<E>, const N: usize>(
    layer: &'static str,
    config: &ConvConfig<N>,
    transposed: bool,
    weight: &Tensor<SW, E>,
    bias: &Option<Tensor<(usize,), E>>,
    x: Tensor<SX, E, T>,
    n: usize,
    make_out: impl FnOnce([usize; 2]) -> SO,
) -> Result<Tensor<SO, E, T>> {
    let dims = x.shape.dims();
    let dims = dims.as_slice();
    // `(.., C, spatial..)`: the batch axis, if any, is in front.
    let len = dims.len();
    let channels = dims[len - 1 - N];
    let spatial = if N == 1 {
        [1, dims[len - 1]]
    } else {
        [dims[len - 2], dims[len - 1]]
    };
    let c = config;
    let mut expected = if transposed {
        vec![c.in_channels, c.out_channels]
    } else {
        vec![c.out_channels, c.in_channels / c.groups]
    };
    expected.extend_from_slice(&c.kernel_size);
    let wd = weight.shape.dims();
    if wd.as_slice() != expected.as_slice() {
        return Err(weight_error(layer, wd.as_slice(), &expected));
    }
    if let Some(b) = bias
        && b.shape.0 != c.out_channels
    {
        return Err(weight_error(layer, &[b.shape.0], &[c.out_channels]));
    }
    let (g, out) = plan(layer, c, transposed, channels, spatial, dims)?;
    let shape = make_out(out);
    shape.try_numel(layer)?;
    let kind = if transposed {
        Kind::Transpose
    } else {
        Kind::Conv
    };
    let w = weight.traced_as::<T>();
    let b = bias.as_ref().map(|b| b.traced_as::<T>());
    Ok(conv_op(
        x,
        w,
        b,
        shape,
        n,
        channels,
        c.out_channels,
        c.groups,
        g,
        kind,
    ))
}

macro_rules! dyn_conv_layer {
    (
        $(#[$meta:meta])*
        $name:ident, $config:ident, $n:literal, $kind:literal, transposed: $transposed:literal,
        weight: ($($wd:ident),*), weight_doc: $weight_doc:literal,
        batched: ($($bd:ident),*) -> ($($bo:ty),*),
        unbatched: ($($ud:ident),*) -> ($($uo:ty),*),
        out: |$o:ident, $c:ident, $b:ident| ($($bexpr:expr),*), ($($uexpr:expr),*)
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name<E: Float = f32> {
            #[doc = $weight_doc]
            pub weight: Tensor<($($wd,)*), E>,
            /// `(out_channels,)`, or `None` for `bias=False`.
            pub bias: Option<Tensor<(usize,), E>>,
            config: $config,
        }

        impl<E: Float> $name<E> {
            /// A layer for `config`, initialised like PyTorch from `rng`; an `Err` names the
            /// values of an invalid configuration (zero sizes, groups that do not divide the
            /// channels, ...).
            ///
            /// ```
            #[doc = concat!("use shaped::nn::{", stringify!($config), ", ", stringify!($name), "};")]
            /// use rand::SeedableRng;
            /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
            #[doc = concat!("assert!(", stringify!($name), "::<f32>::try_new(", stringify!($config), "::new(2, 4, 3), &mut rng).is_ok());")]
            #[doc = concat!("let err = ", stringify!($name), "::<f32>::try_new(", stringify!($config), "::new(2, 4, 0), &mut rng).unwrap_err();")]
            /// assert!(err.to_string().contains("kernel_size"));
            /// ```
            pub fn try_new<R: Rng + ?Sized>(config: $config, rng: &mut R) -> Result<Self> {
                config.validate(stringify!($name), $transposed)?;
                let c = &config;
                let shape = Self::weight_shape(c);
                let (weight, bias) = init_weight(stringify!($name), shape, c.out_channels, c.bias, rng)?;
                Ok($name { weight, bias, config })
            }
            /// [`try_new`](Self::try_new), panicking at the caller's line for an invalid
            /// configuration.
            ///
            /// ```
            #[doc = concat!("use shaped::nn::{", stringify!($config), ", ", stringify!($name), ", Params};")]
            /// use rand::SeedableRng;
            #[doc = concat!("let layer = ", stringify!($name), "::<f32>::new(", stringify!($config), "::new(2, 4, 3).bias(false), &mut rand::rngs::StdRng::seed_from_u64(0));")]
            /// assert_eq!(layer.param_names(), ["weight"]);
            /// ```
            #[track_caller]
            pub fn new<R: Rng + ?Sized>(config: $config, rng: &mut R) -> Self {
                Self::try_new(config, rng).or_panic()
            }
            /// The layer's configuration.
            ///
            /// ```
            #[doc = concat!("use shaped::nn::{", stringify!($config), ", ", stringify!($name), "};")]
            /// use rand::SeedableRng;
            #[doc = concat!("let config = ", stringify!($config), "::new(2, 4, 3).stride(2);")]
            #[doc = concat!("let layer = ", stringify!($name), "::<f32>::new(config, &mut rand::rngs::StdRng::seed_from_u64(0));")]
            /// assert_eq!(layer.config(), &config);
            /// ```
            pub fn config(&self) -> &$config {
                &self.config
            }
        }

        impl<B: Dim, $($bd: Dim,)* E: Float, T: Tape<E>> Module<Tensor<(B, $($bd,)*), E, T>> for $name<E> {
            type Output = Tensor<(B, $($bo,)*), E, T>;
            fn try_forward(&self, x: Tensor<(B, $($bd,)*), E, T>) -> Result<Self::Output> {
                let $b = x.shape.0;
                let $c = &self.config;
                run(stringify!($name), $c, $transposed, &self.weight, &self.bias, x, $b.size(), |$o| ($b, $($bexpr,)*))
            }
        }

        impl<$($ud: Dim,)* E: Float, T: Tape<E>> Module<Tensor<($($ud,)*), E, T>> for $name<E> {
            type Output = Tensor<($($uo,)*), E, T>;
            fn try_forward(&self, x: Tensor<($($ud,)*), E, T>) -> Result<Self::Output> {
                let $c = &self.config;
                run(stringify!($name), $c, $transposed, &self.weight, &self.bias, x, 1, |$o| ($($uexpr,)*))
            }
        }

        impl<E: Float> Params<E> for $name<E> {
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
                super::conv::visit_weight_bias(&self.weight, &self.bias, prefix, f);
            }
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
                super::conv::visit_weight_bias_mut(&mut self.weight, &mut self.bias, prefix, f);
            }
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                f(super::params::module_name(prefix), self.config.describe($kind));
            }
        }
    };
}

dyn_conv_layer! {
    /// 2-D convolution with run-time sizes, PyTorch's
    /// `nn.Conv2d(in, out, kernel_size, stride, padding, dilation, groups, bias)`: the
    /// run-time twin of [`Conv2d`](super::Conv2d) and
    /// [`GroupedConv2d`](super::GroupedConv2d) (any kernel height and width, per-axis stride,
    /// padding and dilation, `groups`).
    ///
    /// Takes `(B, C, H, W)` or unbatched `(C, H, W)` with any static or run-time dimensions
    /// and gives `(B, out, OH, OW)` with run-time (`usize`) sizes. Input channels other than
    /// the configuration's are an `Err` from `try_forward` (a panic from `forward`) naming both.
    /// The weight is `(out, in/groups, KH, KW)`, the bias `(out,)`, initialised as PyTorch does.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Conv2dConfig, Conv2dDyn, Module};
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let conv = Conv2dDyn::new(Conv2dConfig::new(3, 8, 3).padding(1), &mut rng);
    /// let y = conv.forward(Tensor::<Rank4<2, 3, 16, 16>>::zeros());
    /// assert_eq!(y.dims().as_slice(), &[2, 8, 16, 16]);
    /// let err = conv.try_forward(Tensor::<Rank4<2, 4, 16, 16>>::zeros()).unwrap_err();
    /// assert!(err.to_string().contains("Conv2dDyn expects 3 input channels, got 4"));
    /// assert!(Conv2dDyn::<f32>::try_new(Conv2dConfig::new(3, 8, 3).groups(2), &mut rng).is_err());
    /// ```
    Conv2dDyn, Conv2dConfig, 2, "Conv2d", transposed: false,
    weight: (usize, usize, usize, usize), weight_doc: "`(out_channels, in_channels / groups, KH, KW)`.",
    batched: (C, H, W) -> (usize, usize, usize),
    unbatched: (C, H, W) -> (usize, usize, usize),
    out: |o, c, b| (c.out_channels, o[0], o[1]), (c.out_channels, o[0], o[1])
}

dyn_conv_layer! {
    /// 1-D convolution with run-time sizes, PyTorch's
    /// `nn.Conv1d(in, out, kernel_size, stride, padding, dilation, groups, bias)`: the
    /// run-time twin of [`Conv1d`](super::Conv1d).
    ///
    /// Takes `(B, C, L)` or unbatched `(C, L)` and gives `(B, out, OL)` with run-time sizes;
    /// the weight is `(out, in/groups, K)`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Conv1dConfig, Conv1dDyn, Module};
    /// use rand::SeedableRng;
    /// let conv = Conv1dDyn::new(Conv1dConfig::new(3, 4, 3).padding(1), &mut rand::rngs::StdRng::seed_from_u64(0));
    /// let y = conv.forward(Tensor::<(usize, Const<3>, Const<10>)>::zeros_with_shape((5, Const, Const)));
    /// assert_eq!(y.dims().as_slice(), &[5, 4, 10]);
    /// ```
    Conv1dDyn, Conv1dConfig, 1, "Conv1d", transposed: false,
    weight: (usize, usize, usize), weight_doc: "`(out_channels, in_channels / groups, K)`.",
    batched: (C, L) -> (usize, usize),
    unbatched: (C, L) -> (usize, usize),
    out: |o, c, b| (c.out_channels, o[1]), (c.out_channels, o[1])
}

dyn_conv_layer! {
    /// Transposed 2-D convolution with run-time sizes, PyTorch's
    /// `nn.ConvTranspose2d(in, out, kernel_size, stride, padding, output_padding, dilation,
    /// bias)` with `groups=1`: the run-time twin of [`ConvTranspose2d`](super::ConvTranspose2d).
    ///
    /// Takes `(B, C, H, W)` or `(C, H, W)` and gives `(B, out, OH, OW)` with
    /// `OH = (H-1)S - 2P + D(K-1) + OP + 1`. The weight is `(in, out, KH, KW)` (PyTorch's
    /// layout), initialised uniform in `±1/sqrt(out*KH*KW)` as PyTorch does.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::{Conv2dConfig, ConvTranspose2dDyn, Module};
    /// use rand::SeedableRng;
    /// let config = Conv2dConfig::new(8, 4, 3).stride(2).padding(1).output_padding(1);
    /// let up = ConvTranspose2dDyn::new(config, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// let y = up.forward(Tensor::<Rank4<2, 8, 7, 7>>::zeros()); // 7x7 -> 14x14
    /// assert_eq!(y.dims().as_slice(), &[2, 4, 14, 14]);
    /// ```
    ConvTranspose2dDyn, Conv2dConfig, 2, "ConvTranspose2d", transposed: true,
    weight: (usize, usize, usize, usize), weight_doc: "`(in_channels, out_channels, KH, KW)`.",
    batched: (C, H, W) -> (usize, usize, usize),
    unbatched: (C, H, W) -> (usize, usize, usize),
    out: |o, c, b| (c.out_channels, o[0], o[1]), (c.out_channels, o[0], o[1])
}

impl<E: Float> Conv2dDyn<E> {
    fn weight_shape(c: &Conv2dConfig) -> (usize, usize, usize, usize) {
        (
            c.out_channels,
            c.in_channels / c.groups,
            c.kernel_size[0],
            c.kernel_size[1],
        )
    }
}

impl<E: Float> Conv1dDyn<E> {
    fn weight_shape(c: &Conv1dConfig) -> (usize, usize, usize) {
        (c.out_channels, c.in_channels / c.groups, c.kernel_size[0])
    }
}

impl<E: Float> ConvTranspose2dDyn<E> {
    fn weight_shape(c: &Conv2dConfig) -> (usize, usize, usize, usize) {
        (
            c.in_channels,
            c.out_channels,
            c.kernel_size[0],
            c.kernel_size[1],
        )
    }
}
