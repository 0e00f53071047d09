//! MNIST's IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, optionally gzipped).
//!
//! An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
//! dimensions), one big-endian `u32` per dimension, then the values row-major. MNIST uses
//! unsigned bytes (type code `0x08`): 3 dimensions for images, 1 for labels.

use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::tensor::{Indices, Tensor};
use std::io::Read;
use std::path::Path;

const UBYTE: u8 = 0x08;

fn format_err(what: &str, message: String) -> Error {
    Error::Format {
        what: what.to_string(),
        message,
    }
}

/// Reads the header and exactly the declared number of value bytes. `total_len`, when
/// known, is checked against the declared size before anything is allocated, and the
/// buffer only grows as bytes actually arrive, so a lying header cannot make it allocate
/// more than the input holds. `limit`, for decompressed input, caps the declared size.
fn read_idx(
    mut r: impl Read,
    total_len: Option<u64>,
    limit: Option<u64>,
    rank: u8,
    what: &str,
) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut magic = [0u8; 4];
    read_exact(&mut r, &mut magic, what, "the 4-byte magic number")?;
    let expected = [0, 0, UBYTE, rank];
    if magic != expected {
        return Err(format_err(
            what,
            format!(
                "bad magic number {:02x}{:02x}{:02x}{:02x}: expected {:02x}{:02x}{:02x}{:02x} \
                 (unsigned bytes, {rank} dimension{})",
                magic[0],
                magic[1],
                magic[2],
                magic[3],
                expected[0],
                expected[1],
                expected[2],
                expected[3],
                if rank == 1 { "" } else { "s" }
            ),
        ));
    }
    let mut dims = Vec::with_capacity(rank as usize);
    for i in 0..rank {
        let mut d = [0u8; 4];
        read_exact(&mut r, &mut d, what, &format!("the size of dimension {i}"))?;
        dims.push(u32::from_be_bytes(d) as u64);
    }
    let header_len = 4 + 4 * rank as u64;
    let declared = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    // The tensor's shape must exist too: with a zero size the product is 0, but the other
    // sizes' product must still fit (see `Dims::checked_numel`).
    let sizes: Vec<usize> = dims.iter().map(|&d| d as usize).collect();
    let shape_ok = crate::shape::Dims::new(&sizes).is_some_and(|d| d.checked_numel().is_some());
    let Some(declared) = declared.filter(|&n| n <= usize::MAX as u64 && shape_ok) else {
        return Err(format_err(
            what,
            format!("the header's sizes {dims:?} overflow"),
        ));
    };
    if let Some(total) = total_len {
        let available = total.saturating_sub(header_len);
        if declared != available {
            return Err(format_err(
                what,
                format!(
                    "the header declares sizes {dims:?} = {declared} bytes of data, but the file has {available} \
                     after its {header_len}-byte header"
                ),
            ));
        }
    }
    if let Some(limit) = limit
        && declared.saturating_add(header_len) > limit
    {
        return Err(super::gz::too_large(
            what,
            &format!("the header declares sizes {dims:?} = {declared} bytes of data"),
            limit,
        ));
    }
    // With the size known from the file, reserve it exactly; from a decompressor, grow
    // as bytes arrive (a header is no promise that they will).
    let mut data = Vec::with_capacity(total_len.map_or(0, |_| declared as usize));
    r.by_ref()
        .take(declared)
        .read_to_end(&mut data)
        .map_err(|e| format_err(what, format!("read error: {e}")))?;
    if (data.len() as u64) < declared {
        return Err(format_err(
            what,
            format!(
                "truncated: the header declares {declared} bytes of data, the file has {}",
                data.len()
            ),
        ));
    }
    let mut extra = [0u8; 1];
    if r.read(&mut extra)
        .map_err(|e| format_err(what, format!("read error: {e}")))?
        > 0
    {
        return Err(format_err(
            what,
            format!("trailing data after the {declared} bytes the header declares"),
        ));
    }
    Ok((dims.into_iter().map(|d| d as usize).collect(), data))
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], what: &str, field: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            format_err(what, format!("truncated: the file ends inside {field}"))
        }
        _ => format_err(what, format!("read error in {field}: {e}")),
    })
}

