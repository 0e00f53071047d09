//! The small data sets in the crate's `data/` folder (sources and licences in its README.md).

use super::csv::{CsvOptions, read_csv, read_text};
use super::dataset::{Labels, TensorDataset, Values};
use crate::error::{Error, Result};
use crate::shape::Const;
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

/// The folder holding the bundled data sets: `data/` in this crate's source tree.
///
/// ```
/// assert!(shaped::data::data_dir().join("iris.csv").exists());
/// ```
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn format_err(path: &Path, message: String) -> Error {
    Error::Format {
        what: path.display().to_string(),
        message,
    }
}

/// Features and labels from a table whose last column is the label.
fn labelled<const F: usize>(
    path: &Path,
    options: &CsvOptions,
    num_classes: usize,
) -> Result<(TensorDataset<Const<F>>, Option<Vec<String>>)> {
    let mut table = read_csv::<f32>(path, options)?;
    if table.cols() != F + 1 {
        return Err(format_err(
            path,
            format!(
                "{} columns, expected {} features and a label",
                table.cols(),
                F
            ),
        ));
    }
    let header = table.header().map(<[String]>::to_vec);
    let y = table.take_labels(F)?;
    let x: Tensor<(usize, Const<F>)> = table.into_tensor().try_realize()?;
    Ok((
        TensorDataset::new(x, Labels::new(y.into_vec(), num_classes)?)?,
        header,
    ))
}

/// The UCI optical digits: 1797 images of 8x8 pixels (values 0 to 16) flattened to 64
/// features, labelled 0 to 9.
///
/// ```
/// use shaped::data::Dataset;
/// let digits = shaped::data::digits().unwrap();
/// assert_eq!(digits.len(), 1797);
/// assert_eq!(digits.targets().num_classes(), 10);
/// ```
pub fn digits() -> Result<TensorDataset<Const<64>>> {
    digits_from(data_dir().join("digits.csv.gz"))
}

/// [`digits`] from another copy of `digits.csv.gz` (or an uncompressed `.csv`).
///
/// ```
/// let copy = shaped::data::data_dir().join("digits.csv.gz"); // e.g. a copy elsewhere
/// assert_eq!(shaped::data::digits_from(copy).unwrap().num_features(), 64);
/// assert!(shaped::data::digits_from("no/such/file.csv").is_err());
/// ```
pub fn digits_from(path: impl AsRef<Path>) -> Result<TensorDataset<Const<64>>> {
    Ok(labelled::<64>(path.as_ref(), &CsvOptions::new(), 10)?.0)
}

/// Fisher's iris: 150 flowers, 4 measurements each, 3 species (with their names).
///
/// ```
/// use shaped::data::Dataset;
/// let iris = shaped::data::iris().unwrap();
/// assert_eq!(iris.len(), 150);
/// assert_eq!(iris.targets().names(), ["setosa", "versicolor", "virginica"]);
/// ```
pub fn iris() -> Result<TensorDataset<Const<4>>> {
    iris_from(data_dir().join("iris.csv"))
}

/// [`iris`] from another copy of `iris.csv`, whose header line is
/// `rows,features,class names...`.
///
/// ```
/// let copy = shaped::data::data_dir().join("iris.csv");
/// assert_eq!(shaped::data::iris_from(copy).unwrap().targets().num_classes(), 3);
/// ```
pub fn iris_from(path: impl AsRef<Path>) -> Result<TensorDataset<Const<4>>> {
    let path = path.as_ref();
    let (ds, header) = labelled::<4>(path, &CsvOptions::new().header(true), 3)?;
    let header = header.unwrap_or_default();
    let number = |i: usize| header.get(i).and_then(|s| s.parse::<usize>().ok());
    let (rows, feats) = (number(0), number(1));
    let n = ds.features().dims()[0];
    if rows != Some(n) || feats != Some(4) || header.len() != 5 {
        return Err(format_err(
            path,
            format!(
                "line 1: the header {header:?} does not describe {n} rows of 4 features and 3 class names"
            ),
        ));
    }
    let (x, y) = ds.into_parts();
    let y = y.with_names(header[2..].to_vec())?;
    TensorDataset::new(x, y)
}

/// The diabetes regression data: 442 patients, 10 baseline variables (age, sex, bmi, bp,
/// s1..s6, unscaled) and a measure of disease progression one year later.
///
/// ```
/// use shaped::data::Dataset;
/// let d = shaped::data::diabetes().unwrap();
/// assert_eq!(d.len(), 442);
/// assert_eq!(d.targets().tensor().dims().as_slice(), &[442, 1]);
/// ```
pub fn diabetes() -> Result<TensorDataset<Const<10>, Values<Const<1>>>> {
    let dir = data_dir();
    diabetes_from(
        dir.join("diabetes_data_raw.csv.gz"),
        dir.join("diabetes_target.csv.gz"),
    )
}

/// [`diabetes`] from other copies of its two files (features, targets).
///
/// ```
/// use shaped::data::Dataset;
/// let dir = shaped::data::data_dir();
/// let d = shaped::data::diabetes_from(dir.join("diabetes_data_raw.csv.gz"), dir.join("diabetes_target.csv.gz")).unwrap();
/// assert_eq!(d.len(), 442);
/// ```
pub fn diabetes_from(
    data_path: impl AsRef<Path>,
    target_path: impl AsRef<Path>,
) -> Result<TensorDataset<Const<10>, Values<Const<1>>>> {
    let opts = CsvOptions::new().whitespace();
    let x: Tensor<(usize, Const<10>)> = read_csv::<f32>(data_path.as_ref(), &opts)?
        .into_tensor()
        .try_realize()?;
    let y: Tensor<(usize, Const<1>)> = read_csv::<f32>(target_path.as_ref(), &opts)?
        .into_tensor()
        .try_realize()?;
    TensorDataset::new(x, Values::new(y))
}

/// The English word list (SCOWL, 104,334 words, one per line, including possessives).
///
/// ```
/// let words = shaped::data::words().unwrap();
/// assert_eq!(words.len(), 104_334);
/// assert!(words.iter().any(|w| w == "tensor"));
/// ```
pub fn words() -> Result<Vec<String>> {
    words_from(data_dir().join("words.txt"))
}

/// [`words`] from another word list, one word per line (blank lines skipped).
///
/// ```
/// let path = std::env::temp_dir().join("shaped_doc_words.txt");
/// std::fs::write(&path, "alpha\nbeta\n").unwrap();
/// assert_eq!(shaped::data::words_from(&path).unwrap(), ["alpha", "beta"]);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn words_from(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let text = read_text(path.as_ref())?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect())
}
