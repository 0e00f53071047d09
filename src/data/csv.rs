//! Numeric CSV files to and from tensors.

use super::dataset::Labels;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::io::Write;
use std::path::Path;

/// How cells are separated.
///
/// ```
/// use shaped::data::{CsvOptions, Delimiter};
/// assert_eq!(CsvOptions::new().delimiter('\t').delimiter, Delimiter::Char('\t'));
/// assert_eq!(CsvOptions::new().whitespace().delimiter, Delimiter::Whitespace);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delimiter {
    /// One character, e.g. `,` or `;` or `\t`.
    Char(char),
    /// Any run of spaces and tabs (files such as `diabetes_data_raw.csv`); written as one space.
    Whitespace,
}

/// Options for reading and writing CSV: the delimiter (`,` by default) and whether the
/// first line is a header (no by default).
///
/// Cells are numbers (anything Rust's float parser takes, including `nan` and `inf`) with
/// surrounding whitespace ignored; there is no quoting. Blank lines are skipped. A file
/// whose name ends in `.gz` is gzip-compressed.
///
/// ```
/// use shaped::data::CsvOptions;
/// let semicolons_with_header = CsvOptions::new().delimiter(';').header(true);
/// let spaces = CsvOptions::new().whitespace();
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// The cell separator.
    pub delimiter: Delimiter,
    /// Whether the first non-blank line holds column names.
    pub header: bool,
    /// A column (0-based) of class labels, which may be names such as `setosa`: see
    /// [`CsvOptions::label_column`].
    pub label_column: Option<usize>,
    /// Whether the header names the columns (false for headers like iris's
    /// `rows,features,classes...`, so that errors do not quote them as column names).
    pub(crate) header_names_columns: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: Delimiter::Char(','),
            header: false,
            label_column: None,
            header_names_columns: true,
        }
    }
}

impl CsvOptions {
    /// Comma-separated, no header.
    ///
    /// ```
    /// assert_eq!(shaped::data::CsvOptions::new(), Default::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
    /// Separates cells with `c`.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let t = parse_csv::<f32>("1;2\n", &CsvOptions::new().delimiter(';'), "inline").unwrap();
    /// assert_eq!(t.cols(), 2);
    /// ```
    pub fn delimiter(mut self, c: char) -> Self {
        self.delimiter = Delimiter::Char(c);
        self
    }
    /// Separates cells with runs of whitespace.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let t = parse_csv::<f32>("1   2\t3\n", &CsvOptions::new().whitespace(), "inline").unwrap();
    /// assert_eq!(t.as_slice(), &[1.0, 2.0, 3.0]);
    /// ```
    pub fn whitespace(mut self) -> Self {
        self.delimiter = Delimiter::Whitespace;
        self
    }
    /// Whether the first line is a header.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let t = parse_csv::<f32>("x\n1\n", &CsvOptions::new().header(true), "inline").unwrap();
    /// assert_eq!(t.rows(), 1);
    /// ```
    pub fn header(mut self, on: bool) -> Self {
        self.header = on;
        self
    }
    /// Reads column `column` (0-based) as class labels: cells that are all non-negative
    /// integers are class indices as they stand; otherwise each distinct name becomes a class,
    /// numbered in sorted order, and [`CsvTable::label_names`] maps indices back to names
    /// (as do the [`Labels`] from [`CsvTable::take_labels`]).
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let text = "5.1,3.5,setosa\n7.0,3.2,versicolor\n4.9,3.0,setosa\n";
    /// let mut t = parse_csv::<f32>(text, &CsvOptions::new().label_column(2), "inline").unwrap();
    /// assert_eq!(t.label_names().unwrap(), ["setosa", "versicolor"]);
    /// let y = t.take_labels(2).unwrap();
    /// assert_eq!(y.as_slice(), &[0, 1, 0]);
    /// assert_eq!(y.names()[y.as_slice()[1]], "versicolor"); // and back, for printing
    /// assert_eq!(t.into_tensor().to_vec(), vec![5.1, 3.5, 7.0, 3.2, 4.9, 3.0]);
    /// ```
    pub fn label_column(mut self, column: usize) -> Self {
        self.label_column = Some(column);
        self
    }
}

