//! One typed error for the library: every failure names what failed and why. (The command
//! line adds its own, about folders and output plans, in src/bin/silhouette/.)

use crate::tensor::Shape;
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
    /// A tensor handed to the network that is not its input shape.
    #[error("network input must be {expected}, got {got}")]
    NetworkInput { expected: Shape, got: Shape },
    /// A caller's output slice of the wrong length.
    #[error("output holds {holds}, needs {needs}")]
    OutputSize { holds: usize, needs: usize },
    /// An image with no pixels.
    #[error("image is {width}x{height}")]
    EmptyImage { width: usize, height: usize },
    /// RGBA bytes that are not `width * height * 4` long.
    #[error("{bytes} RGBA bytes for {width}x{height}")]
    PixelBytes {
        bytes: usize,
        width: usize,
        height: usize,
    },
    /// In the browser, where nothing may block: a frame asked for while one is in flight.
    #[error("another frame is still running: await it first")]
    Busy,
    /// Parameters an op or the API cannot take, with what was wrong.
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
