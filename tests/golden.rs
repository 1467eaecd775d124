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

backend_test!(
    a_batch_gives_each_frame_its_own_mask,
    |_segmenter: Segmenter, backend: &str| {
        // Room for 3 frames at once: the 4 golden frames run as a batch of 3, then one.
        let options = silhouette::Options {
            backend: backend.parse().unwrap(),
            max_batch: 3,
            ..Default::default()
        };
        let weights = silhouette::Weights::embedded().unwrap();
        let segmenter = Segmenter::with_options(&weights, options).unwrap();
        let frames: Vec<_> = FRAMES.iter().map(|name| frame(name)).collect();
        let refs: Vec<_> = frames.iter().collect();
        let batch = segmenter.probabilities_batch(&refs).unwrap();
        assert_eq!(batch.len(), frames.len());
        for ((name, f), got) in FRAMES.iter().zip(&frames).zip(&batch) {
            // The same arithmetic per frame: bit for bit what one frame at a time gives.
            assert_eq!(
                got,
                &segmenter.probabilities(f).unwrap(),
                "{backend} {name}"
            );
            assert!(max_abs_diff(got, &golden(name)) <= 5e-4, "{backend} {name}");
        }
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
fn gpu_frames_from_threads_at_once_run_together_and_match_frames_alone() {
    let Some(alone) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let options = silhouette::Options {
        backend: silhouette::Backend::Gpu,
        max_batch: 4,
        ..Default::default()
    };
    let weights = silhouette::Weights::embedded().unwrap();
    let shared = Segmenter::with_options(&weights, options).unwrap();
    // Twice each golden frame, all handed in at once by 8 threads: whoever finds the GPU idle
    // runs every frame then waiting, up to 4 together.
    let frames: Vec<_> = FRAMES.iter().chain(&FRAMES).map(|n| frame(n)).collect();
    let expected: Vec<Vec<f32>> = frames
        .iter()
        .map(|f| alone.probabilities(f).unwrap())
        .collect();
    let start = std::sync::Barrier::new(frames.len());
    std::thread::scope(|scope| {
        for (f, expected) in frames.iter().zip(&expected) {
            let (shared, start) = (&shared, &start);
            scope.spawn(move || {
                start.wait();
                let got = shared.probabilities(f).unwrap();
                assert!(max_abs_diff(&got, expected) <= 1e-5);
            });
        }
    });
    let (batches, ran) = shared.batches_run().unwrap();
    println!("{} frames ran in {batches} batches", frames.len());
    assert_eq!(ran, frames.len() as u64);
    assert!(
        batches >= 2 && batches <= ran,
        "{batches} batches of at most 4"
    );
}

#[test]
fn gpu_plan_is_compact() {
    let Some(segmenter) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let stats = segmenter.plan_stats().unwrap();
    println!("{stats:#?}");
    // One dispatch per node of the rewritten graph plus preprocessing, fewer than the network
    // as written has nodes; the arena reuses buffers across layers (at least half of what one
    // buffer per value would take: the fused graph has fewer, mostly large, values).
    let rewritten = stats.passes.last().unwrap().nodes.1;
    assert_eq!(stats.dispatches_per_frame, rewritten + 1);
    assert!(rewritten < segmenter.network().nodes.len());
    assert!(stats.macs_per_frame < segmenter.network().macs());
    assert!(stats.arena_bytes * 2 < stats.unshared_bytes, "{stats:?}");
}

#[test]
fn gpu_plan_with_producers_fused_matches_mediapipe() {
    // The graph the plan leaves out by default (passes::PRODUCER_FUSIONS, slower on software
    // GPUs), kept to time on a real GPU, so kept right.
    let Some(segmenter) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let gpu = silhouette::gpu::Gpu::new().unwrap();
    let kernels = silhouette::ops::Kernels::new(&gpu).unwrap();
    let network = segmenter.network();
    let plan = silhouette::plan::Plan::with_fusions(&gpu, &kernels, network, 1, true).unwrap();
    let default = segmenter.plan_stats().unwrap().dispatches_per_frame;
    assert_eq!(
        plan.stats().dispatches_per_frame,
        default - 5,
        "4 depthwises, one 1x1"
    );
    for name in FRAMES {
        let input = silhouette::reference::network_input(&frame(name)).unwrap();
        let mut out = vec![0.0; 256 * 256];
        plan.run_input(&input, &mut out).unwrap();
        let diff = max_abs_diff(&out, &golden(name));
        assert!(diff <= 5e-4, "{name}: {diff}");
    }
}

/// Intersection over union of the masks thresholded at 0.5 (1 when both are empty).
fn iou(a: &[f32], b: &[f32]) -> f64 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x > 0.5, *y > 0.5);
        inter += (x && y) as usize;
        union += (x || y) as usize;
    }
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

#[test]
fn f16_weights_match_mediapipe_and_the_f32_plan() {
    let Some(f32_plan) = segmenter(silhouette::Backend::Gpu) else {
        return;
    };
    let options = silhouette::Options {
        backend: silhouette::Backend::Gpu,
        precision: silhouette::Precision::F16,
        ..Default::default()
    };
    let segmenter =
        Segmenter::with_options(&silhouette::Weights::embedded().unwrap(), options).unwrap();
    let precision = segmenter.plan_stats().unwrap().precision;
    if let Some(notice) = segmenter.notice() {
        // An adapter without SHADER_F16 must fall back to f32, not fail.
        println!("{notice}");
        assert_eq!(precision, silhouette::Precision::F32);
        return;
    }
    assert_eq!(precision, silhouette::Precision::F16);
    let (f16_bytes, f32_bytes) = (
        segmenter.plan_stats().unwrap().weight_bytes,
        f32_plan.plan_stats().unwrap().weight_bytes,
    );
    assert!(
        f16_bytes * 2 <= f32_bytes + 64,
        "{f16_bytes} vs {f32_bytes}"
    );
    for name in FRAMES {
        let ours = segmenter.probabilities(&frame(name)).unwrap();
        let (diff, iou) = (
            max_abs_diff(&ours, &golden(name)),
            iou(&ours, &golden(name)),
        );
        println!("f16 {name}: max |ours - MediaPipe| = {diff:.2e}, IoU@0.5 = {iou:.5}");
        assert!(diff <= 2e-2 && iou >= 0.995, "f16 {name}: {diff} {iou}");
        // The weights are f16 at the source, so storing them as f16 loses nothing.
        assert_eq!(
            ours,
            f32_plan.probabilities(&frame(name)).unwrap(),
            "{name}"
        );
    }
}
