//! The crate's error type.

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong at run time: dynamic shapes that do not fit, data of the
/// wrong length, unreadable files. Compile-time shapes never produce these.
#[derive(Debug)]
pub enum Error {
    /// Run-time dimensions that do not fit an operation.
    Shape {
        /// The operation, e.g. `"matmul"`.
        op: &'static str,
        /// What did not fit, naming the dimensions.
        message: String,
    },
    /// A buffer with the wrong number of elements for a shape.
    Length {
        /// What was being built.
        what: String,
        /// Elements the shape needs.
        expected: usize,
        /// Elements supplied.
        got: usize,
    },
    /// A value that is out of range (an index, a probability, a hyperparameter).
    Value {
        /// Where the value was used.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file or stream could not be read or written.
    Io {
        /// The file, if there was one.
        path: Option<PathBuf>,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file or stream was read but its contents are not valid.
    Format {
        /// The file or format.
        what: String,
        /// What is wrong, and where.
        message: String,
    },
}

impl Error {
    pub(crate) fn shape(op: &'static str, message: impl Into<String>) -> Self {
        Error::Shape {
            op,
            message: message.into(),
        }
    }
    pub(crate) fn value(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Value {
            what: what.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { op, message } => write!(f, "shape error in {op}: {message}"),
            Error::Length {
                what,
                expected,
                got,
            } => {
                write!(f, "{what}: expected {expected} elements, got {got}")
            }
            Error::Value { what, message } => write!(f, "invalid value for {what}: {message}"),
            Error::Io {
                path: Some(p),
                source,
            } => write!(f, "{}: {source}", p.display()),
            Error::Io { path: None, source } => write!(f, "i/o error: {source}"),
            Error::Format { what, message } => write!(f, "{what}: {message}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { path: None, source }
    }
}

/// The panicking half of a `foo` / `try_foo` pair: the error's message, reported at the
/// user's call (every plain variant that calls this carries `#[track_caller]` too).
pub(crate) trait OrPanic<T> {
    /// The value, or a panic with the error's message.
    fn or_panic(self) -> T;
}

impl<T> OrPanic<T> for Result<T> {
    // A match, not `unwrap_or_else`: a closure would report its own location.
    #[track_caller]
    fn or_panic(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
