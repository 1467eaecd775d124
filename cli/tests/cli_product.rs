//! The product verbs and options, through the built binary on bundled photos: outputs exist with
//! the right size and alpha; bad input exits 2 with a message and leaves nothing behind.

mod common;
use common::*;
use image::{GenericImageView, Rgb, RgbImage};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PHOTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/photos/grace_hopper.jpg"
);

fn silhouette(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_silhouette"))
        .args(args)
        .output()
        .expect("run silhouette")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} not in {stderr:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn blur_is_opaque_at_full_size_and_radius_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (soft, strong) = (dir.path().join("soft.png"), dir.path().join("strong.png"));
    ok(&silhouette(&[
        "blur",
        PHOTO,
        "-o",
        s(&soft),
        "--backend",
        "cpu",
    ]));
    ok(&silhouette(&[
        "blur",
        PHOTO,
        "-o",
        s(&strong),
        "--radius",
        "25",
        "--backend",
        "cpu",
    ]));
    let (a, b) = (image::open(&soft).unwrap(), image::open(&strong).unwrap());
    assert_eq!(a.dimensions(), image::open(PHOTO).unwrap().dimensions());
    assert!(a.to_rgba8().pixels().all(|p| p.0[3] == 255));
    assert_ne!(
        a.to_rgba8().get_pixel(30, 30),
        b.to_rgba8().get_pixel(30, 30)
    );
}

#[test]
fn replace_with_a_colour_or_a_picture() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("green.png");
    ok(&silhouette(&[
        "replace",
        PHOTO,
        "-o",
        s(&out),
        "--color",
        "#2e7d32",
    ]));
    let img = image::open(&out).unwrap().to_rgba8();
    let corner = img.get_pixel(3, 3).0;
    assert!(
        corner[0].abs_diff(0x2e) <= 3
            && corner[1].abs_diff(0x7d) <= 3
            && corner[2].abs_diff(0x32) <= 3,
        "{corner:?}"
    );

    let bg = dir.path().join("bg.png");
    RgbImage::from_pixel(40, 10, Rgb([250, 0, 250]))
        .save(&bg)
        .unwrap();
    let out = dir.path().join("magenta.jpg");
    ok(&silhouette(&[
        "replace",
        PHOTO,
        "-o",
        s(&out),
        "--image",
        s(&bg),
    ]));
    let img = image::open(&out).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), image::open(PHOTO).unwrap().dimensions());
    assert!(
        img.get_pixel(3, 3).0[1] < 30,
        "magenta background shows in the corner"
    );
}

