//! Where outputs go, through the built binary (issue 24's defects 1-3 and 8-10): every output
//! stays inside its folder whatever the photo's name, names keep all but their extension, a
//! folder run into or under its own folder is refused, output names are checked before any
//! work, and a kill in the one unclosable step leaves nothing after the next run.

mod common;
use common::run::*;
use std::path::Path;

/// A folder `photos` in `dir` holding a copy of the bundled photo under each name.
fn photos_named(dir: &Path, names: &[&str]) -> std::path::PathBuf {
    let photos = dir.join("photos");
    std::fs::create_dir(&photos).unwrap();
    for name in names {
        std::fs::copy(PHOTO, photos.join(name)).unwrap();
    }
    photos
}

fn names_in(dir: &Path) -> Vec<String> {
    files_in(dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

// 1. A photo named `..jpg` made the output `out/..` + `.png` = `out.png`, beside the output
// folder, replacing the file there.
#[test]
fn a_photo_named_dot_dot_jpg_writes_inside_the_output_folder() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos_named(dir.path(), &["..jpg"]);
    let beside = dir.path().join("out.png");
    std::fs::write(&beside, "KEEP").unwrap();
    let outputs = dir.path().join("out");
    ok(&mask_on_cpu(&photos, &outputs));
    assert_eq!(std::fs::read(&beside).unwrap(), b"KEEP");
    assert_eq!(names_in(&outputs), ["..png"]);
}

// 2-3. Only the extension goes: `2024.01.05.jpg` made `2024.01.png` (and with `2024.01.06.jpg`
// beside it the run was refused as a clash); `...jpg` stopped the run as `OUT/..`.
#[test]
fn only_the_extension_of_a_dotted_name_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos_named(dir.path(), &["2024.01.05.jpg", "2024.01.06.jpg", "...jpg"]);
    let outputs = dir.path().join("out");
    ok(&silhouette(&[
        "mask",
        s(&photos),
        "-o",
        s(&outputs),
        "--backend",
        "cpu",
        "--format",
        "jpeg",
    ]));
    assert_eq!(
        names_in(&outputs),
        ["...jpg", "2024.01.05.jpg", "2024.01.06.jpg"]
    );
}

// 8. A name the file system cannot hold was found only when the output was written, after the
// work (15.7 s and 2 GB for a 16384² photo): now before the input is even opened.
#[test]
fn an_output_name_too_long_for_the_file_system_fails_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join(format!("{}.png", "x".repeat(300)));
    let out = silhouette(&["cut", "/dev/zero", "-o", s(&long), "--backend", "cpu"]);
    fails_with(&out, "cannot be written here: File name too long");
    assert!(!stderr(&out).contains("/dev/zero"), "{}", stderr(&out));
    assert_eq!(files_in(dir.path()).len(), 0);
}

// 9. A folder run into its own folder, or a link to it, or a folder inside it, is refused
// naming why (it was refused only when a name clashed, and a second run would take the
// outputs for photos).
#[cfg(unix)]
#[test]
fn a_folder_run_into_its_own_folder_or_under_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos_named(dir.path(), &["a.jpg"]);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&photos, &link).unwrap();
    for (output, why) in [
        (photos.clone(), "is the input folder"),
        (link.clone(), "is the input folder"),
        (photos.join("masks"), "is inside the input folder"),
    ] {
        let out = mask_on_cpu(&photos, &output);
        fails_with(&out, &format!("the output folder {why}"));
        assert_eq!(names_in(&photos), ["a.jpg"], "{}", output.display());
    }
}

// 10. Linux cannot replace a file by an unnamed one in one step: a finished output is linked
// under a hidden name, then renamed over the old one. A kill between the two (strace holds
// every rename 3 s, so the kill lands there) left the hidden file for good; the old output
// stays whole, and the next run into the folder removes what the killed run left.
#[cfg(target_os = "linux")]
#[test]
fn what_a_kill_while_replacing_an_output_leaves_goes_with_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    std::fs::write(&out, "KEEP").unwrap();
    let mut traced = std::process::Command::new("strace")
        .args(["-f", "-o", "/dev/null"])
        // `?`: a system call this architecture lacks (aarch64 has only renameat2) is skipped.
        .args([
            "-e",
            "inject=?rename,?renameat,renameat2:delay_enter=3000000",
        ])
        .arg(env!("CARGO_BIN_EXE_silhouette"))
        .args(["mask", PHOTO, "-o", s(&out), "--backend", "cpu"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("strace (tools/test.sh installs it)");
    let start = std::time::Instant::now();
    let hidden = loop {
        let found = names_in(dir.path())
            .into_iter()
            .find(|n| n.starts_with(".silhouette-"));
        if let Some(found) = found {
            break found;
        }
        if let Some(status) = traced.try_wait().unwrap() {
            panic!("strace ended ({status}) before a hidden file appeared");
        }
        assert!(start.elapsed().as_secs() < 300, "no hidden file appeared");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let pid: i32 = hidden
        .trim_start_matches(".silhouette-")
        .split('-')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: signalling the traced child, which strace reaps.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    traced.wait().unwrap();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        b"KEEP",
        "the old output changed"
    );
    assert!(
        dir.path().join(&hidden).exists(),
        "the kill missed the window"
    );

    ok(&silhouette(&[
        "mask",
        PHOTO,
        "-o",
        s(&dir.path().join("n.png")),
        "--backend",
        "cpu",
    ]));
    assert_eq!(names_in(dir.path()), ["m.png", "n.png"]);
}
