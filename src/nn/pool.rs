//! Pooling layers and `Flatten`: zero-sized layers with no parameters, for use in tuples.

use super::module::Module;
use super::params::{ParamMut, ParamView, Params};
use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::Result;
use crate::shape::{Const, Dim, HasAxis, PoolOut, Shape, ShapeMismatch, SplitAxis};
use crate::tensor::Tensor;

macro_rules! no_params {
    ($name:ident < $(const $c:ident),* >, |$this:ident| $describe:expr) => {
        impl<E: Float, $(const $c: usize),*> Params<E> for $name<$($c),*> {
            fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
            fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
            fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
                let $this = self;
                f(super::module_name(prefix), $describe)
            }
        }
    };
}

macro_rules! pool_module {
    ($name:ident, $method:ident) => {
        impl<B: Dim, C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<Tensor<(B, C, H, W), E, T>> for $name<K, S, P>
        {
            type Output = Tensor<(B, C, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T>;
            // Evaluated by `forward` (and a tuple model's check) so that a window that does not
            // fit fails at the caller's line.
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<H, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<W, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: Tensor<(B, C, H, W), E, T>) -> Result<Self::Output> {
                x.$method::<K, S, P>()
            }
        }
        impl<C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<Tensor<(C, H, W), E, T>> for $name<K, S, P>
        {
            type Output = Tensor<(C, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T>;
            // Evaluated by `forward` (and a tuple model's check) so that a window that does not
            // fit fails at the caller's line.
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<H, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<W, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: Tensor<(C, H, W), E, T>) -> Result<Self::Output> {
                x.$method::<K, S, P>()
            }
        }
        no_params!($name<const K, const S, const P>, |_layer| format!(
            "{}(kernel_size={K}, stride={S}, padding={P})",
            stringify!($name)
        ));
    };
}

/// Max pooling over `K x K` windows with stride `S` (default `K`) and padding `P`, PyTorch's
/// `nn.MaxPool2d(K, stride=S, padding=P)` in floor mode. Padding counts as `-inf`.
///
/// Takes `(B, C, H, W)` or `(C, H, W)`; the output size `(H + 2P - K)/S + 1` is computed by
/// the type ([`PoolOut`]). `P` may be at most `K/2`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{MaxPool2d, Module};
/// let y = MaxPool2d::<2>.forward(Tensor::<Rank4<8, 16, 26, 26>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[8, 16, 13, 13]);
/// let z = MaxPool2d::<3, 2, 1>.forward(Tensor::<Rank3<2, 7, 7>>::zeros());
/// assert_eq!(z.dims().as_slice(), &[2, 4, 4]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool2d<const K: usize, const S: usize = K, const P: usize = 0>;
pool_module!(MaxPool2d, try_max_pool2d);

/// Average pooling over `K x K` windows with stride `S` (default `K`) and padding `P`,
/// PyTorch's `nn.AvgPool2d(K, stride=S, padding=P)` in floor mode with
/// `count_include_pad=True`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{AvgPool2d, Module};
/// let y = AvgPool2d::<2>.forward(Tensor::<Rank4<1, 3, 8, 8>>::ones());
/// assert_eq!(y.dims().as_slice(), &[1, 3, 4, 4]);
/// assert_eq!(y.to_vec(), vec![1.0; 48]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool2d<const K: usize, const S: usize = K, const P: usize = 0>;
pool_module!(AvgPool2d, try_avg_pool2d);

macro_rules! pool3d_module {
    ($name:ident, $method:ident, |$this:ident| $describe:expr) => {
        impl<B: Dim, C: Dim, D: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<Tensor<(B, C, D, H, W), E, T>> for $name<K, S, P>
        {
            type Output = Tensor<(B, C, PoolOut<D, K, S, P>, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T>;
            // Evaluated by `forward` (and a tuple model's check) so that a window that does not
            // fit fails at the caller's line.
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<D, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<H, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<W, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: Tensor<(B, C, D, H, W), E, T>) -> Result<Self::Output> {
                x.$method::<K, S, P>()
            }
        }
        impl<C: Dim, D: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<Tensor<(C, D, H, W), E, T>> for $name<K, S, P>
        {
            type Output = Tensor<(C, PoolOut<D, K, S, P>, PoolOut<H, K, S, P>, PoolOut<W, K, S, P>), E, T>;
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<D, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<H, K, S, P> as Dim>::STATIC_SIZE;
                let _ = <PoolOut<W, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: Tensor<(C, D, H, W), E, T>) -> Result<Self::Output> {
                x.$method::<K, S, P>()
            }
        }
        no_params!($name<const K, const S, const P>, |$this| $describe);
    };
}

