//! Datasets: the [`Dataset`] trait, in-memory [`TensorDataset`]s, subsets and seeded splits.

use crate::dtype::Float;
use crate::error::OrPanic;
use crate::error::{Error, Result};
use crate::shape::Dim;
use crate::tensor::{Indices, Tensor};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A collection of examples that can be read by position, like `torch.utils.data.Dataset`.
///
/// ```
/// use shaped::data::Dataset;
/// use shaped::prelude::*;
///
/// struct Squares;
/// impl Dataset for Squares {
///     type Item = (usize, usize);
///     fn len(&self) -> usize {
///         10
///     }
///     fn get(&self, index: usize) -> Result<(usize, usize)> {
///         shaped::data::check_index(index, self.len(), "Squares")?;
///         Ok((index, index * index))
///     }
/// }
/// assert_eq!(Squares.get(3).unwrap(), (3, 9));
/// assert!(Squares.get(10).is_err());
/// ```
pub trait Dataset {
    /// One example.
    type Item;
    /// The number of examples.
    fn len(&self) -> usize;
    /// True when there are no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The example at `index`; an error naming the index and the length when it is out of range.
    fn get(&self, index: usize) -> Result<Self::Item>;
}

/// A dataset that can gather many examples into one batch, which is what a
/// [`DataLoader`](super::DataLoader) yields.
///
/// ```
/// use shaped::data::{BatchDataset, Labels, TensorDataset};
/// use shaped::prelude::*;
/// let x = Tensor::<(usize, Const<2>)>::from_vec_with_shape(vec![1., 2., 3., 4., 5., 6.], (3, Const)).unwrap();
/// let ds = TensorDataset::new(x, Labels::new(vec![0, 1, 0], 2).unwrap()).unwrap();
/// let (xb, yb) = ds.get_batch(&[2, 0]).unwrap();
/// assert_eq!(xb.to_vec(), vec![5., 6., 1., 2.]);
/// assert_eq!(yb.as_slice(), &[0, 0]);
/// ```
pub trait BatchDataset: Dataset {
    /// A batch of examples.
    type Batch;
    /// The examples at `indices`, in that order, as one batch.
    fn get_batch(&self, indices: &[usize]) -> Result<Self::Batch>;
}

/// An error unless `index < len`, naming both and `what` was indexed.
///
/// ```
/// assert!(shaped::data::check_index(3, 3, "my dataset").is_err());
/// ```
pub fn check_index(index: usize, len: usize, what: &str) -> Result<()> {
    if index < len {
        Ok(())
    } else {
        Err(Error::value(
            what,
            format!("index {index} is out of range for a dataset of {len} examples"),
        ))
    }
}

fn check_indices(indices: &[usize], len: usize, what: &str) -> Result<()> {
    indices.iter().try_for_each(|&i| check_index(i, len, what))
}

/// The rows `indices` of a row-major matrix `width` wide.
pub(crate) fn gather_rows<T: Copy>(data: &[T], width: usize, indices: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(indices.len() * width);
    for &i in indices {
        out.extend_from_slice(&data[i * width..(i + 1) * width]);
    }
    out
}

/// What a [`TensorDataset`] predicts: class [`Labels`] or regression [`Values`].
///
/// ```
/// use shaped::data::{Labels, Targets};
/// let y = Labels::from_vec(vec![2, 0, 1]);
/// assert_eq!((y.len(), y.item(0).unwrap()), (3, 2));
/// assert_eq!(y.batch(&[1, 2]).unwrap().as_slice(), &[0, 1]);
/// assert_eq!(y.select(&[0]).unwrap().as_slice(), &[2]);
/// assert!(y.batch(&[3]).is_err());
/// ```
pub trait Targets: Clone {
    /// One example's target.
    type Item;
    /// A batch of targets.
    type Batch;
    /// The number of examples.
    fn len(&self) -> usize;
    /// True when there are no examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The target of example `index`; an error naming it when it is out of range.
    fn item(&self, index: usize) -> Result<Self::Item>;
    /// The targets of `indices` as one batch; an error naming the first index out of range.
    fn batch(&self, indices: &[usize]) -> Result<Self::Batch>;
    /// The targets of `indices`, for a subset; an error naming the first index out of range.
    fn select(&self, indices: &[usize]) -> Result<Self>;
}

