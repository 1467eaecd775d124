//! A video's PNG frames landing whole: written into a hidden folder inside the output folder and
//! moved into place only when the run is done, so a run that fails or is interrupted leaves the
//! folder as it found it (and removes it, if the run made it and nothing else is in it). Files
//! there under a frame's name are replaced only by a finished run.

use crate::error::CliError;
use silhouette::Error;
use silhouette::image::DynamicImage;
use silhouette::imageio;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// `000001.png`, `000002.png`, ... (7 digits from the millionth): what frames are written as.
/// The extension in any case, as a case-insensitive file system would take it.
pub(super) fn is_frame_name(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    let Some((stem, extension)) = name.rsplit_once('.') else {
        return false;
    };
    extension.eq_ignore_ascii_case("png")
        && stem.len() >= 6
        && stem.bytes().all(|b| b.is_ascii_digit())
}

fn frame_name(n: u64) -> String {
    format!("{n:06}.png")
}

/// What undoing a run in progress takes.
#[derive(Clone, PartialEq)]
pub(crate) struct Unfinished {
    staging: PathBuf,
    folder: PathBuf,
    made_folder: bool,
}

impl Unfinished {
    fn undo(&self) {
        let _ = std::fs::remove_dir_all(&self.staging);
        if self.made_folder {
            // Not recursive: whatever someone else put there meanwhile stays, and so does the
            // folder then.
            let _ = std::fs::remove_dir(&self.folder);
        }
    }
}

/// The runs in progress, for the interrupt handler, which exits without dropping them.
static UNFINISHED: Mutex<Vec<Unfinished>> = Mutex::new(Vec::new());

fn unfinished() -> MutexGuard<'static, Vec<Unfinished>> {
    UNFINISHED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Undoes the runs in progress, as a failed run would. For interrupt handlers: the lock is
/// kept, so nothing starts or moves frames before the process ends.
pub(crate) fn remove_unfinished_frames_and_hold() -> MutexGuard<'static, Vec<Unfinished>> {
    let mut runs = unfinished();
    runs.drain(..).for_each(|run| run.undo());
    runs
}

pub(super) struct FramesOut {
    run: Unfinished,
    written: u64,
    done: bool,
}

impl FramesOut {
    pub(super) fn create(folder: &Path) -> Result<FramesOut, CliError> {
        let made_folder = !folder.is_dir();
        if made_folder {
            if let Some(parent) = folder.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            std::fs::create_dir(folder).map_err(|e| Error::io(folder, e))?;
        }
        let run = Unfinished {
            staging: folder.join(format!(".silhouette-{}.frames", std::process::id())),
            folder: folder.into(),
            made_folder,
        };
        let mut runs = unfinished();
        if let Err(e) = std::fs::create_dir(&run.staging) {
            run.undo();
            return Err(Error::io(&run.staging, e).into());
        }
        runs.push(run.clone());
        Ok(FramesOut {
            run,
            written: 0,
            done: false,
        })
    }

    pub(super) fn write(&mut self, image: &DynamicImage, input: &Path) -> Result<(), CliError> {
        let path = self.run.staging.join(frame_name(self.written + 1));
        imageio::save_image(image, &path, Some(input))?;
        self.written += 1;
        Ok(())
    }

    /// Moves every frame into the folder.
    pub(super) fn finish(&mut self) -> Result<(), CliError> {
        let names: Vec<String> = (1..=self.written).map(frame_name).collect();
        // A folder under a frame's name would stop the moves half way: checked first.
        if let Some(taken) = names
            .iter()
            .map(|name| self.run.folder.join(name))
            .find(|path| path.is_dir())
        {
            return Err(Error::io(&taken, std::io::ErrorKind::IsADirectory.into()).into());
        }
        // Held through the moves: an interrupt waits for them, then finds nothing to undo.
        let mut runs = unfinished();
        for name in &names {
            let to = self.run.folder.join(name);
            std::fs::rename(self.run.staging.join(name), &to).map_err(|e| Error::io(&to, e))?;
        }
        runs.retain(|run| *run != self.run);
        self.done = true;
        let _ = std::fs::remove_dir(&self.run.staging);
        Ok(())
    }
}

impl Drop for FramesOut {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut runs = unfinished();
        self.run.undo();
        runs.retain(|run| *run != self.run);
    }
}
