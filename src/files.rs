//! Files a user owns, handled with care: reads only of regular files and only up to a size that
//! can make sense, writes that land whole or not at all and leave no temporary file behind (on
//! Linux not even when the process is killed, but in the one step no Linux call closes, which
//! the next run cleans up), and path identity so an output never replaces an input.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Opens `path` for reading if it is a regular file of at most `max` bytes. Checked before it is
/// opened, so a FIFO cannot block us and `/dev/zero` cannot fill memory.
pub fn open_regular(path: &Path, max: u64) -> Result<File> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.into() });
    }
    if meta.len() > max {
        return Err(Error::FileTooLarge {
            path: path.into(),
            bytes: meta.len(),
            max,
        });
    }
    File::open(path).map_err(|e| Error::io(path, e))
}

/// The whole of the regular file `path`, refusing anything over `max` bytes (also if it grows
/// while being read).
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>> {
    let file = open_regular(path, max)?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(Error::FileTooLarge {
            path: path.into(),
            bytes: bytes.len() as u64,
            max,
        });
    }
    Ok(bytes)
}

/// The path `path` names once written: itself made absolute with links resolved when it exists,
/// else its deepest existing ancestor resolved, joined with the rest (`.` and `..` applied to
/// the names). Two paths with one identity are one file; a path inside a folder has the
/// folder's identity as a prefix.
pub fn identity(path: &Path) -> PathBuf {
    if let Ok(resolved) = path.canonicalize() {
        return resolved;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let components: Vec<Component> = absolute.components().collect();
    for existing in (1..components.len()).rev() {
        let Ok(mut resolved) = components[..existing]
            .iter()
            .collect::<PathBuf>()
            .canonicalize()
        else {
            continue;
        };
        let mut went_up = false;
        for component in &components[existing..] {
            match component {
                Component::ParentDir => {
                    went_up = true;
                    resolved.pop();
                }
                Component::Normal(name) => resolved.push(name),
                _ => {}
            }
        }
        // `missing/../link` is `link`, which may exist and be a link: resolve what `..` led to
        // (once: the result has no `..` left).
        return if went_up {
            identity(&resolved)
        } else {
            resolved
        };
    }
    absolute
}

/// Where the output for `photo` goes in `folder`: the photo's name with only its extension
/// replaced (`2024.01.05.jpg` -> `2024.01.05.png`, `..jpg` -> `..png`). Whatever the name, the
/// result is a file directly inside `folder`, or an error naming the photo.
pub fn output_in(folder: &Path, photo: &Path, extension: &str) -> Result<PathBuf> {
    let refuse = || Error::Encode {
        path: photo.into(),
        reason: format!(
            "no output name can be made from this name inside {}",
            folder.display()
        ),
    };
    let stem = photo.file_stem().ok_or_else(refuse)?;
    let mut name = stem.to_os_string();
    name.push(".");
    name.push(extension);
    let mut components = Path::new(&name).components();
    let plain = matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(n)), None) if n == name.as_os_str()
    );
    let output = folder.join(&name);
    if !plain || output.parent() != Some(folder) || output.file_name() != Some(&name) {
        return Err(refuse());
    }
    Ok(output)
}

/// Whether `a` and `b` name the same file (see [`identity`]).
pub fn same_file(a: &Path, b: &Path) -> bool {
    identity(a) == identity(b)
}

/// Fails unless `path` can be written: its folder exists and takes new files, its name is not
/// too long for the file system, and `path` is not a folder. Cheap, and nothing visible is
/// created: callers check before any work.
pub fn check_writable(path: &Path) -> Result<()> {
    let folder = parent(path);
    let unwritable = |e: std::io::Error| {
        let why = format!("cannot write into {}: {e}", folder.display());
        Error::io(path, std::io::Error::new(e.kind(), why))
    };
    match std::fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(Error::NotAFolder {
                path: folder.into(),
            });
        }
        Err(e) => return Err(unwritable(e)),
    }
    check_name(path)?;
    TempFile::new_beside(path).map(drop).map_err(unwritable)
}