/// Integer class labels `0..num_classes`, optionally with class names.
///
/// ```
/// use shaped::data::Labels;
/// let y = Labels::new(vec![0, 2, 1], 3).unwrap();
/// assert_eq!(y.num_classes(), 3);
/// assert!(Labels::new(vec![0, 3], 3).is_err()); // 3 is not a class of 3
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Labels {
    values: Vec<usize>,
    num_classes: usize,
    names: Vec<String>,
}

impl Labels {
    /// Labels with `num_classes` classes; an error naming the first label that is not below it.
    ///
    /// ```
    /// let y = shaped::data::Labels::new(vec![0, 1, 1], 4).unwrap();
    /// assert_eq!(y.num_classes(), 4); // a class may have no examples
    /// ```
    pub fn new(values: Vec<usize>, num_classes: usize) -> Result<Self> {
        if let Some(p) = values.iter().position(|&v| v >= num_classes) {
            return Err(Error::value(
                "labels",
                format!(
                    "label {} at position {p} is not below the class count {num_classes}",
                    values[p]
                ),
            ));
        }
        Ok(Labels {
            values,
            num_classes,
            names: Vec::new(),
        })
    }
    /// Labels whose class count is one more than the largest label.
    ///
    /// ```
    /// assert_eq!(shaped::data::Labels::from_vec(vec![4, 1]).num_classes(), 5);
    /// ```
    ///
    /// Panics when a label is `usize::MAX` (its class count does not fit a `usize`); see
    /// [`try_from_vec`](Self::try_from_vec).
    #[track_caller]
    pub fn from_vec(values: Vec<usize>) -> Self {
        Self::try_from_vec(values).or_panic()
    }
    /// [`from_vec`](Self::from_vec), with an error when a label is `usize::MAX`, whose class
    /// count (one more than the largest label) does not fit a `usize`.
    ///
    /// ```
    /// use shaped::data::Labels;
    /// assert_eq!(Labels::try_from_vec(vec![2, 0]).unwrap().num_classes(), 3);
    /// assert!(Labels::try_from_vec(vec![usize::MAX]).is_err());
    /// ```
    pub fn try_from_vec(values: Vec<usize>) -> Result<Self> {
        let num_classes = match values.iter().max() {
            None => 0,
            Some(&m) => m.checked_add(1).ok_or_else(|| {
                Error::value(
                    "labels",
                    format!(
                        "label {m} at position {} leaves no class count (largest label + 1) that fits a usize",
                        values.iter().position(|&v| v == m).unwrap_or(0)
                    ),
                )
            })?,
        };
        Ok(Labels {
            values,
            num_classes,
            names: Vec::new(),
        })
    }
    /// Attaches class names; an error unless there is one per class.
    ///
    /// ```
    /// let y = shaped::data::Labels::from_vec(vec![0, 1]).with_names(vec!["cat".into(), "dog".into()]).unwrap();
    /// assert_eq!(y.names()[1], "dog");
    /// ```
    pub fn with_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.num_classes {
            return Err(Error::value(
                "class names",
                format!("{} names for {} classes", names.len(), self.num_classes),
            ));
        }
        self.names = names;
        Ok(self)
    }
    /// The labels.
    ///
    /// ```
    /// assert_eq!(shaped::data::Labels::from_vec(vec![1, 0]).as_slice(), &[1, 0]);
    /// ```
    pub fn as_slice(&self) -> &[usize] {
        &self.values
    }
    /// The labels, without the class count and names.
    ///
    /// ```
    /// assert_eq!(shaped::data::Labels::from_vec(vec![1, 0]).into_vec(), vec![1, 0]);
    /// ```
    pub fn into_vec(self) -> Vec<usize> {
        self.values
    }
    /// The number of classes.
    ///
    /// ```
    /// assert_eq!(shaped::data::iris().unwrap().targets().num_classes(), 3);
    /// ```
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }
    /// The class names (empty when none were given).
    ///
    /// ```
    /// assert_eq!(shaped::data::iris().unwrap().targets().names()[0], "setosa");
    /// assert!(shaped::data::Labels::from_vec(vec![0]).names().is_empty());
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

