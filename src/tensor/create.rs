//! Constructors.

use super::Tensor;
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::{Const, ConstShape, Shape};
use rand::Rng;
use rand::distr::{Distribution, StandardUniform};

/// Two independent standard normal samples, by Marsaglia's polar method: a point drawn
/// uniformly from the unit disc (by rejection from the square; 79% are kept), scaled by
/// `sqrt(-2 ln s / s)` where `s` is its squared radius. Exact up to rounding, with no
/// tables; it replaced `rand_distr`'s ziggurat, whose crate (with `num-traits` and `libm`
/// under it) was ~2 s of every cold build of a program using shaped (issue 15), while
/// sampling speed only matters for initialisation.
fn standard_normal_pair<R: Rng + ?Sized>(rng: &mut R) -> (f64, f64) {
    loop {
        let u: f64 = StandardUniform.sample(rng);
        let v: f64 = StandardUniform.sample(rng);
        let (x, y) = (2.0 * u - 1.0, 2.0 * v - 1.0);
        let s = x * x + y * y;
        if s > 0.0 && s < 1.0 {
            let scale = (-2.0 * s.ln() / s).sqrt();
            return (x * scale, y * scale);
        }
    }
}

/// Nested arrays that convert to tensors, with the shape taken from the array type:
/// `[[f32; 3]; 2]` becomes a `Rank2<2, 3>` tensor.
pub trait TensorArray<E: Float>: Sized {
    /// The shape the array type spells.
    type Shape: ConstShape;
    /// Appends the elements in row-major order.
    fn flatten_into(self, out: &mut Vec<E>);
}

/// Prepends a dimension to a shape type (rank 0..=5).
pub trait Prepend<D> {
    /// The longer shape.
    type Out: ConstShape;
}
macro_rules! prepend {
    ($($A:ident),*) => {
        impl<D: crate::shape::ConstDim, $($A: crate::shape::ConstDim),*> Prepend<D> for ($($A,)*) {
            type Out = (D, $($A,)*);
        }
    };
}
prepend!();
prepend!(A);
prepend!(A, B);
prepend!(A, B, C);
prepend!(A, B, C, D2);
prepend!(A, B, C, D2, E);

macro_rules! scalar_array {
    ($t:ty) => {
        impl TensorArray<$t> for $t {
            type Shape = ();
            fn flatten_into(self, out: &mut Vec<$t>) {
                out.push(self);
            }
        }
    };
}
scalar_array!(f32);
scalar_array!(f64);

impl<E: Float, A: TensorArray<E>, const N: usize> TensorArray<E> for [A; N]
where
    A::Shape: Prepend<Const<N>>,
{
    type Shape = <A::Shape as Prepend<Const<N>>>::Out;
    fn flatten_into(self, out: &mut Vec<E>) {
        for a in self {
            a.flatten_into(out);
        }
    }
}