#[test]
fn replace_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    fails_with(
        &silhouette(&["replace", PHOTO, "-o", s(&out), "--color", "#GG0000"]),
        "not a colour",
    );
    fails_with(&silhouette(&["replace", PHOTO, "-o", s(&out)]), "--color");
    fails_with(
        &silhouette(&[
            "replace",
            PHOTO,
            "-o",
            s(&out),
            "--color",
            "#000000",
            "--image",
            PHOTO,
        ]),
        "cannot be used",
    );
    fails_with(
        &silhouette(&[
            "replace",
            PHOTO,
            "-o",
            s(&out),
            "--image",
            s(&dir.path().join("nope.png")),
        ]),
        "nope.png",
    );
    fails_with(
        &silhouette(&["blur", PHOTO, "-o", s(&out), "--radius", "0"]),
        "radius",
    );
    fails_with(
        &silhouette(&["cut", PHOTO, "-o", s(&out), "--threshold", "1.5"]),
        "--threshold",
    );
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn cut_to_jpeg_goes_onto_white_and_refinement_can_be_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = dir.path().join("cut.jpg");
    ok(&silhouette(&["cut", PHOTO, "-o", s(&jpeg)]));
    let corner = image::open(&jpeg).unwrap().to_rgb8().get_pixel(3, 3).0;
    assert!(corner.iter().all(|c| *c > 240), "{corner:?}");

    let (refined, plain) = (dir.path().join("refined.png"), dir.path().join("plain.png"));
    ok(&silhouette(&["cut", PHOTO, "-o", s(&refined)]));
    ok(&silhouette(&[
        "cut",
        PHOTO,
        "-o",
        s(&plain),
        "--no-refine",
        "--softness",
        "1",
    ]));
    let alpha = |p: &Path| {
        image::open(p)
            .unwrap()
            .to_rgba8()
            .pixels()
            .map(|p| p.0[3])
            .collect::<Vec<_>>()
    };
    assert_ne!(alpha(&refined), alpha(&plain));
    // --no-refine with softness 1 (no response curve) is the bilinear mask of `mask`.
    let mask = dir.path().join("mask.png");
    ok(&silhouette(&["mask", PHOTO, "-o", s(&mask)]));
    let mask = image::open(&mask).unwrap().to_luma8().into_raw();
    assert_eq!(alpha(&plain), mask);
    // The default response: the mask's 25%..75% ramped over 0..255, the rest cut.
    let curved = dir.path().join("curved.png");
    ok(&silhouette(&[
        "cut",
        PHOTO,
        "-o",
        s(&curved),
        "--no-refine",
    ]));
    for (m, a) in mask.iter().zip(alpha(&curved)) {
        let want = ((*m as f32 / 255.0 - 0.25) * 2.0 * 255.0 + 0.5).clamp(0.0, 255.0);
        assert!(
            (a as f32 - want).abs() <= 2.5,
            "mask {m}: alpha {a}, want {want}"
        );
    }
}

#[test]
fn a_folder_keeps_going_past_a_bad_file_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir(&input).unwrap();
    for name in ["a.jpg", "b.png", "c.webp"] {
        image::open(PHOTO)
            .unwrap()
            .to_rgb8()
            .save(input.join(name))
            .unwrap();
    }
    std::fs::write(input.join("broken.jpg"), "not a photo").unwrap();
    std::fs::write(input.join("notes.txt"), "ignored: not a photo name").unwrap();
    let before: Vec<Vec<u8>> = files_in(&input)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();

    let out = silhouette(&["cut", s(&input), "-o", s(&output), "--jobs", "2"]);
    fails_with(&out, "broken.jpg");
    fails_with(&out, "1 of 4 files failed");
    let written: Vec<String> = files_in(&output)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written, ["a.png", "b.png", "c.png"]);
    for p in files_in(&output) {
        assert_eq!(image::open(&p).unwrap().color(), image::ColorType::Rgba8);
    }
    let after: Vec<Vec<u8>> = files_in(&input)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(before, after, "inputs untouched");

    let jpegs = dir.path().join("jpegs");
    ok(&silhouette(&[
        "blur",
        s(&output),
        "-o",
        s(&jpegs),
        "--format",
        "jpeg",
    ]));
    assert_eq!(files_in(&jpegs).len(), 3);
}

/// The largest difference between a `mask --raw` output (16-bit) and the probabilities it holds.
fn raw_mask_difference(written: &Path, expected: &[f32]) -> f32 {
    let written = image::open(written).unwrap().to_luma16();
    assert_eq!(written.len(), expected.len());
    written
        .pixels()
        .zip(expected)
        .map(|(w, p)| (w.0[0] as f32 / 65535.0 - p).abs())
        .fold(0.0f32, f32::max)
}