/// Max pooling over `K x K x K` windows with stride `S` (default `K`) and padding `P`,
/// PyTorch's `nn.MaxPool3d(K, stride=S, padding=P)` in floor mode. Padding counts as `-inf`;
/// a NaN counts as the maximum.
///
/// Takes `(B, C, D, H, W)` or `(C, D, H, W)`; the output size `(D + 2P - K)/S + 1` along each
/// axis is computed by the type ([`PoolOut`]). `P` may be at most `K/2`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{MaxPool3d, Module};
/// let y = MaxPool3d::<2>.forward(Tensor::<Rank5<2, 4, 8, 16, 16>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[2, 4, 4, 8, 8]);
/// let z = MaxPool3d::<3, 2, 1>.forward(Tensor::<Rank4<2, 5, 7, 7>>::zeros());
/// assert_eq!(z.dims().as_slice(), &[2, 3, 4, 4]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool3d<const K: usize, const S: usize = K, const P: usize = 0>;
pool3d_module!(MaxPool3d, try_max_pool3d, |_layer| format!(
    "MaxPool3d(kernel_size={K}, stride={S}, padding={P}, dilation=1, ceil_mode=False)"
));

/// Average pooling over `K x K x K` windows with stride `S` (default `K`) and padding `P`,
/// PyTorch's `nn.AvgPool3d(K, stride=S, padding=P)` in floor mode with
/// `count_include_pad=True`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{AvgPool3d, Module};
/// let y = AvgPool3d::<2>.forward(Tensor::<Rank5<1, 3, 4, 8, 8>>::ones());
/// assert_eq!(y.dims().as_slice(), &[1, 3, 2, 4, 4]);
/// assert_eq!(y.to_vec(), vec![1.0; 96]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool3d<const K: usize, const S: usize = K, const P: usize = 0>;
pool3d_module!(AvgPool3d, try_avg_pool3d, |_layer| format!(
    "AvgPool3d(kernel_size={K}, stride={S}, padding={P})"
));

/// Adaptive average pooling to an `OH x OW` output whatever the input size, PyTorch's
/// `nn.AdaptiveAvgPool2d((OH, OW))`. The default, `AdaptiveAvgPool2d` alone, is global
/// average pooling to `1 x 1`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{AdaptiveAvgPool2d, Module};
/// let x = Tensor::<(usize, Const<4>, usize, usize)>::ones_with_shape((2, Const, 9, 7));
/// let y = AdaptiveAvgPool2d::<1>.forward(x.clone()); // (2, 4, 1, 1)
/// assert_eq!(y.dims().as_slice(), &[2, 4, 1, 1]);
/// let z = AdaptiveAvgPool2d::<2, 3>.forward(x);
/// assert_eq!(z.dims().as_slice(), &[2, 4, 2, 3]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d<const OH: usize = 1, const OW: usize = OH>;

impl<B: Dim, C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const OH: usize, const OW: usize>
    Module<Tensor<(B, C, H, W), E, T>> for AdaptiveAvgPool2d<OH, OW>
{
    type Output = Tensor<(B, C, Const<OH>, Const<OW>), E, T>;
    fn try_forward(&self, x: Tensor<(B, C, H, W), E, T>) -> Result<Self::Output> {
        x.try_adaptive_avg_pool2d::<OH, OW>()
    }
}
impl<C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const OH: usize, const OW: usize>
    Module<Tensor<(C, H, W), E, T>> for AdaptiveAvgPool2d<OH, OW>
{
    type Output = Tensor<(C, Const<OH>, Const<OW>), E, T>;
    fn try_forward(&self, x: Tensor<(C, H, W), E, T>) -> Result<Self::Output> {
        x.try_adaptive_avg_pool2d::<OH, OW>()
    }
}
no_params!(AdaptiveAvgPool2d<const OH, const OW>, |_layer| format!(
    "AdaptiveAvgPool2d(output_size=({OH}, {OW}))"
));