/// A parsed CSV file: an optional header and a `rows x cols` matrix of numbers.
///
/// ```
/// use shaped::data::{CsvOptions, parse_csv};
/// let t = parse_csv::<f32>("a,b\n1,2\n3,4\n", &CsvOptions::new().header(true), "inline").unwrap();
/// assert_eq!(t.header().unwrap(), ["a", "b"]);
/// assert_eq!((t.rows(), t.cols()), (2, 2));
/// assert_eq!(t.into_tensor().to_vec(), vec![1., 2., 3., 4.]);
/// ```
#[derive(Clone, Debug)]
pub struct CsvTable<E> {
    source: String,
    header: Option<Vec<String>>,
    rows: usize,
    cols: usize,
    data: Vec<E>,
    /// `(row, line)` wherever the line numbers stop following the rows one to one (the
    /// first row, and rows after blank lines): a few entries instead of one per row.
    line_jumps: Vec<(usize, usize)>,
    /// The label column and its class names, when its cells were names.
    label_names: Option<(usize, Vec<String>)>,
}

impl<E: Float> CsvTable<E> {
    /// The column names, when the file had a header.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let t = parse_csv::<f32>("x,y\n1,2\n", &CsvOptions::new().header(true), "inline").unwrap();
    /// assert_eq!(t.header(), Some(&["x".to_string(), "y".to_string()][..]));
    /// ```
    pub fn header(&self) -> Option<&[String]> {
        self.header.as_deref()
    }
    /// The number of data rows.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// assert_eq!(parse_csv::<f32>("1\n2\n3\n", &CsvOptions::new(), "inline").unwrap().rows(), 3);
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }
    /// The number of columns.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// assert_eq!(parse_csv::<f32>("1,2,3\n", &CsvOptions::new(), "inline").unwrap().cols(), 3);
    /// ```
    pub fn cols(&self) -> usize {
        self.cols
    }
    /// The values, row-major.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let t = parse_csv::<f64>("1,2\n3,4\n", &CsvOptions::new(), "inline").unwrap();
    /// assert_eq!(t.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
    /// ```
    pub fn as_slice(&self) -> &[E] {
        &self.data
    }
    /// The line of the file that data row `row` came from (1-based), for error messages.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let t = parse_csv::<f32>("a\n\n1\n", &CsvOptions::new().header(true), "inline").unwrap();
    /// assert_eq!(t.line_of(0), Some(3)); // the blank line 2 is skipped
    /// ```
    pub fn line_of(&self, row: usize) -> Option<usize> {
        if row >= self.rows {
            return None;
        }
        let k = self.line_jumps.partition_point(|&(r, _)| r <= row);
        let (r, line) = self.line_jumps[k.checked_sub(1)?];
        Some(line + (row - r))
    }
    /// The class names of the [`CsvOptions::label_column`], sorted, when its cells were
    /// names; the column holds each name's index. `None` for numeric labels.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let t = parse_csv::<f32>("1,b\n2,a\n", &CsvOptions::new().label_column(1), "inline").unwrap();
    /// assert_eq!(t.label_names().unwrap(), ["a", "b"]);
    /// assert_eq!(t.as_slice(), &[1.0, 1.0, 2.0, 0.0]);
    /// ```
    pub fn label_names(&self) -> Option<&[String]> {
        self.label_names.as_ref().map(|(_, n)| n.as_slice())
    }
    /// The values as a `(rows, cols)` tensor; `try_realize` gives a static width.
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// use shaped::prelude::*;
    /// let t = parse_csv::<f32>("1,2\n3,4\n", &CsvOptions::new(), "inline").unwrap();
    /// let x: Tensor<(usize, Const<2>)> = t.into_tensor().try_realize().unwrap();
    /// ```
    pub fn into_tensor(self) -> Tensor<(usize, usize), E> {
        Tensor::from_parts((self.rows, self.cols), self.data)
    }
    /// Removes column `column` (0-based) from the table and returns it as class labels; an
    /// error names the line and column of a label that is not a non-negative integer (the
    /// table is then unchanged). There are as many classes as the largest label plus one,
    /// or, for a [`CsvOptions::label_column`] of names, as many as names (kept in the
    /// [`Labels`]).
    ///
    /// ```
    /// use shaped::data::{CsvOptions, parse_csv};
    /// let mut t = parse_csv::<f32>("0.5,1\n0.25,0\n", &CsvOptions::new(), "inline").unwrap();
    /// let y = t.take_labels(1).unwrap();
    /// assert_eq!(y.as_slice(), &[1, 0]);
    /// assert_eq!(t.into_tensor().to_vec(), vec![0.5, 0.25]);
    /// let mut bad = parse_csv::<f32>("0.5,1.5\n", &CsvOptions::new(), "inline").unwrap();
    /// assert!(bad.take_labels(1).unwrap_err().to_string().contains("line 1, column 2"));
    /// ```
    pub fn take_labels(&mut self, column: usize) -> Result<Labels> {
        if column >= self.cols {
            return Err(Error::value(
                "label column",
                format!(
                    "{} has {} columns, there is no column {}",
                    self.source,
                    self.cols,
                    column + 1
                ),
            ));
        }
        let mut labels = Vec::with_capacity(self.rows);
        for (r, row) in self.data.chunks_exact(self.cols).enumerate() {
            let v = row[column].to_f64();
            if !(v >= 0.0 && v.fract() == 0.0 && v < usize::MAX as f64) {
                return Err(Error::Format {
                    what: self.source.clone(),
                    message: format!(
                        "line {}, column {}: {} is not a class label (a non-negative integer)",
                        self.line_of(r).unwrap_or(0),
                        column + 1,
                        row[column]
                    ),
                });
            }
            labels.push(v as usize);
        }
        let cols = self.cols;
        let mut i = 0;
        self.data.retain(|_| {
            let keep = i % cols != column;
            i += 1;
            keep
        });
        self.cols -= 1;
        if let Some(h) = &mut self.header {
            h.remove(column);
        }
        match self.label_names.take() {
            Some((c, names)) if c == column => Labels::new(labels, names.len())?.with_names(names),
            Some((c, names)) => {
                self.label_names = Some((if c > column { c - 1 } else { c }, names));
                Labels::try_from_vec(labels)
            }
            None => Labels::try_from_vec(labels),
        }
    }
}

