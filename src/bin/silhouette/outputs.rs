//! Every output planned and checked before any input is read: nothing a user owns is ever
//! overwritten, and two photos never write one file.

use crate::args::{Format, Io};
use crate::error::CliError;
use silhouette::Error;
use silhouette::files;
use silhouette::imageio::{self, OutputFormat};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A single photo: options that only mean something for folders are refused rather than
/// ignored, and the output is checked (name, folder, writable, not a file we read) before any
/// work.
pub(crate) fn plan_file(io: &Io, reads: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, CliError> {
    for (given, option) in [
        (io.format.is_some(), "--format"),
        (io.jobs.is_some(), "--jobs"),
        (io.smooth, "--smooth"),
    ] {
        if given {
            return Err(CliError::FolderOnly {
                option,
                path: io.input.clone(),
            });
        }
    }
    OutputFormat::from_path(&io.output)?;
    refuse_overwriting(&io.output, &identities(reads.iter().chain([&io.input])))?;
    files::check_writable(&io.output)?;
    Ok(vec![(io.input.clone(), io.output.clone())])
}

/// A folder: every photo in it, in name order, and its output. Refused before any work when
/// there are no photos, when an output would land on a photo or another file the command reads,
/// or when two photos would write one output (`x.jpg` and `x.png` both make `x.png`).
pub(crate) fn plan_folder(io: &Io, reads: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, CliError> {
    let mut photos: Vec<PathBuf> = std::fs::read_dir(&io.input)
        .map_err(|e| Error::io(&io.input, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_photo_name(p))
        .collect();
    if photos.is_empty() {
        return Err(CliError::NoPhotos {
            path: io.input.clone(),
            formats: imageio::READ_FORMATS,
        });
    }
    photos.sort();
    if io.output.exists() && !io.output.is_dir() {
        return Err(CliError::from(Error::NotAFolder {
            path: io.output.clone(),
        }));
    }
    let extension = match io.format.unwrap_or(Format::Png) {
        Format::Png => OutputFormat::Png.extension(),
        Format::Jpeg => OutputFormat::Jpeg.extension(),
    };
    let plan: Vec<(PathBuf, PathBuf)> = photos
        .iter()
        .map(|photo| {
            let name = photo.file_stem().unwrap_or_default();
            let output = io.output.join(name).with_extension(extension);
            (photo.clone(), output)
        })
        .collect();
    let read = identities(reads.iter().chain(&photos));
    let mut written = std::collections::HashMap::new();
    for (photo, output) in &plan {
        if let Some(first) = written.insert(refuse_overwriting(output, &read)?, photo) {
            return Err(CliError::OutputClash {
                path: output.clone(),
                first: first.clone(),
                second: photo.clone(),
            });
        }
    }
    std::fs::create_dir_all(&io.output).map_err(|e| Error::io(&io.output, e))?;
    files::check_writable(&plan[0].1)?;
    Ok(plan)
}

/// What the paths name once resolved (see [`files::identity`]).
fn identities<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> HashSet<PathBuf> {
    paths.into_iter().map(|p| files::identity(p)).collect()
}

/// `output`'s identity, unless it is one of the files the command reads.
fn refuse_overwriting(output: &Path, read: &HashSet<PathBuf>) -> Result<PathBuf, Error> {
    let identity = files::identity(output);
    if read.contains(&identity) {
        return Err(Error::WouldOverwriteInput {
            path: output.into(),
        });
    }
    Ok(identity)
}

fn is_photo_name(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg" | "webp"))
}
