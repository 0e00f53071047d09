//! The bilinear layer `y = x1^T A x2 + b`, PyTorch's `nn.Bilinear`.

use super::init;
use super::module::Module;
use super::params::{ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::autograd::{Merge, Tape};
use crate::dtype::Float;
use crate::error::Result;
use crate::ops::bilinear::try_bilinear;
use crate::shape::check::{BilinearInput1, BilinearInput2, DimCheck};
use crate::shape::{Const, Dim, DimEq, LastDim, ShapeMismatch};
use crate::tensor::Tensor;
use rand::Rng;

/// `y[.., o] = sum_ij x1[.., i] weight[o, i, j] x2[.., j] + bias[o]`, PyTorch's
/// `nn.Bilinear(in1, in2, out)`, generic over static (`Const<N>`) or run-time (`usize`)
/// sizes: use the aliases [`Bilinear`] (static) or [`BilinearDyn`]. It takes the pair
/// `(x1, x2)` as one input, `layer.forward((x1, x2))`, with `x1` `(.., in1)` and `x2`
/// `(.., in2)` sharing their leading dimensions, and gives `(.., out)`.
///
/// The weight `(out, in1, in2)` and the bias `(out,)` have PyTorch's names `weight`, `bias`
/// and its initialisation: both uniform in `(-1/sqrt(in1), 1/sqrt(in1))`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BilinearLayer, Module, Params};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// // Static input sizes, a run-time output size.
/// let layer = BilinearLayer::<_, _, _, f32>::with_dims(Const::<2>, Const::<3>, 4usize, true, &mut rng);
/// assert_eq!(layer.param_names(), ["weight", "bias"]);
/// let y = layer.forward((Tensor::<Rank2<5, 2>>::ones(), Tensor::<Rank2<5, 3>>::ones()));
/// assert_eq!(y.dims().as_slice(), &[5, 4]);
/// ```
#[derive(Clone, Debug)]
pub struct BilinearLayer<I1: Dim, I2: Dim, O: Dim, E: Float = f32> {
    /// `(out_features, in1_features, in2_features)`.
    pub weight: Tensor<(O, I1, I2), E>,
    /// `(out_features,)`, or `None` for `bias=False`.
    pub bias: Option<Tensor<(O,), E>>,
}

/// A bilinear layer with sizes in the type: `Bilinear<IN1, IN2, OUT>`. Inputs whose static
/// feature sizes differ from the layer's do not compile.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{Bilinear, Module};
/// use rand::SeedableRng;
/// let layer = Bilinear::<3, 4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
/// let x1 = Tensor::<(usize, Const<3>)>::ones_with_shape((8, Const));
/// let x2 = Tensor::<(usize, Const<4>)>::ones_with_shape((8, Const));
/// let y = layer.forward((x1, x2));
/// assert_eq!(y.dims().as_slice(), &[8, 5]);
/// ```
pub type Bilinear<const I1: usize, const I2: usize, const O: usize, E = f32> =
    BilinearLayer<Const<I1>, Const<I2>, Const<O>, E>;

/// A bilinear layer with sizes known only at run time; a mismatch with the inputs is an
/// `Err` from `try_forward`.
///
/// ```
/// use shaped::prelude::*;
/// use shaped::nn::{BilinearDyn, Module};
/// use rand::SeedableRng;
/// let layer = BilinearDyn::<f32>::new_dyn(3, 2, 4, true, &mut rand::rngs::StdRng::seed_from_u64(0));
/// let x1 = Tensor::<Rank2<5, 3>>::ones();
/// assert!(layer.try_forward((x1.clone(), Tensor::<Rank2<5, 2>>::ones())).is_ok());
/// assert!(layer.try_forward((x1, Tensor::<Rank2<5, 3>>::ones())).is_err());
/// ```
pub type BilinearDyn<E = f32> = BilinearLayer<usize, usize, usize, E>;

impl<I1: Dim, I2: Dim, O: Dim, E: Float> BilinearLayer<I1, I2, O, E> {
    /// A layer with the given sizes, initialised like PyTorch: weight and bias uniform in
    /// `(-1/sqrt(in1), 1/sqrt(in1))`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use shaped::nn::BilinearLayer;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    /// let layer = BilinearLayer::<_, _, _, f32>::with_dims(Const::<4>, 2usize, Const::<3>, false, &mut rng);
    /// assert!(layer.bias.is_none());
    /// assert!(layer.weight.to_vec().iter().all(|w| w.abs() <= 0.5));
    /// ```
    pub fn with_dims<R: Rng + ?Sized>(
        in1_features: I1,
        in2_features: I2,
        out_features: O,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        let bound = init::linear_bound(in1_features.size());
        let weight = init::uniform((out_features, in1_features, in2_features), bound, rng);
        let bias = bias.then(|| init::uniform((out_features,), bound, rng));
        BilinearLayer { weight, bias }
    }
    /// The first input's size.
    ///
    /// ```
    /// use shaped::nn::Bilinear;
    /// use rand::SeedableRng;
    /// let layer = Bilinear::<3, 4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!((layer.in1_features(), layer.in2_features(), layer.out_features()), (3, 4, 5));
    /// ```
    pub fn in1_features(&self) -> usize {
        self.weight.shape.1.size()
    }
    /// The second input's size.
    ///
    /// ```
    /// use shaped::nn::Bilinear;
    /// use rand::SeedableRng;
    /// let layer = Bilinear::<3, 4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.in2_features(), 4);
    /// ```
    pub fn in2_features(&self) -> usize {
        self.weight.shape.2.size()
    }
    /// The output size.
    ///
    /// ```
    /// use shaped::nn::Bilinear;
    /// use rand::SeedableRng;
    /// let layer = Bilinear::<3, 4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.out_features(), 5);
    /// ```
    pub fn out_features(&self) -> usize {
        self.weight.shape.0.size()
    }
}

impl<const I1: usize, const I2: usize, const O: usize, E: Float> Bilinear<I1, I2, O, E> {
    /// A static-size layer with bias, PyTorch's default initialisation from `rng`.
    ///
    /// ```
    /// use shaped::nn::Bilinear;
    /// use rand::SeedableRng;
    /// let layer = Bilinear::<3, 4, 5>::new(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.weight.dims().as_slice(), &[5, 3, 4]);
    /// ```
    pub fn new<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, Const, true, rng)
    }
    /// A static-size layer without bias (`bias=False`).
    ///
    /// ```
    /// use shaped::nn::Bilinear;
    /// use rand::SeedableRng;
    /// let layer = Bilinear::<3, 4, 5>::new_no_bias(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert!(layer.bias.is_none());
    /// ```
    pub fn new_no_bias<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::with_dims(Const, Const, Const, false, rng)
    }
}