impl<S: ConstShape, E: Float> Tensor<S, E> {
    /// All zeros.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(Tensor::<Rank1<3>>::zeros().to_vec(), vec![0.0; 3]);
    /// ```
    pub fn zeros() -> Self {
        Self::zeros_with_shape(S::default())
    }
    /// All ones.
    pub fn ones() -> Self {
        Self::full(E::ONE)
    }
    /// Every element `value`.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(Tensor::<Rank1<2>>::full(7.0).to_vec(), vec![7.0, 7.0]);
    /// ```
    pub fn full(value: E) -> Self {
        Self::full_with_shape(S::default(), value)
    }
    /// From a nested array; the array's type must spell the tensor's shape.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let t = Tensor::from_array([[1.0f32, 2.0], [3.0, 4.0]]); // Rank2<2, 2>
    /// assert_eq!(t.dims().as_slice(), &[2, 2]);
    /// ```
    pub fn from_array<A: TensorArray<E, Shape = S>>(array: A) -> Self {
        let mut data = Vec::with_capacity(S::NUMEL);
        array.flatten_into(&mut data);
        Self::from_parts(S::default(), data)
    }
    /// From a row-major `Vec`; an error if its length is not the shape's element count.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert!(Tensor::<Rank2<2, 2>>::from_vec(vec![1.0; 4]).is_ok());
    /// assert!(Tensor::<Rank2<2, 2>>::from_vec(vec![1.0; 5]).is_err());
    /// ```
    pub fn from_vec(data: Vec<E>) -> Result<Self> {
        Self::from_vec_with_shape(data, S::default())
    }
    /// Uniform samples in `[0, 1)`.
    pub fn rand<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::rand_with_shape(S::default(), rng)
    }
    /// Standard normal samples.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// use rand::SeedableRng;
    /// let a = Tensor::<Rank1<4>>::randn(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// let b = Tensor::<Rank1<4>>::randn(&mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!(a.to_vec(), b.to_vec()); // reproducible by seed
    /// ```
    pub fn randn<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self::randn_with_shape(S::default(), rng)
    }
    /// Uniform samples in `[low, high)`.
    pub fn uniform<R: Rng + ?Sized>(low: E, high: E, rng: &mut R) -> Self {
        Self::uniform_with_shape(S::default(), low, high, rng)
    }
    /// Normal samples with the given mean and standard deviation.
    pub fn normal<R: Rng + ?Sized>(mean: E, std: E, rng: &mut R) -> Self {
        Self::normal_with_shape(S::default(), mean, std, rng)
    }
    /// 1 with probability `p`, else 0; an error unless `0 <= p <= 1`.
    pub fn bernoulli<R: Rng + ?Sized>(p: f64, rng: &mut R) -> Result<Self> {
        Self::bernoulli_with_shape(S::default(), p, rng)
    }
}

