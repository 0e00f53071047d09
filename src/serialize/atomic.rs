//! Atomic file replacement.

use crate::error::{Error, Result};
use std::fs::OpenOptions;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Removes the temporary file unless the write reached the rename, including when the
/// writer panics.
struct TempFile(Option<PathBuf>);

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Writes a file so that it is never seen half-written: `write` fills a temporary file in
/// the same folder, which is flushed to disk and then renamed over `path`. If `write` fails
/// (or the process dies) the old file, if any, is untouched and the temporary file is
/// removed (or, after a crash, left as a hidden `.NAME.PID.N.tmp` beside it).
///
/// ```
/// use std::io::Write;
/// let path = std::env::temp_dir().join("shaped_doc_write_atomic.txt");
/// shaped::serialize::write_atomic(&path, |w| Ok(w.write_all(b"complete")?)).unwrap();
/// let failed = shaped::serialize::write_atomic(&path, |w| {
///     w.write_all(b"half")?;
///     Err(std::io::Error::other("the disk is full").into())
/// });
/// assert!(failed.is_err());
/// assert_eq!(std::fs::read(&path).unwrap(), b"complete");
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_atomic(
    path: impl AsRef<Path>,
    write: impl FnOnce(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let path = path.as_ref();
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| Error::Io {
            path: Some(p),
            source,
        }
    };
    let Some(file_name) = path.file_name() else {
        return Err(Error::value(
            "path",
            format!("{} does not name a file", path.display()),
        ));
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.{}.{n}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    let mut guard = TempFile(Some(tmp.clone()));
    let mut w = BufWriter::new(file);
    write(&mut w)?;
    let file = w.into_inner().map_err(|e| io_err(&tmp)(e.into_error()))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    guard.0 = None;
    // The rename is only durable once the folder itself is flushed.
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
