//! Feature standardization as a layer: `(x - mean) / std` with fitted buffers. Fitting on a
//! dataset and transforming whole datasets is in `crate::data` (the same type).

use crate::autograd::Tape;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::nn::{Module, ParamMut, ParamView, Params, TensorKind, visit_tensor, visit_tensor_mut};
use crate::ops::binary::{DivKernel, SubKernel, binary_op};
use crate::shape::{ConstDim, Dim};
use crate::tensor::Tensor;

/// `(x - mean) / std` per feature, with the mean and (population) standard deviation fitted on
/// training data, like scikit-learn's `StandardScaler`. A feature that never varies keeps a
/// scale of 1, so it maps to 0 instead of NaN.
///
/// It is also a layer: its `mean` and `std` are buffers (saved with the model by name), and
/// as the first element of a tuple model it standardizes raw inputs at prediction time.
///
/// ```
/// use shaped::data::Standardizer;
/// use shaped::nn::Module;
/// use shaped::prelude::*;
/// let iris = shaped::data::iris().unwrap();
/// let (train, val) = iris.split(0.2, 0).unwrap();
/// let scaler = Standardizer::fit(&train).unwrap();
/// let train = scaler.transform(&train);
/// let mean0: f32 = (0..120).map(|i| train.features().at(&[i, 0]).unwrap()).sum::<f32>() / 120.0;
/// assert!(mean0.abs() < 1e-5);
/// // As a layer: the same values as `transform`.
/// let raw = val.features().clone();
/// assert_eq!(scaler.forward(raw).to_vec(), scaler.transform(&val).features().to_vec());
/// ```
#[derive(Clone, Debug)]
pub struct Standardizer<X: Dim, E: Float = f32> {
    /// The mean of each feature.
    pub mean: Tensor<(X,), E>,
    /// The standard deviation of each feature (1 where it is 0).
    pub std: Tensor<(X,), E>,
}