impl<E: Float> BilinearDyn<E> {
    /// A run-time-size layer.
    ///
    /// ```
    /// use shaped::nn::BilinearDyn;
    /// use rand::SeedableRng;
    /// let layer = BilinearDyn::<f64>::new_dyn(3, 4, 5, true, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(layer.weight.dims().as_slice(), &[5, 3, 4]);
    /// ```
    pub fn new_dyn<R: Rng + ?Sized>(
        in1_features: usize,
        in2_features: usize,
        out_features: usize,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        Self::with_dims(in1_features, in2_features, out_features, bias, rng)
    }
}

impl<I1, I2, O, E, S1, S2, T1, T2> Module<(Tensor<S1, E, T1>, Tensor<S2, E, T2>)>
    for BilinearLayer<I1, I2, O, E>
where
    I1: Dim,
    I2: Dim,
    O: Dim,
    E: Float,
    S1: LastDim,
    S2: LastDim,
    S1::Last: DimEq<I1>,
    S2::Last: DimEq<I2>,
    T1: Tape<E> + Merge<E, T2>,
    T2: Tape<E>,
{
    type Output = Tensor<S1::WithLast<O>, E, <T1 as Merge<E, T2>>::Output>;
    const SHAPE_MISMATCH: ShapeMismatch =
        DimCheck::<S1::Last, I1, BilinearInput1<I1, I2, O>>::MISMATCH.or(DimCheck::<
            S2::Last,
            I2,
            BilinearInput2<I1, I2, O>,
        >::MISMATCH);
    fn try_forward(&self, x: (Tensor<S1, E, T1>, Tensor<S2, E, T2>)) -> Result<Self::Output> {
        let () = <Self as Module<(Tensor<S1, E, T1>, Tensor<S2, E, T2>)>>::SHAPE_CHECK;
        self.try_forward_unchecked(x)
    }
    fn try_forward_train_unchecked(
        &mut self,
        x: (Tensor<S1, E, T1>, Tensor<S2, E, T2>),
    ) -> Result<Self::Output> {
        super::mode::with_training(|| self.try_forward_unchecked(x))
    }
    fn try_forward_unchecked(
        &self,
        (x1, x2): (Tensor<S1, E, T1>, Tensor<S2, E, T2>),
    ) -> Result<Self::Output> {
        let w = self.weight.traced_as::<<T1 as Merge<E, T2>>::Output>();
        let b = self
            .bias
            .as_ref()
            .map(|b| b.traced_as::<<T1 as Merge<E, T2>>::Output>());
        try_bilinear(x1, x2, w, b)
    }
}

impl<I1: Dim, I2: Dim, O: Dim, E: Float> Params<E> for BilinearLayer<I1, I2, O, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        let kind = TensorKind::Parameter;
        visit_tensor(&self.weight, &format!("{prefix}weight"), kind, f);
        if let Some(b) = &self.bias {
            visit_tensor(b, &format!("{prefix}bias"), kind, f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        let kind = TensorKind::Parameter;
        visit_tensor_mut(&mut self.weight, &format!("{prefix}weight"), kind, f);
        if let Some(b) = &mut self.bias {
            visit_tensor_mut(b, &format!("{prefix}bias"), kind, f);
        }
    }
    fn describe(&self, prefix: &str, f: &mut dyn FnMut(&str, String)) {
        f(
            super::module_name(prefix),
            format!(
                "Bilinear(in1_features={}, in2_features={}, out_features={}, bias={})",
                self.in1_features(),
                self.in2_features(),
                self.out_features(),
                super::summary::py_bool(self.bias.is_some())
            ),
        )
    }
}