impl<S: Shape, E: Float> Tensor<S, E> {
    /// All zeros, for a shape with run-time dimensions.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let t = Tensor::<(usize, Const<3>)>::zeros_with_shape((2, Const));
    /// assert_eq!(t.numel(), 6);
    /// ```
    ///
    /// Panics when the shape is too large to exist (the product of its sizes overflows);
    /// [`try_zeros_with_shape`](Self::try_zeros_with_shape) returns that as an error.
    pub fn zeros_with_shape(shape: S) -> Self {
        Self::full_with_shape(shape, E::ZERO)
    }
    /// [`zeros_with_shape`](Self::zeros_with_shape), with an error naming the sizes when the
    /// shape is too large to exist.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let err = Tensor::<(usize, usize)>::try_zeros_with_shape((1 << 32, 1 << 32)).unwrap_err();
    /// assert!(err.to_string().contains("[4294967296, 4294967296]"));
    /// ```
    pub fn try_zeros_with_shape(shape: S) -> Result<Self> {
        Self::try_full_with_shape(shape, E::ZERO)
    }
    /// [`full_with_shape`](Self::full_with_shape), with an error naming the sizes when the
    /// shape is too large to exist.
    pub fn try_full_with_shape(shape: S, value: E) -> Result<Self> {
        let n = shape.try_numel("full_with_shape")?;
        Ok(Self::from_parts(shape, vec![value; n]))
    }
    /// All ones, for any shape.
    pub fn ones_with_shape(shape: S) -> Self {
        Self::full_with_shape(shape, E::ONE)
    }
    /// Every element `value`, for any shape.
    #[track_caller]
    pub fn full_with_shape(shape: S, value: E) -> Self {
        Self::try_full_with_shape(shape, value).or_panic()
    }
    /// From a row-major `Vec` and a shape; an error naming both sizes if the length is wrong.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let err = Tensor::<(usize,)>::from_vec_with_shape(vec![1.0; 3], (4,)).unwrap_err();
    /// assert!(err.to_string().contains("expected 4 elements, got 3"));
    /// ```
    pub fn from_vec_with_shape(data: Vec<E>, shape: S) -> Result<Self> {
        let numel = shape.try_numel("from_vec_with_shape")?;
        if data.len() != numel {
            return Err(Error::Length {
                what: format!("tensor of shape {:?}", shape.dims()),
                expected: numel,
                got: data.len(),
            });
        }
        Ok(Self::from_parts(shape, data))
    }
    /// Uniform samples in `[0, 1)`, for any shape.
    pub fn rand_with_shape<R: Rng + ?Sized>(shape: S, rng: &mut R) -> Self {
        let data = (0..shape.numel())
            .map(|_| E::from_f64(StandardUniform.sample(rng)))
            .collect();
        Self::from_parts(shape, data)
    }
    /// Standard normal samples, for any shape.
    pub fn randn_with_shape<R: Rng + ?Sized>(shape: S, rng: &mut R) -> Self {
        Self::normal_with_shape(shape, E::ZERO, E::ONE, rng)
    }
    /// Uniform samples in `[low, high)`, for any shape.
    pub fn uniform_with_shape<R: Rng + ?Sized>(shape: S, low: E, high: E, rng: &mut R) -> Self {
        let (lo, width) = (low.to_f64(), (high - low).to_f64());
        let data = (0..shape.numel())
            .map(|_| {
                let u: f64 = StandardUniform.sample(rng);
                E::from_f64(lo + width * u)
            })
            .collect();
        Self::from_parts(shape, data)
    }
    /// Normal samples, for any shape.
    pub fn normal_with_shape<R: Rng + ?Sized>(shape: S, mean: E, std: E, rng: &mut R) -> Self {
        let (m, s) = (mean.to_f64(), std.to_f64());
        // The count once: `numel` rebuilds the run-time sizes at each call (5% of a 4M randn).
        let n = shape.numel();
        let mut data = Vec::with_capacity(n);
        while data.len() < n {
            let (z0, z1) = standard_normal_pair(rng);
            data.push(E::from_f64(m + s * z0));
            if data.len() < n {
                data.push(E::from_f64(m + s * z1));
            }
        }
        Self::from_parts(shape, data)
    }
    /// 1 with probability `p`, else 0, for any shape.
    pub fn bernoulli_with_shape<R: Rng + ?Sized>(shape: S, p: f64, rng: &mut R) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::value("bernoulli p", format!("{p} is not in [0, 1]")));
        }
        let data = (0..shape.numel())
            .map(|_| {
                let u: f64 = StandardUniform.sample(rng);
                if u < p { E::ONE } else { E::ZERO }
            })
            .collect();
        Ok(Self::from_parts(shape, data))
    }
}

impl<const N: usize, E: Float> Tensor<(Const<N>,), E> {
    /// `N` values `start, start + step, ...` (PyTorch's `arange` with the length in the type).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(Tensor::<Rank1<4>>::arange(1.0, 0.5).to_vec(), vec![1.0, 1.5, 2.0, 2.5]);
    /// ```
    pub fn arange(start: E, step: E) -> Self {
        let data = (0..N).map(|i| start + step * E::from_usize(i)).collect();
        Self::from_parts((Const,), data)
    }
    /// `N` evenly spaced values from `start` to `end`, both included (PyTorch's `linspace`).
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(Tensor::<Rank1<3>>::linspace(0.0, 1.0).to_vec(), vec![0.0, 0.5, 1.0]);
    /// ```
    pub fn linspace(start: E, end: E) -> Self {
        Self::from_parts((Const,), linspace_values(start, end, N))
    }
}

impl<E: Float> Tensor<(usize,), E> {
    /// Values from `start` up to (not including) `end` by `step`, like `torch.arange`;
    /// the length is known only at run time.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// let t = Tensor::<(usize,)>::arange_dyn(0.0, 1.0, 0.25).unwrap();
    /// assert_eq!(t.to_vec(), vec![0.0, 0.25, 0.5, 0.75]);
    /// ```
    pub fn arange_dyn(start: E, end: E, step: E) -> Result<Self> {
        let span = (end - start).to_f64() / step.to_f64();
        if !span.is_finite() || step == E::ZERO {
            return Err(Error::value(
                "arange step",
                format!("{step} cannot step from {start} to {end}"),
            ));
        }
        let n = span.ceil().max(0.0) as usize;
        let data = (0..n).map(|i| start + step * E::from_usize(i)).collect();
        Ok(Self::from_parts((n,), data))
    }
    /// `n` evenly spaced values from `start` to `end`, both included.
    pub fn linspace_dyn(start: E, end: E, n: usize) -> Self {
        Self::from_parts((n,), linspace_values(start, end, n))
    }
}