fn read_idx_path(path: &Path, rank: u8) -> Result<(Vec<usize>, Vec<u8>)> {
    let what = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: Some(path.to_path_buf()),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "gz") {
        read_idx(
            super::gzip::GzReader::new(std::io::BufReader::new(file)),
            None,
            Some(super::gz::max_decompressed_bytes()),
            rank,
            &what,
        )
    } else {
        let len = file
            .metadata()
            .map_err(|source| Error::Io {
                path: Some(path.to_path_buf()),
                source,
            })?
            .len();
        read_idx(std::io::BufReader::new(file), Some(len), None, rank, &what)
    }
}

fn images<E: Float>(dims: Vec<usize>, data: Vec<u8>) -> Tensor<(usize, usize, usize), E> {
    let scale = 1.0 / 255.0;
    let values = data
        .into_iter()
        .map(|b| E::from_f64(b as f64 * scale))
        .collect();
    Tensor::from_parts((dims[0], dims[1], dims[2]), values)
}

/// Parses an IDX image file held in memory: `(images, rows, cols)` with pixels scaled to
/// `[0, 1]` (like torchvision's `ToTensor`). `what` names the data in errors. A bad magic
/// number, a truncated file or a header whose sizes disagree with the data is an error.
///
/// ```
/// use shaped::data::parse_idx_images;
/// let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2];
/// bytes.extend([0, 255, 51, 0]);
/// let x = parse_idx_images::<f32>(&bytes, "inline").unwrap();
/// assert_eq!(x.dims().as_slice(), &[1, 2, 2]);
/// assert_eq!(x.to_vec(), vec![0.0, 1.0, 0.2, 0.0]);
/// bytes.pop();
/// assert!(parse_idx_images::<f32>(&bytes, "inline").is_err());
/// ```
pub fn parse_idx_images<E: Float>(
    bytes: &[u8],
    what: &str,
) -> Result<Tensor<(usize, usize, usize), E>> {
    let (dims, data) = read_idx(bytes, Some(bytes.len() as u64), None, 3, what)?;
    Ok(images(dims, data))
}

/// Parses an IDX label file held in memory.
///
/// ```
/// use shaped::data::parse_idx_labels;
/// let bytes = [0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1];
/// assert_eq!(parse_idx_labels(&bytes, "inline").unwrap().as_slice(), &[7, 2, 1]);
/// assert!(parse_idx_labels(&bytes[..10], "inline").is_err()); // truncated
/// ```
pub fn parse_idx_labels(bytes: &[u8], what: &str) -> Result<Indices<(usize,)>> {
    let (dims, data) = read_idx(bytes, Some(bytes.len() as u64), None, 1, what)?;
    Ok(Indices::from_parts(
        (dims[0],),
        data.into_iter().map(usize::from).collect(),
    ))
}

/// Reads an IDX image file such as MNIST's `train-images-idx3-ubyte` (or `.gz`): a
/// `(images, rows, cols)` tensor with pixels scaled to `[0, 1]`.
///
/// ```no_run
/// let x = shaped::data::read_idx_images::<f32>("mnist/train-images-idx3-ubyte").unwrap();
/// assert_eq!(x.dims().as_slice(), &[60000, 28, 28]);
/// ```
pub fn read_idx_images<E: Float>(
    path: impl AsRef<Path>,
) -> Result<Tensor<(usize, usize, usize), E>> {
    let (dims, data) = read_idx_path(path.as_ref(), 3)?;
    Ok(images(dims, data))
}

/// Reads an IDX label file such as MNIST's `train-labels-idx1-ubyte` (or `.gz`).
///
/// ```no_run
/// let y = shaped::data::read_idx_labels("mnist/train-labels-idx1-ubyte").unwrap();
/// y.check_below(10, "MNIST labels").unwrap();
/// ```
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Indices<(usize,)>> {
    let (dims, data) = read_idx_path(path.as_ref(), 1)?;
    Ok(Indices::from_parts(
        (dims[0],),
        data.into_iter().map(usize::from).collect(),
    ))
}
