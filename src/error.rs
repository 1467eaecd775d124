//! One typed error for the library: every failure names what failed and why. (The command
//! line adds its own, about folders and output plans, in src/bin/silhouette/.)

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
    #[error("{path}: refusing to overwrite a file this command reads")]
    WouldOverwriteInput { path: PathBuf },
    #[error("{path}: not a regular file (a folder, device or pipe)")]
    NotAFile { path: PathBuf },
    #[error("{path}: not a folder")]
    NotAFolder { path: PathBuf },
    #[error("{path}: {bytes} bytes, more than the {max} a file of this kind can need")]
    FileTooLarge { path: PathBuf, bytes: u64, max: u64 },
    /// Weights that cannot be this network's: `file` is the weights file, or "built-in weights".
    #[error("{file}: {reason}")]
    Weights { file: String, reason: String },
    /// A GPU buffer handed to an op is smaller than the op reads or writes.
    #[error("{what}: buffer holds {bytes} bytes, needs {needs}")]
    BufferTooSmall {
        what: String,
        bytes: u64,
        needs: u64,
    },
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
