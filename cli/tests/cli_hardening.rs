//! The CLI against a hostile user (issue 9's defects, each through the built binary): nothing a
//! user owns is overwritten, memory stays flat, jobs are capped, a killed run leaves nothing
//! behind. Hostile files are in cli_hostile_files.rs.

mod common;
use common::run::*;
use std::path::Path;

fn sha(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

// 1. A folder run into its own folder: x.jpg's output would be x.png, an input photo.
#[test]
fn a_folder_run_into_its_own_folder_overwrites_no_photo() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(PHOTO, dir.path().join("x.jpg")).unwrap();
    image::RgbImage::from_pixel(64, 48, image::Rgb([255, 0, 0]))
        .save(dir.path().join("x.png"))
        .unwrap();
    let before = (
        sha(&dir.path().join("x.jpg")),
        sha(&dir.path().join("x.png")),
    );
    let out = silhouette(&[
        "mask",
        s(dir.path()),
        "-o",
        s(dir.path()),
        "--backend",
        "cpu",
    ]);
    fails_with(&out, "the output folder is the input folder");
    let after = (
        sha(&dir.path().join("x.jpg")),
        sha(&dir.path().join("x.png")),
    );
    assert!(before == after, "a photo changed");
    assert_eq!(files_in(dir.path()).len(), 2, "{:?}", files_in(dir.path()));
}

// 1b. Two photos that would write one output are refused before any work.
#[test]
fn two_photos_with_one_output_name_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("in");
    std::fs::create_dir(&photos).unwrap();
    std::fs::copy(PHOTO, photos.join("x.jpg")).unwrap();
    image::RgbImage::new(8, 8)
        .save(photos.join("x.png"))
        .unwrap();
    let outputs = dir.path().join("out");
    let out = mask_on_cpu(&photos, &outputs);
    fails_with(&out, "both");
    assert!(!outputs.exists(), "the output folder was created");
}

// 2. Every file the command reads is an input: the background picture and the weights too.
#[test]
fn the_background_picture_and_the_weights_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let background = dir.path().join("bg.jpg");
    std::fs::copy(PHOTO, &background).unwrap();
    let before = sha(&background);
    let out = silhouette(&[
        "replace",
        PHOTO,
        "--image",
        s(&background),
        "-o",
        s(&background),
        "--backend",
        "cpu",
    ]);
    fails_with(&out, "bg.jpg: refusing to overwrite");
    assert_eq!(sha(&background), before);

    let weights = dir.path().join("weights.png");
    std::fs::write(&weights, silhouette::weights::EMBEDDED).unwrap();
    let out = silhouette(&["mask", PHOTO, "--weights", s(&weights), "-o", s(&weights)]);
    fails_with(&out, "weights.png: refusing to overwrite");
    assert_eq!(sha(&weights), silhouette::weights::EMBEDDED);
}

// 3. Memory stays flat over a folder on the GPU finish: peak resident memory for 34 photos is
// that for 10. At 640x480 the working resolution is 512 wide, where lavapipe compiled a new
// shader variant for every blur pass (0.9 MB a photo, over 20 MB in this test before the fix).
#[cfg(target_os = "linux")]
#[test]
fn memory_is_flat_over_a_folder_on_the_gpu_finish() {
    let dir = tempfile::tempdir().unwrap();
    let peak = |n: usize| {
        let photos = photo_folder(dir.path(), n, 640, 480);
        let outputs = dir.path().join(format!("out{n}"));
        let command = command(&[
            "blur",
            s(&photos),
            "-o",
            s(&outputs),
            "--backend",
            "gpu",
            "--jobs",
            "1",
        ]);
        let (status, kb) = peak_rss_kb(command);
        assert!(status.success(), "{status:?}");
        assert_eq!(files_in(&outputs).len(), n);
        kb
    };
    let (few, many) = (peak(10), peak(34));
    eprintln!("peak resident: 10 photos {few} KB, 34 photos {many} KB");
    assert!(
        many < few + 8 * 1024,
        "24 more photos took {} KB more",
        many - few
    );
}

// 4. --jobs is capped; a huge value neither panics nor costs memory per job.
#[test]
fn jobs_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photo_folder(dir.path(), 3, 40, 30);
    let outputs = dir.path().join("out");
    let out = silhouette(&[
        "mask",
        s(&photos),
        "-o",
        s(&outputs),
        "--backend",
        "cpu",
        "--jobs",
        "500",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--jobs 500 is capped at"),
        "{}",
        stderr(&out)
    );
    assert_eq!(files_in(&outputs).len(), 3);
    fails_with(
        &silhouette(&["mask", s(&photos), "-o", s(&outputs), "--jobs", "0"]),
        "0",
    );
}