/// Fails if `path`'s name is too long for the file system its folder is on, or `path` is a
/// folder. Asking for the name's metadata finds out without creating anything.
pub fn check_name(path: &Path) -> Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(Error::Encode {
                path: path.into(),
                reason: "is a folder; name an output file".into(),
            });
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            let why = format!("cannot be written here: {e}");
            return Err(Error::io(path, std::io::Error::new(e.kind(), why)));
        }
        _ => {}
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: into a temporary file beside it, flushed to disk, then
/// put in place in one step. Readers see the old file or the new one, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let written = TempFile::new_beside(path).and_then(|mut temp| {
        temp.file.write_all(bytes)?;
        temp.file.sync_all()?;
        temp.persist(path)
    });
    written.map_err(|e| Error::io(path, e))
}

/// An output another program writes (an encoder given [`writer_path`](Self::writer_path))
/// that appears at its path only once [`finish`](Self::finish)ed, whole. Dropped unfinished it
/// leaves nothing: on Linux the file has no name until then, so not even a killed run leaves one.
pub struct PendingOutput {
    temp: TempFile,
    path: PathBuf,
}

impl PendingOutput {
    pub fn beside(path: &Path) -> Result<PendingOutput> {
        let temp = TempFile::new_beside(path).map_err(|e| Error::io(path, e))?;
        Ok(PendingOutput {
            temp,
            path: path.into(),
        })
    }

    /// Where the writer opens the file: the unnamed file through this process's /proc entry
    /// (the writer must run while this process lives), else the hidden temporary file.
    pub fn writer_path(&self) -> PathBuf {
        match &self.temp.name {
            Some(name) => name.clone(),
            #[cfg(target_os = "linux")]
            None => {
                use std::os::unix::io::AsRawFd;
                let fd = self.temp.file.as_raw_fd();
                PathBuf::from(format!("/proc/{}/fd/{fd}", std::process::id()))
            }
            #[cfg(not(target_os = "linux"))]
            None => unreachable!("unnamed files exist on Linux only"),
        }
    }

    /// Puts the written file in place (flushed to disk first).
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let temp = self.temp;
        temp.file
            .sync_all()
            .and_then(|()| temp.persist(&path))
            .map_err(|e| Error::io(&path, e))
    }
}

/// Removes every named temporary file this process has open. For interrupt handlers, which then
/// exit: the lock is kept, so no new temporary file appears before the process ends.
pub fn remove_temporary_files_and_hold() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    let mut pending = pending();
    for path in pending.drain(..) {
        let _ = std::fs::remove_file(path);
    }
    pending
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Named temporary files in flight, for [`remove_temporary_files_and_hold`].
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// What a hidden temporary file of ours is called: `.silhouette-PID-N.tmp`, short whatever the
/// output's name (a 255-byte output name leaves no room for a longer one).
const TEMPORARY: (&str, &str) = (".silhouette-", ".tmp");

/// A hidden name beside `path` that no other writer uses.
fn hidden_name(path: &Path) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let (prefix, suffix) = TEMPORARY;
    parent(path).join(format!("{prefix}{}-{n}{suffix}", std::process::id()))
}