fn parse_cell<E: Float>(cell: &str) -> Option<E> {
    // Parsing an f32 through f64 could round twice; parse each type directly.
    if E::DTYPE == "f32" {
        cell.parse::<f32>().ok().map(|v| E::from_f64(v as f64))
    } else {
        cell.parse::<f64>().ok().map(E::from_f64)
    }
}

fn split<'a>(line: &'a str, delimiter: Delimiter) -> Box<dyn Iterator<Item = &'a str> + 'a> {
    match delimiter {
        Delimiter::Char(c) => Box::new(line.split(c).map(str::trim)),
        Delimiter::Whitespace => Box::new(line.split_whitespace()),
    }
}

/// Parses CSV text; `source` names it in errors. A cell that is not a number, or a row whose
/// number of cells differs from the first row's, is an error naming the line and column.
///
/// ```
/// use shaped::data::{CsvOptions, parse_csv};
/// let err = parse_csv::<f32>("1,2\n3,x\n", &CsvOptions::new(), "data.csv").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "data.csv: line 2, column 2: cannot parse \"x\" as a number \
///      (for class names in this column, use CsvOptions::label_column(1))"
/// );
/// let err = parse_csv::<f32>("1,2\n3\n", &CsvOptions::new(), "data.csv").unwrap_err();
/// assert!(err.to_string().contains("line 2 has 1 column"));
/// ```
pub fn parse_csv<E: Float>(text: &str, options: &CsvOptions, source: &str) -> Result<CsvTable<E>> {
    let format_err = |message: String| Error::Format {
        what: source.to_string(),
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let mut header = None;
    if options.header
        && let Some((_, line)) = lines.next()
    {
        let names: Vec<String> = split(line, options.delimiter)
            .map(|c| c.trim_matches('"').to_string())
            .collect();
        header = Some(names);
    }
    let mut table = CsvTable {
        source: source.to_string(),
        header,
        rows: 0,
        cols: 0,
        data: Vec::new(),
        line_jumps: Vec::new(),
        label_names: None,
    };
    // Reserve the values once, from an upper bound on the cells (delimiters plus lines),
    // instead of letting doubling overshoot by up to 2x on a large file.
    if let Delimiter::Char(c) = options.delimiter {
        let bound = text.matches(c).count() + text.lines().count();
        table.data.reserve_exact(bound);
    }
    let mut last_line = 0;
    let mut label_cells: Vec<String> = Vec::new();
    let mut first_line = 0;
    for (line_no, line) in lines {
        let start = table.data.len();
        let cells: Vec<&str> = split(line, options.delimiter).collect();
        for (j, &cell) in cells.iter().enumerate() {
            if options.label_column == Some(j) {
                label_cells.push(cell.trim_matches('"').to_string());
                table.data.push(E::ZERO); // the class index, once every name is known
                continue;
            }
            match parse_cell::<E>(cell) {
                Some(v) => table.data.push(v),
                None => {
                    let name = match table.header.as_ref().and_then(|h| h.get(j)) {
                        Some(n) if !n.is_empty() && options.header_names_columns => {
                            format!(" ({n})")
                        }
                        _ => String::new(),
                    };
                    let hint = if j + 1 == cells.len() && !cell.is_empty() {
                        format!(
                            " (for class names in this column, use CsvOptions::label_column({j}))"
                        )
                    } else {
                        String::new()
                    };
                    return Err(format_err(format!(
                        "line {line_no}, column {}{name}: cannot parse {cell:?} as a number{hint}",
                        j + 1
                    )));
                }
            }
        }
        let n = table.data.len() - start;
        if table.rows == 0 {
            table.cols = n;
            first_line = line_no;
            if let Some(h) = &table.header
                && h.len() != n
            {
                return Err(format_err(format!(
                    "line {line_no} has {n} columns but the header names {}",
                    h.len()
                )));
            }
        } else if n != table.cols {
            let s = if n == 1 { "" } else { "s" };
            return Err(format_err(format!(
                "line {line_no} has {n} column{s}, expected {} as on line {first_line}",
                table.cols
            )));
        }
        if table.rows == 0 || line_no != last_line + 1 {
            table.line_jumps.push((table.rows, line_no));
        }
        last_line = line_no;
        table.rows += 1;
    }
    if table.rows == 0 {
        table.cols = table.header.as_ref().map_or(0, Vec::len);
    }
    if let Some(c) = options.label_column
        && table.rows > 0
    {
        if c >= table.cols {
            return Err(format_err(format!(
                "the label column is column {}, but the file has {} columns",
                c + 1,
                table.cols
            )));
        }
        let numeric: Option<Vec<usize>> = label_cells.iter().map(|s| s.parse().ok()).collect();
        let indices = match numeric {
            Some(indices) => indices,
            None => {
                let mut names = label_cells.clone();
                names.sort();
                names.dedup();
                let indices = label_cells
                    .iter()
                    .map(|s| names.binary_search(s).unwrap_or_default())
                    .collect();
                table.label_names = Some((c, names));
                indices
            }
        };
        for (row, index) in table.data.chunks_exact_mut(table.cols).zip(indices) {
            row[c] = E::from_f64(index as f64);
        }
    }
    Ok(table)
}

/// The bytes of a file, gunzipped when its name ends in `.gz` (up to
/// [`max_decompressed_bytes`](super::max_decompressed_bytes)).
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let io_err = |source| Error::Io {
        path: Some(path.to_path_buf()),
        source,
    };
    let bytes = std::fs::read(path).map_err(io_err)?;
    if path.extension().is_some_and(|e| e == "gz") {
        super::gz::gunzip(&bytes[..], &path.display().to_string())
    } else {
        Ok(bytes)
    }
}

pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = read_maybe_gz(path)?;
    String::from_utf8(bytes).map_err(|e| Error::Format {
        what: path.display().to_string(),
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// Reads a CSV file (gzip-compressed when its name ends in `.gz`).
///
/// ```
/// use shaped::data::{CsvOptions, read_csv};
/// let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/iris.csv");
/// let t = read_csv::<f32>(&path, &CsvOptions::new().header(true)).unwrap();
/// assert_eq!((t.rows(), t.cols()), (150, 5));
/// ```
pub fn read_csv<E: Float>(path: impl AsRef<Path>, options: &CsvOptions) -> Result<CsvTable<E>> {
    let path = path.as_ref();
    parse_csv(&read_text(path)?, options, &path.display().to_string())
}

/// Reads a CSV file into a `(rows, cols)` tensor, dropping the header if the options say
/// there is one.
///
/// ```
/// use shaped::data::{CsvOptions, load_csv};
/// use shaped::prelude::*;
/// let path = shaped::data::data_dir().join("iris.csv");
/// let t: Tensor<(usize, Const<5>)> = load_csv(&path, &CsvOptions::new().header(true)).unwrap().try_realize().unwrap();
/// assert_eq!(t.dims()[0], 150);
/// ```
pub fn load_csv<E: Float>(
    path: impl AsRef<Path>,
    options: &CsvOptions,
) -> Result<Tensor<(usize, usize), E>> {
    Ok(read_csv(path, options)?.into_tensor())
}

fn format_value<E: Float>(v: E) -> String {
    let a = v.to_f64().abs();
    // Rust prints the shortest digits that read back to the same value, so files round-trip
    // exactly; exponent form keeps very large and very small values short.
    if a != 0.0 && a.is_finite() && !(1e-5..1e16).contains(&a) {
        if E::DTYPE == "f32" {
            format!("{:e}", v.to_f64() as f32)
        } else {
            format!("{:e}", v.to_f64())
        }
    } else {
        format!("{v}")
    }
}

/// Writes a tensor as CSV: a rank-2 tensor row by row, a rank-1 tensor as one column, a
/// scalar as one cell, and higher ranks with every dimension after the first flattened into
/// columns. `header`, if given, must name every column.
///
/// ```
/// use shaped::data::{CsvOptions, write_csv};
/// use shaped::prelude::*;
/// let t = Tensor::<Rank2<2, 2>>::from_array([[1.0, 0.5], [-2.0, 1e-7]]);
/// let mut out = Vec::new();
/// write_csv(&mut out, &t, &CsvOptions::new().delimiter(';'), Some(&["a", "b"])).unwrap();
/// assert_eq!(String::from_utf8(out).unwrap(), "a;b\n1;0.5\n-2;1e-7\n");
/// ```
pub fn write_csv<S: Shape, E: Float, T>(
    mut out: impl Write,
    tensor: &Tensor<S, E, T>,
    options: &CsvOptions,
    header: Option<&[&str]>,
) -> Result<()> {
    let dims = tensor.dims();
    let cols = match dims.rank() {
        0 | 1 => 1,
        _ => dims[1..].iter().product(),
    };
    let delim = match options.delimiter {
        Delimiter::Char(c) => c.to_string(),
        Delimiter::Whitespace => " ".to_string(),
    };
    if let Some(h) = header {
        if h.len() != cols {
            return Err(Error::value(
                "CSV header",
                format!("{} names for {cols} columns", h.len()),
            ));
        }
        writeln!(out, "{}", h.join(&delim))?;
    }
    if cols > 0 {
        let mut line = String::new();
        for row in tensor.as_slice().chunks_exact(cols) {
            line.clear();
            for (j, v) in row.iter().enumerate() {
                if j > 0 {
                    line.push_str(&delim);
                }
                line.push_str(&format_value(*v));
            }
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Saves a tensor as a CSV file (see [`write_csv`]), gzip-compressed when the name ends in
/// `.gz`. The file is replaced atomically: it holds either the old or the new contents.
///
/// ```
/// use shaped::data::{CsvOptions, load_csv, save_csv};
/// use shaped::prelude::*;
/// let path = std::env::temp_dir().join("shaped_doc_save_csv.csv");
/// let t = Tensor::<Rank2<2, 3>>::from_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.25]]);
/// let opts = CsvOptions::new().header(true);
/// save_csv(&path, &t, &opts, Some(&["x", "y", "z"])).unwrap();
/// assert_eq!(load_csv::<f32>(&path, &opts).unwrap().to_vec(), t.to_vec());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn save_csv<S: Shape, E: Float, T>(
    path: impl AsRef<Path>,
    tensor: &Tensor<S, E, T>,
    options: &CsvOptions,
    header: Option<&[&str]>,
) -> Result<()> {
    let path = path.as_ref();
    let gz = path.extension().is_some_and(|e| e == "gz");
    crate::serialize::write_atomic(path, |w| {
        if gz {
            let mut enc = super::gzip::GzWriter::new(w)?;
            write_csv(&mut enc, tensor, options, header)?;
            enc.finish()?;
            Ok(())
        } else {
            write_csv(w, tensor, options, header)
        }
    })
}
