//! The verbs on video files, through the built binary and FFmpeg (tools/test.sh installs it;
//! these tests fail without it). The lossless clips (FFV1 in and out, or PNG frames) must equal
//! the library's own per-frame work with the same smoothing, byte for byte.

mod common;

use common::run::*;
use common::video::*;
use silhouette::image::{RgbImage, RgbaImage};
use silhouette::{Backend, Background, Response, Segmenter, Smoother, Smoothing, cpu};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One ffprobe field of the first stream of `kind` ("v" or "a"), or "" if there is none.
fn probe(path: &Path, kind: &str, field: &str) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            &format!("{kind}:0"),
        ])
        .args([
            "-show_entries",
            &format!("stream={field}:stream_tags={field}"),
        ])
        .args(["-of", "default=noprint_wrappers=1:nokey=1"])
        .arg(path)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Every frame of `path` as raw `pix_fmt` bytes.
fn decode(path: &Path, pix_fmt: &str) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i", s(path)])
        .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"])
        .output()
        .expect("ffmpeg");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A pan across the bundled photo (200x150, 6 frames at 10 fps) saved as PNGs and as a
/// lossless FFV1 clip with a tone as PCM audio.
fn panning_clip(dir: &Path) -> (Vec<RgbImage>, PathBuf) {
    let photo = silhouette::image::open(PHOTO).unwrap().to_rgb8();
    let frames: Vec<RgbImage> = (0..6u32)
        .map(|k| {
            silhouette::image::imageops::crop_imm(&photo, 40 + 3 * k, 60 + k, 200, 150).to_image()
        })
        .collect();
    for (k, frame) in frames.iter().enumerate() {
        frame.save(dir.join(format!("in{k:03}.png"))).unwrap();
    }
    let clip = dir.join("clip.mkv");
    let pattern = dir.join("in%03d.png");
    ffmpeg(&[
        "-framerate",
        "10",
        "-i",
        s(&pattern),
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=0.6",
        "-c:v",
        "ffv1",
        "-pix_fmt",
        "bgr0",
        "-c:a",
        "pcm_s16le",
        s(&clip),
    ]);
    (frames, clip)
}

/// What the library makes of the frames in order, smoothed as a video: the CLI's defaults.
fn library_frames(frames: &[RgbImage], background: &Background) -> Vec<RgbaImage> {
    let segmenter = Segmenter::new(Backend::Cpu).unwrap();
    let mut smoother = Smoother::new(Smoothing::default());
    frames
        .iter()
        .map(|frame| {
            let raw = segmenter.probabilities(frame).unwrap();
            let smoothed = smoother.smooth(frame, &raw).unwrap();
            let alpha = cpu::finish::alpha(frame, smoothed, true, Response::default());
            cpu::finish::compose(frame, &alpha, background)
        })
        .collect()
}

#[test]
fn a_lossless_clip_is_blurred_as_the_library_blurs_its_frames_and_keeps_its_audio() {
    let dir = tempfile::tempdir().unwrap();
    let (frames, clip) = panning_clip(dir.path());
    let out = dir.path().join("blurred.mkv");
    ok(&on_cpu("blur", &clip, &out, &[]));
    let expected: Vec<u8> = library_frames(&frames, &Background::Blur { radius: 2.0 })
        .into_iter()
        .flat_map(|f| f.into_raw())
        .collect();
    let got = decode(&out, "rgba");
    assert_eq!(
        got.len(),
        expected.len(),
        "frames: {} of {}",
        got.len() / (200 * 150 * 4),
        frames.len()
    );
    assert!(
        got == expected,
        "the CLI's frames differ from the library's"
    );
    assert_eq!(
        probe(&out, "a", "codec_name"),
        "pcm_s16le",
        "the audio was not kept as it is"
    );
    let smoothed_away = library_frames(&frames[5..], &Background::Blur { radius: 2.0 });
    assert!(
        smoothed_away[0].as_raw()[..] != got[got.len() - smoothed_away[0].len()..],
        "smoothing changed nothing"
    );
}

