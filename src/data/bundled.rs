//! The small data sets in the crate's `data/` folder (sources and licences in its README.md).
//!
//! Digits, iris and diabetes (under 70 KB together) are compiled into the library with
//! `include_bytes!`, so a built program finds them wherever it is moved. The word list
//! (about 1 MB) is read from a file found by [`data_file`]: `$SHAPED_DATA_DIR`, then next
//! to the running program, then the crate's source tree.

use super::csv::{CsvOptions, CsvTable, parse_csv, read_csv, read_text};
use super::dataset::{Labels, TensorDataset, Values};
use crate::error::{Error, Result};
use crate::shape::Const;
use crate::tensor::Tensor;
use std::io::Read;
use std::path::{Path, PathBuf};

const DIGITS_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");
const IRIS_CSV: &[u8] = include_bytes!("../../data/iris.csv");
const DIABETES_DATA_GZ: &[u8] = include_bytes!("../../data/diabetes_data_raw.csv.gz");
const DIABETES_TARGET_GZ: &[u8] = include_bytes!("../../data/diabetes_target.csv.gz");

/// The environment variable naming a folder searched first by [`data_file`].
pub const DATA_DIR_ENV: &str = "SHAPED_DATA_DIR";

/// The `data/` folder of this crate's source tree (where it was when the crate was built).
/// The embedded data sets do not need it; [`data_file`] searches it last.
///
/// ```
/// assert!(shaped::data::data_dir().join("iris.csv").exists());
/// ```
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The folders [`data_file`] searches, in order: `$SHAPED_DATA_DIR` (when set), the running
/// program's folder and its `data/` subfolder, then [`data_dir`].
///
/// ```
/// let dirs = shaped::data::data_search_dirs();
/// assert_eq!(dirs.last(), Some(&shaped::data::data_dir()));
/// ```
pub fn data_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("data"));
        dirs.push(exe_dir);
    }
    dirs.push(data_dir());
    dirs
}

/// The first existing file called `name` in [`data_search_dirs`]; otherwise an error that
/// lists every place it looked.
///
/// ```
/// let words = shaped::data::data_file("words.txt").unwrap();
/// assert!(words.ends_with("words.txt"));
/// let err = shaped::data::data_file("no_such_data.csv").unwrap_err().to_string();
/// assert!(err.contains("looked in") && err.contains("SHAPED_DATA_DIR"), "{err}");
/// ```
pub fn data_file(name: &str) -> Result<PathBuf> {
    let dirs = data_search_dirs();
    if let Some(found) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
        return Ok(found);
    }
    let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(Error::Io {
        path: Some(PathBuf::from(name)),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "data file not found; looked in {} (set {DATA_DIR_ENV} to the folder holding it)",
                looked.join(", ")
            ),
        ),
    })
}

fn format_err(what: &str, message: String) -> Error {
    Error::Format {
        what: what.to_string(),
        message,
    }
}

