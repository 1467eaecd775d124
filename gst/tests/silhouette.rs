//! The element through gst-check's harness and real pipelines: its frames equal the library's
//! own per-frame work with the same smoothing (as the CLI's video frames do), in every format
//! and mode; the smoothing starts over after a flush; a bad picture fails with a message.

use gst::prelude::*;
use silhouette::image::{RgbImage, RgbaImage};
use silhouette::{Backend, Background, Response, Segmenter, Smoother, Smoothing, cpu};

const PHOTO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/photos/grace_hopper.jpg"
);

fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstsilhouette::plugin_register_static().expect("the plugin registers");
    });
}

/// A pan across the bundled photo: 200x150 frames.
fn clip(n: u32) -> Vec<RgbImage> {
    let photo = silhouette::image::open(PHOTO).unwrap().to_rgb8();
    (0..n)
        .map(|k| {
            silhouette::image::imageops::crop_imm(&photo, 40 + 3 * k, 60 + k, 200, 150).to_image()
        })
        .collect()
}

/// The library's frames, smoothed in order (or each alone), finished over `background`.
fn library(frames: &[RgbImage], background: &Background, smoothing: bool) -> Vec<RgbaImage> {
    let segmenter = Segmenter::new(Backend::Cpu).unwrap();
    let mut smoother = Smoother::new(Smoothing::default());
    frames
        .iter()
        .map(|frame| {
            let raw = segmenter.probabilities(frame).unwrap();
            let mask = if smoothing {
                smoother.smooth(frame, &raw).unwrap().to_vec()
            } else {
                raw
            };
            let alpha = cpu::finish::alpha(frame, &mask, true, Response::default());
            cpu::finish::compose(frame, &alpha, background)
        })
        .collect()
}

/// `frame` as BGRx bytes, and back.
fn bgrx(frame: &RgbImage) -> Vec<u8> {
    frame.pixels().flat_map(|p| [p[2], p[1], p[0], 0]).collect()
}

fn from_bgrx(bytes: &[u8], (w, h): (u32, u32)) -> RgbaImage {
    let rgba = bytes
        .chunks(4)
        .flat_map(|p| [p[2], p[1], p[0], p[3]])
        .collect();
    RgbaImage::from_raw(w, h, rgba).unwrap()
}

fn push(harness: &mut gst_check::Harness, frame: &RgbImage) -> RgbaImage {
    harness
        .push(gst::Buffer::from_mut_slice(bgrx(frame)))
        .unwrap();
    let out = harness.pull().unwrap();
    let map = out.map_readable().unwrap();
    from_bgrx(map.as_slice(), frame.dimensions())
}

#[test]
fn frames_equal_the_librarys_with_smoothing_and_start_over_after_a_flush() {
    init();
    let mut harness = gst_check::Harness::new_parse("silhouette backend=cpu mode=blur");
    harness.set_src_caps_str("video/x-raw,format=BGRx,width=200,height=150,framerate=10/1");
    let frames = clip(5);
    let blur = Background::Blur { radius: 2.0 };
    let expected = library(&frames, &blur, true);
    for (k, (frame, want)) in frames.iter().zip(&expected).enumerate() {
        let got = push(&mut harness, frame);
        // BGRx carries no alpha: the element writes 255 there, the blur's alpha is 255 too.
        assert!(got == *want, "frame {k} differs from the library's");
    }
    let alone = library(&frames[4..], &blur, false);
    assert!(alone[0] != expected[4], "smoothing changed nothing");

    assert!(harness.push_event(gst::event::FlushStart::new()));
    assert!(harness.push_event(gst::event::FlushStop::new(true)));
    harness.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
    assert!(
        push(&mut harness, &frames[4]) == alone[0],
        "the history outlived the flush"
    );

    // New caps: the history starts over too. The same picture at a new size would not look
    // like a cut to the smoothing, so only the reset makes the frame come out as it is.
    let tall = silhouette::image::imageops::resize(
        &frames[3],
        160,
        120,
        silhouette::image::imageops::FilterType::Triangle,
    );
    push(&mut harness, &frames[3]);
    harness.set_src_caps_str("video/x-raw,format=BGRx,width=160,height=120,framerate=10/1");
    // The default blur is 1% of the long side.
    let first = library(
        std::slice::from_ref(&tall),
        &Background::Blur { radius: 1.6 },
        false,
    );
    assert!(
        push(&mut harness, &tall) == first[0],
        "the history outlived the caps"
    );
}