/// Adaptive max pooling to an `OH x OW` output whatever the input size, PyTorch's
/// `nn.AdaptiveMaxPool2d((OH, OW))` (without `return_indices`): output cell `i` takes the
/// maximum of rows `floor(i*H/OH) .. ceil((i+1)*H/OH)`, and likewise for columns.
/// `AdaptiveMaxPool2d` alone is global max pooling to `1 x 1`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{AdaptiveMaxPool2d, Module};
/// let x = Tensor::<(usize, Const<4>, usize, usize)>::ones_with_shape((2, Const, 9, 7));
/// let y = AdaptiveMaxPool2d::<2, 3>.forward(x.clone());
/// assert_eq!(y.dims().as_slice(), &[2, 4, 2, 3]);
/// assert_eq!(AdaptiveMaxPool2d::<1>.forward(x).dims().as_slice(), &[2, 4, 1, 1]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveMaxPool2d<const OH: usize = 1, const OW: usize = OH>;

impl<B: Dim, C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const OH: usize, const OW: usize>
    Module<Tensor<(B, C, H, W), E, T>> for AdaptiveMaxPool2d<OH, OW>
{
    type Output = Tensor<(B, C, Const<OH>, Const<OW>), E, T>;
    fn try_forward(&self, x: Tensor<(B, C, H, W), E, T>) -> Result<Self::Output> {
        x.try_adaptive_max_pool2d::<OH, OW>()
    }
}
impl<C: Dim, H: Dim, W: Dim, E: Float, T: Tape<E>, const OH: usize, const OW: usize>
    Module<Tensor<(C, H, W), E, T>> for AdaptiveMaxPool2d<OH, OW>
{
    type Output = Tensor<(C, Const<OH>, Const<OW>), E, T>;
    fn try_forward(&self, x: Tensor<(C, H, W), E, T>) -> Result<Self::Output> {
        x.try_adaptive_max_pool2d::<OH, OW>()
    }
}
no_params!(AdaptiveMaxPool2d<const OH, const OW>, |_layer| format!(
    "AdaptiveMaxPool2d(output_size=({OH}, {OW}))"
));

macro_rules! pool1d_module {
    ($name:ident, $method:ident, |$k:ident, $s:ident, $p:ident| $describe:expr) => {
        impl<B: Dim, C: Dim, L: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<Tensor<(B, C, L), E, T>> for $name<K, S, P>
        {
            type Output = Tensor<(B, C, PoolOut<L, K, S, P>), E, T>;
            // Evaluated by `forward` so that a window that does not fit fails at the caller's
            // line.
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<L, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: Tensor<(B, C, L), E, T>) -> Result<Self::Output> {
                x.$method::<K, S, P>()
            }
        }
        impl<C: Dim, L: Dim, E: Float, T: Tape<E>, const K: usize, const S: usize, const P: usize>
            Module<Tensor<(C, L), E, T>> for $name<K, S, P>
        {
            type Output = Tensor<(C, PoolOut<L, K, S, P>), E, T>;
            const SHAPE_MISMATCH: ShapeMismatch = {
                let _ = <PoolOut<L, K, S, P> as Dim>::STATIC_SIZE;
                ShapeMismatch::NONE
            };
            fn try_forward(&self, x: Tensor<(C, L), E, T>) -> Result<Self::Output> {
                x.$method::<K, S, P>()
            }
        }
        no_params!($name<const K, const S, const P>, |_layer| {
            let ($k, $s, $p) = (K, S, P);
            format!($describe)
        });
    };
}

/// Max pooling along the last axis over windows of `K` with stride `S` (default `K`) and
/// padding `P`, PyTorch's `nn.MaxPool1d(K, stride=S, padding=P)` in floor mode. Takes
/// `(B, C, L)` or `(C, L)`; the output length `(L + 2P - K)/S + 1` is computed by the type.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{MaxPool1d, Module};
/// let y = MaxPool1d::<3, 2, 1>.forward(Tensor::<Rank3<8, 16, 50>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[8, 16, 25]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MaxPool1d<const K: usize, const S: usize = K, const P: usize = 0>;
pool1d_module!(
    MaxPool1d,
    try_max_pool1d,
    |k, s, p| "MaxPool1d(kernel_size={k}, stride={s}, padding={p}, dilation=1, ceil_mode=False)"
);

