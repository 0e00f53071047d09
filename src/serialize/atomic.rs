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

/// A temporary file left by a save that did not finish is stale, and removed by the next
/// save of the same target, once nothing can still be writing it: when the process whose
/// id is in its name has exited (checked through `/proc` where there is one), or when it
/// has not been modified for [`STALE_TEMP_AGE`] (a live save writes continuously, and
/// this also covers systems without `/proc` and process ids that were reused).
pub const STALE_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// The process id in a temporary file name `.{target}.{pid}.{n}.tmp`, if `name` is one for
/// `target`.
fn temp_pid(name: &str, target: &str) -> Option<u32> {
    let rest = name
        .strip_prefix('.')?
        .strip_prefix(target)?
        .strip_prefix('.')?;
    let (pid, n) = rest.strip_suffix(".tmp")?.split_once('.')?;
    n.parse::<u64>().ok()?;
    pid.parse().ok()
}

/// Whether process `pid` may still be running: `/proc/<pid>` exists, or there is no `/proc`
/// to ask.
fn may_be_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Removes the stale temporary files of earlier saves of `target` in `dir` (see
/// [`STALE_TEMP_AGE`]); best effort: a file that cannot be inspected or removed is left.
fn remove_stale_temps(dir: &Path, target: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| temp_pid(n, target)) else {
            continue;
        };
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        let dead = pid != me && !may_be_alive(pid);
        if dead || age.is_some_and(|a| a > STALE_TEMP_AGE) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Writes a file so that it is never seen half-written: `write` fills a temporary file in
/// the same folder, which is flushed to disk and then renamed over `path`. If `write` fails
/// (or the process dies) the old file, if any, is untouched and the temporary file is
/// removed (or, after a crash, left as a hidden `.NAME.PID.N.tmp` beside it until the next
/// save of the same file removes it: see [`STALE_TEMP_AGE`]). Every error names `path`,
/// never the temporary file; a full disk or a file-size limit (ENOSPC, EFBIG) included.
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
    remove_stale_temps(&dir, &file_name.to_string_lossy());
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
        .map_err(io_err(path))?;
    let mut guard = TempFile(Some(tmp.clone()));
    let mut w = BufWriter::new(file);
    write(&mut w).map_err(|e| match e {
        // The writer's i/o errors (a full disk, a size limit) name the file being saved.
        Error::Io { path: None, source } => io_err(path)(source),
        e => e,
    })?;
    let file = w.into_inner().map_err(|e| io_err(path)(e.into_error()))?;
    file.sync_all().map_err(io_err(path))?;
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
