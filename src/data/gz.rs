//! Reading gzip-compressed input with a limit on its decompressed size.
//!
//! A few kilobytes of gzip can expand to gigabytes (a "decompression bomb": 96 KB of
//! compressed zeros is about 100 MB of CSV text). Loaders of `.gz` files stop with an error
//! once the decompressed bytes pass [`max_decompressed_bytes`] (1 GiB unless raised with
//! [`set_max_decompressed_bytes`] or the `SHAPED_MAX_DECOMPRESSED_BYTES` environment
//! variable), and their buffers grow only as bytes actually arrive.

use crate::error::{Error, Result};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default limit on the decompressed size of one `.gz` input: 1 GiB.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// 0 until set by [`set_max_decompressed_bytes`] or read from the environment.
static LIMIT: AtomicU64 = AtomicU64::new(0);

/// The largest decompressed size, in bytes, that the `.gz` loaders ([`read_csv`](super::read_csv),
/// [`load_csv`](super::load_csv), [`read_idx_images`](super::read_idx_images),
/// [`read_idx_labels`](super::read_idx_labels)) accept from one file.
///
/// It is [`DEFAULT_MAX_DECOMPRESSED_BYTES`] unless the process set another with
/// [`set_max_decompressed_bytes`] or started with `SHAPED_MAX_DECOMPRESSED_BYTES=<bytes>`.
///
/// ```
/// assert!(shaped::data::max_decompressed_bytes() >= 1);
/// ```
pub fn max_decompressed_bytes() -> u64 {
    match LIMIT.load(Ordering::Relaxed) {
        0 => {
            let from_env = std::env::var("SHAPED_MAX_DECOMPRESSED_BYTES")
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_MAX_DECOMPRESSED_BYTES);
            // Another thread may have set a limit meanwhile; keep its value.
            match LIMIT.compare_exchange(0, from_env, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => from_env,
                Err(set) => set,
            }
        }
        n => n,
    }
}

/// Sets the limit of [`max_decompressed_bytes`] for the whole process (at least 1 byte), e.g.
/// to load a data set larger than 1 GiB uncompressed.
///
/// ```
/// use shaped::data::{max_decompressed_bytes, set_max_decompressed_bytes};
/// let old = max_decompressed_bytes();
/// set_max_decompressed_bytes(4 << 30); // 4 GiB
/// assert_eq!(max_decompressed_bytes(), 4 << 30);
/// set_max_decompressed_bytes(old);
/// ```
pub fn set_max_decompressed_bytes(bytes: u64) {
    LIMIT.store(bytes.max(1), Ordering::Relaxed);
}

/// The error for a `.gz` input that decompresses past the limit.
/// `size` says how large it is, e.g. "decompresses to more than 1000 bytes".
pub(crate) fn too_large(what: &str, size: &str, limit: u64) -> Error {
    Error::Format {
        what: what.to_string(),
        message: format!(
            "{size}, over the limit of {limit} bytes for .gz input \
             (raise it with shaped::data::set_max_decompressed_bytes or SHAPED_MAX_DECOMPRESSED_BYTES)"
        ),
    }
}

/// Every decompressed byte of `compressed`, or an error once there are more than
/// [`max_decompressed_bytes`]. The buffer grows with the bytes that arrive (amortised
/// doubling), never with a size the input merely claims.
pub(crate) fn gunzip(compressed: impl Read, what: &str) -> Result<Vec<u8>> {
    let limit = max_decompressed_bytes();
    let mut out = Vec::new();
    super::gzip::GzReader::new(std::io::BufReader::new(compressed))
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::Format {
            what: what.to_string(),
            message: format!("not a valid gzip file: {e}"),
        })?;
    if out.len() as u64 > limit {
        return Err(too_large(
            what,
            &format!("decompresses to more than {limit} bytes"),
            limit,
        ));
    }
    Ok(out)
}