/// Average pooling along the last axis over windows of `K` with stride `S` (default `K`)
/// and padding `P`, PyTorch's `nn.AvgPool1d(K, stride=S, padding=P)` in floor mode with
/// `count_include_pad=True`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{AvgPool1d, Module};
/// let y = AvgPool1d::<2>.forward(Tensor::<Rank2<3, 8>>::ones());
/// assert_eq!(y.to_vec(), vec![1.0; 12]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AvgPool1d<const K: usize, const S: usize = K, const P: usize = 0>;
pool1d_module!(
    AvgPool1d,
    try_avg_pool1d,
    |k, s, p| "AvgPool1d(kernel_size=({k},), stride=({s},), padding=({p},))"
);

/// Adaptive average pooling to `O` outputs along the last axis whatever its length,
/// PyTorch's `nn.AdaptiveAvgPool1d(O)`; `AdaptiveAvgPool1d` alone pools to one.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{AdaptiveAvgPool1d, Module};
/// let x = Tensor::<(usize, Const<4>, usize)>::ones_with_shape((2, Const, 9));
/// assert_eq!(AdaptiveAvgPool1d::<3>.forward(x).dims().as_slice(), &[2, 4, 3]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveAvgPool1d<const O: usize = 1>;

impl<B: Dim, C: Dim, L: Dim, E: Float, T: Tape<E>, const O: usize> Module<Tensor<(B, C, L), E, T>>
    for AdaptiveAvgPool1d<O>
{
    type Output = Tensor<(B, C, Const<O>), E, T>;
    fn try_forward(&self, x: Tensor<(B, C, L), E, T>) -> Result<Self::Output> {
        x.try_adaptive_avg_pool1d::<O>()
    }
}
impl<C: Dim, L: Dim, E: Float, T: Tape<E>, const O: usize> Module<Tensor<(C, L), E, T>>
    for AdaptiveAvgPool1d<O>
{
    type Output = Tensor<(C, Const<O>), E, T>;
    fn try_forward(&self, x: Tensor<(C, L), E, T>) -> Result<Self::Output> {
        x.try_adaptive_avg_pool1d::<O>()
    }
}
no_params!(AdaptiveAvgPool1d<const O>, |_layer| format!(
    "AdaptiveAvgPool1d(output_size={O})"
));

/// Adaptive max pooling to `O` outputs along the last axis whatever its length, PyTorch's
/// `nn.AdaptiveMaxPool1d(O)` (without `return_indices`); `AdaptiveMaxPool1d` alone pools to
/// one.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{AdaptiveMaxPool1d, Module};
/// let x = Tensor::<Rank2<1, 6>>::from_array([[1.0, 3.0, 5.0, 4.0, 6.0, 1.0]]);
/// assert_eq!(AdaptiveMaxPool1d::<3>.forward(x).to_vec(), vec![3.0, 5.0, 6.0]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdaptiveMaxPool1d<const O: usize = 1>;

impl<B: Dim, C: Dim, L: Dim, E: Float, T: Tape<E>, const O: usize> Module<Tensor<(B, C, L), E, T>>
    for AdaptiveMaxPool1d<O>
{
    type Output = Tensor<(B, C, Const<O>), E, T>;
    fn try_forward(&self, x: Tensor<(B, C, L), E, T>) -> Result<Self::Output> {
        x.try_adaptive_max_pool1d::<O>()
    }
}
impl<C: Dim, L: Dim, E: Float, T: Tape<E>, const O: usize> Module<Tensor<(C, L), E, T>>
    for AdaptiveMaxPool1d<O>
{
    type Output = Tensor<(C, Const<O>), E, T>;
    fn try_forward(&self, x: Tensor<(C, L), E, T>) -> Result<Self::Output> {
        x.try_adaptive_max_pool1d::<O>()
    }
}
no_params!(AdaptiveMaxPool1d<const O>, |_layer| format!(
    "AdaptiveMaxPool1d(output_size={O})"
));