/// Every format and mode through `videotestsrc ! silhouette ! appsink`, each frame checked
/// against the library where the format keeps what the mode makes.
#[test]
fn every_format_and_mode_runs_in_a_pipeline() {
    init();
    for format in ["RGBA", "RGBx", "BGRx", "BGRA"] {
        for mode in ["blur", "replace", "cut", "mask"] {
            let description = format!(
                "videotestsrc num-buffers=3 pattern=ball ! video/x-raw,format={format},width=96,height=64 \
                 ! silhouette mode={mode} backend=cpu background-color=0x2e7d32 ! appsink name=sink sync=false"
            );
            let frames = run(&description);
            assert_eq!(frames.len(), 3, "{format} {mode}");
            let first = &frames[0];
            match mode {
                "mask" => assert!(
                    first
                        .chunks(4)
                        .all(|p| p[0] == p[1] && p[1] == p[2] && p[3] == 255)
                ),
                "cut" if format.ends_with('x') => assert!(first.chunks(4).all(|p| p[3] == 255)),
                // No person in a test pattern: much of the cut-out is transparent (an eighth at least).
                "cut" => assert!(
                    first.chunks(4).filter(|p| p[3] == 0).count() > first.len() / 32,
                    "{format}"
                ),
                // ... and much of the frame is the background colour.
                "replace" => {
                    let green = if format.starts_with("BGR") {
                        [0x32, 0x7d, 0x2e]
                    } else {
                        [0x2e, 0x7d, 0x32]
                    };
                    assert!(
                        first.chunks(4).filter(|p| p[..3] == green).count() > first.len() / 32,
                        "{format}"
                    );
                }
                _ => {}
            }
        }
    }
}

/// The GPU backend (lavapipe in CI, where a missing adapter fails the test) gives the CPU's
/// frames within the engines' rounding.
#[test]
fn the_gpu_backend_matches_the_cpu() {
    init();
    let worst = worst_difference("backend=cpu", "backend=gpu");
    assert!(worst <= 2, "GPU frames differ from the CPU's by {worst}");
}

/// The largest difference between two frames of a cut-out of the test pattern with the
/// element's `a` and `b` settings (each run must give both frames).
fn worst_difference(a: &str, b: &str) -> u8 {
    let frames = |settings: &str| {
        let frames = run(&format!(
            "videotestsrc num-buffers=2 pattern=smpte ! video/x-raw,format=RGBA,width=96,height=64 \
             ! silhouette mode=cut {settings} ! appsink name=sink sync=false"
        ));
        assert_eq!(frames.len(), 2, "{settings}");
        frames
    };
    let (a, b) = (frames(a), frames(b));
    let pairs = a.iter().flatten().zip(b.iter().flatten());
    pairs.map(|(a, b)| a.abs_diff(*b)).max().unwrap()
}

/// A frame on the streaming thread alone is the frame split across the cores (a gate's channel
/// means are summed in another order: a level at most).
#[test]
fn one_cpu_thread_matches_every_core() {
    init();
    let worst = worst_difference("backend=cpu cpu-threads=all", "backend=cpu cpu-threads=one");
    assert!(worst <= 1, "one thread's frames differ by {worst}");
}

#[test]
fn a_missing_background_picture_is_an_error_naming_it() {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=1 ! silhouette mode=replace backend=cpu \
         background-location=/nonexistent/beach.jpg ! fakesink",
    )
    .unwrap();
    let failed = pipeline.set_state(gst::State::Playing);
    let bus = pipeline.bus().unwrap();
    let message = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(300),
        &[gst::MessageType::Error],
    );
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(failed.is_err() || message.is_some());
    let gst::MessageView::Error(error) = message.as_ref().expect("an error message").view() else {
        unreachable!()
    };
    assert!(
        error.error().to_string().contains("/nonexistent/beach.jpg"),
        "{}",
        error.error()
    );
}

/// The frames a pipeline's appsink `sink` got, as bytes, once it reached the end.
fn run(description: &str) -> Vec<Vec<u8>> {
    let pipeline = gst::parse::launch(description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let sink = pipeline
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        let buffer = sample.buffer().unwrap();
        frames.push(buffer.map_readable().unwrap().as_slice().to_vec());
    }
    let bus = pipeline.bus().unwrap();
    let error = bus.pop_filtered(&[gst::MessageType::Error]);
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(error.is_none(), "{description}: {error:?}");
    frames
}