impl<X: Dim, E: Float> Standardizer<X, E> {
    /// The identity map for `width` features (mean 0, std 1), e.g. to load fitted values into.
    ///
    /// ```
    /// use shaped::data::Standardizer;
    /// use shaped::prelude::*;
    /// let s = Standardizer::<usize>::identity(3);
    /// let x = Tensor::<(usize, usize)>::ones_with_shape((2, 3));
    /// assert_eq!(s.transform_tensor(&x).to_vec(), x.to_vec());
    /// ```
    pub fn identity(width: X) -> Self {
        Standardizer {
            mean: Tensor::zeros_with_shape((width,)),
            std: Tensor::ones_with_shape((width,)),
        }
    }
    /// Fits the mean and standard deviation of each column of `features`; an error if there
    /// are no rows.
    ///
    /// ```
    /// use shaped::data::Standardizer;
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, Const<2>)>::from_vec_with_shape(vec![1., 5., 3., 5.], (2, Const)).unwrap();
    /// let s = Standardizer::fit_tensor(&x).unwrap();
    /// assert_eq!((s.mean.to_vec(), s.std.to_vec()), (vec![2., 5.], vec![1., 1.]));
    /// ```
    pub fn fit_tensor(features: &Tensor<(usize, X), E>) -> Result<Self> {
        let (n, x) = features.shape;
        let w = x.size();
        if n == 0 {
            return Err(Error::value(
                "Standardizer::fit",
                "there are no rows to fit on",
            ));
        }
        // Two passes in f64: the one-pass formula loses digits when the mean is large.
        let mut mean = vec![0.0f64; w];
        for row in features.data.chunks_exact(w) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v.to_f64();
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = vec![0.0f64; w];
        for row in features.data.chunks_exact(w) {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                let d = v.to_f64() - m;
                *s += d * d;
            }
        }
        let std = var.iter().map(|s| {
            let sd = (s / n as f64).sqrt();
            if sd > 0.0 && sd.is_finite() {
                E::from_f64(sd)
            } else {
                E::ONE
            }
        });
        Ok(Standardizer {
            mean: Tensor::from_parts((x,), mean.into_iter().map(E::from_f64).collect()),
            std: Tensor::from_parts((x,), std.collect()),
        })
    }
    /// Standardizes a `(rows, X)` feature matrix; an error if a run-time width differs.
    ///
    /// ```
    /// use shaped::data::Standardizer;
    /// use shaped::prelude::*;
    /// let s = Standardizer::<usize>::identity(3);
    /// assert!(s.try_transform_tensor(&Tensor::<(usize, usize)>::zeros_with_shape((1, 4))).is_err());
    /// ```
    pub fn try_transform_tensor(
        &self,
        features: &Tensor<(usize, X), E>,
    ) -> Result<Tensor<(usize, X), E>> {
        let w = self.check_width(features.shape.1)?;
        let (m, s) = (self.mean.as_slice(), self.std.as_slice());
        let mut out = features.to_vec();
        for row in out.chunks_exact_mut(w.max(1)) {
            for ((v, &m), &s) in row.iter_mut().zip(m).zip(s) {
                // The same two rounded steps as the layer's forward, so both agree bit for bit.
                *v = (*v - m) / s;
            }
        }
        Ok(Tensor::from_parts(features.shape, out))
    }
    /// Standardizes a `(rows, X)` feature matrix; panics if a run-time width differs (see
    /// [`try_transform_tensor`](Standardizer::try_transform_tensor)).
    ///
    /// ```
    /// use shaped::data::Standardizer;
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, Const<1>)>::from_vec_with_shape(vec![2.0, 4.0], (2, Const)).unwrap();
    /// let s = Standardizer::fit_tensor(&x).unwrap();
    /// assert_eq!(s.transform_tensor(&x).to_vec(), vec![-1.0, 1.0]);
    /// ```
    #[track_caller]
    pub fn transform_tensor(&self, features: &Tensor<(usize, X), E>) -> Tensor<(usize, X), E> {
        self.try_transform_tensor(features).or_panic()
    }
    /// Maps standardized values back to the original scale.
    ///
    /// ```
    /// use shaped::data::Standardizer;
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, Const<1>)>::from_vec_with_shape(vec![1., 3.], (2, Const)).unwrap();
    /// let s = Standardizer::fit_tensor(&x).unwrap();
    /// assert_eq!(s.inverse_tensor(&s.transform_tensor(&x)).unwrap().to_vec(), vec![1., 3.]);
    /// ```
    pub fn inverse_tensor(
        &self,
        features: &Tensor<(usize, X), E>,
    ) -> Result<Tensor<(usize, X), E>> {
        let w = self.check_width(features.shape.1)?;
        let (m, s) = (self.mean.as_slice(), self.std.as_slice());
        let mut out = features.to_vec();
        for row in out.chunks_exact_mut(w.max(1)) {
            for ((v, &m), &s) in row.iter_mut().zip(m).zip(s) {
                *v = *v * s + m;
            }
        }
        Ok(Tensor::from_parts(features.shape, out))
    }

    pub(crate) fn check_width(&self, x: X) -> Result<usize> {
        if x.size() != self.mean.numel() {
            return Err(Error::shape(
                "Standardizer",
                format!(
                    "input has {} features, the standardizer was fitted on {}",
                    x.size(),
                    self.mean.numel()
                ),
            ));
        }
        Ok(x.size())
    }
}

impl<X: ConstDim, E: Float> Default for Standardizer<X, E> {
    /// The identity map, to load fitted values into.
    fn default() -> Self {
        Self::identity(X::default())
    }
}

impl<X: Dim, E: Float> Params<E> for Standardizer<X, E> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(ParamView<'_, E>)) {
        visit_tensor(&self.mean, &format!("{prefix}mean"), TensorKind::Buffer, f);
        visit_tensor(&self.std, &format!("{prefix}std"), TensorKind::Buffer, f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(ParamMut<'_, E>)) {
        visit_tensor_mut(
            &mut self.mean,
            &format!("{prefix}mean"),
            TensorKind::Buffer,
            f,
        );
        visit_tensor_mut(
            &mut self.std,
            &format!("{prefix}std"),
            TensorKind::Buffer,
            f,
        );
    }
}

impl<B: Dim, X: Dim, E: Float, T: Tape<E>> Module<Tensor<(B, X), E, T>> for Standardizer<X, E> {
    type Output = Tensor<(B, X), E, T>;
    fn try_forward(&self, x: Tensor<(B, X), E, T>) -> Result<Self::Output> {
        self.check_width(x.shape.1)?;
        let shape = x.shape;
        let centered = binary_op(x, self.mean.clone(), shape, SubKernel);
        Ok(binary_op(centered, self.std.clone(), shape, DivKernel))
    }
}
