//! Running the built binary the way people run it, and what it cost.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PHOTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/photos/grace_hopper.jpg"
);

pub fn silhouette(args: &[&str]) -> Output {
    command(args).output().expect("run silhouette")
}

pub fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_silhouette"));
    command.args(args);
    command
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn ok(out: &Output) {
    assert!(out.status.success(), "{}", stderr(out));
    assert!(!stderr(out).contains("error"), "{}", stderr(out));
}

/// `silhouette VERB INPUT -o OUTPUT --backend cpu EXTRA...`.
pub fn on_cpu(verb: &str, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec![verb, s(input), "-o", s(output), "--backend", "cpu"];
    args.extend(extra);
    silhouette(&args)
}

/// `silhouette mask INPUT -o OUTPUT --backend cpu`.
pub fn mask_on_cpu(input: &Path, output: &Path) -> Output {
    on_cpu("mask", input, output, &[])
}

/// [`mask_on_cpu`]'s exit status and peak resident memory in KB (see [`peak_rss_kb`]).
#[cfg(target_os = "linux")]
pub fn mask_on_cpu_peak_kb(input: &Path, output: &Path) -> (std::process::ExitStatus, u64) {
    peak_rss_kb(command(&[
        "mask",
        s(input),
        "-o",
        s(output),
        "--backend",
        "cpu",
    ]))
}

/// Exit code 2 with `needle` in the message, and no panic.
pub fn fails_with(out: &Output, needle: &str) {
    let stderr = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Every entry of `dir`, hidden ones too, sorted.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Runs `command` to its end; its exit status and peak resident memory in KB (from the kernel's
/// accounting of the child, so nothing is sampled and nothing depends on timing).
#[cfg(target_os = "linux")]
#[allow(clippy::zombie_processes)] // reaped by wait4, which std does not offer
pub fn peak_rss_kb(mut command: Command) -> (std::process::ExitStatus, u64) {
    use std::os::unix::process::ExitStatusExt;
    let child = command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    (
        std::process::ExitStatus::from_raw(status),
        usage.ru_maxrss as u64,
    )
}

/// A folder of `n` copies of a `w` x `h` crop of the bundled photo, as JPEG.
pub fn photo_folder(dir: &Path, n: usize, w: u32, h: u32) -> PathBuf {
    let folder = dir.join(format!("photos{n}"));
    std::fs::create_dir_all(&folder).unwrap();
    let photo = image::open(PHOTO)
        .unwrap()
        .resize_exact(w, h, image::imageops::Triangle);
    let first = folder.join("p000.jpg");
    photo.to_rgb8().save(&first).unwrap();
    for i in 1..n {
        std::fs::copy(&first, folder.join(format!("p{i:03}.jpg"))).unwrap();
    }
    folder
}
