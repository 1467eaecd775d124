//! The command line's own failures (folders, output plans), beside the library's.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Library(#[from] silhouette::Error),
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
    #[error("{failed} of {total} files failed")]
    Batch { failed: usize, total: usize },
    #[error("{path}: both {first} and {second} would be written here; rename one of them")]
    OutputClash {
        path: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("{option} applies to folders; {} is a single file{why}", path.display())]
    FolderOnly {
        option: &'static str,
        path: PathBuf,
        /// Why, where there is more to say: " (...)" or "".
        why: &'static str,
    },
    #[error(
        "{}: the output folder {} the input folder {}; choose a folder outside it",
        output.display(),
        if *same { "is" } else { "is inside" },
        input.display()
    )]
    OutputInInput {
        output: PathBuf,
        input: PathBuf,
        same: bool,
    },
    #[error("{path}: no photos here ({formats} files)")]
    NoPhotos {
        path: PathBuf,
        formats: &'static str,
    },
    #[error("{option} applies to photos; {} is a video{why}", path.display())]
    NotForVideo {
        option: &'static str,
        path: PathBuf,
        why: &'static str,
    },
    #[error("{}: {why}", path.display())]
    Video { path: PathBuf, why: String },
    #[error("{}: {why}", path.display())]
    VideoOutput { path: PathBuf, why: String },
    #[error(
        "{tool} was not found: videos are read and written by FFmpeg; install it \
         (Debian, Ubuntu: apt install ffmpeg; Fedora: dnf install ffmpeg; macOS: brew install ffmpeg; \
         Windows: winget install ffmpeg)"
    )]
    NoFfmpeg { tool: &'static str },
    #[error("{tool} failed: {why}")]
    Ffmpeg { tool: &'static str, why: String },
    #[error("{0}")]
    Shard(String),
}