// 8. Killed runs leave no temporary file, whatever the signal and whenever it lands. Noisy
// photos make big PNGs, so a good share of each run is spent writing them (before the fix, when
// a temporary file existed).
#[cfg(target_os = "linux")]
#[test]
fn killed_runs_leave_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    let mut seed = 1u32;
    let noise = image::RgbImage::from_fn(1600, 1200, |_, _| {
        seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
        image::Rgb((seed >> 8).to_le_bytes()[..3].try_into().unwrap())
    });
    noise.save(photos.join("p00.png")).unwrap();
    for i in 1..12 {
        std::fs::copy(photos.join("p00.png"), photos.join(format!("p{i:02}.png"))).unwrap();
    }
    for (round, signal) in [libc::SIGKILL, libc::SIGINT, libc::SIGTERM]
        .iter()
        .cycle()
        .take(12)
        .enumerate()
    {
        let outputs = dir.path().join(format!("out{round}"));
        let mut child = command(&["cut", s(&photos), "-o", s(&outputs), "--backend", "cpu"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Land somewhere in the run: before, between or during writes.
        std::thread::sleep(std::time::Duration::from_millis(200 * round as u64 + 300));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as libc::pid_t, *signal) };
        let status = child.wait().unwrap();
        if outputs.exists() {
            let hidden: Vec<_> = files_in(&outputs)
                .into_iter()
                .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .collect();
            assert!(hidden.is_empty(), "signal {signal}: left {hidden:?}");
            std::fs::remove_dir_all(&outputs).unwrap();
        }
        // Finished (0), cleaned up and stopped (130), or killed before the handler was set.
        assert!(
            matches!(status.code(), None | Some(0) | Some(130)),
            "signal {signal}: {status:?}"
        );
    }
}

// 9. Outputs are checked before inputs are read.
#[test]
fn a_bad_output_fails_before_the_input_is_read() {
    let out = silhouette(&["cut", "/dev/zero", "-o", "/nonexistent/x.png"]);
    fails_with(&out, "/nonexistent");
    let dir = tempfile::tempdir().unwrap();
    let out = silhouette(&["cut", PHOTO, "-o", s(dir.path())]);
    fails_with(&out, "output must be a .png or .jpg file");
}

// 10. A folder without photos is an error, and no output folder appears.
#[test]
fn a_folder_without_photos_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "no photos").unwrap();
    let outputs = dir.path().join("out");
    let out = silhouette(&["cut", s(dir.path()), "-o", s(&outputs)]);
    fails_with(&out, "no photos here");
    assert!(!outputs.exists());
}

// 11d. A full stderr is no reason to panic.
#[cfg(target_os = "linux")]
#[test]
fn a_full_stderr_does_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let status = command(&["mask", PHOTO, "-o", s(&out), "-v", "--backend", "cpu"])
        .stderr(full)
        .status()
        .unwrap();
    assert!(status.success(), "{status:?}");
    assert!(out.exists());
}

// 11e. Folder-only options on a single file are refused, not ignored.
#[test]
fn folder_options_on_a_single_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    for option in [&["--format", "jpeg"][..], &["--smooth"], &["--jobs", "2"]] {
        let mut args = vec!["mask", PHOTO, "-o", s(&out)];
        args.extend(option);
        fails_with(
            &silhouette(&args),
            &format!("{} applies to folders", option[0]),
        );
    }
    assert!(!out.exists());
}

// 11f. The blur's cost is bounded: past the cap every radius gives the same picture.
#[test]
fn the_blur_radius_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("p.png");
    image::open(PHOTO)
        .unwrap()
        .resize_exact(640, 480, image::imageops::Triangle)
        .save(&photo)
        .unwrap();
    let blur = |radius: &str| {
        let out = dir.path().join(format!("b{radius}.png"));
        ok(&silhouette(&[
            "blur",
            s(&photo),
            "-o",
            s(&out),
            "--radius",
            radius,
            "--backend",
            "cpu",
        ]));
        image::open(out).unwrap().to_rgba8()
    };
    // A blur this wide runs at the least size, 128 of 640 (finish::blur_size): sigma 64 there
    // is radius 320 here.
    assert!(blur("1000") == blur("320"));
    assert!(blur("320") != blur("160"));
}