#[test]
fn a_cut_out_keeps_its_alpha_in_png_frames_webm_and_prores_and_refuses_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let (frames, clip) = panning_clip(dir.path());
    let folder = dir.path().join("frames");
    ok(&on_cpu("cut", &clip, &folder, &[]));
    let expected = library_frames(&frames, &Background::Transparent);
    for (k, want) in expected.iter().enumerate() {
        let got = silhouette::image::open(folder.join(format!("{:06}.png", k + 1)))
            .unwrap()
            .to_rgba8();
        assert!(
            got == *want,
            "PNG frame {} differs from the library's cut",
            k + 1
        );
    }
    assert!(
        expected[0].pixels().any(|p| p[3] == 0),
        "nothing was cut away"
    );
    // Only the frames: the run's hidden folder is gone.
    let names: Vec<PathBuf> = (1..=expected.len())
        .map(|k| folder.join(format!("{k:06}.png")))
        .collect();
    assert_eq!(files_in(&folder), names);

    let webm = dir.path().join("cut.webm");
    ok(&on_cpu("cut", &clip, &webm, &[]));
    assert_eq!(probe(&webm, "v", "alpha_mode"), "1");
    let mov = dir.path().join("cut.mov");
    ok(&on_cpu("cut", &clip, &mov, &[]));
    assert!(
        probe(&mov, "v", "pix_fmt").starts_with("yuva444p"),
        "{}",
        probe(&mov, "v", "pix_fmt")
    );
    // Decoded, the ProRes alpha is the cut's, within its 4:4:4 rounding.
    let alpha: Vec<u8> = decode(&mov, "rgba").chunks(4).map(|p| p[3]).collect();
    let want: Vec<u8> = expected
        .iter()
        .flat_map(|f| f.pixels().map(|p| p[3]))
        .collect();
    let worst = alpha
        .iter()
        .zip(&want)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 2, "ProRes alpha off by {worst}");

    let mp4 = dir.path().join("cut.mp4");
    fails_with(
        &silhouette(&["cut", s(&clip), "-o", s(&mp4)]),
        "has no transparency",
    );
    assert!(!mp4.exists());
}

#[test]
fn an_mp4_from_testsrc_goes_through_every_verb_with_its_audio() {
    let dir = tempfile::tempdir().unwrap();
    // A colon and a space in the name: FFmpeg must not take "take 10" for a protocol.
    let clip = dir.path().join("take 10:30.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=10",
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        s(&clip),
    ]);
    for (verb, extra, name) in [
        ("blur", vec!["--radius", "4"], "blur.mp4"),
        ("replace", vec!["--color", "#2e7d32"], "replace.mov"),
        ("mask", vec!["--refine"], "mask.mkv"),
    ] {
        let out = dir.path().join(name);
        let mut args = vec![verb, s(&clip), "-o", s(&out), "--backend", "cpu"];
        args.extend(extra);
        ok(&silhouette(&args));
        assert_eq!(probe(&out, "v", "nb_read_frames"), "10", "{name}");
        assert_eq!(probe(&out, "v", "width"), "160", "{name}");
        assert_eq!(probe(&out, "a", "codec_name"), "aac", "{name}: the audio");
    }
    assert_eq!(probe(&dir.path().join("mask.mkv"), "v", "pix_fmt"), "gray");
}

#[test]
fn hostile_videos_get_one_clear_line_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    h264_testsrc(&d("whole.mp4"), "160x120", 3);
    let whole = std::fs::read(d("whole.mp4")).unwrap();
    std::fs::write(d("truncated.mp4"), &whole[..whole.len() * 2 / 3]).unwrap();
    std::fs::write(d("header-only.mp4"), &whole[..whole.len() / 20]).unwrap();
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=duration=1",
        "-c:a",
        "aac",
        s(&d("audio-only.mp4")),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=5",
        "-t",
        "1",
        "-vf",
        "scale=1:1",
        "-c:v",
        "ffv1",
        s(&d("one-pixel.mkv")),
    ]);
    // Zero seconds of video: FFmpeg writes an MP4 without the stream.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=64x48:rate=10",
        "-t",
        "0",
        s(&d("zero-length.mp4")),
    ]);
    // A frame wider than any photo may be: a Y4M header and one grey frame, written by hand.
    let (w, h) = (16386, 2);
    let mut wide = format!("YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\nFRAME\n").into_bytes();
    wide.resize(wide.len() + w * h + 2 * w.div_ceil(2) * h.div_ceil(2), 128);
    std::fs::write(d("too-wide.y4m"), wide).unwrap();
    for (input, needle) in [
        ("too-wide.y4m", "sides from 1 to 16384 pixels"),
        ("truncated.mp4", "breaks off after"),
        ("header-only.mp4", "FFmpeg cannot read it"),
        ("audio-only.mp4", "no video stream"),
        ("one-pixel.mkv", "1x1 pixels are too small"),
        ("zero-length.mp4", "no video stream"),
    ] {
        let out = d(&format!("out-{input}.mkv"));
        let run = silhouette(&["blur", s(&d(input)), "-o", s(&out), "--backend", "cpu"]);
        fails_with(&run, input);
        fails_with(&run, needle);
        assert_eq!(stderr(&run).lines().count(), 1, "{}", stderr(&run));
        assert!(!out.exists(), "{input} left {}", out.display());
    }
    fails_with(
        &silhouette(&["blur", s(&d("whole.mp4")), "-o", s(&d("whole.mp4"))]),
        "refusing to overwrite",
    );
    let no_ffmpeg = command(&["blur", s(&d("whole.mp4")), "-o", s(&d("x.mp4"))])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    fails_with(&no_ffmpeg, "apt install ffmpeg");
    let left: Vec<String> = files_in(dir.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        [
            "audio-only.mp4",
            "header-only.mp4",
            "one-pixel.mkv",
            "too-wide.y4m",
            "truncated.mp4",
            "whole.mp4",
            "zero-length.mp4"
        ]
    );
}