fn linspace_values<E: Float>(start: E, end: E, n: usize) -> Vec<E> {
    if n == 1 {
        return vec![start];
    }
    let (s, e) = (start.to_f64(), end.to_f64());
    let step = (e - s) / (n as f64 - 1.0);
    // Like PyTorch, fill the second half from the end so that the last value is exactly `end`.
    (0..n)
        .map(|i| {
            if i < n / 2 {
                E::from_f64(s + step * i as f64)
            } else {
                E::from_f64(e - step * (n - 1 - i) as f64)
            }
        })
        .collect()
}

impl<const N: usize, E: Float> Tensor<(Const<N>, Const<N>), E> {
    /// The identity matrix.
    ///
    /// ```
    /// use shaped::prelude::*;
    /// assert_eq!(Tensor::<Rank2<2, 2>>::eye().to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    /// ```
    pub fn eye() -> Self {
        let mut data = vec![E::ZERO; N * N];
        for i in 0..N {
            data[i * N + i] = E::ONE;
        }
        Self::from_parts((Const, Const), data)
    }
}

impl<E: Float> Tensor<(usize, usize), E> {
    /// The `n` by `n` identity matrix, sized at run time.
    #[track_caller]
    pub fn eye_dyn(n: usize) -> Self {
        let numel = (n, n).try_numel("eye_dyn").or_panic();
        let mut data = vec![E::ZERO; numel];
        for i in 0..n {
            data[i * n + i] = E::ONE;
        }
        Self::from_parts((n, n), data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The polar method's samples have the moments of N(0, 1) and its tail: mean 0,
    /// variance 1, kurtosis 3, 4.55% beyond 2 and 0.27% beyond 3 standard deviations.
    #[test]
    fn normal_samples_follow_the_standard_normal() {
        let n = 400_000;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let z = Tensor::<(usize,), f64>::normal_with_shape((n,), 0.0, 1.0, &mut rng).to_vec();
        let nf = n as f64;
        let mean = z.iter().sum::<f64>() / nf;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / nf;
        let kurt = z.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / nf / (var * var);
        let beyond = |k: f64| z.iter().filter(|v| v.abs() > k).count() as f64 / nf;
        // Five standard errors of each estimate at n = 400K.
        assert!(mean.abs() < 0.008, "mean {mean}");
        assert!((var - 1.0).abs() < 0.012, "variance {var}");
        assert!((kurt - 3.0).abs() < 0.05, "kurtosis {kurt}");
        assert!(
            (beyond(2.0) - 0.0455).abs() < 0.0017,
            "beyond 2: {}",
            beyond(2.0)
        );
        assert!(
            (beyond(3.0) - 0.0027).abs() < 0.0005,
            "beyond 3: {}",
            beyond(3.0)
        );
        // Consecutive samples (the two of a pair) are uncorrelated.
        let lag = z.windows(2).map(|w| w[0] * w[1]).sum::<f64>() / nf;
        assert!(lag.abs() < 0.008, "lag-1 correlation {lag}");
        // Mean and std apply, an odd length keeps its last sample, and the seed fixes them.
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let a = Tensor::<(usize,), f32>::normal_with_shape((5,), 2.0, 0.5, &mut rng).to_vec();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let b = Tensor::<(usize,), f32>::normal_with_shape((5,), 2.0, 0.5, &mut rng).to_vec();
        assert_eq!(a, b);
        assert!(a.iter().all(|v| (v - 2.0).abs() < 3.0));
    }
}
