//! The CPU reference against MediaPipe's own runtime, on every golden frame.

mod common;
use common::*;
use silhouette::{Backend, Segmenter};

#[test]
fn cpu_reference_matches_mediapipe() {
    let segmenter = Segmenter::new(Backend::Cpu).unwrap();
    let mut worst = 0.0f32;
    for name in FRAMES {
        let ours = segmenter.probabilities(&frame(name)).unwrap();
        let diff = max_abs_diff(&ours, &golden(name));
        println!("{name}: max |ours - MediaPipe| = {diff:.2e}");
        assert!(diff <= 5e-4, "{name}: {diff}");
        worst = worst.max(diff);
    }
    println!("worst: {worst:.2e}");
}
