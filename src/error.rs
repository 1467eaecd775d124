//! One typed error for the whole crate: every failure names what failed and why.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a readable image ({reason})")]
    Decode { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Encode { path: PathBuf, reason: String },
    #[error("{path}: image is {width}x{height}; sides from 1 to {max} pixels are supported")]
    TooLarge {
        path: PathBuf,
        width: u64,
        height: u64,
        max: u32,
    },
    #[error("{failed} of {total} files failed")]
    Batch { failed: usize, total: usize },
    #[error("{path}: refusing to overwrite a file this command reads")]
    WouldOverwriteInput { path: PathBuf },
    #[error("{path}: both {first} and {second} would be written here; rename one of them")]
    OutputClash {
        path: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{path}: not a regular file (a folder, device or pipe)")]
    NotAFile { path: PathBuf },
    #[error("{path}: not a folder")]
    NotAFolder { path: PathBuf },
    #[error("{path}: {bytes} bytes, more than the {max} a file of this kind can need")]
    FileTooLarge { path: PathBuf, bytes: u64, max: u64 },
    #[error("{path}: no photos here ({formats} files)")]
    NoPhotos {
        path: PathBuf,
        formats: &'static str,
    },
    /// Weights that cannot be this network's: `file` is the weights file, or "built-in weights".
    #[error("{file}: {reason}")]
    Weights { file: String, reason: String },
    #[error("invalid input: {0}")]
    InvalidInput(String),
    #[error("backend unavailable: {0}")]
    BackendUnavailable(String),
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error(
        "the GPU device was lost (driver reset or device destroyed); the next call starts a new one"
    )]
    DeviceLost,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
