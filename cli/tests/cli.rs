//! The built binary, run the way people run it: outputs, and every error case exits 2 with a
//! one-line message naming the file, leaves no output behind and never touches the input.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PHOTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/photos/grace_hopper.jpg"
);

fn silhouette(args: &[&str]) -> Output {
    silhouette_env(args, &[])
}

fn silhouette_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_silhouette"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run silhouette")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Exit code 2, one line on stderr that mentions `needle`, and nothing left in `dir`.
fn assert_fails(out: &Output, needle: &str, dir: &Path) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let left: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        left.iter().all(|p| !p.to_string_lossy().contains("out")),
        "left behind: {left:?}"
    );
}

#[test]
fn mask_is_gray8_at_input_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mask.png");
    let run = silhouette(&["mask", PHOTO, "-o", s(&out), "--backend", "cpu"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mask = image::open(&out).unwrap();
    let photo = image::open(PHOTO).unwrap();
    assert_eq!(mask.color(), image::ColorType::L8);
    assert_eq!(
        (mask.width(), mask.height()),
        (photo.width(), photo.height())
    );
    // A portrait: the centre is person, the top corners are not.
    let m = mask.to_luma8();
    assert!(m.get_pixel(m.width() / 2, m.height() / 2).0[0] > 200);
    assert!(m.get_pixel(2, 2).0[0] < 50 && m.get_pixel(m.width() - 3, 2).0[0] < 50);
}

#[test]
fn raw_mask_is_the_network_output_in_16_bits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("raw.png");
    let frame = data("frames/astronaut.png");
    let run = silhouette(&[
        "mask",
        s(&frame),
        "-o",
        s(&out),
        "--raw",
        "--backend",
        "cpu",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let raw = image::open(&out).unwrap();
    assert_eq!(raw.color(), image::ColorType::L16);
    let ours: Vec<f32> = raw
        .to_luma16()
        .pixels()
        .map(|p| p.0[0] as f32 / 65535.0)
        .collect();
    // Against MediaPipe's own output, allowing for the 16-bit quantisation.
    let diff = max_abs_diff(&ours, &golden("astronaut"));
    assert!(diff <= 5e-4 + 0.5 / 65535.0, "{diff}");
}

fn raw_mask(frame: &Path, backend: &str, dir: &Path) -> Vec<f32> {
    let out = dir.join(format!("raw-{backend}.png"));
    let run = silhouette(&[
        "mask",
        s(frame),
        "-o",
        s(&out),
        "--raw",
        "--backend",
        backend,
        "--verbose",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    eprint!("{stderr}");
    image::open(&out)
        .unwrap()
        .to_luma16()
        .pixels()
        .map(|p| p.0[0] as f32 / 65535.0)
        .collect()
}

#[test]
fn gpu_and_cpu_backends_give_the_same_raw_mask() {
    if segmenter(silhouette::Backend::Gpu).is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let frame = data("frames/grace_hopper.png");
    let (cpu, gpu) = (
        raw_mask(&frame, "cpu", dir.path()),
        raw_mask(&frame, "gpu", dir.path()),
    );
    let diff = max_abs_diff(&cpu, &gpu);
    assert!(diff <= 5e-4, "{diff}");
}

#[test]
fn cut_is_rgba_with_mask_as_alpha() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut.png");
    let run = silhouette(&["cut", PHOTO, "-o", s(&out)]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let cut = image::open(&out).unwrap();
    assert_eq!(cut.color(), image::ColorType::Rgba8);
    let photo = image::open(PHOTO).unwrap().to_rgb8();
    assert_eq!(cut.width(), photo.width());
    let cut = cut.to_rgba8();
    let (cx, cy) = (photo.width() / 2, photo.height() / 2);
    assert_eq!(
        &cut.get_pixel(cx, cy).0[..3],
        &photo.get_pixel(cx, cy).0[..]
    );
    assert!(cut.get_pixel(cx, cy).0[3] > 200);
    assert!(cut.get_pixel(2, 2).0[3] < 50);
}

#[test]
fn missing_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("nope.jpg");
    let out = silhouette(&["cut", s(&input), "-o", s(&dir.path().join("out.png"))]);
    assert_fails(&out, "nope.jpg", dir.path());
}

#[test]
fn not_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notes.jpg");
    std::fs::write(&input, "just some text, not a JPEG").unwrap();
    let out = silhouette(&["mask", s(&input), "-o", s(&dir.path().join("out.png"))]);
    assert_fails(&out, "notes.jpg", dir.path());
}

#[test]
fn truncated_image() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.png");
    image::open(PHOTO).unwrap().save(&full).unwrap();
    let bytes = std::fs::read(&full).unwrap();
    let input = dir.path().join("half.png");
    std::fs::write(&input, &bytes[..bytes.len() / 3]).unwrap();
    let out = silhouette(&["mask", s(&input), "-o", s(&dir.path().join("out.png"))]);
    assert_fails(&out, "half.png", dir.path());
}

#[test]
fn unsupported_input_format() {
    let dir = tempfile::tempdir().unwrap();
    // A valid 1x1 GIF: recognised, but GIF is not a format we read.
    let input = dir.path().join("pic.gif");
    let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    std::fs::write(&input, gif).unwrap();
    let out = silhouette(&["mask", s(&input), "-o", s(&dir.path().join("out.png"))]);
    assert_fails(&out, "pic.gif", dir.path());
}

#[test]
fn unsupported_output_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = silhouette(&["cut", PHOTO, "-o", s(&dir.path().join("out.gif"))]);
    assert_fails(&out, "out.gif", dir.path());
}