/// A video's frames, smoothed: the folder runs `--jobs` frames at a time as one batch, and must
/// give what the library's `Stream` gives frame by frame, in order. A broken frame in the middle
/// is reported and skipped, as a `Stream` never sees it.
fn smoothed_folder_matches_a_stream(backend: &str) {
    let Some(segmenter) = segmenter(backend.parse().unwrap()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("frames"), dir.path().join("masks"));
    std::fs::create_dir(&input).unwrap();
    // Nine frames, batches of 4, 4, 1: one scene with a webcam's noise (smoothing blends these),
    // a cut to another, and that one noisy too.
    let noisy = |name: &str, seed: u32| {
        let mut f = frame(name);
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        for v in f.iter_mut() {
            // xorshift noise of +-12
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *v = (*v as i32 + (state % 25) as i32 - 12).clamp(0, 255) as u8;
        }
        f
    };
    let frames: Vec<RgbImage> = (0..6)
        .map(|seed| noisy("grace_hopper", seed))
        .chain((0..3).map(|seed| noisy("astronaut", seed)))
        .collect();
    for (i, f) in frames.iter().enumerate() {
        f.save(input.join(format!("{i:04}.png"))).unwrap();
    }
    std::fs::write(input.join("0004a.png"), b"not a png").unwrap();
    let out = silhouette(&[
        "mask",
        s(&input),
        "-o",
        s(&output),
        "--raw",
        "--smooth",
        "--jobs",
        "4",
        "--backend",
        backend,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0004a.png"), "{stderr}");
    let mut stream = silhouette::Stream::new(&segmenter, silhouette::Smoothing::default());
    for (i, f) in frames.iter().enumerate() {
        let worst =
            raw_mask_difference(&output.join(format!("{i:04}.png")), stream.next(f).unwrap());
        // Rounded to 16 bits; the batch's arithmetic per frame is the single frame's.
        assert!(worst <= 1e-4, "{backend} frame {i}: {worst}");
    }
    assert_eq!(files_in(&output).len(), frames.len());
}

#[test]
fn a_folder_as_video_frames_with_smoothing_on_the_cpu() {
    smoothed_folder_matches_a_stream("cpu");
}

#[test]
fn a_folder_as_video_frames_with_smoothing_on_the_gpu() {
    smoothed_folder_matches_a_stream("gpu");
}

#[test]
fn a_folder_of_masks_on_the_gpu_runs_its_photos_in_flight_as_batches() {
    let Some(alone) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("photos"), dir.path().join("masks"));
    std::fs::create_dir(&input).unwrap();
    let frames: Vec<RgbImage> = FRAMES.iter().chain(&FRAMES).map(|n| frame(n)).collect();
    for (i, f) in frames.iter().enumerate() {
        f.save(input.join(format!("{i}.png"))).unwrap();
    }
    ok(&silhouette(&[
        "mask",
        s(&input),
        "-o",
        s(&output),
        "--raw",
        "--jobs",
        "4",
        "--backend",
        "gpu",
    ]));
    for (i, f) in frames.iter().enumerate() {
        let expected = alone.probabilities(f).unwrap();
        let worst = raw_mask_difference(&output.join(format!("{i}.png")), &expected);
        assert!(worst <= 1e-4, "photo {i}: {worst}");
    }
}

#[test]
fn writing_into_the_input_folder_never_overwrites_a_photo() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("me.png");
    image::open(PHOTO).unwrap().save(&photo).unwrap();
    let before = std::fs::read(&photo).unwrap();
    let out = silhouette(&["cut", s(dir.path()), "-o", s(dir.path())]);
    fails_with(&out, "the output folder is the input folder");
    assert_eq!(std::fs::read(&photo).unwrap(), before);
}

/// A JPEG whose EXIF says "rotate 90 degrees clockwise" (orientation 6).
fn jpeg_with_orientation_6(path: &Path, w: u32, h: u32) {
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb([120, 90, 60])))
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    // APP1: "Exif\0\0", little-endian TIFF header, one IFD entry: Orientation (0x0112) = 6.
    let tiff: [u8; 26] = [
        b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0,
    ];
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    jpeg.splice(2..2, app1);
    std::fs::write(path, jpeg).unwrap();
}

