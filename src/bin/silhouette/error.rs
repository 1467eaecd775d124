//! The command line's own failures (folders, output plans), beside the library's.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Library(#[from] silhouette::Error),
    #[error("{failed} of {total} files failed")]
    Batch { failed: usize, total: usize },
    #[error("{path}: both {first} and {second} would be written here; rename one of them")]
    OutputClash {
        path: PathBuf,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "{option} applies to folders; {} is a single file (its output's format comes from \
         the extension of -o)",
        path.display()
    )]
    FolderOnly { option: &'static str, path: PathBuf },
    #[error("{path}: no photos here ({formats} files)")]
    NoPhotos {
        path: PathBuf,
        formats: &'static str,
    },
}