#[test]
fn unwritable_output() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no/such/dir/out.png");
    let out = silhouette(&["cut", PHOTO, "-o", s(&target)]);
    assert_fails(&out, "out.png", dir.path());
}

#[test]
fn corrupt_weights() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("weights.safetensors");
    std::fs::write(&weights, &silhouette::weights::EMBEDDED[..1000]).unwrap();
    let out = silhouette(&[
        "cut",
        PHOTO,
        "-o",
        s(&dir.path().join("out.png")),
        "--weights",
        s(&weights),
    ]);
    assert_fails(&out, "weights.safetensors", dir.path());
}

#[test]
fn never_overwrites_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("photo.png");
    image::open(PHOTO).unwrap().save(&input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let out = silhouette(&["cut", s(&input), "-o", s(&input), "--backend", "cpu"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("photo.png") && stderr.contains("overwrite"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp file left behind"
    );
}

#[test]
fn bad_usage_exits_2() {
    let out = silhouette(&["cut"]);
    assert_eq!(out.status.code(), Some(2));
    let out = silhouette(&["cut", PHOTO, "-o", "x.png", "--backend", "tpu"]);
    assert_eq!(out.status.code(), Some(2));
}

/// With no adapter (Metal is not compiled in on Linux), `auto` says so and runs on the CPU, while
/// an explicit `gpu` is an error.
#[cfg(target_os = "linux")]
#[test]
fn auto_falls_back_to_cpu_with_a_notice_and_gpu_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut.png");
    let no_adapter = [("WGPU_BACKEND", "metal")];
    let run = silhouette_env(&["cut", PHOTO, "-o", s(&out)], &no_adapter);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("running on the fast CPU engine instead"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(out.exists());
    std::fs::remove_file(&out).unwrap();
    let run = silhouette_env(
        &["cut", PHOTO, "-o", s(&out), "--backend", "gpu"],
        &no_adapter,
    );
    assert_fails(&run, "no GPU adapter", dir.path());
}

/// `info --json` on `backend`: one JSON object.
fn info(backend: &str) -> serde_json::Value {
    let out = silhouette(&["info", "--json", "--backend", backend]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

#[test]
fn info_reports_the_gpu_plan_and_what_the_passes_saved() {
    // The same engine the GPU tests run on, or their skip/fail rule.
    if segmenter(silhouette::Backend::Gpu).is_none() {
        return;
    }
    let info = info("gpu");
    let n = |key: &str| {
        info[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key} in {info}"))
    };
    assert_eq!(info["backend"], "gpu");
    assert!(n("dispatches_per_frame") < n("dispatches_per_frame_as_written"));
    assert!(n("macs_per_frame") < n("macs_per_frame_as_written"));
    assert!(n("bytes_moved_per_frame") < n("bytes_moved_per_frame_as_written"));
    assert!(n("arena_bytes") > 0 && n("weight_bytes") > 0);
    let passes = info["graph_passes"].as_array().unwrap();
    let last = passes.last().unwrap();
    assert_eq!(
        last["nodes_after"].as_u64().unwrap() + 1,
        n("dispatches_per_frame")
    );
    assert_eq!(last["macs_after"].as_u64().unwrap(), n("macs_per_frame"));
    assert!(info["pipeline_creation_ms"].as_f64().unwrap() > 0.0);
    for key in ["first_mask_ms", "first_mask_again_ms"] {
        assert!(info[key].as_f64().unwrap() > 0.0, "{key} in {info}");
    }
    // The text form says the same.
    let text = silhouette(&["info", "--backend", "gpu"]);
    let text = String::from_utf8(text.stdout).unwrap();
    let line = format!(
        "dispatches per frame:             {}",
        n("dispatches_per_frame")
    );
    assert!(text.contains(&line), "{text}");
}

#[test]
fn info_on_the_cpu_has_no_gpu_plan() {
    let info = info("cpu");
    assert_eq!(info["backend"], "cpu");
    assert!(info["dispatches_per_frame"].is_null());
    // The CPU engine runs the graph its passes rewrote (issue 24, 12).
    let (run, written) = (&info["macs_per_frame"], &info["macs_per_frame_as_written"]);
    assert!(run.as_u64().unwrap() < written.as_u64().unwrap(), "{info}");
}
