//! The whole network against MediaPipe's own runtime, on every golden frame and every backend.

mod common;
use common::*;
use silhouette::Segmenter;

backend_test!(matches_mediapipe, |segmenter: Segmenter, backend: &str| {
    let mut worst = 0.0f32;
    for name in FRAMES {
        let ours = segmenter.probabilities(&frame(name)).unwrap();
        let diff = max_abs_diff(&ours, &golden(name));
        println!("{backend} {name}: max |ours - MediaPipe| = {diff:.2e}");
        assert!(diff <= 5e-4, "{backend} {name}: {diff}");
        worst = worst.max(diff);
    }
    println!("{backend} worst: {worst:.2e}");
});

backend_test!(
    resized_input_gives_a_sensible_mask,
    |segmenter: Segmenter, backend: &str| {
        // A non-square photo goes through the resize path on both backends and agrees with the CPU.
        let photo = image::open(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/photos/grace_hopper.jpg"
        ))
        .unwrap()
        .to_rgb8();
        let reference = silhouette::Segmenter::new(silhouette::Backend::Cpu)
            .unwrap()
            .probabilities(&photo)
            .unwrap();
        let ours = segmenter.probabilities(&photo).unwrap();
        let diff = max_abs_diff(&ours, &reference);
        assert!(diff <= 5e-4, "{backend}: {diff}");
        let mask = segmenter.segment(&photo).unwrap().to_luma8();
        assert_eq!(mask.dimensions(), photo.dimensions());
        assert!(mask.get_pixel(photo.width() / 2, photo.height() / 2).0[0] > 200);
    }
);

#[test]
fn segmenter_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Segmenter>();
}

#[test]
fn gpu_segmenter_shared_between_threads_agrees_with_itself() {
    let Some(segmenter) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let frames: Vec<_> = FRAMES.iter().map(|n| frame(n)).collect();
    let single: Vec<Vec<f32>> = frames
        .iter()
        .map(|f| segmenter.probabilities(f).unwrap())
        .collect();
    std::thread::scope(|scope| {
        for (f, expected) in frames.iter().zip(&single) {
            let segmenter = &segmenter;
            scope.spawn(move || assert_eq!(&segmenter.probabilities(f).unwrap(), expected));
        }
    });
}

#[test]
fn gpu_plan_is_compact() {
    let Some(segmenter) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let stats = segmenter.plan_stats().unwrap();
    println!("{stats:#?}");
    // One dispatch per node plus preprocessing; the arena reuses buffers across layers.
    assert_eq!(
        stats.dispatches_per_frame,
        segmenter.network().nodes.len() + 1
    );
    assert!(stats.arena_bytes * 3 < stats.unshared_bytes, "{stats:?}");
}
