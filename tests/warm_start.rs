//! `Options::first_frames_on_cpu`: the segmenter answers on the CPU engine at once while its GPU
//! engine is made on another thread, then moves there. Checked against an independent
//! reference: a CPU-only segmenter and stream fed the same frames (the engines agree with
//! MediaPipe's goldens to ~3e-5, tests/golden.rs).

mod common;

use common::{FRAMES, frame, golden, max_abs_diff};
use silhouette::cpu::finish::alpha;
use silhouette::{Backend, Background, Options, Response, Segmenter, Smoothing, Stream, Weights};

#[test]
fn frames_move_to_the_gpu_when_it_is_made_and_the_smoothing_carries_on() {
    let options = Options {
        backend: Backend::Gpu,
        first_frames_on_cpu: true,
        ..Options::default()
    };
    let warming = Segmenter::with_options(&Weights::embedded().unwrap(), options).unwrap();
    let reference = Segmenter::new(Backend::Cpu).unwrap();
    // The first frame does not wait for the GPU: it is the CPU's, or the GPU's if it was quick.
    let first = warming.probabilities(&frame(FRAMES[0])).unwrap();
    eprintln!("the first frame ran on {}", warming.device_description());
    assert!(max_abs_diff(&first, &golden(FRAMES[0])) < 5e-4);
    let frames: Vec<_> = FRAMES.iter().cycle().take(8).map(|n| frame(n)).collect();
    let (mut stream, mut plain) = (
        Stream::new(&warming, Smoothing::default()),
        Stream::new(&reference, Smoothing::default()),
    );
    for (i, f) in frames.iter().enumerate() {
        if i == 4 {
            match warming.wait_for_gpu() {
                Ok(()) => assert_eq!(warming.backend(), Backend::Gpu),
                Err(e) if std::env::var("SILHOUETTE_REQUIRE_GPU").as_deref() != Ok("1") => {
                    eprintln!("SKIPPED the move to the GPU: {e}");
                    return;
                }
                Err(e) => panic!("the GPU engine was not made: {e}"),
            }
            assert!(warming.device_description().starts_with("GPU: "));
        }
        let smoothed = stream.next(f).unwrap().to_vec();
        let want = plain.next(f).unwrap();
        let diff = max_abs_diff(&smoothed, want);
        assert!(diff < 1e-3, "frame {i}: smoothed masks differ by {diff}");
    }
    // A response set on the segmenter reaches the GPU engine it moved to: its cut-out's alpha
    // is the CPU finish's with that response.
    for response in [Response::NONE, Response::default()] {
        warming.set_response(response).unwrap();
        let photo = frame(FRAMES[1]);
        let cut = warming
            .compose(&photo, &Background::Transparent, true)
            .unwrap();
        let probabilities = reference.probabilities(&photo).unwrap();
        let want = alpha(&photo, &probabilities, true, response);
        let worst = cut
            .pixels()
            .zip(want.pixels())
            .map(|(c, w)| c.0[3].abs_diff(w.0[0]))
            .max()
            .unwrap();
        assert!(worst <= 2, "{response:?}: alpha differs by {worst} levels");
    }
}
