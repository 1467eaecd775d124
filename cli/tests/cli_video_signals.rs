//! Runs on video files stopped from outside (SIGKILL, SIGINT, SIGTERM), through the built binary
//! and FFmpeg: what they leave, and what the next run does with it. Linux: signals by libc.
#![cfg(target_os = "linux")]

mod common;

use common::run::*;
use common::video::*;
use std::path::{Path, PathBuf};
use std::process::Child;

/// `silhouette blur CLIP -o OUT` on the CPU, started and left running (its messages dropped).
fn start_blur(clip: &Path, out: &Path) -> Child {
    command(&["blur", s(clip), "-o", s(out), "--backend", "cpu"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn send(child: &Child, signal: libc::c_int) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
}

/// A folder made at `path` holding a file of the user's, `notes.txt`.
fn folder_with_notes(path: &Path) -> PathBuf {
    std::fs::create_dir(path).unwrap();
    std::fs::write(path.join("notes.txt"), "mine").unwrap();
    path.into()
}

/// Killed mid-way, a run leaves no file: the output has no name until it is complete.
#[test]
fn a_run_killed_mid_way_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("long.mp4");
    long_clip(&clip);
    let out = dir.path().join("out.mp4");
    let mut child = start_blur(&clip, &out);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run ended before the kill"
    );
    send(&child, libc::SIGKILL);
    child.wait().unwrap();
    // The encoder it started writes on into the nameless file until its input ends.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(files_in(dir.path()), std::slice::from_ref(&clip));

    // Ctrl-C (SIGINT) and SIGTERM during PNG frames: the frames written so far go with it, and
    // so does the folder the run made; a folder that was there keeps what it held.
    let kept = folder_with_notes(&dir.path().join("kept"));
    let new = dir.path().join("frames");
    for (signal, frames) in [(libc::SIGINT, &new), (libc::SIGTERM, &kept)] {
        let mut child = start_blur(&clip, frames);
        wait_for_frames_in(frames);
        send(&child, signal);
        assert_eq!(child.wait().unwrap().code(), Some(130));
        assert_eq!(
            files_in(dir.path()),
            [kept.clone(), clip.clone()],
            "signal {signal}"
        );
        assert_eq!(files_in(&kept), [kept.join("notes.txt")], "signal {signal}");
    }
}

/// PNG frames after SIGKILL: no handler runs, so the run's hidden folder stays. The next run into
/// the folder removes it (its lock died with it), and leaves a live run's, and one under that kind
/// of name that holds anything but frames.
#[test]
fn the_hidden_frames_of_a_killed_run_go_with_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("long.mp4");
    long_clip(&clip);
    let kept = folder_with_notes(&dir.path().join("kept"));
    let mut killed = start_blur(&clip, &kept);
    wait_for_frames_in(&kept);
    send(&killed, libc::SIGKILL);
    killed.wait().unwrap();
    let left = kept.join(format!(".silhouette-{}.frames", killed.id()));
    assert!(left.is_dir(), "SIGKILL left no hidden folder");
    // Its lock free, but a file in it that is not a frame.
    let foreign = kept.join(".silhouette-4000000000.frames");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join(".lock"), "").unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let mut live = start_blur(&clip, &kept);
    let live_folder = kept.join(format!(".silhouette-{}.frames", live.id()));
    while !live_folder.join("000001.png").exists() {
        assert!(live.try_wait().unwrap().is_none(), "the live run ended");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let short = dir.path().join("short.mp4");
    h264_testsrc(&short, "96x64", 1);
    ok(&silhouette(&[
        "blur",
        s(&short),
        "-o",
        s(&kept),
        "--backend",
        "cpu",
    ]));
    assert!(!left.exists(), "the killed run's hidden folder stayed");
    assert!(
        live_folder.is_dir(),
        "a live run's folder was taken for a killed one's"
    );
    send(&live, libc::SIGTERM);
    assert_eq!(live.wait().unwrap().code(), Some(130));
    let names: Vec<String> = files_in(&kept)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names[..2], [".silhouette-4000000000.frames", "000001.png"]);
    assert_eq!(names.last().unwrap(), "notes.txt");
    assert!(
        names[1..names.len() - 1]
            .iter()
            .all(|n| n.ends_with(".png"))
    );
    assert_eq!(
        files_in(&foreign),
        [foreign.join(".lock"), foreign.join("notes.txt")]
    );
}

/// Waits (up to 120 s) until a run has written a frame into its hidden folder in `folder`.
fn wait_for_frames_in(folder: &Path) {
    let written = || {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return false;
        };
        entries.flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with(".silhouette-")
                && std::fs::read_dir(e.path()).is_ok_and(|mut files| {
                    files
                        .any(|f| f.is_ok_and(|f| f.file_name().to_string_lossy().ends_with(".png")))
                })
        })
    };
    let start = std::time::Instant::now();
    while !written() && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(written(), "no frame written in 120 s");
}
