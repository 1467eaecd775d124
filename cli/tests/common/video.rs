//! Making test clips with FFmpeg (tools/test.sh installs it; the tests fail without it).

use super::run::s;
use std::path::Path;
use std::process::Command;

pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg (tools/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `seconds` of FFmpeg's test pattern at 10 frames/s, `size` ("WxH"), as H.264 in an MP4 with
/// its index first (so a cut-off copy still opens and breaks off mid-stream).
pub fn h264_testsrc(path: &Path, size: &str, seconds: u32) {
    let (source, seconds) = (format!("testsrc=size={size}:rate=10"), seconds.to_string());
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &source,
        "-t",
        &seconds,
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        s(path),
    ]);
}

/// A 40 s 640x480 H.264 clip (ultrafast): long enough that a run is still going when it is
/// signalled.
pub fn long_clip(path: &Path) {
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=640x480:rate=30",
        "-t",
        "40",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        s(path),
    ]);
}