#[test]
fn exif_orientation_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let (input, out) = (
        dir.path().join("sideways.jpg"),
        dir.path().join("upright.png"),
    );
    jpeg_with_orientation_6(&input, 40, 20);
    ok(&silhouette(&[
        "cut",
        s(&input),
        "-o",
        s(&out),
        "--backend",
        "cpu",
    ]));
    assert_eq!(image::open(&out).unwrap().dimensions(), (20, 40));
}

#[test]
fn grayscale_16_bit_and_tiny_photos_work() {
    let dir = tempfile::tempdir().unwrap();
    let gray = dir.path().join("gray.png");
    image::open(PHOTO).unwrap().to_luma8().save(&gray).unwrap();
    let deep = dir.path().join("deep.png");
    image::DynamicImage::ImageRgb16(image::open(PHOTO).unwrap().to_rgb16())
        .save(&deep)
        .unwrap();
    let tiny = dir.path().join("tiny.png");
    RgbImage::from_pixel(1, 1, Rgb([1, 2, 3]))
        .save(&tiny)
        .unwrap();
    for input in [&gray, &deep, &tiny] {
        let out = dir.path().join(format!(
            "out-{}",
            input.file_name().unwrap().to_string_lossy()
        ));
        ok(&silhouette(&[
            "cut",
            s(input),
            "-o",
            s(&out),
            "--backend",
            "cpu",
        ]));
        assert_eq!(
            image::open(&out).unwrap().dimensions(),
            image::open(input).unwrap().dimensions()
        );
    }
}

#[test]
fn too_large_a_photo_fails_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.png");
    image::GrayImage::new(16385, 1).save(&wide).unwrap();
    let out = silhouette(&["cut", s(&wide), "-o", s(&dir.path().join("out.png"))]);
    fails_with(&out, "16385x1");
    fails_with(&out, "16384");
    assert!(!dir.path().join("out.png").exists());
}

/// The largest accepted photo, 16384 x 16384 (268 megapixels), end to end.
#[test]
fn the_largest_photo_works() {
    let dir = tempfile::tempdir().unwrap();
    let (big, out) = (dir.path().join("big.png"), dir.path().join("big-cut.png"));
    let w = silhouette::imageio::MAX_SIDE;
    image::GrayImage::from_fn(w, w, |x, y| {
        image::Luma([((x / 1024 + y / 1024) % 2 * 200) as u8])
    })
    .save(&big)
    .unwrap();
    ok(&silhouette(&["cut", s(&big), "-o", s(&out)]));
    assert_eq!(image::image_dimensions(&out).unwrap(), (w, w));
}

#[test]
fn mask_refine_and_f16_weights_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, refined) = (dir.path().join("plain.png"), dir.path().join("refined.png"));
    ok(&silhouette(&["mask", PHOTO, "-o", s(&plain)]));
    ok(&silhouette(&["mask", PHOTO, "-o", s(&refined), "--refine"]));
    let (a, b) = (
        image::open(&plain).unwrap().to_luma8(),
        image::open(&refined).unwrap().to_luma8(),
    );
    assert_eq!(a.dimensions(), b.dimensions());
    assert_ne!(a, b, "--refine changes the edges");
    // f16 weights are exact, so the result equals f32's wherever the adapter has SHADER_F16
    // (elsewhere the binary says it falls back to f32, and the result is equal all the same).
    let (f32_out, f16_out) = (dir.path().join("f32.png"), dir.path().join("f16.png"));
    ok(&silhouette(&[
        "cut",
        PHOTO,
        "-o",
        s(&f32_out),
        "--backend",
        "auto",
        "--precision",
        "f32",
    ]));
    ok(&silhouette(&[
        "cut",
        PHOTO,
        "-o",
        s(&f16_out),
        "--backend",
        "auto",
        "--precision",
        "f16",
    ]));
    assert_eq!(
        image::open(&f32_out).unwrap().to_rgba8(),
        image::open(&f16_out).unwrap().to_rgba8()
    );
}
