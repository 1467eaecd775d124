//! A video's PNG frames landing whole: written into a hidden folder inside the output folder and
//! moved into place only when the run is done, so a run that fails or is interrupted leaves the
//! folder as it found it (and removes it, if the run made it and nothing else is in it). Files
//! there under a frame's name are replaced only by a finished run. A run killed outright leaves
//! its hidden folder; the next run into that folder removes it ([`remove_stale_staging`]).

use crate::error::CliError;
use silhouette::Error;
use silhouette::image::DynamicImage;
use silhouette::{files, imageio};
use std::ffi::OsStr;
use std::fs::{File, TryLockError};
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

/// The hidden folder a run (process `pid`) writes its frames into, inside the output folder.
fn staging_name(pid: u32) -> String {
    format!(".silhouette-{pid}.frames")
}

/// The file a run holds locked in its hidden folder for as long as it lives: the system drops
/// the lock when the process dies, however it dies. (Where the file system has no locks, or
/// another run in another PID namespace has our PID, a folder is never taken for stale.)
const LOCK: &str = ".lock";

/// Removes the hidden folders that runs killed outright (SIGKILL, a crash: no handler runs)
/// left in `folder`: named as [`staging_name`], holding nothing but frames, the [`LOCK`] file
/// and temporary files of dead writers, and with their lock free to take (as
/// `silhouette::files` does for its temporary files). Errors are ignored: housekeeping.
fn remove_stale_staging(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name
            .to_str()
            .and_then(|n| n.strip_prefix(".silhouette-")?.strip_suffix(".frames"))
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        if !ours || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        // A frame a killed writer was naming (off Linux's unnamed temporary files).
        files::remove_stale_temporaries_beside(&path.join(LOCK));
        // Plain files only (checked before the lock is opened: no symlink, no FIFO to block on).
        let only_frames = || {
            std::fs::read_dir(&path).is_ok_and(|files| {
                files.flatten().all(|f| {
                    (f.file_name() == LOCK || is_frame_name(&f.file_name()))
                        && f.file_type().is_ok_and(|t| t.is_file())
                })
            })
        };
        let unlocked = || File::open(path.join(LOCK)).is_ok_and(|lock| lock.try_lock().is_ok());
        if only_frames() && unlocked() {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Makes the hidden folder `staging` with its [`LOCK`] held: under another name first, which
/// [`remove_stale_staging`] does not touch, so no run ever sees it with its lock not yet taken.
/// Nothing it did not make is removed on failure.
fn create_staging(staging: &Path) -> Result<File, Error> {
    let mut fresh = staging.as_os_str().to_owned();
    fresh.push(".new");
    let fresh = PathBuf::from(fresh);
    std::fs::create_dir(&fresh).map_err(|e| Error::io(&fresh, e))?;
    let locked = (|| {
        let path = fresh.join(LOCK);
        let lock = File::create(&path).map_err(|e| Error::io(&path, e))?;
        match lock.try_lock() {
            // Where the file system has no locks, nothing takes the folder for stale.
            Ok(()) | Err(TryLockError::Error(_)) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::io(&path, std::io::ErrorKind::WouldBlock.into()));
            }
        }
        std::fs::rename(&fresh, staging).map_err(|e| Error::io(staging, e))?;
        Ok(lock)
    })();
    if locked.is_err() {
        let _ = std::fs::remove_dir_all(&fresh);
    }
    locked
}

/// What undoing a run in progress takes, and its [`LOCK`], held until the run ends.
pub(crate) struct Unfinished {
    staging: PathBuf,
    folder: PathBuf,
    made_folder: bool,
    lock: Option<File>,
}

impl Unfinished {
    fn undo(mut self) {
        // Closed first: some file systems (FAT, SMB) delete an open file only once it closes,
        // which would leave the folder behind.
        self.lock = None;
        let _ = std::fs::remove_dir_all(&self.staging);
        if self.made_folder {
            // Not recursive: whatever someone else put there meanwhile stays, and so does the
            // folder then.
            let _ = std::fs::remove_dir(&self.folder);
        }
    }
}

/// The runs in progress, for the interrupt handler, which exits without dropping them. Taken
/// before `silhouette::files`' lock of temporary files, never after it (a frame is written
/// holding this one: [`FramesOut::write`]).
static UNFINISHED: Mutex<Vec<Unfinished>> = Mutex::new(Vec::new());

fn unfinished() -> MutexGuard<'static, Vec<Unfinished>> {
    UNFINISHED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Undoes the runs in progress, as a failed run would. For interrupt handlers: the lock is
/// kept, so nothing starts or moves frames before the process ends.
pub(crate) fn remove_unfinished_frames_and_hold() -> MutexGuard<'static, Vec<Unfinished>> {
    let mut runs = unfinished();
    runs.drain(..).for_each(Unfinished::undo);
    runs
}

/// A run writing frames: its hidden folder (`staging`) in `folder`. What undoing it takes is in
/// [`UNFINISHED`] until it is done.
pub(super) struct FramesOut {
    staging: PathBuf,
    folder: PathBuf,
    written: u64,
    done: bool,
}

impl FramesOut {
    pub(super) fn create(folder: &Path) -> Result<FramesOut, CliError> {
        let made_folder = !folder.is_dir();
        if !made_folder {
            remove_stale_staging(folder);
        }
        if made_folder {
            if let Some(parent) = folder.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            }
            std::fs::create_dir(folder).map_err(|e| Error::io(folder, e))?;
        }
        let staging = folder.join(staging_name(std::process::id()));
        let mut runs = unfinished();
        let lock = match create_staging(&staging) {
            Ok(lock) => lock,
            Err(e) => {
                if made_folder {
                    let _ = std::fs::remove_dir(folder);
                }
                return Err(e.into());
            }
        };
        runs.push(Unfinished {
            staging: staging.clone(),
            folder: folder.into(),
            made_folder,
            lock: Some(lock),
        });
        Ok(FramesOut {
            staging,
            folder: folder.into(),
            written: 0,
            done: false,
        })
    }

    pub(super) fn write(&mut self, image: &DynamicImage, input: &Path) -> Result<(), CliError> {
        let path = self.staging.join(frame_name(self.written + 1));
        // Held while the frame lands: an interrupt's undo then never races a frame into the
        // folder it is emptying (which left it behind, a frame in it), and waits at most a frame.
        let _runs = unfinished();
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
            .map(|name| self.folder.join(name))
            .find(|path| path.is_dir())
        {
            return Err(Error::io(&taken, std::io::ErrorKind::IsADirectory.into()).into());
        }
        // Held through the moves: an interrupt waits for them, then finds nothing to undo.
        let mut runs = unfinished();
        for name in &names {
            let to = self.folder.join(name);
            std::fs::rename(self.staging.join(name), &to).map_err(|e| Error::io(&to, e))?;
        }
        // Dropped: the lock closes before its file goes.
        drop(self.take(&mut runs));
        self.done = true;
        let _ = std::fs::remove_file(self.staging.join(LOCK));
        let _ = std::fs::remove_dir(&self.staging);
        Ok(())
    }

    /// This run's entry, out of `runs` (none once an interrupt has taken it).
    fn take(&self, runs: &mut Vec<Unfinished>) -> Option<Unfinished> {
        let at = runs.iter().position(|run| run.staging == self.staging)?;
        Some(runs.swap_remove(at))
    }
}

impl Drop for FramesOut {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut runs = unfinished();
        if let Some(run) = self.take(&mut runs) {
            run.undo();
        }
    }
}