impl Targets for Labels {
    type Item = usize;
    type Batch = Indices<(usize,)>;
    fn len(&self) -> usize {
        self.values.len()
    }
    fn item(&self, index: usize) -> Result<usize> {
        check_index(index, self.values.len(), "Labels")?;
        Ok(self.values[index])
    }
    fn batch(&self, indices: &[usize]) -> Result<Indices<(usize,)>> {
        check_indices(indices, self.values.len(), "Labels")?;
        let values = indices.iter().map(|&i| self.values[i]).collect();
        Ok(Indices::from_parts((indices.len(),), values))
    }
    fn select(&self, indices: &[usize]) -> Result<Self> {
        check_indices(indices, self.values.len(), "Labels")?;
        let values = indices.iter().map(|&i| self.values[i]).collect();
        Ok(Labels {
            values,
            num_classes: self.num_classes,
            names: self.names.clone(),
        })
    }
}

/// Real-valued targets, `D` values per example (a regression target).
///
/// ```
/// use shaped::data::Values;
/// use shaped::prelude::*;
/// let y = Values::new(Tensor::<(usize, Const<1>)>::from_vec_with_shape(vec![1.5, 2.5], (2, Const)).unwrap());
/// assert_eq!(y.tensor().numel(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct Values<D: Dim, E: Float = f32> {
    values: Tensor<(usize, D), E>,
}

impl<D: Dim, E: Float> Values<D, E> {
    /// Targets from a `(examples, D)` tensor.
    ///
    /// ```
    /// use shaped::data::{Targets, Values};
    /// use shaped::prelude::*;
    /// let y = Values::new(Tensor::<(usize, Const<2>)>::zeros_with_shape((5, Const)));
    /// assert_eq!(y.len(), 5);
    /// ```
    pub fn new(values: Tensor<(usize, D), E>) -> Self {
        Values { values }
    }
    /// The targets as a `(examples, D)` tensor.
    ///
    /// ```
    /// let d = shaped::data::diabetes().unwrap();
    /// assert_eq!(d.targets().tensor().as_slice()[0], 151.0);
    /// ```
    pub fn tensor(&self) -> &Tensor<(usize, D), E> {
        &self.values
    }
}

impl<D: Dim, E: Float> Targets for Values<D, E> {
    type Item = Tensor<(D,), E>;
    type Batch = Tensor<(usize, D), E>;
    fn len(&self) -> usize {
        self.values.shape.0
    }
    fn item(&self, index: usize) -> Result<Tensor<(D,), E>> {
        check_index(index, self.len(), "Values")?;
        let d = self.values.shape.1;
        Ok(Tensor::from_parts(
            (d,),
            gather_rows(&self.values.data, d.size(), &[index]),
        ))
    }
    fn batch(&self, indices: &[usize]) -> Result<Tensor<(usize, D), E>> {
        check_indices(indices, self.len(), "Values")?;
        let d = self.values.shape.1;
        let rows = gather_rows(&self.values.data, d.size(), indices);
        Ok(Tensor::from_parts((indices.len(), d), rows))
    }
    fn select(&self, indices: &[usize]) -> Result<Self> {
        Ok(Values {
            values: self.batch(indices)?,
        })
    }
}