// 12. Auto prefers a hardware adapter, then the CPU; a software adapter only when asked.
#[test]
fn auto_never_picks_a_software_adapter() {
    let software = match silhouette::gpu::Gpu::new() {
        Ok(gpu) => gpu.adapter_info().expect("ours").device_type == wgpu::DeviceType::Cpu,
        Err(_) => return assert!(std::env::var("SILHOUETTE_REQUIRE_GPU").as_deref() != Ok("1")),
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    let auto = silhouette(&["mask", PHOTO, "-o", s(&out), "-v"]);
    assert!(auto.status.success(), "{}", stderr(&auto));
    if software {
        assert!(
            stderr(&auto).contains("a software rasterizer"),
            "{}",
            stderr(&auto)
        );
        assert!(
            stderr(&auto).contains("running on CPU"),
            "{}",
            stderr(&auto)
        );
        let asked = silhouette(&["mask", PHOTO, "-o", s(&out), "-v", "--backend", "gpu"]);
        assert!(
            stderr(&asked).contains("running on GPU"),
            "{}",
            stderr(&asked)
        );
    } else {
        assert!(
            stderr(&auto).contains("running on GPU"),
            "{}",
            stderr(&auto)
        );
    }
}

// Headless, a successful run prints no "error" (Mesa's device-select layer used to).
#[test]
fn a_headless_success_says_no_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    let run = command(&["mask", PHOTO, "-o", s(&out), "--backend", "gpu"])
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    ok(&run);
}

// Issue 24, 4. Every write to stdout goes through one path that cannot panic: `info` into a full
// disk or a closed pipe panicked (exit 101). A full disk is an error; a closed pipe is the
// reader's choice.
#[cfg(target_os = "linux")]
#[test]
fn info_into_a_full_disk_or_a_closed_pipe_is_an_error_not_a_panic() {
    let full = std::fs::File::options()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = command(&["info", "--backend", "cpu"])
        .stdout(full)
        .output()
        .unwrap();
    fails_with(
        &out,
        "cannot write to standard output: No space left on device",
    );

    let mut child = command(&["info", "--json", "--backend", "cpu"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    // A reader that stopped reading (`info | head -1`) got what it wanted: quiet success.
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

// Issue 24, 11a. Only --format's refusal speaks of the extension of -o.
#[test]
fn each_folder_option_says_why_it_needs_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    for (option, why) in [
        (&["--format", "jpeg"][..], "extension of -o"),
        (&["--jobs", "2"], "a single file"),
        (&["--smooth"], "a video's frames"),
    ] {
        let mut args = vec!["mask", PHOTO, "-o", s(&out)];
        args.extend(option);
        let run = silhouette(&args);
        fails_with(&run, why);
        if option[0] != "--format" {
            assert!(!stderr(&run).contains("extension"), "{}", stderr(&run));
        }
    }
}

// Issue 24, 12. `info` reported the MACs of the graph as written (59,215,744) for the CPU
// engine, which runs the graph its passes rewrote.
#[test]
fn info_reports_the_macs_the_engine_executes() {
    let network =
        silhouette::network::Network::new(&silhouette::Weights::embedded().unwrap()).unwrap();
    let executed = silhouette::cpu::Engine::new(&network).network().macs();
    assert_ne!(executed, network.macs());
    let out = silhouette(&["info", "--json", "--backend", "cpu"]);
    ok(&out);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["macs_per_frame"], executed);
    assert_eq!(info["macs_per_frame_as_written"], network.macs());
    let passes = info["graph_passes"]
        .as_array()
        .expect("the CPU engine's passes");
    assert_eq!(passes.last().unwrap()["macs_after"], executed);
}

// Issue 24, 13. With only Mesa's llvmpipe through OpenGL, one mask took over 300 s with a cold
// shader cache (the kernels compile at their first dispatch). `--backend gpu` is refused at
// once, naming why; auto runs on the CPU.
#[test]
fn a_software_opengl_adapter_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.png");
    let only_gl = |backend: &str| {
        command(&["mask", PHOTO, "-o", s(&out), "-v", "--backend", backend])
            .env("VK_ICD_FILENAMES", "/nonexistent.json")
            .env("WGPU_BACKEND", "gl")
            // Mesa's software GL even where a hardware GL driver is installed.
            .env(
                "__EGL_VENDOR_LIBRARY_FILENAMES",
                "/usr/share/glvnd/egl_vendor.d/50_mesa.json",
            )
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .env("MESA_SHADER_CACHE_DISABLE", "true")
            .output()
            .unwrap()
    };
    fails_with(&only_gl("gpu"), "through OpenGL, a software rasterizer");
    assert!(!out.exists());
    let auto = only_gl("auto");
    assert!(auto.status.success(), "{}", stderr(&auto));
    assert!(
        stderr(&auto).contains("running on CPU"),
        "{}",
        stderr(&auto)
    );
}