/// Merges every dimension after the first into one, PyTorch's `nn.Flatten()`:
/// `(B, C, H, W)` becomes `(B, Prod<C, Prod<H, W>>)`. The product keeps a static size when
/// its factors have one, so a following `Linear<N, _>` checks `N` when the code is built.
/// Free: the data is not copied.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Flatten, Module};
/// let y = Flatten.forward(Tensor::<Rank4<2, 32, 5, 5>>::zeros());
/// assert_eq!(y.dims().as_slice(), &[2, 800]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<S: Shape + crate::shape::Flatten, E: Float, T: Tape<E>> Module<Tensor<S, E, T>> for Flatten {
    type Output = Tensor<<S as crate::shape::Flatten>::Output, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        Ok(x.flatten())
    }
}
impl<E: Float> Params<E> for Flatten {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            "Flatten(start_dim=1, end_dim=-1)".to_string(),
        )
    }
}

/// Splits axis `DIM` into the two axes `(A, B)`, PyTorch's
/// `nn.Unflatten(DIM, (A, B))`, the inverse of [`Flatten`]. A static axis whose size is not
/// `A * B` does not compile; a run-time one of the wrong size is an `Err` from
/// [`try_forward`](Module::try_forward). Free: the data is not copied.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Flatten, Module, Unflatten};
/// let x = Tensor::<Rank4<2, 3, 4, 5>>::zeros();
/// let y: Tensor<Rank3<2, 12, 5>> = Unflatten::<1, 12, 5>.forward(Flatten.forward(x));
/// assert_eq!(y.dims().as_slice(), &[2, 12, 5]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unflatten<const DIM: usize, const A: usize, const B: usize>;

impl<S: SplitAxis<DIM>, E: Float, T: Tape<E>, const DIM: usize, const A: usize, const B: usize>
    Module<Tensor<S, E, T>> for Unflatten<DIM, A, B>
{
    type Output = Tensor<<S as SplitAxis<DIM>>::Output<Const<A>, Const<B>>, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        const {
            crate::ops::shape_ops::check_unflatten(
                <<S as HasAxis<DIM>>::Dim as Dim>::STATIC_SIZE,
                DIM,
                A,
                B,
            )
        };
        x.try_unflatten::<DIM, A, B>()
    }
}
no_params!(Unflatten<const DIM, const A, const B>, |_layer| format!(
    "Unflatten(dim={DIM}, unflattened_size=({A}, {B}))"
));

/// [`Unflatten`] with the two sizes given at run time: `UnflattenDyn::<1>::new(2, 5)` is
/// `nn.Unflatten(1, (2, 5))` and gives two `usize` axes. An axis without `a * b` elements
/// is an `Err` from [`try_forward`](Module::try_forward).
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Module, UnflattenDyn};
/// let layer = UnflattenDyn::<1>::new(2, 5);
/// let y = layer.forward(Tensor::<(usize, usize)>::zeros_with_shape((3, 10)));
/// assert_eq!(y.dims().as_slice(), &[3, 2, 5]);
/// assert!(layer.try_forward(Tensor::<(usize, usize)>::zeros_with_shape((3, 9))).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnflattenDyn<const DIM: usize> {
    /// The sizes of the two axes that replace axis `DIM`.
    pub sizes: (usize, usize),
}

impl<const DIM: usize> UnflattenDyn<DIM> {
    /// Splits axis `DIM` into `(a, b)`.
    ///
    /// ```
    /// use shaped::nn::UnflattenDyn;
    /// assert_eq!(UnflattenDyn::<0>::new(3, 4).sizes, (3, 4));
    /// ```
    pub fn new(a: usize, b: usize) -> Self {
        UnflattenDyn { sizes: (a, b) }
    }
}

impl<S: SplitAxis<DIM>, E: Float, T: Tape<E>, const DIM: usize> Module<Tensor<S, E, T>>
    for UnflattenDyn<DIM>
{
    type Output = Tensor<<S as SplitAxis<DIM>>::Output<usize, usize>, E, T>;
    fn try_forward(&self, x: Tensor<S, E, T>) -> Result<Self::Output> {
        x.try_unflatten_dyn::<DIM, usize, usize>(self.sizes.0, self.sizes.1)
    }
}
impl<E: Float, const DIM: usize> Params<E> for UnflattenDyn<DIM> {
    fn visit(&self, _: &str, _: &mut dyn FnMut(ParamView<'_, E>)) {}
    fn visit_mut(&mut self, _: &str, _: &mut dyn FnMut(ParamMut<'_, E>)) {}
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!(
                "Unflatten(dim={DIM}, unflattened_size=({}, {}))",
                self.sizes.0, self.sizes.1
            ),
        )
    }
}
