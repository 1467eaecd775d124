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
    for (given, option, why) in [
        (
            io.format.is_some(),
            "--format",
            " (its output's format comes from the extension of -o)",
        ),
        (io.jobs.is_some(), "--jobs", ""),
        (
            io.smooth,
            "--smooth",
            " (smoothing runs over a folder of a video's frames)",
        ),
        (io.shard.is_some(), "--shard", ""),
        (io.skip_existing, "--skip-existing", ""),
        (io.report.is_some(), "--report", ""),
    ] {
        if given {
            return Err(CliError::FolderOnly {
                option,
                path: io.input.clone(),
                why,
            });
        }
    }
    OutputFormat::from_path(&io.output)?;
    refuse_overwriting(&io.output, &identities(reads.iter().chain([&io.input])))?;
    files::check_writable(&io.output)?;
    files::remove_stale_temporaries_beside(&io.output);
    Ok(vec![(io.input.clone(), io.output.clone())])
}

/// A folder: every photo in it, in name order, and its output. Refused before any work when
/// there are no photos, when an output would land on a photo or another file the command reads,
/// or when two photos would write one output (`x.jpg` and `x.png` both make `x.png`).
pub(crate) fn plan_folder(io: &Io, reads: &[PathBuf]) -> Result<Vec<(PathBuf, PathBuf)>, CliError> {
    if io.smooth && io.shard.is_some() {
        return Err(CliError::Shard(
            "--shard splits a folder of photos; a --smooth sequence needs its frames in order, on one machine".into(),
        ));
    }
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
    // Resolved first (a missing index fails before anything else), applied after the checks
    // below, which see the whole folder: every shard refuses the same clashes.
    let shard = io.shard.map(|shard| shard.resolve()).transpose()?;
    if let Some(report) = &io.report {
        refuse_overwriting(report, &identities(reads.iter().chain(&photos)))?;
        files::check_writable(report)?;
    }
    if io.output.exists() && !io.output.is_dir() {
        return Err(CliError::from(Error::NotAFolder {
            path: io.output.clone(),
        }));
    }
    refuse_folder_in_itself(&io.input, &io.output)?;
    let extension = match io.format.unwrap_or(Format::Png) {
        Format::Png => OutputFormat::Png.extension(),
        Format::Jpeg => OutputFormat::Jpeg.extension(),
    };
    let mut plan = photos
        .iter()
        .map(|photo| {
            Ok((
                photo.clone(),
                files::output_in(&io.output, photo, extension)?,
            ))
        })
        .collect::<Result<Vec<(PathBuf, PathBuf)>, Error>>()?;
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
    if let Some(shard) = shard {
        plan.retain(|(photo, _)| shard.holds(photo));
    }
    if plan.is_empty() {
        // A shard with no photo of the folder: nothing to do, nothing made.
        return Ok(plan);
    }
    // The names can only be checked in the folder they go to: a folder made for them is
    // removed again when they fail, so a refused run leaves nothing.
    let made: Vec<&Path> = io.output.ancestors().take_while(|p| !p.exists()).collect();
    std::fs::create_dir_all(&io.output).map_err(|e| Error::io(&io.output, e))?;
    let checked = plan
        .iter()
        .try_for_each(|(_, output)| files::check_name(output))
        .and_then(|()| files::check_writable(&plan[0].1));
    if let Err(e) = checked {
        for folder in made {
            let _ = std::fs::remove_dir(folder);
        }
        return Err(e.into());
    }
    files::remove_stale_temporaries_beside(&plan[0].1);
    Ok(plan)
}

/// A folder run whose output folder is its input folder, or inside it, is refused: the outputs
/// would land among the photos (a second run would take them for photos) or under them.
fn refuse_folder_in_itself(input: &Path, output: &Path) -> Result<(), CliError> {
    let (photos, outputs) = (files::identity(input), files::identity(output));
    if outputs.starts_with(&photos) {
        return Err(CliError::OutputInInput {
            output: output.into(),
            input: input.into(),
            same: outputs == photos,
        });
    }
    Ok(())
}

/// What the paths name once resolved (see [`files::identity`]).
pub(crate) fn identities<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> HashSet<PathBuf> {
    paths.into_iter().map(|p| files::identity(p)).collect()
}

/// `output`'s identity, unless it is one of the files the command reads.
pub(crate) fn refuse_overwriting(output: &Path, read: &HashSet<PathBuf>) -> Result<PathBuf, Error> {
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