/// A phone's portrait video is stored landscape with a rotation: it comes out upright.
#[test]
fn a_rotated_video_comes_out_upright() {
    let dir = tempfile::tempdir().unwrap();
    let stored = dir.path().join("stored.mp4");
    h264_testsrc(&stored, "160x120", 1);
    let rotated = dir.path().join("rotated.mp4");
    ffmpeg(&[
        "-i",
        s(&stored),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        s(&rotated),
    ]);
    let out = dir.path().join("upright.mkv");
    ok(&on_cpu("mask", &rotated, &out, &[]));
    assert_eq!(
        (probe(&out, "v", "width"), probe(&out, "v", "height")),
        ("120".into(), "160".into())
    );
}

/// A variable frame rate (frames 1/30 s apart, then 1/10 s) comes out at a constant rate
/// that keeps its timing: as long as the input, every frame there.
#[test]
fn a_variable_frame_rate_comes_out_at_a_constant_rate() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("vfr.mkv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=96x64:rate=30",
        "-frames:v",
        "30",
        "-vf",
        "setpts='if(lt(N,15),N/30,15/30+(N-15)/10)/TB'",
        "-fps_mode",
        "vfr",
        "-c:v",
        "ffv1",
        s(&clip),
    ]);
    let out = dir.path().join("out.mkv");
    ok(&on_cpu("mask", &clip, &out, &[]));
    let duration = |p: &Path| {
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "default=nw=1:nk=1",
                s(p),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .unwrap()
    };
    let (before, after) = (duration(&clip), duration(&out));
    assert!((before - after).abs() < 0.2, "{before} s in, {after} s out");
    let frames: f64 = probe(&out, "v", "nb_read_frames").parse().unwrap();
    let rate = probe(&out, "v", "avg_frame_rate");
    assert!(frames >= 30.0, "{frames} frames at {rate}");
}

/// PNG frames: a file the run reads, inside the folder under a frame's name, is refused rather
/// than overwritten; a run that breaks off leaves the folder as it found it (what was there
/// stays, even under a frame's name) and removes a folder it made.
#[test]
fn png_frames_never_overwrite_an_input_and_a_failed_run_leaves_the_folder_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    h264_testsrc(&d("whole.mp4"), "96x64", 3);
    let whole = std::fs::read(d("whole.mp4")).unwrap();
    std::fs::write(d("truncated.mp4"), &whole[..whole.len() * 2 / 3]).unwrap();

    // The background picture lives in the frames folder, named as the second frame would be.
    std::fs::create_dir(d("frames")).unwrap();
    let picture = d("frames").join("000002.png");
    RgbImage::from_pixel(8, 8, silhouette::image::Rgb([200, 30, 30]))
        .save(&picture)
        .unwrap();
    let before = std::fs::read(&picture).unwrap();
    let run = silhouette(&[
        "replace",
        s(&d("whole.mp4")),
        "-o",
        s(&d("frames")),
        "--image",
        s(&picture),
        "--backend",
        "cpu",
    ]);
    fails_with(&run, "000002.png");
    assert_eq!(
        std::fs::read(&picture).unwrap(),
        before,
        "the input was touched"
    );
    assert_eq!(files_in(&d("frames")), std::slice::from_ref(&picture));

    // A stream that breaks off: into the same folder (its own file stays), and into a new one.
    for out in [d("frames"), d("new-frames")] {
        let run = silhouette(&[
            "blur",
            s(&d("truncated.mp4")),
            "-o",
            s(&out),
            "--backend",
            "cpu",
        ]);
        fails_with(&run, "breaks off after");
    }
    assert_eq!(files_in(&d("frames")), [picture]);
    assert!(!d("new-frames").exists(), "a failed run left its folder");
    assert_eq!(
        std::fs::read(d("frames").join("000002.png")).unwrap(),
        before
    );
}
