//! Feature standardization of datasets: fit on the training split, apply to every split.
//! The [`Standardizer`] itself is a layer (`crate::nn::Standardizer`, re-exported here).

use super::dataset::{Targets, TensorDataset};
use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::Result;
use crate::nn::Standardizer;
use crate::shape::Dim;

impl<X: Dim, E: Float> Standardizer<X, E> {
    /// Fits on a dataset's features.
    ///
    /// ```
    /// let digits = shaped::data::digits().unwrap();
    /// let s = shaped::data::Standardizer::fit(&digits).unwrap();
    /// assert_eq!(s.mean.as_slice()[0], 0.0); // the corner pixel is always blank...
    /// assert_eq!(s.std.as_slice()[0], 1.0); // ...so its scale stays 1
    /// ```
    pub fn fit<Y: Targets>(dataset: &TensorDataset<X, Y, E>) -> Result<Self> {
        Self::fit_tensor(dataset.features())
    }
    /// A copy of `dataset` with standardized features; panics if a run-time width differs
    /// (see [`try_transform`](Standardizer::try_transform)).
    ///
    /// ```
    /// let (train, val) = shaped::data::iris().unwrap().split(0.2, 0).unwrap();
    /// let s = shaped::data::Standardizer::fit(&train).unwrap();
    /// let val = s.transform(&val); // scaled with the training statistics
    /// assert_eq!(val.features().dims().as_slice(), &[30, 4]);
    /// ```
    #[track_caller]
    pub fn transform<Y: Targets>(
        &self,
        dataset: &TensorDataset<X, Y, E>,
    ) -> TensorDataset<X, Y, E> {
        self.try_transform(dataset).or_panic()
    }
    /// A copy of `dataset` with standardized features; an error if a run-time width differs.
    ///
    /// ```
    /// let iris = shaped::data::iris().unwrap();
    /// let s = shaped::data::Standardizer::fit(&iris).unwrap();
    /// assert!(s.try_transform(&iris).is_ok());
    /// ```
    pub fn try_transform<Y: Targets>(
        &self,
        dataset: &TensorDataset<X, Y, E>,
    ) -> Result<TensorDataset<X, Y, E>> {
        let features = self.try_transform_tensor(dataset.features())?;
        dataset.clone().with_features(features)
    }
}