/// An in-memory dataset: a feature matrix with one row per example, `X` features wide, and
/// its [`Targets`] (class [`Labels`] by default, or regression [`Values`]).
///
/// Batches are `(Tensor<(usize, X), E>, targets)`: the batch dimension is dynamic, so the
/// last, shorter batch of an epoch has the same type as the others.
///
/// ```
/// use shaped::data::{Dataset, Labels, TensorDataset};
/// use shaped::prelude::*;
/// let x = Tensor::<(usize, Const<2>)>::from_vec_with_shape(vec![0., 1., 2., 3.], (2, Const)).unwrap();
/// let ds = TensorDataset::new(x, Labels::from_vec(vec![1, 0])).unwrap();
/// let (row, label) = ds.get(1).unwrap();
/// assert_eq!((row.to_vec(), label), (vec![2., 3.], 0));
/// ```
#[derive(Clone, Debug)]
pub struct TensorDataset<X: Dim, Y = Labels, E: Float = f32> {
    features: Tensor<(usize, X), E>,
    targets: Y,
}

impl<X: Dim, Y: Targets, E: Float> TensorDataset<X, Y, E> {
    /// A dataset from features and targets; an error unless they have the same number of rows.
    ///
    /// ```
    /// use shaped::data::{Labels, TensorDataset};
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, Const<3>)>::zeros_with_shape((2, Const));
    /// assert!(TensorDataset::new(x.clone(), Labels::from_vec(vec![0, 1])).is_ok());
    /// assert!(TensorDataset::new(x, Labels::from_vec(vec![0])).is_err()); // 2 rows, 1 label
    /// ```
    pub fn new(features: Tensor<(usize, X), E>, targets: Y) -> Result<Self> {
        if features.shape.0 != targets.len() {
            return Err(Error::shape(
                "TensorDataset",
                format!(
                    "{} feature rows but {} targets",
                    features.shape.0,
                    targets.len()
                ),
            ));
        }
        Ok(TensorDataset { features, targets })
    }
    /// The `(examples, X)` feature matrix.
    ///
    /// ```
    /// let iris = shaped::data::iris().unwrap();
    /// assert_eq!(iris.features().dims().as_slice(), &[150, 4]);
    /// ```
    pub fn features(&self) -> &Tensor<(usize, X), E> {
        &self.features
    }
    /// The targets.
    ///
    /// ```
    /// let iris = shaped::data::iris().unwrap();
    /// assert_eq!(iris.targets().as_slice()[0], 0);
    /// ```
    pub fn targets(&self) -> &Y {
        &self.targets
    }
    /// The number of features per example.
    ///
    /// ```
    /// assert_eq!(shaped::data::digits().unwrap().num_features(), 64);
    /// ```
    pub fn num_features(&self) -> usize {
        self.features.shape.1.size()
    }
    /// Splits into features and targets.
    ///
    /// ```
    /// let (x, y) = shaped::data::iris().unwrap().into_parts();
    /// assert_eq!(x.dims()[0], y.as_slice().len());
    /// ```
    pub fn into_parts(self) -> (Tensor<(usize, X), E>, Y) {
        (self.features, self.targets)
    }
    /// A dataset of the examples at `indices` (copied, in that order); an error names the first
    /// index out of range.
    ///
    /// ```
    /// use shaped::data::{Dataset, Labels, TensorDataset};
    /// use shaped::prelude::*;
    /// let x = Tensor::<(usize, Const<1>)>::from_vec_with_shape(vec![10., 11., 12.], (3, Const)).unwrap();
    /// let ds = TensorDataset::new(x, Labels::from_vec(vec![0, 1, 2])).unwrap();
    /// assert_eq!(ds.subset(&[2, 0]).unwrap().features().to_vec(), vec![12., 10.]);
    /// assert!(ds.subset(&[3]).is_err());
    /// ```
    pub fn subset(&self, indices: &[usize]) -> Result<Self> {
        check_indices(indices, self.len(), "TensorDataset::subset")?;
        let x = self.features.shape.1;
        let rows = gather_rows(&self.features.data, x.size(), indices);
        Ok(TensorDataset {
            features: Tensor::from_parts((indices.len(), x), rows),
            targets: self.targets.select(indices)?,
        })
    }
    /// A seeded random split into `(train, validation)`, with `round(len * val_fraction)`
    /// examples in validation; each part keeps the original order. The same seed always gives
    /// the same split.
    ///
    /// ```
    /// let iris = shaped::data::iris().unwrap();
    /// let (train, val) = iris.split(0.2, 42).unwrap();
    /// assert_eq!((train.features().dims()[0], val.features().dims()[0]), (120, 30));
    /// ```
    pub fn split(&self, val_fraction: f64, seed: u64) -> Result<(Self, Self)> {
        let (train, val) = split_indices(self.len(), val_fraction, seed)?;
        Ok((self.subset(&train)?, self.subset(&val)?))
    }
    /// The same targets with the features replaced; an error unless the row count is unchanged.
    ///
    /// ```
    /// let iris = shaped::data::iris().unwrap();
    /// let doubled = iris.features().clone() * 2.0;
    /// let iris2 = iris.with_features(doubled).unwrap();
    /// assert_eq!(iris2.features().as_slice()[0], 10.2);
    /// ```
    pub fn with_features(self, features: Tensor<(usize, X), E>) -> Result<Self> {
        Self::new(features, self.targets)
    }
}