/// Removes from the folder of `output` the hidden temporary files of our runs that were killed
/// (SIGKILL cannot be caught) in the one step no file system call closes: between naming a
/// finished output under a hidden name and renaming it over the existing output. A writer holds
/// a lock on its temporary file for as long as it lives (the system drops it when the process
/// dies, on any host or container sharing the folder), so a file whose lock can be taken is
/// stale and one whose lock is held stays. Errors are ignored: this is housekeeping.
pub fn remove_stale_temporaries_beside(output: &Path) {
    let Ok(entries) = std::fs::read_dir(parent(output)) else {
        return;
    };
    let (prefix, suffix) = TEMPORARY;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix)?.strip_suffix(suffix))
            .and_then(|n| n.split_once('-'))
            .is_some_and(|(pid, n)| {
                [pid, n]
                    .iter()
                    .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            });
        let path = entry.path();
        let unlocked = || File::open(&path).is_ok_and(|file| file.try_lock().is_ok());
        if ours && entry.file_type().is_ok_and(|t| t.is_file()) && unlocked() {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// A file being written beside its destination, locked while this process lives (see
/// [`remove_stale_temporaries_beside`]). On Linux it has no name until it is complete
/// (`O_TMPFILE`, then linked into place); elsewhere it is a hidden named file, removed on error,
/// on drop and by interrupt handlers.
struct TempFile {
    file: File,
    name: Option<PathBuf>,
}

impl TempFile {
    fn new_beside(path: &Path) -> std::io::Result<TempFile> {
        #[cfg(target_os = "linux")]
        if let Some(file) = unnamed::create(parent(path))? {
            // Best effort: where the file system has no locks, nothing takes it for stale.
            let _ = file.try_lock();
            return Ok(TempFile { file, name: None });
        }
        let name = hidden_name(path);
        let mut pending = pending();
        let file = File::options().write(true).create_new(true).open(&name)?;
        pending.push(name.clone());
        let temp = TempFile {
            file,
            name: Some(name),
        };
        let _ = temp.file.try_lock();
        Ok(temp)
    }

    fn persist(mut self, path: &Path) -> std::io::Result<()> {
        match self.name.take() {
            #[cfg(target_os = "linux")]
            None => unnamed::link(&self.file, path),
            #[cfg(not(target_os = "linux"))]
            None => unreachable!("unnamed files exist on Linux only"),
            Some(name) => {
                let renamed = std::fs::rename(&name, path);
                self.name = renamed.is_err().then_some(name);
                renamed
            }
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            let _ = std::fs::remove_file(&name);
            pending().retain(|p| *p != name);
        }
    }
}

#[cfg(target_os = "linux")]
mod unnamed {
    use std::ffi::CString;
    use std::fs::File;
    use std::io;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::{AsRawFd, FromRawFd};
    use std::path::Path;

    fn c_path(path: &Path) -> io::Result<CString> {
        CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)
    }

    /// An unnamed file in `folder`, or None where the file system or kernel has no O_TMPFILE
    /// (or /proc, which linking it into place goes through).
    pub fn create(folder: &Path) -> io::Result<Option<File>> {
        if !Path::new("/proc/self/fd").is_dir() {
            return Ok(None);
        }
        let folder = c_path(folder)?;
        // SAFETY: a valid NUL-terminated path; the returned descriptor is owned by the File.
        let fd = unsafe {
            libc::open(
                folder.as_ptr(),
                libc::O_TMPFILE | libc::O_WRONLY | libc::O_CLOEXEC,
                0o666 as libc::c_uint,
            )
        };
        if fd >= 0 {
            // SAFETY: fd was just opened and is not owned elsewhere.
            return Ok(Some(unsafe { File::from_raw_fd(fd) }));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL) => Ok(None),
            _ => Err(e),
        }
    }

    /// Gives the complete unnamed `file` the name `path`, replacing what was there atomically.
    pub fn link(file: &File, path: &Path) -> io::Result<()> {
        match link_as(file, path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            done => return done,
        }
        // `path` exists (linkat never replaces): link under a hidden name, rename over it.
        let hidden = super::hidden_name(path);
        super::pending().push(hidden.clone());
        let result = link_as(file, &hidden).and_then(|()| std::fs::rename(&hidden, path));
        if result.is_err() {
            let _ = std::fs::remove_file(&hidden);
        }
        super::pending().retain(|p| *p != hidden);
        result
    }

    fn link_as(file: &File, path: &Path) -> io::Result<()> {
        let source = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
        let target = c_path(path)?;
        // SAFETY: both are valid NUL-terminated paths.
        let done = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                source.as_ptr(),
                libc::AT_FDCWD,
                target.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if done == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_create_and_replace_and_leave_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.bin"]);
        assert!(pending().is_empty());
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let into_a_folder = dir.path().join("folder");
        std::fs::create_dir(&into_a_folder).unwrap();
        assert!(write_atomic(&into_a_folder, b"x").is_err());
        assert_eq!(std::fs::read_dir(&into_a_folder).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn reads_refuse_what_is_not_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [7; 10]).unwrap();
        assert_eq!(read_regular(&path, 10).unwrap(), [7; 10]);
        assert!(matches!(
            read_regular(&path, 9),
            Err(Error::FileTooLarge { bytes: 10, .. })
        ));
        assert!(matches!(
            read_regular(dir.path(), 9),
            Err(Error::NotAFile { .. })
        ));
        #[cfg(unix)]
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 1 << 20),
            Err(Error::NotAFile { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn identity_resolves_a_link_reached_through_a_missing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let photos = dir.path().join("photos");
        std::fs::create_dir(&photos).unwrap();
        std::os::unix::fs::symlink(&photos, dir.path().join("link")).unwrap();
        let around = dir.path().join("missing").join("..").join("link");
        assert_eq!(identity(&around), identity(&photos));
    }

    #[test]
    fn identity_sees_through_dots_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.png");
        std::fs::write(&a, b"").unwrap();
        let dotted = dir.path().join(".").join("a.png");
        assert!(same_file(&a, &dotted));
        let missing = dir.path().join("sub").join("..").join("b.png");
        assert!(!same_file(&a, &missing));
    }

    /// Photo names a hostile folder may hold: dots anywhere (`..jpg`, `...jpg`, `a..b.jpg`),
    /// leading dots, spaces, newlines, backslashes, unicode, and names of 255 bytes.
    fn hostile_name() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let extension = prop::sample::select(vec!["jpg", "JPG", "jpeg", "png", "webp"]);
        let stem = prop_oneof![
            "[.]{0,4}",
            "[.a-z0-9 \\\n\t\u{e9}\u{65e5}\u{1F600}-]{0,40}",
            "[.]{0,2}[a-z]{1,3}([.][0-9]{1,4}){0,4}",
            "[a-z.]{246,250}",
        ];
        (stem, extension).prop_map(|(stem, extension)| format!("{stem}.{extension}"))
    }

    proptest::proptest! {
        #[test]
        fn an_output_is_the_photos_name_with_its_extension_replaced_inside_the_folder(
            name in hostile_name(),
            extension in proptest::sample::select(vec!["png", "jpg"]),
        ) {
            // What the folder listing calls a photo: a name with an extension.
            proptest::prop_assume!(Path::new(&name).extension().is_some());
            let folder = Path::new("/outputs/here");
            let photo = Path::new("/photos").join(&name);
            let output = output_in(folder, &photo, extension).unwrap();
            proptest::prop_assert_eq!(output.parent(), Some(folder));
            let written = output.file_name().unwrap().to_str().unwrap();
            let stem = &name[..name.rfind('.').unwrap()];
            proptest::prop_assert_eq!(written, format!("{stem}.{extension}"));
            proptest::prop_assert!(identity(&output).starts_with(identity(folder)));
        }
    }

    #[test]
    fn names_that_are_no_file_make_no_output() {
        for photo in ["..", ".", "/", "photos/.."] {
            assert!(
                output_in(Path::new("out"), Path::new(photo), "png").is_err(),
                "{photo}"
            );
        }
        assert_eq!(
            output_in(Path::new("out"), Path::new("p/..jpg"), "png").unwrap(),
            Path::new("out/..png")
        );
    }

    #[test]
    fn stale_temporaries_go_and_those_of_live_writers_stay() {
        let dir = tempfile::tempdir().unwrap();
        let (prefix, suffix) = TEMPORARY;
        let named = |name: &str| dir.path().join(format!("{prefix}{name}{suffix}"));
        let live = named("1-0");
        let held = File::create(&live).unwrap();
        held.lock().unwrap();
        let keep = [
            live,
            named("1-x"),
            dir.path().join(".photo.png.1.0.tmp"),
            dir.path().join("photo.png"),
        ];
        for path in keep.iter().chain([&named("1-1"), &named("42-7")]) {
            if !path.exists() {
                std::fs::write(path, b"").unwrap();
            }
        }
        remove_stale_temporaries_beside(&dir.path().join("out.png"));
        let mut left: Vec<PathBuf> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        left.sort();
        let mut expected = keep.to_vec();
        expected.sort();
        assert_eq!(left, expected);
        drop(held);
    }

    #[test]
    fn a_name_the_file_system_cannot_hold_is_found_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let long = dir.path().join(format!("{}.png", "x".repeat(300)));
        let err = check_writable(&long).unwrap_err();
        assert!(err.to_string().contains("cannot be written here"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn writability_is_checked_without_leaving_anything() {
        let dir = tempfile::tempdir().unwrap();
        check_writable(&dir.path().join("out.png")).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(check_writable(&dir.path().join("missing").join("out.png")).is_err());
        assert!(check_writable(dir.path()).is_err());
    }
}