/// The text of an embedded file, gunzipped when `gz`.
fn embedded_text(name: &str, bytes: &[u8], gz: bool) -> Result<String> {
    let what = format!("{name} (embedded)");
    let bytes = if gz {
        let mut out = Vec::new();
        super::gzip::GzReader::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| format_err(&what, format!("not a valid gzip file: {e}")))?;
        out
    } else {
        bytes.to_vec()
    };
    String::from_utf8(bytes).map_err(|e| {
        format_err(
            &what,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

fn embedded_csv(name: &str, bytes: &[u8], gz: bool, options: &CsvOptions) -> Result<CsvTable<f32>> {
    parse_csv(
        &embedded_text(name, bytes, gz)?,
        options,
        &format!("{name} (embedded)"),
    )
}

/// Features and labels from a table whose last column is the label, with the header and
/// the label column's class names (sorted; empty for numeric labels).
fn labelled<const F: usize>(
    mut table: CsvTable<f32>,
    source: &str,
    num_classes: usize,
) -> Result<(TensorDataset<Const<F>>, Option<Vec<String>>, Vec<String>)> {
    if table.cols() != F + 1 {
        return Err(format_err(
            source,
            format!(
                "{} columns, expected {} features and a label",
                table.cols(),
                F
            ),
        ));
    }
    let header = table.header().map(<[String]>::to_vec);
    let y = table.take_labels(F)?;
    let names = y.names().to_vec();
    let x: Tensor<(usize, Const<F>)> = table.into_tensor().try_realize()?;
    let y = Labels::new(y.into_vec(), num_classes)?;
    Ok((TensorDataset::new(x, y)?, header, names))
}

/// The UCI optical digits: 1797 images of 8x8 pixels (values 0 to 16) flattened to 64
/// features, labelled 0 to 9. Embedded in the library: no file is read.
///
/// ```
/// use shaped::data::Dataset;
/// let digits = shaped::data::digits().unwrap();
/// assert_eq!(digits.len(), 1797);
/// assert_eq!(digits.targets().num_classes(), 10);
/// ```
pub fn digits() -> Result<TensorDataset<Const<64>>> {
    let table = embedded_csv("digits.csv.gz", DIGITS_GZ, true, &CsvOptions::new())?;
    Ok(labelled::<64>(table, "digits.csv.gz (embedded)", 10)?.0)
}

/// [`digits`] from another copy of `digits.csv.gz` (or an uncompressed `.csv`).
///
/// ```
/// let copy = shaped::data::data_dir().join("digits.csv.gz"); // e.g. a copy elsewhere
/// assert_eq!(shaped::data::digits_from(copy).unwrap().num_features(), 64);
/// assert!(shaped::data::digits_from("no/such/file.csv").is_err());
/// ```
pub fn digits_from(path: impl AsRef<Path>) -> Result<TensorDataset<Const<64>>> {
    let path = path.as_ref();
    let table = read_csv::<f32>(path, &CsvOptions::new())?;
    Ok(labelled::<64>(table, &path.display().to_string(), 10)?.0)
}

/// Fisher's iris: 150 flowers, 4 measurements each, 3 species (with their names).
/// Embedded in the library: no file is read.
///
/// ```
/// use shaped::data::Dataset;
/// let iris = shaped::data::iris().unwrap();
/// assert_eq!(iris.len(), 150);
/// assert_eq!(iris.targets().names(), ["setosa", "versicolor", "virginica"]);
/// ```
pub fn iris() -> Result<TensorDataset<Const<4>>> {
    iris_table(
        embedded_csv("iris.csv", IRIS_CSV, false, &iris_options())?,
        "iris.csv (embedded)",
    )
}

/// [`iris`] from another copy of `iris.csv`, whose header line is
/// `rows,features,class names...`; the label column holds class indices or the class names
/// themselves (`setosa`).
///
/// ```
/// let copy = shaped::data::data_dir().join("iris.csv");
/// assert_eq!(shaped::data::iris_from(copy).unwrap().targets().num_classes(), 3);
/// ```
pub fn iris_from(path: impl AsRef<Path>) -> Result<TensorDataset<Const<4>>> {
    let path = path.as_ref();
    let table = read_csv::<f32>(path, &iris_options())?;
    iris_table(table, &path.display().to_string())
}

/// Iris's header is `rows,features,class names...`, not column names.
fn iris_options() -> CsvOptions {
    let mut options = CsvOptions::new().header(true).label_column(4);
    options.header_names_columns = false;
    options
}

fn iris_table(table: CsvTable<f32>, source: &str) -> Result<TensorDataset<Const<4>>> {
    if let (Some(names), Some(header)) = (table.label_names(), table.header()) {
        let classes = header.get(2..).unwrap_or_default();
        if let Some(name) = names.iter().find(|n| !classes.contains(n)) {
            return Err(format_err(
                source,
                format!("the class {name:?} is not among the header's classes {classes:?}"),
            ));
        }
    }
    let (ds, header, names) = labelled::<4>(table, source, 3)?;
    let header = header.unwrap_or_default();
    let number = |i: usize| header.get(i).and_then(|s| s.parse::<usize>().ok());
    let (rows, feats) = (number(0), number(1));
    let n = ds.features().dims()[0];
    if rows != Some(n) || feats != Some(4) || header.len() != 5 {
        return Err(format_err(
            source,
            format!(
                "line 1: the header {header:?} does not describe {n} rows of 4 features and 3 class names"
            ),
        ));
    }
    let (x, y) = ds.into_parts();
    let classes = header[2..].to_vec();
    let y = if !names.is_empty() {
        // Names were numbered in sorted order; renumber them in the header's order.
        let mut indices = Vec::with_capacity(y.as_slice().len());
        for &i in y.as_slice() {
            let name = &names[i];
            let Some(k) = classes.iter().position(|c| c == name) else {
                return Err(format_err(
                    source,
                    format!("the class {name:?} is not among the header's classes {classes:?}"),
                ));
            };
            indices.push(k);
        }
        Labels::new(indices, 3)?
    } else {
        y
    };
    TensorDataset::new(x, y.with_names(classes)?)
}

/// The diabetes regression data: 442 patients, 10 baseline variables (age, sex, bmi, bp,
/// s1..s6, unscaled) and a measure of disease progression one year later. Embedded in the
/// library: no file is read.
///
/// ```
/// use shaped::data::Dataset;
/// let d = shaped::data::diabetes().unwrap();
/// assert_eq!(d.len(), 442);
/// assert_eq!(d.targets().tensor().dims().as_slice(), &[442, 1]);
/// ```
pub fn diabetes() -> Result<TensorDataset<Const<10>, Values<Const<1>>>> {
    let opts = CsvOptions::new().whitespace();
    diabetes_tables(
        embedded_csv("diabetes_data_raw.csv.gz", DIABETES_DATA_GZ, true, &opts)?,
        embedded_csv("diabetes_target.csv.gz", DIABETES_TARGET_GZ, true, &opts)?,
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
    diabetes_tables(
        read_csv::<f32>(data_path.as_ref(), &opts)?,
        read_csv::<f32>(target_path.as_ref(), &opts)?,
    )
}

fn diabetes_tables(
    data: CsvTable<f32>,
    target: CsvTable<f32>,
) -> Result<TensorDataset<Const<10>, Values<Const<1>>>> {
    let x: Tensor<(usize, Const<10>)> = data.into_tensor().try_realize()?;
    let y: Tensor<(usize, Const<1>)> = target.into_tensor().try_realize()?;
    TensorDataset::new(x, Values::new(y))
}

/// The English word list (SCOWL, 104,334 words, one per line, including possessives),
/// read from `words.txt` as found by [`data_file`] (copy `data/words.txt` next to a program
/// you ship, or set `SHAPED_DATA_DIR`).
///
/// ```
/// let words = shaped::data::words().unwrap();
/// assert_eq!(words.len(), 104_334);
/// assert!(words.iter().any(|w| w == "tensor"));
/// ```
pub fn words() -> Result<Vec<String>> {
    words_from(data_file("words.txt")?)
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