impl<X: Dim, Y: Targets, E: Float> Dataset for TensorDataset<X, Y, E> {
    type Item = (Tensor<(X,), E>, Y::Item);
    fn len(&self) -> usize {
        self.features.shape.0
    }
    fn get(&self, index: usize) -> Result<Self::Item> {
        check_index(index, self.len(), "TensorDataset")?;
        let x = self.features.shape.1;
        let row = gather_rows(&self.features.data, x.size(), &[index]);
        Ok((Tensor::from_parts((x,), row), self.targets.item(index)?))
    }
}

impl<X: Dim, Y: Targets, E: Float> BatchDataset for TensorDataset<X, Y, E> {
    type Batch = (Tensor<(usize, X), E>, Y::Batch);
    fn get_batch(&self, indices: &[usize]) -> Result<Self::Batch> {
        check_indices(indices, self.len(), "TensorDataset")?;
        let x = self.features.shape.1;
        let rows = gather_rows(&self.features.data, x.size(), indices);
        Ok((
            Tensor::from_parts((indices.len(), x), rows),
            self.targets.batch(indices)?,
        ))
    }
}

/// A view of some examples of another dataset, by index (PyTorch's `Subset`).
///
/// ```
/// use shaped::data::{Dataset, Subset};
/// let iris = shaped::data::iris().unwrap();
/// let first = Subset::new(&iris, vec![0, 1, 2]).unwrap();
/// assert_eq!(first.len(), 3);
/// ```
#[derive(Clone, Debug)]
pub struct Subset<'a, D: ?Sized> {
    dataset: &'a D,
    indices: Vec<usize>,
}

impl<'a, D: Dataset + ?Sized> Subset<'a, D> {
    /// The examples `indices` of `dataset`; an error names the first index out of range.
    ///
    /// ```
    /// use shaped::data::{Dataset, Subset};
    /// let iris = shaped::data::iris().unwrap();
    /// assert_eq!(Subset::new(&iris, vec![149, 0]).unwrap().get(0).unwrap().1, 2);
    /// assert!(Subset::new(&iris, vec![150]).is_err());
    /// ```
    pub fn new(dataset: &'a D, indices: Vec<usize>) -> Result<Self> {
        check_indices(&indices, dataset.len(), "Subset")?;
        Ok(Subset { dataset, indices })
    }
    /// The positions in the underlying dataset.
    ///
    /// ```
    /// use shaped::data::Subset;
    /// let iris = shaped::data::iris().unwrap();
    /// assert_eq!(Subset::new(&iris, vec![3, 1]).unwrap().indices(), &[3, 1]);
    /// ```
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

impl<D: Dataset + ?Sized> Dataset for Subset<'_, D> {
    type Item = D::Item;
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn get(&self, index: usize) -> Result<D::Item> {
        check_index(index, self.len(), "Subset")?;
        self.dataset.get(self.indices[index])
    }
}

impl<D: BatchDataset + ?Sized> BatchDataset for Subset<'_, D> {
    type Batch = D::Batch;
    fn get_batch(&self, indices: &[usize]) -> Result<D::Batch> {
        check_indices(indices, self.len(), "Subset")?;
        let mapped: Vec<usize> = indices.iter().map(|&i| self.indices[i]).collect();
        self.dataset.get_batch(&mapped)
    }
}

/// A seeded random split of any dataset into `(train, validation)` [`Subset`]s, like
/// `torch.utils.data.random_split`; see [`split_indices`].
///
/// ```
/// use shaped::data::{Dataset, random_split};
/// let digits = shaped::data::digits().unwrap();
/// let (train, val) = random_split(&digits, 0.25, 7).unwrap();
/// assert_eq!(train.len() + val.len(), 1797);
/// ```
pub fn random_split<D: Dataset + ?Sized>(
    dataset: &D,
    val_fraction: f64,
    seed: u64,
) -> Result<(Subset<'_, D>, Subset<'_, D>)> {
    let (train, val) = split_indices(dataset.len(), val_fraction, seed)?;
    Ok((
        Subset {
            dataset,
            indices: train,
        },
        Subset {
            dataset,
            indices: val,
        },
    ))
}

/// The indices `0..n` split at random into `(train, validation)`, `round(n * val_fraction)`
/// of them in validation, each part sorted; an error unless `0 <= val_fraction <= 1`.
///
/// ```
/// let (train, val) = shaped::data::split_indices(10, 0.3, 1).unwrap();
/// assert_eq!((train.len(), val.len()), (7, 3));
/// assert_eq!(shaped::data::split_indices(10, 0.3, 1).unwrap().1, val); // same seed, same split
/// ```
pub fn split_indices(n: usize, val_fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(0.0..=1.0).contains(&val_fraction) {
        return Err(Error::value(
            "val_fraction",
            format!("{val_fraction} is not in [0, 1]"),
        ));
    }
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, &mut StdRng::seed_from_u64(seed));
    let n_val = (n as f64 * val_fraction).round() as usize;
    let mut val = order[..n_val].to_vec();
    let mut train = order[n_val..].to_vec();
    val.sort_unstable();
    train.sort_unstable();
    Ok((train, val))
}

/// Fisher-Yates: every permutation equally likely.
pub(crate) fn shuffle<T, R: rand::Rng + ?Sized>(items: &mut [T], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

/// One-hot rows for class labels, e.g. as targets for a cross-entropy written with
/// `log_softmax`; an error names the first label that is not below `C`.
///
/// ```
/// use shaped::prelude::*;
/// let y = Indices::<(usize,)>::from_vec_with_shape(vec![2, 0], (2,)).unwrap();
/// let onehot = shaped::data::one_hot::<3, f32>(&y).unwrap();
/// assert_eq!(onehot.to_vec(), vec![0., 0., 1., 1., 0., 0.]);
/// ```
pub fn one_hot<const C: usize, E: Float>(
    labels: &Indices<(usize,)>,
) -> Result<Tensor<(usize, crate::shape::Const<C>), E>> {
    labels.check_below(C, "one_hot labels")?;
    let n = labels.numel();
    let mut data = vec![E::ZERO; n * C];
    for (row, &l) in labels.as_slice().iter().enumerate() {
        data[row * C + l] = E::ONE;
    }
    Ok(Tensor::from_parts((n, crate::shape::Const), data))
}
